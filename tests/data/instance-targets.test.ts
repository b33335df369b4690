import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { distanceTarget, instanceBoundaries, threeClassTarget } from '../../src/data/instance-targets.js';
import { createLoader } from '../../src/data/loader.js';
import type { Sample } from '../../src/data/types.js';
import { plane } from '../plane.js';

/** Two 3×3 cells side by side (ids 1 and 2, touching along a column) in a 7×5 image. */
const twoCells = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 1, 1, 2, 2, 2, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0]);

describe('instance targets on literal label images', () => {
  test('two touching 3×3 cells: inner boundaries, each cell keeps its centre as interior', () => {
    const boundary = instanceBoundaries(plane(twoCells, 7, 5));
    // Cell 2 touches the right image border: its right column has no outside neighbour there.
    assert.deepEqual(
      [...boundary],
      [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    );
    const target = threeClassTarget(plane(twoCells, 7, 5), { contactWidthPx: 1 });
    assert.deepEqual(
      [...target.subarray(14, 21)],
      [0, 2, 1, 2, 2, 1, 1],
      'middle row: background, boundary, interior, boundary | boundary, interior, interior (border)',
    );
    assert.equal(target.filter((v) => v === 1).length, 3);
  });

  test('two touching 3×3 cells at contact width 2: cell 2 widens at the contact, cell 1 (no interior left) keeps 1 px', () => {
    const target = threeClassTarget(plane(twoCells, 7, 5), { contactWidthPx: 2 });
    assert.deepEqual([...target.subarray(14, 21)], [0, 2, 1, 2, 2, 2, 1]);
  });

  test('two touching 5-wide cells in a 10×3 strip at contact widths 1, 2, 3: the contact boundary deepens, the ends stay', () => {
    const strip = Int32Array.from({ length: 30 }, (_, i) => (i % 10 < 5 ? 1 : 2));
    const rows = [1, 2, 3].map((contactWidthPx) =>
      [...threeClassTarget(plane(strip, 10, 3), { contactWidthPx }).subarray(10, 20)].join(''),
    );
    // The strip fills the image: no background, so only the contact is boundary.
    assert.deepEqual(rows, ['1111221111', '1112222111', '1122222211']);
  });

  test('two touching 3×3 cells: distance target peaks at 1 in each cell, 0 on background', () => {
    const target = distanceTarget(plane(twoCells, 7, 5));
    assert.equal(target[2 * 7 + 2], 1, 'centre of cell 1');
    assert.equal(Math.max(...target.subarray(2 * 7 + 4, 2 * 7 + 7)), 1, 'cell 2 peaks at 1');
    assert.ok(target[2 * 7 + 3] < 1 && target[2 * 7 + 4] < 1, 'the contact columns are below the peaks');
    assert.ok(twoCells.every((id, i) => (id === 0 ? target[i] === 0 : target[i] > 0)));
  });

  test('one cell filling a 2×2 image: flat distance target 1, all boundary-free interior', () => {
    const whole = plane(Int32Array.of(1, 1, 1, 1), 2, 2);
    assert.deepEqual([...distanceTarget(whole)], [1, 1, 1, 1]);
    assert.deepEqual([...threeClassTarget(whole)], [1, 1, 1, 1]);
  });

  test('loader with instanceTarget threeClass / distance on a 16×16 sample of two touching squares', () => {
    const labels = new Uint8Array(256);
    const instances = new Int32Array(256);
    for (let y = 4; y < 12; y++) {
      for (let x = 2; x < 14; x++) {
        labels[y * 16 + x] = 1;
        instances[y * 16 + x] = x < 8 ? 1 : 2;
      }
    }
    const sample: Sample = {
      stem: 's',
      image: { width: 16, height: 16, channels: 1, data: new Float32Array(256).fill(0.5) },
      labels,
      instances,
    };
    const base = { patchSize: 16, batchSize: 1, augment: false as const, normalization: { kind: 'meanStd' as const, mean: [0], std: [1] } };
    const three = createLoader([sample], { ...base, classes: 3, instanceTarget: 'threeClass' }).next();
    assert.deepEqual(new Set(three.y), new Set([0, 1, 2]));
    assert.equal(three.y[8 * 16 + 7], 2, 'the contact column of cell 1 is boundary');
    const distance = createLoader([sample], { ...base, classes: 2, instanceTarget: 'distance' }).next();
    assert.equal(distance.regression?.length, 256);
    assert.deepEqual(new Set(distance.y), new Set([0, 1]));
    assert.equal(Math.max(...distance.regression!), 1);
  });
});
