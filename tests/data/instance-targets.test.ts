import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CENTRE_SIGMA_FRACTION,
  centreHeatmap,
  distanceTarget,
  instanceBoundaries,
  threeClassTarget,
} from '../../src/data/instance-targets.js';
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
    // centres keeps the class labels (ignore included) and regresses the annotated centres' heatmap.
    const annotated: Sample = { ...sample, instances: undefined, cellCentres: [{ x: 5, y: 8, radiusXPx: 3, radiusYPx: 4 }] };
    const centres = createLoader([annotated], { ...base, classes: 2, instanceTarget: 'centres' }).next();
    assert.deepEqual([...centres.y], [...labels]);
    assert.equal(centres.regression?.length, 256);
    assert.deepEqual([...centres.regression!], [...centreHeatmap(annotated.cellCentres!, 16, 16)]);
    assert.throws(() => createLoader([sample], { ...base, classes: 2, instanceTarget: 'centres' }), /boxes and points/);
  });
});

describe('centreHeatmap on literal cells', () => {
  test('one cell of core radius 5 at pixel (3, 2) of a 16×5 image: 1 at its centre, the Gaussian of σ = 2 px beside it, 0 past 3σ', () => {
    const heatmap = centreHeatmap([{ x: 3.5, y: 2.5, radiusXPx: 5, radiusYPx: 5 }], 16, 5);
    const sigma = CENTRE_SIGMA_FRACTION * 5;
    assert.equal(heatmap[2 * 16 + 3], 1);
    assert.ok(Math.abs(heatmap[2 * 16 + 4] - Math.exp(-0.5 / sigma ** 2)) < 1e-6, 'one pixel right');
    assert.ok(Math.abs(heatmap[2 * 16 + 10] - Math.exp(-0.5 * (7 / sigma) ** 2)) < 1e-6, 'seven pixels right, inside the 3σ window');
    assert.equal(heatmap[2 * 16 + 11], 0, 'eight pixels right: past 3σ = 6 px (and its rounding)');
  });
  test('two overlapping cells: the larger bump wins where they meet (a maximum, not a sum), each peak stays 1', () => {
    const cells = [
      { x: 3.5, y: 2.5, radiusXPx: 5, radiusYPx: 5 },
      { x: 6.5, y: 2.5, radiusXPx: 5, radiusYPx: 5 },
    ];
    const heatmap = centreHeatmap(cells, 16, 5);
    assert.equal(heatmap[2 * 16 + 3], 1);
    assert.equal(heatmap[2 * 16 + 6], 1);
    const single = centreHeatmap([cells[0]], 16, 5);
    assert.equal(heatmap[2 * 16 + 5], centreHeatmap([cells[1]], 16, 5)[2 * 16 + 5]);
    assert.ok(heatmap[2 * 16 + 5] >= single[2 * 16 + 5]);
  });
});
