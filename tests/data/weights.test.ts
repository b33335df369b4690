import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { borderWeightMap } from '../../src/data/weights.js';
import { squaredDistanceTransform } from '../../src/image/distance.js';
import { Random } from '../../src/util/random.js';
import { plane } from '../plane.js';

/** Two 4x4 squares in a 11x6 image, one background column (x = 5) between them. */
function touchingSquares(): Int32Array {
  const instances = new Int32Array(11 * 6);
  for (let y = 1; y < 5; y++) {
    for (let x = 1; x < 5; x++) instances[y * 11 + x] = 1;
    for (let x = 6; x < 10; x++) instances[y * 11 + x] = 2;
  }
  return instances;
}

describe('borderWeightMap', () => {
  test('two squares with a 1-pixel gap: gap pixel ≈ w_c + w0', () => {
    const instances = touchingSquares();
    const { data: weights } = borderWeightMap(plane(instances, 11, 6), { w0: 10, sigmaPx: 5, classBalance: false });
    // d1 = d2 = 1 → 10·exp(−4/50) ≈ 9.23
    const gap = weights[2 * 11 + 5];
    assert.ok(Math.abs(gap - (1 + 10 * Math.exp(-4 / 50))) < 1e-5, `gap weight ${gap}`);
    assert.ok(gap > 1 + 0.9 * 10);
    assert.equal(weights[2 * 11 + 2], 1, 'cell pixels get w_c only');
    // A corner pixel is farther from both cells than the gap: smaller weight.
    assert.ok(weights[0] < gap && weights[0] > 1);
  });
  test('class balance: w_c averages to 1 and foreground (32 of 66 px) weighs 66/64', () => {
    const instances = touchingSquares();
    const { data: weights } = borderWeightMap(plane(instances, 11, 6), { w0: 0 });
    assert.ok(Math.abs(weights[2 * 11 + 2] - 66 / 64) < 1e-6);
    assert.ok(Math.abs(weights.reduce((a, b) => a + b, 0) / 66 - 1) < 1e-6);
  });
  test('a single cell: no second-nearest cell, no border term', () => {
    const instances = new Int32Array(8 * 8);
    instances[3 * 8 + 3] = 5;
    const { data: weights } = borderWeightMap(plane(instances, 8, 8), { classBalance: false });
    assert.ok(weights.every((w) => w === 1));
  });
  test('multiclass labels drive class balance', () => {
    const instances = Int32Array.from([0, 1, 1, 0]);
    const labels = Uint8Array.from([0, 1, 2, 0]);
    const { data: weights } = borderWeightMap(plane(instances, 4, 1), { w0: 0, labels });
    assert.deepEqual(
      [...weights].map((w) => Math.round(w * 1000) / 1000),
      [0.667, 1.333, 1.333, 0.667],
    );
  });
  test('100 cells on 512x512: the gaps between touching cells are weighted up (its time target is in bench:large)', () => {
    const rng = new Random(4);
    const instances = new Int32Array(512 * 512);
    for (let id = 1; id <= 100; id++) {
      const cx = rng.int(15, 497);
      const cy = rng.int(15, 497);
      for (let y = cy - 12; y <= cy + 12; y++)
        for (let x = cx - 12; x <= cx + 12; x++) {
          if ((x - cx) ** 2 + (y - cy) ** 2 <= 144) instances[y * 512 + x] = id;
        }
    }
    const { data: weights } = borderWeightMap(plane(instances, 512, 512), {});
    assert.ok(
      weights.some((w) => w > 3),
      'some gaps between cells are weighted up',
    );
  });
  test('size mismatch fails naming both sizes', () => {
    assert.throws(() => borderWeightMap(plane(new Int32Array(10), 4, 4)), /10 pixels but 4×4 needs 16/);
  });
});

describe('squaredDistanceTransform', () => {
  test('random 13x9 mask equals brute force', () => {
    const rng = new Random(2);
    const mask = Uint8Array.from({ length: 13 * 9 }, () => (rng.chance(0.08) ? 1 : 0));
    mask[0] = 1;
    const { data: fast } = squaredDistanceTransform(plane(mask, 13, 9));
    for (let i = 0; i < mask.length; i++) {
      let best = Infinity;
      for (let j = 0; j < mask.length; j++) {
        if (mask[j]) best = Math.min(best, ((i % 13) - (j % 13)) ** 2 + (Math.floor(i / 13) - Math.floor(j / 13)) ** 2);
      }
      assert.equal(fast[i], best, `pixel ${i}`);
    }
  });
  test('empty 3x2 mask: all far (1e20)', () => {
    assert.ok(squaredDistanceTransform(plane(new Uint8Array(6), 3, 2)).data.every((d) => d >= 1e20));
  });
});
