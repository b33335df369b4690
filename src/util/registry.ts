import { fail } from './errors.js';

/**
 * Looks a name up in a registry object and fails with the list of valid names.
 * Use with `const LOSSES = { bce, dice } as const; type LossName = keyof typeof LOSSES;`.
 */
export function lookup<R extends Record<string, unknown>>(registry: R, name: string, what: string): R[keyof R] {
  if (Object.hasOwn(registry, name)) return registry[name as keyof R];
  return fail(`unknown ${what} '${name}'; valid ${plural(what)} are: ${Object.keys(registry).join(', ')}`);
}

/** Checks that `name` is a key of `registry` and narrows its type. */
export function checkName<R extends Record<string, unknown>>(registry: R, name: string, what: string): keyof R & string {
  lookup(registry, name, what);
  return name as keyof R & string;
}

/** English plural of a noun phrase's last word: loss → losses, mode → modes. */
export function plural(noun: string): string {
  if (/(s|x|z|ch|sh)$/.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}
