/**
 * Option tables: one per command, the single home of each option's library name, command-line
 * flag, type, default, valid values and doc. From a table come
 * - the library's defaults (`defaultsOf`, e.g. `TRAIN_DEFAULTS`, `PREDICT_DEFAULTS`),
 * - the command line: parsing and `--help` (src/cli/args.ts),
 * - the library's options interface with its TSDoc (`renderOptionInterface`).
 *
 * Why the interfaces are generated rather than derived with a mapped type: an editor's hover and
 * the TSDoc show the comment written on an interface property, never a string held in a table,
 * so a mapped type would lose every doc. `npm run options` (scripts/generate-options.ts) writes
 * each table's interface to an `options.generated.ts` beside it, and tests/util/options.test.ts
 * fails when one is stale. The generated types are literal (`'bce' | 'dice'`), so a name added to
 * a registry shows up in the hover once regenerated, and the tables are type-checked against them.
 */
import { fail } from './errors.js';
import { lookup } from './registry.js';

/** Value types an option can have, with the TypeScript type each one is. */
export const OPTION_TYPES = { string: 'string', number: 'number', boolean: 'boolean', list: 'string[]' } as const;
export type OptionType = keyof typeof OPTION_TYPES;

/** One option of a table; its key in the table is its name in the library (camelCase). */
export interface OptionSpec {
  type: OptionType;
  /** One sentence, lower-case start, no final full stop: `--help` shows it and the TSDoc capitalises it. */
  doc: string;
  /** The default the library applies; shown by `--help` and in the TSDoc. */
  default?: string | number | boolean;
  /** How to describe a default that is not a constant, e.g. "the model's tuned threshold". */
  defaultText?: string;
  /** A registry (`const LOSSES = {…} as const`): the valid values are its keys. */
  choices?: Readonly<Record<string, unknown>>;
  /**
   * What a value is called in errors. With it, a bad value fails as the library's `lookup` does
   * ("unknown loss 'x'; valid losses are: …"); without it the message names the flag.
   */
  what?: string;
  /** The command-line name, kebab-case. Default: the key in kebab-case. `false`: library only. */
  flag?: string | false;
  /** A one-letter alias, `-o`. */
  short?: string;
  /** The value's name in `--help` and in "needs --data DIR" errors. Default `<value>` or `<n>`. */
  placeholder?: string;
  /** The library needs it: no `?` in the generated interface. */
  required?: boolean;
  /** Turns the flag's text into the value, failing with a one-line message that names `flag`. */
  parse?: (text: string, flag: string) => unknown;
  /** The TypeScript type of `parse`'s result (or of a library-only option) for the generated interface. */
  tsType?: string;
}

/** A command's options, keyed by their library names. */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** The value type of one option. */
export type OptionValue<S> = S extends { parse: (...args: never[]) => infer V }
  ? V
  : S extends { choices: infer R }
    ? keyof R & string
    : S extends { type: 'number' }
      ? number
      : S extends { type: 'boolean' }
        ? boolean
        : S extends { type: 'list' }
          ? string[]
          : string;

type RequiredKeys<T> = { [K in keyof T]: T[K] extends { required: true } ? K : never }[keyof T];

/** Values parsed from a command line: the required options and any of the others. */
export type OptionValues<T extends OptionTable> = { -readonly [K in Exclude<keyof T, RequiredKeys<T>>]?: OptionValue<T[K]> } & {
  -readonly [K in RequiredKeys<T>]: OptionValue<T[K]>;
};

/** The defaults of a table, with their literal types (`{ filters: 16, loss: 'bce+dice' }`). */
export type OptionDefaults<T extends OptionTable> = {
  readonly [K in keyof T as T[K] extends { default: unknown } ? K : never]: T[K] extends { default: infer D } ? D : never;
};

/**
 * `true` when parsed values can be passed where `Target` is expected; for a table whose interface
 * is written by hand elsewhere: `type Fit = Fits<OptionValues<typeof T>, TargetOptions>` does not
 * compile once they part.
 */
export type Fits<Values extends Target, Target extends object> = Values;

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The flag of an option (without `--`), or undefined for a library-only option. */
export function flagOf(key: string, spec: OptionSpec): string | undefined {
  return spec.flag === false ? undefined : (spec.flag ?? kebab(key));
}

/**
 * Declares a table and checks it once at load: flags are kebab-case and unique, defaults have the
 * declared type and are valid choices. Keep `as const`-like literal types with the `const` parameter.
 */
export function defineOptions<const T extends OptionTable>(table: T): T {
  const flags = new Set<string>();
  for (const [key, spec] of Object.entries(table)) {
    const flag = flagOf(key, spec);
    if (flag !== undefined) {
      if (!/^[a-z][a-z0-9-]*$/.test(flag)) throw new Error(`option ${key}: flag '${flag}' is not kebab-case`);
      if (flags.has(flag)) throw new Error(`option ${key}: flag --${flag} is used twice`);
      flags.add(flag);
    }
    if (spec.default === undefined) continue;
    const ok = spec.parse !== undefined || (spec.type === 'list' ? Array.isArray(spec.default) : typeof spec.default === spec.type);
    if (!ok) throw new Error(`option ${key}: default ${JSON.stringify(spec.default)} is not a ${spec.type}`);
    if (spec.choices && !Object.hasOwn(spec.choices, String(spec.default)))
      throw new Error(`option ${key}: default '${spec.default}' is not a choice`);
  }
  return table;
}

