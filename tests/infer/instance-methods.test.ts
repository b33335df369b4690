import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { centreHeatmap, distanceTarget, threeClassTarget } from '../../src/data/instance-targets.js';
import { labelComponents } from '../../src/image/components.js';
import {
  centreSeededInstances,
  decodeInstances,
  peakSeededInstances,
  resolveInstanceMethod,
  seededInstances,
  splitHeads,
} from '../../src/infer/instance-methods.js';
import { splitTouching } from '../../src/infer/instances.js';
import { pooledAp50 } from '../../src/train/instance-rule.js';
import { plane } from '../plane.js';

/**
 * Two discs of radius 6 whose centres are 12 px apart in a 32×20 image, drawn `scale` times larger
 * (image and discs): ids 1 and 2 (nearest centre).
 */
function touchingDiscs(scale = 1): { mask: Uint8Array; ids: Int32Array } {
  const [width, height] = [32 * scale, 20 * scale];
  const mask = new Uint8Array(width * height);
  const ids = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d1 = Math.hypot(x / scale - 10, y / scale - 10);
      const d2 = Math.hypot(x / scale - 22, y / scale - 10);
      if (Math.min(d1, d2) <= 6) {
        mask[y * width + x] = 1;
        ids[y * width + x] = d1 <= d2 ? 1 : 2;
      }
    }
  }
  return { mask, ids };
}

