import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createLoader, type LoaderOptions } from '../../src/data/loader.js';
import type { Sample } from '../../src/data/types.js';

/** A 2-channel image encoding coordinates ((x+1)/100, (y+1)/100), labels from a checkerboard of 4-px blocks. */
function coordinateSample(stem: string, width: number, height: number, classes = 2): Sample {
  const data = new Float32Array(width * height * 2);
  const labels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([(x + 1) / 100, (y + 1) / 100], (y * width + x) * 2);
      labels[y * width + x] = ((x >> 2) + (y >> 2)) % classes;
    }
  }
  return { stem, image: { width, height, channels: 2, data }, labels };
}

const BASE: LoaderOptions = {
  patchSize: 16,
  batchSize: 3,
  classes: 2,
  seed: 7,
  normalization: { kind: 'meanStd', mean: [0, 0], std: [1, 1] },
};
const samples = [coordinateSample('a', 40, 30), coordinateSample('b', 24, 20)];

describe('createLoader', () => {
  test('patch 16 batch 3, no augmentation: NCHW x is a crop, y its labels', () => {
    const batch = createLoader(samples, { ...BASE, augment: false }).next();
    assert.deepEqual(batch.inputShape, [3, 2, 16, 16]);
    assert.deepEqual(batch.targetShape, [3, 16, 16]);
    assert.equal(batch.x.length, 3 * 2 * 256);
    assert.equal(batch.weights, undefined);
    for (let n = 0; n < 3; n++) {
      const plane = (c: number) => batch.x.subarray((n * 2 + c) * 256, (n * 2 + c + 1) * 256);
      const x0 = Math.round(plane(0)[0] * 100) - 1;
      const y0 = Math.round(plane(1)[0] * 100) - 1;
      for (let v = 0; v < 16; v++) {
        for (let u = 0; u < 16; u++) {
          assert.ok(Math.abs(plane(0)[v * 16 + u] - (x0 + u + 1) / 100) < 1e-6);
          assert.equal(batch.y[n * 256 + v * 16 + u], (((x0 + u) >> 2) + ((y0 + v) >> 2)) & 1 ? 1 : 0);
        }
      }
    }
  });
  test('meanStd normalisation: (v − mean) / std per channel', () => {
    const plain = createLoader(samples, { ...BASE, augment: false }).batchAt(2);
    const scaled = createLoader(samples, {
      ...BASE,
      augment: false,
      normalization: { kind: 'meanStd', mean: [0.1, 0.2], std: [0.5, 2] },
    }).batchAt(2);
    assert.ok(Math.abs(scaled.x[0] - (plain.x[0] - 0.1) / 0.5) < 1e-6);
    assert.ok(Math.abs(scaled.x[256] - (plain.x[256] - 0.2) / 2) < 1e-6);
  });
  test('batch k depends only on (seed, k): resumed loader, prefetch and batchAt agree', () => {
    const first = createLoader(samples, BASE);
    const batches = [first.next(), first.next(), first.next()];
    const resumed = createLoader(samples, { ...BASE, startStep: 2 });
    assert.deepEqual(resumed.next(), batches[2]);
    const prefetching = createLoader(samples, BASE);
    prefetching.prefetch();
    assert.deepEqual(prefetching.next(), batches[0]);
    assert.equal(prefetching.stepIndex, 1);
    assert.deepEqual(prefetching.batchAt(1), batches[1]);
    assert.notDeepEqual(createLoader(samples, { ...BASE, seed: 8 }).batchAt(0), batches[0]);
  });
  test('released batches are reused and fully overwritten', () => {
    const loader = createLoader(samples, { ...BASE, weightMap: {} });
    const first = loader.next();
    const expected = structuredClone(createLoader(samples, { ...BASE, weightMap: {} }).batchAt(1));
    loader.release(first);
    const second = loader.next();
    assert.equal(second.x, first.x, 'the released arrays are reused');
    assert.deepEqual(second, expected);
  });
  test('valid U-Net patch 16 output 8: y is the centre crop of x', () => {
    const batch = createLoader(samples, { ...BASE, augment: false, outputSize: 8 }).next();
    assert.deepEqual(batch.targetShape, [3, 8, 8]);
    for (let n = 0; n < 3; n++) {
      for (let v = 0; v < 8; v++) {
        for (let u = 0; u < 8; u++) {
          // Input pixel (u + 4, v + 4) is target pixel (u, v); near borders x holds mirrored coordinates.
          const i = n * 512 + (v + 4) * 16 + u + 4;
          const x = Math.round(batch.x[i] * 100) - 1;
          const y = Math.round(batch.x[i + 256] * 100) - 1;
          assert.equal(batch.y[n * 64 + v * 8 + u], ((x >> 2) + (y >> 2)) & 1);
        }
      }
    }
  });
  test('multiclass with weight maps: y in 0..2, weights ≥ class weight', () => {
    const three = [coordinateSample('c', 40, 30, 3)];
    const batch = createLoader(three, { ...BASE, classes: 3, weightMap: { w0: 10, sigmaPx: 3 } }).next();
    assert.ok(batch.y.every((v) => v === 0 || v === 1 || v === 2));
    assert.equal(batch.weights!.length, 3 * 256);
    assert.ok(batch.weights!.every((w) => w > 0));
  });
  test("class weights 1 / 2 / 10 on a 3-class checkerboard, default augmentation: each weight is its pixel label's", () => {
    const three = [coordinateSample('c', 40, 30, 3)];
    const loader = createLoader(three, { ...BASE, classes: 3, classWeights: [1, 2, 10] });
    for (let k = 0; k < 3; k++) {
      const batch = loader.next();
      assert.equal(batch.weights!.length, 3 * 256);
      batch.y.forEach((label, i) => assert.equal(batch.weights![i], [1, 2, 10][label]));
    }
  });
  test('class weights with border weight maps: the product', () => {
    const three = [coordinateSample('c', 40, 30, 3)];
    const options = { ...BASE, classes: 3, augment: false as const, weightMap: { w0: 10, sigmaPx: 3 } };
    const plain = createLoader(three, options).next();
    const weighted = createLoader(three, { ...options, classWeights: [1, 1, 4] }).next();
    plain.y.forEach((label, i) => assert.ok(Math.abs(weighted.weights![i] - plain.weights![i] * (label === 2 ? 4 : 1)) < 1e-6));
  });
  test('class weights of the wrong length or negative fail naming the count', () => {
    assert.throws(() => createLoader(samples, { ...BASE, classWeights: [1, 1, 10] }), /classWeights must give 2 finite weights ≥ 0/);
    assert.throws(() => createLoader(samples, { ...BASE, classWeights: [1, -1] }), /classWeights must give 2/);
  });
  test('grid sampling, 15 per image: one epoch visits every grid patch once', () => {
    const one = [coordinateSample('a', 40, 30)];
    const loader = createLoader(one, { ...BASE, batchSize: 5, augment: false, sampling: 'grid' });
    assert.equal(loader.epochSize, 15);
    const origins = new Set<string>();
    for (let k = 0; k < 3; k++) {
      const batch = loader.next();
      for (let n = 0; n < 5; n++) origins.add(`${Math.round(batch.x[n * 512] * 100)},${Math.round(batch.x[n * 512 + 256] * 100)}`);
    }
    assert.equal(origins.size, 15);
  });
  test('labels beyond the class count fail naming the sample', () => {
    assert.throws(() => createLoader([coordinateSample('odd', 20, 20, 3)], BASE), /odd: label 2 found but there are only 2 classes/);
  });
  test('bad output size and unknown sampling fail with messages', () => {
    assert.throws(
      () => createLoader(samples, { ...BASE, outputSize: 9 }),
      /outputSize must be an integer ≤ patchSize \(16\) with an even difference/,
    );
    assert.throws(() => createLoader(samples, { ...BASE, sampling: 'sliding' as never }), /valid patch samplings are: random, grid/);
  });
});

describe('createLoader with ignored pixels (weak annotations)', () => {
  test('labels 0, 1 and IGNORE_LABEL 255 on a 40×30 image: y carries 255 through patches and the default augmentation, nothing else appears', () => {
    const sample = coordinateSample('a', 40, 30);
    // Every third column of blocks is unknown, as an ignore ring would be.
    for (let i = 0; i < sample.labels.length; i++) if (((i % 40) >> 2) % 3 === 2) sample.labels[i] = 255;
    const loader = createLoader([sample], { ...BASE, augment: 'default', foregroundFraction: 1 });
    const seen = new Set<number>();
    for (let step = 0; step < 6; step++) for (const v of loader.next().y) seen.add(v);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [0, 1, 255],
    );
  });
});
