import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distanceTarget } from '../../src/data/instance-targets.js';
import { CENTRE_TARGET_SCALE, RAY_COUNT, RAY_UNIT_PX, starDistances } from '../../src/data/star-distances.js';
import { splitHeads } from '../../src/infer/instance-methods.js';
import { resampleProbabilities } from '../../src/infer/predict.js';
import { rayPermutation, starConvexInstances, unturnRays } from '../../src/infer/star-convex.js';
import { applySymmetry, invertSymmetry, TTA_MODES } from '../../src/infer/symmetry.js';
import { matchInstances } from '../../src/metrics/objects.js';

/** Two discs of radius 6 whose centres are 10 px apart, so they touch along a flat chord. */
function touchingDiscs(width = 32, height = 20): Int32Array {
  const ids = new Int32Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const a = Math.hypot(x - 10, y - 10);
      const b = Math.hypot(x - 20, y - 10);
      if (Math.min(a, b) <= 6) ids[y * width + x] = a <= b ? 1 : 2;
    }
  return ids;
}

test('starConvexInstances: two touching discs, true rays and centre score → two cells matching the truth', () => {
  const [width, height] = [32, 20];
  const ids = touchingDiscs(width, height);
  const plane = { width, height, data: ids };
  const foreground = { width, height, data: Uint8Array.from(ids, (id) => (id ? 1 : 0)) };
  const cells = starConvexInstances(foreground, distanceTarget(plane), starDistances(plane), { seedThreshold: 0.5, minSizePx: 5 });
  assert.equal(cells.count, 2);
  const match = matchInstances(cells.data, ids, { iouThreshold: 0.9 });
  assert.equal(match.truePositives, 2);
  assert.ok(
    cells.data.every((id, i) => id > 0 === ids[i] > 0),
    'the cells cover the foreground exactly',
  );
});

test('starConvexInstances: a low overlap threshold keeps one polygon per cell, seeds below the threshold give none', () => {
  const [width, height] = [32, 20];
  const ids = touchingDiscs(width, height);
  const plane = { width, height, data: ids };
  const foreground = { width, height, data: Uint8Array.from(ids, (id) => (id ? 1 : 0)) };
  const strict = starConvexInstances(foreground, distanceTarget(plane), starDistances(plane), {
    seedThreshold: 0,
    overlapThreshold: 0,
    minSizePx: 0,
  });
  assert.equal(strict.count, 2);
  // No candidate: the whole foreground is one unreached region, one cell.
  const none = starConvexInstances(foreground, distanceTarget(plane), starDistances(plane), { seedThreshold: 2, minSizePx: 0 });
  assert.equal(none.count, 1);
});

test('rayPermutation: each symmetry permutes the 32 rays, and two horizontal flips are the identity', () => {
  for (const symmetry of TTA_MODES.dihedral) {
    const permutation = rayPermutation(symmetry, 32);
    assert.deepEqual(
      [...permutation].sort((a, b) => a - b),
      [...Array(32).keys()],
    );
  }
  const h = rayPermutation({ transpose: false, horizontal: true, vertical: false }, 32);
  assert.deepEqual(
    [...h].map((k) => h[k]),
    [...Array(32).keys()],
  );
  assert.equal(h[0], 16, 'the ray to +x reads the turned tile’s ray to −x');
});

test('unturnRays: rays of a turned 12×12 cell, turned back, equal the rays of the cell itself for every symmetry', () => {
  const size = 12;
  // An asymmetric cell (an L), so a wrong permutation shows.
  const ids = new Int32Array(size * size);
  for (let y = 2; y < 10; y++) for (let x = 3; x < 6; x++) ids[y * size + x] = 1;
  for (let y = 7; y < 10; y++) for (let x = 6; x < 10; x++) ids[y * size + x] = 1;
  const rays = 32;
  const plane = size * size;
  const truth = starDistances({ width: size, height: size, data: ids }, rays);
  for (const symmetry of TTA_MODES.dihedral) {
    const turnedIds = applySymmetry(Float32Array.from(ids), 1, size, size, symmetry);
    const turnedRays = starDistances({ width: size, height: size, data: Int32Array.from(turnedIds) }, rays);
    const back = invertSymmetry(turnedRays, rays, size, size, symmetry);
    unturnRays(back, plane, 0, rays, symmetry);
    const worst = back.reduce((m, v, i) => Math.max(m, Math.abs(v - truth[i])), 0);
    assert.ok(worst < 1e-4, `${JSON.stringify(symmetry)}: rays differ by up to ${worst}`);
  }
});

test('splitHeads(starDist): [foreground, centre, 32 rays] outputs → centre ÷ √32 and rays × 16 px', () => {
  const plane = 2;
  const outputs = new Float32Array((2 + RAY_COUNT) * plane);
  outputs.set([0.9, 0.1], 0);
  outputs.set([CENTRE_TARGET_SCALE, 0], plane);
  for (let k = 0; k < RAY_COUNT; k++) outputs.set([0.5, 0], (2 + k) * plane);
  const heads = splitHeads('starDist', outputs, plane);
  assert.deepEqual([...heads.foreground], [Math.fround(0.9), Math.fround(0.1)]);
  assert.ok(Math.abs(heads.seeds![0] - 1) < 1e-6);
  assert.equal(heads.rays!.length, RAY_COUNT * plane);
  assert.equal(heads.rays![0], 0.5 * RAY_UNIT_PX);
});

test('resampleProbabilities: a starDist map of 8×8 resampled to 16×16 doubles its ray lengths', () => {
  const plane = 64;
  const map = {
    width: 8,
    height: 8,
    channels: 1,
    data: new Float32Array(plane).fill(1),
    seeds: new Float32Array(plane).fill(0.5),
    rays: new Float32Array(RAY_COUNT * plane).fill(3),
  };
  const resized = resampleProbabilities(map, { width: 16, height: 16 });
  assert.equal(resized.rays!.length, RAY_COUNT * 256);
  assert.ok(resized.rays!.every((v) => Math.abs(v - 6) < 1e-5));
  assert.equal(resized.seeds!.length, 256);
});
