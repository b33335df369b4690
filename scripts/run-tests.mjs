#!/usr/bin/env node
// Runs every tests/**/*.test.ts with Node's test runner (Node 20 has no glob for --test).
// Pass paths or substrings to run a subset: `node scripts/run-tests.mjs engine`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []);
}
const filters = process.argv.slice(2);
const files = find(join(root, 'tests')).map((f) => relative(root, f)).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, PYOCYTE_TESTING: '1' } });
process.exit(r.status ?? 1);
