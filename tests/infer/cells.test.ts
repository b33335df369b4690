import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { classifyCells, countByClass } from '../../src/infer/cells.js';
import type { ProbabilityMap } from '../../src/infer/predict.js';
import { instancesPerClass, minSizeNote, segment } from '../../src/infer/segment.js';
import { countTable, summaryCsv } from '../../src/io/prediction-outputs.js';
import { plane } from '../plane.js';

const rows = (...r: string[]): number[] => r.join('').split('').map(Number);
const CLASSES = ['background', 'pus', 'rbc', 'ep'];

/** A softmax-like map `[4, H, W]` whose argmax is `labels`, that class at probability `p`, the rest shared. */
function mapOf(labels: number[], width: number, height: number, p = 0.7): ProbabilityMap {
  const plane = width * height;
  const data = new Float32Array(4 * plane).fill((1 - p) / 3);
  labels.forEach((c, i) => {
    data[c * plane + i] = p;
  });
  return { width, height, channels: 4, data };
}

describe('instancesPerClass', () => {
  test('a pus blob touching an rbc blob (6x3): two cells, one class each, ids in raster order', () => {
    const labels = Uint8Array.from(rows('111220', '111220', '111220'));
    const instances = instancesPerClass(plane(labels, 6, 3), 4, 0);
    assert.equal(instances.count, 2);
    assert.deepEqual([...instances.data], rows('111220', '111220', '111220'));
  });

  test('rbc first in raster order gets id 1; an ep speck under minSizePx 2 is dropped', () => {
    const labels = Uint8Array.from(rows('220011', '220011', '000003'));
    const instances = instancesPerClass(plane(labels, 6, 3), 4, 2);
    assert.deepEqual([...instances.data], rows('110022', '110022', '000000'));
  });

  test('binary map (classes 2): the same ids as one mask', () => {
    const labels = Uint8Array.from(rows('110011', '110011'));
    assert.deepEqual([...instancesPerClass(plane(labels, 6, 2), 2, 0).data], rows('110022', '110022'));
  });
});

describe('segment with an instance rule', () => {
  // A 16×12 foreground map with one 5×4 cell (20 px) and its seed map; the rule's minimum size is 30 px of the network's input.
  const width = 16;
  const height = 12;
  const data = new Float32Array(width * height);
  for (let y = 4; y < 8; y++) for (let x = 4; x < 9; x++) data[y * width + x] = 0.9;
  const rule = { method: 'threeClass', heads: [], decoder: 'threeClass', seedThreshold: 0.5, minSizePx: 30 };
  const map: ProbabilityMap = { width, height, channels: 1, data, seeds: data.slice(), instanceRule: rule };

  test('the 5×4 cell of a map predicted at its own scale: under 30 px, dropped', () => {
    assert.equal(segment(map, { threshold: 0.5 }).instances.count, 0);
  });

  test('the 5×4 cell of an image the network saw at 2× (toModelScale 2, 80 px there): kept', () => {
    assert.equal(segment(map, { threshold: 0.5, toModelScale: 2 }).instances.count, 1);
  });

  test('the 5×4 cell with the rule minimum size replaced by 20 px (instanceMinSizePx, the serve slider): kept; by 21: dropped', () => {
    assert.equal(segment(map, { threshold: 0.5, instanceMinSizePx: 20 }).instances.count, 1);
    assert.equal(segment(map, { threshold: 0.5, instanceMinSizePx: 21 }).instances.count, 0);
  });

  test('the 5×4 cell with --min-size 20 (minSizePx, in the map pixels): kept; 21: dropped; at toModelScale 2 not rescaled', () => {
    assert.equal(segment(map, { threshold: 0.5, minSizePx: 20 }).instances.count, 1);
    assert.equal(segment(map, { threshold: 0.5, minSizePx: 21 }).instances.count, 0);
    assert.equal(segment(map, { threshold: 0.5, minSizePx: 21, toModelScale: 2 }).instances.count, 0);
  });

  test('--min-size 100 for a model whose instance rule keeps cells of 30 px: a note that it replaces them; none without --min-size or at 30', () => {
    const model = { metadata: { instances: rule } };
    assert.match(minSizeNote(model, { minSizePx: 100 }) ?? '', /--min-size 100 px replaces the 30 px/);
    assert.equal(minSizeNote(model, {}), undefined);
    assert.equal(minSizeNote(model, { minSizePx: 30 }), undefined);
    assert.equal(minSizeNote({ metadata: {} }, { minSizePx: 100 }), undefined);
  });
});

describe('classifyCells', () => {
  test('pus 3x3 at p 0.7 beside rbc 2x3 at p 0.7: classes, scores, boxes and counts', () => {
    const labels = rows('111220', '111220', '111220');
    const map = mapOf(labels, 6, 3);
    const segmentation = segment(map, { threshold: 0.5, minSizePx: 0 });
    const cells = classifyCells(segmentation, map, CLASSES);
    assert.deepEqual(
      cells.map((c) => [c.id, c.className, c.classIndex, c.bboxXmin, c.bboxYmin, c.bboxXmax, c.bboxYmax, c.areaPx]),
      [
        [1, 'pus', 1, 0, 0, 2, 2, 9],
        [2, 'rbc', 2, 3, 0, 4, 2, 6],
      ],
    );
    for (const cell of cells) assert.ok(Math.abs(cell.score - 0.7) < 1e-6, `score ${cell.score}`);
    assert.deepEqual(countByClass(cells, CLASSES), { pus: 1, rbc: 1, ep: 0 });
  });

  test('binary map: class is the foreground name, score the mean foreground probability', () => {
    const map: ProbabilityMap = { width: 3, height: 1, channels: 1, data: Float32Array.of(0.6, 1, 0) };
    const cells = classifyCells(segment(map, { threshold: 0.5, minSizePx: 0 }), map, ['background', 'cell']);
    assert.deepEqual(
      cells.map((c) => [c.className, c.areaPx]),
      [['cell', 2]],
    );
    assert.ok(Math.abs(cells[0].score - 0.8) < 1e-6, `score ${cells[0].score}`);
  });
});

describe('summaryCsv and countTable', () => {
  const summaries = [
    { image: 'a', width: 8, height: 4, cells: 3, counts: { pus: 2, rbc: 1, ep: 0 }, foregroundFraction: 0.25 },
    { image: 'b', error: 'b.png is truncated' },
    { image: 'c', width: 8, height: 4, cells: 12, counts: { pus: 11, rbc: 0, ep: 1 }, foregroundFraction: 0.5 },
  ];

  test('two predicted images and one failed: count_<class> columns after cell_count, empty for the failed one', () => {
    assert.equal(
      summaryCsv(summaries),
      [
        'image,width,height,cell_count,count_pus,count_rbc,count_ep,foreground_fraction,error',
        'a,8,4,3,2,1,0,0.250000,',
        'b,,,,,,,,b.png is truncated',
        'c,8,4,12,11,0,1,0.500000,',
        '',
      ].join('\n'),
    );
  });

  test('no image predicted: no count columns', () => {
    assert.equal(summaryCsv([{ image: 'b', error: 'bad' }]).split('\n')[0], 'image,width,height,cell_count,foreground_fraction,error');
  });

  test('count table: one aligned line per predicted image, a total line, the failed image left out', () => {
    assert.equal(
      countTable(summaries),
      ['image  cells  pus  rbc  ep', 'a          3    2    1   0', 'c         12   11    0   1', 'total     15   13    1   1', ''].join(
        '\n',
      ),
    );
  });
});
