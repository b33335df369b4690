import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '../../src/util/random.js';
import { bf16Available, createEngine, nativeAvailability, type Engine, type Tensor } from '../../src/engine/index.js';

/** Both engines when the addon is built; the reference alone otherwise (with the reason). */
export function engines(): { name: string; make: () => Engine; skip: string | false }[] {
  const native = nativeAvailability();
  return [
    { name: 'reference', make: () => createEngine({ backend: 'reference' }), skip: false },
    {
      name: 'native',
      make: () => createEngine({ backend: 'native' }),
      skip: native.available ? false : `native engine unavailable: ${native.reason}`,
    },
  ];
}

/** Why bf16 tests cannot run here (no addon, or a CPU without bfloat16 convolutions), else false. */
export const NO_BF16: string | false = bf16Available()
  ? false
  : nativeAvailability().available
    ? 'this CPU has no bfloat16 convolutions in oneDNN (they need AVX-512)'
    : 'the native engine is unavailable';

export function randomArray(size: number, seed: number, scale = 1): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * scale;
  return out;
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function randomTensor(engine: Engine, shape: readonly number[], seed: number, scale = 1): Tensor {
  return engine.tensor(shape, randomArray(sizeOf(shape), seed, scale));
}

/**
 * max|a − b| / max|b|: the error relative to the magnitude of the expected tensor. `floor` is the
 * smallest magnitude to divide by, for tensors that are zero in theory (then the error is absolute,
 * relative to a scale the caller knows, such as the largest gradient of the whole network).
 */
export function relativeError(actual: Float32Array, expected: Float32Array, floor = 0): number {
  assert.equal(actual.length, expected.length, 'lengths differ');
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < actual.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  if (!Number.isFinite(maxDiff)) return Infinity;
  return maxDiff / Math.max(maxRef, floor, 1e-12);
}

/** max|a|. */
export function maxAbs(values: Float32Array): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max;
}

export function assertClose(actual: Float32Array, expected: Float32Array, tolerance: number, what: string): void {
  const error = relativeError(actual, expected);
  assert.ok(error <= tolerance, `${what}: relative error ${error.toExponential(2)} > ${tolerance}`);
}

/** Σ a·b in float64: the random projection `L = Σ r·y` that turns an output into a scalar. */
export function dot(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Entries of a tensor of `size` values that a finite-difference check perturbs: all, or a seeded sample. */
export function checkedEntries(size: number, maxEntries: number, seed: number): number[] {
  if (size <= maxEntries) return Array.from({ length: size }, (_, i) => i);
  const rng = new Random(seed);
  const picked = new Set<number>();
  while (picked.size < maxEntries) picked.add(rng.int(0, size));
  return [...picked].sort((a, b) => a - b);
}

/**
 * Central differences of `objective` with respect to some entries of `input`:
 * (f(x + h⁺) − f(x − h⁻)) / (h⁺ + h⁻), where h± are the steps float32 can actually represent
 * (x ± eps rounded), so a linear function gives its exact slope up to the rounding of f.
 * The input is restored afterwards.
 */
export async function finiteDifferences(
  engine: Engine,
  input: Tensor,
  objective: () => Promise<number>,
  options: { eps: number; entries: readonly number[] },
): Promise<number[]> {
  const original = await engine.read(input);
  const work = original.slice();
  const slopes: number[] = [];
  for (const i of options.entries) {
    const plus = Math.fround(original[i] + options.eps);
    const minus = Math.fround(original[i] - options.eps);
    work[i] = plus;
    engine.write(input, work);
    const high = await objective();
    work[i] = minus;
    engine.write(input, work);
    const low = await objective();
    work[i] = original[i];
    slopes.push((high - low) / (plus - minus));
  }
  engine.write(input, original);
  return slopes;
}

/**
 * max over checked entries of |numeric − analytic|, divided by max|analytic| over the whole
 * tensor (the same scale as `relativeError`); `floor` keeps an all-zero gradient from dividing by 0.
 */
export function gradientError(analytic: Float32Array, entries: readonly number[], numeric: readonly number[], floor = 1e-12): number {
  let scale = floor;
  for (const v of analytic) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  entries.forEach((index, k) => {
    worst = Math.max(worst, Math.abs(numeric[k] - analytic[index]));
  });
  return Number.isFinite(worst) ? worst / scale : Infinity;
}

/**
 * Checks analytic gradients against central differences of a scalar objective for each named
 * input, and returns the errors (for messages). Fails with the input's name and the error.
 */
export async function assertGradients(
  engine: Engine,
  options: {
    inputs: Record<string, Tensor>;
    analytic: Record<string, Float32Array>;
    objective: () => Promise<number>;
    eps: number;
    tolerance: number;
    maxEntries?: number;
    seed?: number;
  },
): Promise<Record<string, number>> {
  const errors: Record<string, number> = {};
  let seed = options.seed ?? 1;
  for (const [name, input] of Object.entries(options.inputs)) {
    const analytic = options.analytic[name];
    assert.ok(analytic, `no analytic gradient for ${name}`);
    assert.equal(analytic.length, sizeOf(input.shape), `${name}: gradient size`);
    const entries = checkedEntries(analytic.length, options.maxEntries ?? 48, seed++);
    const numeric = await finiteDifferences(engine, input, options.objective, { eps: options.eps, entries });
    errors[name] = gradientError(analytic, entries, numeric);
    if (process.env.GRADCHECK_VERBOSE) console.log(`  ${name}: ${errors[name].toExponential(2)}`);
    assert.ok(
      errors[name] <= options.tolerance,
      `${name}: finite-difference error ${errors[name].toExponential(2)} > ${options.tolerance} (eps ${options.eps})`,
    );
  }
  return errors;
}

/** Indices where exactly one of two arrays is zero: a ReLU that switched on or off. */
export function zeroPatternChanges(baseline: Float32Array, now: Float32Array): number {
  let changes = 0;
  for (let i = 0; i < baseline.length; i++) if ((baseline[i] === 0) !== (now[i] === 0)) changes++;
  return changes;
}

/** Bit-exact equality of two float arrays (NaN payloads and −0 included), with the first difference in the message. */
export function assertBitExact(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: lengths differ`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}: entry ${i} is ${actual[i]}, expected ${expected[i]} (bit-exact)`);
  }
}

/**
 * Runs an ES-module script in a child Node process (with tsx), for cases that may crash the
 * native addon: a crash then fails one test instead of the whole file. `@root/` in the code is
 * replaced by the repository's file URL, e.g. `import { createEngine } from '@root/src/engine/index.ts'`.
 * The script's last stdout line is parsed as JSON.
 */
export function runIsolated(code: string): { status: number | null; signal: string | null; result: unknown; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pyocyte-isolated-'));
  try {
    const file = join(dir, 'script.mts');
    writeFileSync(file, code.replaceAll('@root/', new URL('../../', import.meta.url).href));
    const child = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 120_000 });
    const last = child.stdout.trim().split('\n').pop() ?? '';
    let result: unknown;
    try {
      result = JSON.parse(last);
    } catch {
      result = undefined;
    }
    const stderr = child.stderr
      .split('\n')
      .filter((l) => /Error|Segmentation|Abort/.test(l))
      .join(' | ');
    return { status: child.status, signal: child.signal, result, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