/** The defaults of a table. */
export function defaultsOf<T extends OptionTable>(table: T): OptionDefaults<T> {
  return Object.fromEntries(
    Object.entries(table)
      .filter(([, s]) => s.default !== undefined)
      .map(([k, s]) => [k, s.default]),
  ) as OptionDefaults<T>;
}

/** A table without some of its options, e.g. a command that has no use for `precision`. */
export function omitOptions<T extends OptionTable, K extends keyof T>(table: T, ...keys: K[]): Omit<T, K> {
  return Object.fromEntries(Object.entries(table).filter(([k]) => !keys.includes(k as K))) as Omit<T, K>;
}

/** `'a' | 'b'` from a registry's keys, for `tsType`. */
export function unionOf(registry: Readonly<Record<string, unknown>>): string {
  return Object.keys(registry)
    .map((k) => `'${k}'`)
    .join(' | ');
}

/** How `--help` and the TSDoc show a default: the `defaultText`, else the value. */
export function defaultText(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  return spec.default === undefined ? undefined : String(spec.default);
}

/**
 * Converts a flag's text to an option value: numbers must be finite, choices must be keys of the
 * registry, lists split at commas; `parse` does the rest. Fails with one line naming the flag.
 */
export function parseOptionText(spec: OptionSpec, flag: string, text: string): unknown {
  if (spec.parse) return spec.parse(text, flag);
  if (spec.type === 'number') {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) fail(`option --${flag} needs a number, got '${text}'`);
    return value;
  }
  if (spec.type === 'list') return text.split(',').filter((s) => s.length > 0);
  if (spec.type === 'boolean') return !['false', '0', 'no'].includes(text);
  if (spec.choices) {
    if (spec.what) lookup(spec.choices, text, spec.what);
    else if (!Object.hasOwn(spec.choices, text))
      fail(`option --${flag} must be one of ${Object.keys(spec.choices).join(', ')}; got '${text}'`);
  }
  return text;
}

/** The TypeScript type of an option, as the generated interface writes it. */
export function tsTypeOf(spec: OptionSpec): string {
  if (spec.tsType) return spec.tsType;
  if (spec.choices) return unionOf(spec.choices);
  return OPTION_TYPES[spec.type];
}

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** The TSDoc of an option: the doc as a sentence, its default, and its flag. */
export function optionDoc(key: string, spec: OptionSpec): string {
  const sentence = `${spec.doc.charAt(0).toUpperCase()}${spec.doc.slice(1)}${/[.!?]$/.test(spec.doc) ? '' : '.'}`;
  const def = defaultText(spec);
  const flag = flagOf(key, spec);
  const parts = [sentence];
  if (def !== undefined) parts.push(spec.defaultText === undefined ? `Default \`${def}\`.` : `Default: ${def}.`);
  parts.push(flag === undefined ? 'Library only.' : `CLI: \`--${flag}\`.`);
  return parts.join(' ');
}

/** An interface a generated one extends: the options the table took over unchanged from another table. */
export interface OptionBase {
  name: string;
  table: OptionTable;
}

/**
 * A TypeScript interface for a table, one property per option with its TSDoc: the text of a
 * generated `options.generated.ts`. Options spread unchanged from a base table are inherited from
 * that table's interface (`extends PredictOptionFields`, or `Omit<…>` of the ones left out), so
 * no doc is written twice. Pure, so the staleness test can compare it with the file.
 */
export function renderOptionInterface(name: string, table: OptionTable, summary: string, bases: readonly OptionBase[] = []): string {
  const inherited = new Set<string>();
  const parents = bases.map((base) => {
    const keys = Object.keys(base.table);
    for (const key of keys) if (table[key] === base.table[key]) inherited.add(key);
    const left = keys.filter((key) => !Object.hasOwn(table, key)).map((key) => `'${key}'`);
    return left.length === 0 ? base.name : `Omit<${base.name}, ${left.join(' | ')}>`;
  });
  const lines = [`/** ${summary} */`, `export interface ${name}${parents.length > 0 ? ` extends ${parents.join(', ')}` : ''} {`];
  for (const [key, spec] of Object.entries(table)) {
    if (inherited.has(key)) continue;
    const doc = optionDoc(key, spec).replaceAll('*/', '*\\/');
    if (doc.length <= 110) lines.push(`  /** ${doc} */`);
    else lines.push('  /**', ...wrap(doc, 110).map((line) => `   * ${line}`), '   */');
    lines.push(`  ${key}${spec.required ? '' : '?'}: ${tsTypeOf(spec)};`);
  }
  lines.push('}');
  return lines.join('\n');
}