describe('instance methods', () => {
  const { mask, ids } = touchingDiscs();
  const foreground = plane(mask, 32, 20);

  test('two touching discs are one connected component but the watershed splits them into 2', () => {
    assert.equal(labelComponents(foreground).count, 1);
    const split = splitTouching(foreground, { minSizePx: 5 });
    assert.equal(split.count, 2);
    assert.equal(pooledAp50([split.data], [ids]), 1);
  });

  test('two touching discs: cells grown from the true interior (threeClass) and distance seeds match the truth', () => {
    const three = threeClassTarget(plane(ids, 32, 20));
    const interior = Float32Array.from(three, (v) => (v === 1 ? 0.9 : 0.05));
    const fromInterior = seededInstances(foreground, interior, { seedThreshold: 0.5, minSizePx: 5 });
    assert.equal(fromInterior.count, 2);
    assert.equal(pooledAp50([fromInterior.data], [ids]), 1);
    const fromDistance = decodeInstances(
      foreground,
      { seeds: distanceTarget(plane(ids, 32, 20)) },
      {
        decoder: 'distance',
        seedThreshold: 0.5,
        minSizePx: 5,
      },
    );
    assert.equal(fromDistance.count, 2);
    assert.equal(pooledAp50([fromDistance.data], [ids]), 1);
  });

  test('two touching discs with no boundary predicted (interior 0.9 everywhere): whole seeds give 1 cell, split seeds the true 2', () => {
    const interior = Float32Array.from(mask, (v) => (v ? 0.9 : 0.05));
    const whole = seededInstances(foreground, interior, { seedThreshold: 0.5, minSizePx: 5 });
    assert.equal(whole.count, 1);
    const split = decodeInstances(
      foreground,
      { seeds: interior },
      { decoder: 'threeClass', seedThreshold: 0.5, minSizePx: 5, splitSeeds: true },
    );
    assert.equal(split.count, 2);
    assert.equal(pooledAp50([split.data], [ids]), 1);
  });

  test('two touching discs, interior 0.9 everywhere: peaks of distance × interior (h 1 px) give the true 2', () => {
    const interior = Float32Array.from(mask, (v) => (v ? 0.9 : 0.05));
    const cells = decodeInstances(
      foreground,
      { seeds: interior },
      { decoder: 'threeClass', seedThreshold: 0, minSizePx: 5, peakHeightPx: 1 },
    );
    assert.equal(cells.count, 2);
    assert.equal(pooledAp50([cells.data], [ids]), 1);
  });

  test('a 40×10 bar with a 2-px boundary predicted across its middle (interior 0 there): peaks give its 2 halves, no neck needed', () => {
    const bar = new Uint8Array(48 * 14);
    const truth = new Int32Array(48 * 14);
    const interior = new Float32Array(48 * 14);
    for (let y = 2; y < 12; y++) {
      for (let x = 4; x < 44; x++) {
        bar[y * 48 + x] = 1;
        truth[y * 48 + x] = x < 24 ? 1 : 2;
        interior[y * 48 + x] = x === 23 || x === 24 ? 0 : 0.95;
      }
    }
    const cells = peakSeededInstances(plane(bar, 48, 14), interior, { peakHeightPx: 1, minSizePx: 5 });
    assert.equal(cells.count, 2);
    assert.equal(pooledAp50([cells.data], [truth]), 1);
    const fromShapeOnly = splitTouching(plane(bar, 48, 14), { minSizePx: 5 });
    assert.equal(fromShapeOnly.count, 1, 'the distance transform alone sees one bar');
  });

  test('peak heights are in network pixels: touching discs drawn 2× larger, decoded with networkPixelPx 2, split as at 1×', () => {
    const discsAt = (scale: number) => {
      const { mask: disc } = touchingDiscs(scale);
      return { foreground: plane(disc, 32 * scale, 20 * scale), seeds: Float32Array.from(disc, (v) => (v ? 0.9 : 0)) };
    };
    const counts = (peakHeightPx: number) =>
      (
        [
          [1, 1],
          [2, 2],
          [2, 1],
        ] as const
      ).map(([scale, networkPixelPx]) => {
        const { foreground: f, seeds } = discsAt(scale);
        return decodeInstances(f, { seeds }, { decoder: 'threeClass', seedThreshold: 0, minSizePx: 5, peakHeightPx }, networkPixelPx).count;
      });
    // [1×, 2× with networkPixelPx 2, 2× with 1]: the neck is a dip of 3.5–4 px (distance × 0.9) at 1×, twice that at 2×.
    assert.deepEqual(counts(1.5), [2, 2, 2]);
    assert.deepEqual(counts(4), [1, 1, 2]);
  });

  test('a foreground region with no seed above the threshold still becomes a cell', () => {
    const cells = seededInstances(foreground, new Float32Array(32 * 20), { seedThreshold: 0.5, minSizePx: 5 });
    assert.equal(cells.count, 1);
  });

  test('splitHeads of a threeClass output [3, 1, 2]: foreground 1 − p(background), seeds p(interior)', () => {
    const { foreground: f, seeds } = splitHeads('threeClass', Float32Array.of(0.25, 1, 0.5, 0, 0.25, 0), 2);
    assert.deepEqual([...f], [0.75, 0]);
    assert.deepEqual([...seeds!], [0.5, 0]);
  });

  test('auto is the measured winner with instance masks, watershed without; a multiclass task refuses threeClass', () => {
    assert.notEqual(resolveInstanceMethod('auto', { binary: true, hasInstances: true }), 'watershed');
    assert.equal(resolveInstanceMethod('auto', { binary: true, hasInstances: false }), 'watershed');
    assert.throws(() => resolveInstanceMethod('threeClass', { binary: false, hasInstances: true }), /binary/);
    assert.throws(() => resolveInstanceMethod('stardist', { binary: true, hasInstances: true }), /threeClass/);
  });

  test('centres: a multiclass task of boxes and points takes it; masks without annotated centres refuse it, naming why', () => {
    assert.equal(resolveInstanceMethod('centres', { binary: false, hasInstances: false, hasCellCentres: true }), 'centres');
    assert.throws(() => resolveInstanceMethod('centres', { binary: true, hasInstances: true }), /box or point annotations/);
  });

  test('centreSeededInstances: two touching class-1 discs with a heatmap peak each → 2 cells; the same discs as class 1 and 2 → 2 cells, one per class', () => {
    const heatmap = centreHeatmap(
      [
        { x: 10.5, y: 10.5, radiusXPx: 5, radiusYPx: 5 },
        { x: 22.5, y: 10.5, radiusXPx: 5, radiusYPx: 5 },
      ],
      32,
      20,
    );
    const sameClass = centreSeededInstances(foreground, heatmap, { seedThreshold: 0.3, minSizePx: 5 });
    assert.equal(sameClass.count, 2);
    assert.ok(pooledAp50([sameClass.data], [ids]) === 1, 'each disc is one cell');
    // Without the heatmap's dip the one region would be one cell.
    assert.equal(centreSeededInstances(foreground, new Float32Array(32 * 20).fill(1), { seedThreshold: 0.3, minSizePx: 5 }).count, 1);
    const twoClasses = Uint8Array.from(ids, (id) => id);
    const cells = centreSeededInstances(plane(twoClasses, 32, 20), heatmap, { seedThreshold: 0.3, minSizePx: 5 });
    assert.equal(cells.count, 2);
  });
});
