import { fail } from './errors.js';

/**
 * Looks a name up in a registry object and fails with the list of valid names.
 * Use with `const LOSSES = { bce, dice } as const; type LossName = keyof typeof LOSSES;`.
 */
export function lookup<R extends Record<string, unknown>>(registry: R, name: string, what: string): R[keyof R] {
  if (Object.prototype.hasOwnProperty.call(registry, name)) return registry[name as keyof R];
  return fail(`unknown ${what} '${name}'; valid ${what}s are: ${Object.keys(registry).join(', ')}`);
}

/** Checks that `name` is a key of `registry` and narrows its type. */
export function checkName<R extends Record<string, unknown>>(registry: R, name: string, what: string): keyof R & string {
  lookup(registry, name, what);
  return name as keyof R & string;
}
