#!/usr/bin/env node
// Runs every tests/**/*.test.ts with Node's test runner (Node 20 has no glob for --test).
// Pass paths or substrings to run a subset: `node scripts/run-tests.mjs engine`.
// The whole suite first runs the formatter and linter (`biome check`, configured in biome.jsonc);
// the tests run either way, and the run fails if either does. `npx biome check --write` fixes most.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}
const filters = process.argv.slice(2);
const files = find(join(root, 'tests'))
  .map((f) => relative(root, f))
  .sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
let checked = true;
if (filters.length === 0) {
  const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
  const check = spawnSync(process.execPath, [biome, 'check', '--max-diagnostics=20'], { cwd: root, stdio: 'inherit' });
  checked = check.status === 0;
  console.log(
    checked ? 'biome check: formatting and lint clean' : 'biome check failed: run `npx biome check --write`, then fix what it lists',
  );
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PYOCYTE_TESTING: '1' },
});
if (!checked) console.error('the tests ran, but biome check failed (see above)');
process.exit(r.status !== 0 ? (r.status ?? 1) : checked ? 0 : 1);
