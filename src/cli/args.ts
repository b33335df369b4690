/**
 * Command-line parsing over the option tables (src/util/options.ts), with Node's own
 * `util.parseArgs` doing the tokenising: kebab-case flags, `-o`-style aliases, `--flag=value`,
 * `--no-flag` for booleans, comma lists, `--` before positionals. Values are converted and checked
 * here (numbers, choices, a table's `parse`), so a bad flag fails with one line that says what is
 * valid, and `--help` is generated from the same table.
 *
 * A command file is thin: `defineCommand({ name, summary, usage, options: TABLE }, handler)`,
 * where the handler gets `{ options, positionals }` keyed by library names, calls the library
 * and prints. To move a command written against the old `flags: { 'tile-size': { type,
 * description, defaultText } }` spec: put each flag in a table keyed by the library's camelCase
 * name (`tileSize: { type, doc, default | defaultText }`, with `flag: 'tile-size'` only where the
 * names differ), pass it as `options`, and read `options.tileSize` instead of `flags.tileSize`.
 */
import { parseArgs as tokenize } from 'node:util';
import { fail } from '../util/errors.js';
import { type OptionTable, type OptionValues, defaultText, flagOf, parseOptionText } from '../util/options.js';

/** A command: its help text and the options and positionals it takes. */
export interface CommandSpec<T extends OptionTable> {
  name: string;
  summary: string;
  usage: string;
  options: T;
  /** How many positional arguments the command takes (default none). */
  positionals?: { min: number; max: number; name: string };
  /** Options the command cannot run without; default those marked `required` in the table. */
  required?: readonly (keyof T & string)[];
}

/** A parsed command line: option values by library name, and the positionals. */
export interface ParsedCommandLine<T extends OptionTable> {
  options: OptionValues<T>;
  positionals: string[];
}

/** The flags of a table, each with its key and spec. */
function flagsOf(table: OptionTable) {
  return Object.entries(table).flatMap(([key, spec]) => {
    const flag = flagOf(key, spec);
    return flag === undefined ? [] : [{ key, spec, flag }];
  });
}

/**
 * Parses argv against a command's table. Later flags override earlier ones; list flags add up.
 * Unknown flags, missing values, bad numbers and bad choices fail with one line.
 */
export function parseCommandLine<T extends OptionTable>(spec: CommandSpec<T>, argv: readonly string[]): ParsedCommandLine<T> {
  const flags = flagsOf(spec.options);
  const byFlag = new Map(flags.map((f) => [f.flag, f]));
  const shorts = new Set(flags.flatMap((f) => (f.spec.short ? [f.spec.short] : [])));
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const { flag, spec: option } of flags) {
    config[flag] = { type: option.type === 'boolean' ? 'boolean' : 'string', ...(option.short ? { short: option.short } : {}) };
    if (option.type === 'boolean') config[`no-${flag}`] = { type: 'boolean' };
  }
  // strict: false hands unknown flags back as tokens, so the error can list the valid ones.
  const { tokens } = tokenize({ args: [...argv], options: config, allowPositionals: true, strict: false, tokens: true });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const negated = !byFlag.has(token.name) && token.name.startsWith('no-') && byFlag.get(token.name.slice(3))?.spec.type === 'boolean';
    // parseArgs names a known short alias by its long flag; an unknown one keeps its letter.
    const known = token.rawName.startsWith('--') || shorts.has(token.rawName.slice(1));
    const found = known ? byFlag.get(negated ? token.name.slice(3) : token.name) : undefined;
    if (!found) {
      if (!token.rawName.startsWith('--')) fail(`unknown option ${token.rawName} for '${spec.name}'; run 'pyocyte ${spec.name} --help'`);
      fail(`unknown option --${token.name} for '${spec.name}'; valid options are: ${flags.map((f) => `--${f.flag}`).join(', ')}`);
    }
    const { key, spec: option, flag } = found;
    if (option.type === 'boolean') {
      values[key] = negated ? false : token.value === undefined ? true : parseOptionText(option, flag, token.value);
      continue;
    }
    if (token.value === undefined) fail(`option --${flag} needs a value (${option.doc})`);
    const value = parseOptionText(option, flag, token.value);
    values[key] = option.type === 'list' ? [...((values[key] as string[] | undefined) ?? []), ...(value as string[])] : value;
  }
  const range = spec.positionals ?? { min: 0, max: 0, name: '' };
  if (positionals.length < range.min) fail(`'${spec.name}' needs ${range.name}; usage: ${spec.usage}`);
  if (positionals.length > range.max) fail(`'${spec.name}' got unexpected argument '${positionals[range.max]}'; usage: ${spec.usage}`);
  const required = spec.required ?? Object.keys(spec.options).filter((key) => spec.options[key].required);
  for (const key of required) {
    const option = spec.options[key];
    if (values[key] === undefined)
      fail(`'${spec.name}' needs --${flagOf(key, option)} ${option.placeholder ?? 'VALUE'}; usage: ${spec.usage}`);
  }
  return { options: values as OptionValues<T>, positionals };
}

/** The help text of a command, generated from its table. */
export function helpText(spec: Pick<CommandSpec<OptionTable>, 'summary' | 'usage' | 'options'>): string {
  const rows = flagsOf(spec.options).map(({ spec: o, flag }) => {
    const value =
      o.type === 'boolean'
        ? ''
        : o.choices
          ? ` <${Object.keys(o.choices).join('|')}>`
          : o.type === 'number'
            ? ' <n>'
            : ` <${o.placeholder ?? 'value'}>`;
    const left = `  ${o.short ? `-${o.short}, ` : ''}--${flag}${value}`;
    const shown = o.type === 'boolean' && o.default === false ? undefined : defaultText(o);
    return `${left.padEnd(34)} ${o.doc}${shown === undefined ? '' : ` (default ${shown})`}`;
  });
  rows.push(`${'  --help'.padEnd(34)} show this help`);
  return `${spec.summary}\n\nUsage: ${spec.usage}\n\nOptions:\n${rows.join('\n')}\n`;
}

/** A CLI command: parses its argv and returns the process exit code. */
export type Command = (argv: readonly string[]) => Promise<number>;

/** Wraps a handler with `--help` and parsing; the handler calls the library and prints. */
export function defineCommand<const T extends OptionTable>(
  spec: CommandSpec<T>,
  handler: (parsed: ParsedCommandLine<T>) => Promise<number>,
): Command {
  return async (argv) => {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(helpText(spec));
      return 0;
    }
    return handler(parseCommandLine(spec, argv));
  };
}
