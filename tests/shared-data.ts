import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `../shared/data` beside the repository, or PYOCYTE_SHARED_DATA when set. */
export const SHARED_DATA =
  process.env.PYOCYTE_SHARED_DATA ?? resolve(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data'));

/**
 * The path of a shared dataset, or `{ skip }` with the reason to pass to `test(..., { skip })`.
 * Tests on real data skip, saying why, when the data is absent; in CI it is present.
 */
export function sharedDataset(name: string): { path: string; skip: false } | { path: string; skip: string } {
  const path = join(SHARED_DATA, name);
  if (existsSync(path)) return { path, skip: false };
  const reason = `${path} is missing: real-data test skipped (CI provides ../shared/data)`;
  console.log(`# skip: ${reason}`);
  return { path, skip: reason };
}
