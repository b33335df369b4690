import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { type NativeEngine, bf16Available, createEngine, nativeAvailability } from '../../src/engine/index.js';

/** Runs a snippet in a fresh process (the addon is loaded once per process). */
function run(code: string, env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

const snippet = `
import { createEngine } from './src/engine/index.js';
const first = createEngine();
const second = createEngine();
console.log(JSON.stringify({ first: first.name, second: second.name }));
`;

test('addon missing (PYOCYTE_ADDON=/nonexistent): auto falls back to reference and warns loudly once', () => {
  const r = run(snippet, { PYOCYTE_ADDON: '/nonexistent/pyocyte.node' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { first: 'reference', second: 'reference' });
  const banners = r.stderr.split('\n').filter((line) => line.includes('Falling back to the pure-TypeScript reference engine'));
  assert.equal(banners.length, 1, r.stderr);
  assert.match(r.stderr, /apt-get install libdnnl-dev/);
});

test('addon missing: backend native fails with a user error that says how to build it', () => {
  const r = run(
    `
import { createEngine } from './src/engine/index.js';
try { createEngine({ backend: 'native' }); } catch (error) { console.log(JSON.stringify({ name: error.name, message: error.message })); }
`,
    { PYOCYTE_ADDON: '/nonexistent/pyocyte.node' },
  );
  const error = JSON.parse(r.stdout.trim());
  assert.equal(error.name, 'PyocyteError');
  assert.match(error.message, /not built.*npm run setup.*libdnnl-dev/);
});

test('PYOCYTE_ENGINE=reference selects the reference engine without any warning', () => {
  const r = run(snippet, { PYOCYTE_ENGINE: 'reference' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { first: 'reference', second: 'reference' });
  assert.doesNotMatch(r.stderr, /Falling back/);
});

test('precision bf16: bf16 where the CPU has bfloat16 convolutions, else fp32 after one warning naming the CPU', (t) => {
  const availability = nativeAvailability();
  if (!availability.available) return t.skip(`native engine unavailable: ${availability.reason}`);
  const warnings: string[] = [];
  const engine = createEngine({ backend: 'native', precision: 'bf16', warn: (m) => warnings.push(m) }) as NativeEngine;
  if (bf16Available()) {
    assert.deepEqual([engine.precision, warnings], ['bf16', []]);
  } else {
    assert.equal(engine.precision, 'fp32');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /^warning: precision bf16: oneDNN [\d.]+ has no bfloat16 convolutions on this CPU \(\w+; they need AVX-512\), so it computes in fp32$/,
    );
  }
});
