import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { resampleImage, resampleLabels, scaledSize } from '../../src/image/resample.js';
import type { FloatImage } from '../../src/image/types.js';
import { plane } from '../plane.js';

const gray = (width: number, height: number, values: number[]): FloatImage => ({
  width,
  height,
  channels: 1,
  data: Float32Array.from(values),
});
const rounded = (data: Float32Array) => Array.from(data, (v) => +v.toFixed(5));

describe('resampleImage', () => {
  test('4x4 → 2x2 averages each 2x2 block', () => {
    const image = gray(4, 4, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    assert.deepEqual(rounded(resampleImage(image, { width: 2, height: 2 }).data), [2.5, 4.5, 10.5, 12.5]);
  });

  test('3x1 → 2x1 area weights: [0, 3, 6] → [1, 5]', () => {
    // Output pixel 0 covers input [0, 1.5): 0·(1/1.5) + 3·(0.5/1.5) = 1.
    assert.deepEqual(rounded(resampleImage(gray(3, 1, [0, 3, 6]), { width: 2, height: 1 }).data), [1, 5]);
  });

  test('2x1 → 4x1 bilinear with pixel centres: [0, 1] → [0, 0.25, 0.75, 1]', () => {
    assert.deepEqual(rounded(resampleImage(gray(2, 1, [0, 1]), { width: 4, height: 1 }).data), [0, 0.25, 0.75, 1]);
  });

  test('RGB 2x2 → 1x1 averages per channel', () => {
    const image: FloatImage = { width: 2, height: 2, channels: 3, data: Float32Array.from([1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1]) };
    assert.deepEqual(rounded(resampleImage(image, { width: 1, height: 1 }).data), [0.5, 0.5, 0.25]);
  });

  test('same size returns an equal copy', () => {
    const image = gray(2, 1, [0.1, 0.2]);
    const out = resampleImage(image, { width: 2, height: 1 });
    assert.notEqual(out.data, image.data);
    assert.deepEqual(out.data, image.data);
  });

  test('shrink x, grow y at once: 4x1 → 2x2', () => {
    assert.deepEqual(rounded(resampleImage(gray(4, 1, [0, 2, 4, 6]), { width: 2, height: 2 }).data), [1, 5, 1, 5]);
  });

  test('size 0 fails', () => {
    assert.throws(() => resampleImage(gray(1, 1, [0]), { width: 0, height: 1 }), /positive whole numbers/);
  });
});

describe('resampleLabels', () => {
  test('nearest 4x4 → 2x2 keeps only input values', () => {
    const labels = Uint8Array.from([0, 0, 2, 2, 0, 0, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(resampleLabels(plane(labels, 4, 4), { width: 2, height: 2 }).data), [0, 2, 1, 0]);
  });

  test('3x3 → 7x5 never invents values', () => {
    const labels = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const { data: out } = resampleLabels(plane(labels, 3, 3), { width: 7, height: 5 });
    assert.ok(Array.from(out).every((v) => labels.includes(v)));
    assert.deepEqual(new Set(out), new Set(labels));
  });

  test('Int32 instance ids stay Int32 and keep large ids', () => {
    const { data: out } = resampleLabels(plane(Int32Array.from([0, 70000]), 2, 1), { width: 4, height: 1 });
    assert.ok(out instanceof Int32Array);
    assert.deepEqual(Array.from(out), [0, 0, 70000, 70000]);
  });
});

describe('scaledSize', () => {
  test('300x300 scale 0.5 → 150x150; 5x3 scale 0.1 → 1x1 (never 0)', () => {
    assert.deepEqual(scaledSize(300, 300, 0.5), [150, 150]);
    assert.deepEqual(scaledSize(5, 3, 0.1), [1, 1]);
  });

  test('scale 0 fails', () => {
    assert.throws(() => scaledSize(10, 10, 0), /positive number/);
  });
});
