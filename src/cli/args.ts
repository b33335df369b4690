import { fail } from '../util/errors.js';

/** One command-line flag: `--patch-size 256`, `--tta`, `--pixel-size 0.25`. */
export interface FlagSpec {
  type: 'string' | 'number' | 'boolean' | 'strings';
  description: string;
  /** Printed in help; the library applies the real default, so flags left out stay undefined. */
  defaultText?: string;
  /** For 'string': the allowed values. */
  choices?: readonly string[];
  short?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** How many positional arguments the command takes. */
  positionals?: { min: number; max: number; name: string };
}

export type FlagValue = string | number | boolean | string[];
export interface ParsedArgs {
  flags: Record<string, FlagValue | undefined>;
  positionals: string[];
}

const camel = (kebab: string) => kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Parses argv against a command's flags. Flag names are kebab-case on the command line and
 * camelCase in the result (`--patch-size` → `patchSize`). Unknown flags and bad values fail with
 * a one-line message that says what is valid.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const flags: Record<string, FlagValue | undefined> = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(spec.flags).filter(([, f]) => f.short).map(([n, f]) => [f.short!, n]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      name = byShort.get(arg.slice(1)) ?? fail(`unknown option ${arg} for '${spec.name}'; run 'pyocyte ${spec.name} --help'`);
    }
    let flag = spec.flags[name];
    let negated = false;
    if (!flag && name.startsWith('no-') && spec.flags[name.slice(3)]?.type === 'boolean') {
      flag = spec.flags[name.slice(3)];
      name = name.slice(3);
      negated = true;
    }
    if (!flag) {
      const valid = Object.keys(spec.flags).map((n) => `--${n}`).join(', ');
      fail(`unknown option --${name} for '${spec.name}'; valid options are: ${valid}`);
    }
    const key = camel(name);
    if (flag.type === 'boolean') {
      flags[key] = inline === undefined ? !negated : !['false', '0', 'no'].includes(inline);
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) fail(`option --${name} needs a value (${flag.description})`);
    if (flag.type === 'number') {
      const value = Number(raw);
      if (!Number.isFinite(value)) fail(`option --${name} needs a number, got '${raw}'`);
      flags[key] = value;
    } else if (flag.type === 'strings') {
      const list = (flags[key] as string[] | undefined) ?? [];
      list.push(...raw.split(',').filter((s) => s.length > 0));
      flags[key] = list;
    } else {
      if (flag.choices && !flag.choices.includes(raw)) {
        fail(`option --${name} must be one of ${flag.choices.join(', ')}; got '${raw}'`);
      }
      flags[key] = raw;
    }
  }
  const range = spec.positionals ?? { min: 0, max: 0, name: '' };
  if (positionals.length < range.min) fail(`'${spec.name}' needs ${range.name}; usage: ${spec.usage}`);
  if (positionals.length > range.max) {
    fail(`'${spec.name}' got unexpected argument '${positionals[range.max]}'; usage: ${spec.usage}`);
  }
  return { flags, positionals };
}

/** The help text of a command, generated from its spec. */
export function helpText(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, f]) => {
    const value = f.type === 'boolean' ? '' : f.choices ? ` <${f.choices.join('|')}>` : f.type === 'number' ? ' <n>' : ' <value>';
    const left = `  ${f.short ? `-${f.short}, ` : ''}--${name}${value}`;
    const def = f.defaultText ? ` (default ${f.defaultText})` : '';
    return `${left.padEnd(34)} ${f.description}${def}`;
  });
  return `${spec.summary}\n\nUsage: ${spec.usage}\n\nOptions:\n${rows.join('\n')}\n  --help                             show this help\n`;
}

/** A CLI command: parses its argv and returns the process exit code. */
export type Command = (argv: readonly string[]) => Promise<number>;

/**
 * Wraps a handler with `--help` and argument parsing. Command files do nothing else: they parse
 * flags, call the library, and print what it returns.
 */
export function defineCommand(spec: CommandSpec, handler: (args: ParsedArgs) => Promise<number>): Command {
  return async (argv) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(helpText(spec));
      return 0;
    }
    return handler(parseArgs(spec, argv));
  };
}
