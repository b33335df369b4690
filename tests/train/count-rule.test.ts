import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyCountRule, countCells, keepInstances } from '../../src/infer/count-rule.js';
import { describeCountRule } from '../../src/io/count-report.js';
import type { CountRuleImage } from '../../src/train/count-rule.js';
import { chooseCountRule, chooseCountRuleFromMaps } from '../../src/train/count-rule.js';
import { channelZeroModel } from '../cli/helpers.js';

const cell = (className: string, x: number, y: number, score: number, areaPx: number) => ({ className, x, y, score, areaPx });

describe('applyCountRule', () => {
  const cells = [cell('pus', 0, 0, 0.9, 400), cell('pus', 0, 0, 0.55, 400), cell('pus', 0, 0, 0.9, 50), cell('rbc', 0, 0, 0.1, 5)];

  test('no rule: every cell, in order', () => {
    assert.deepEqual(applyCountRule(cells, undefined), cells);
  });

  test('pus score ≥ 0.6 and area ≥ 100: drops the faint and the small pus cell, keeps the class without a rule', () => {
    const kept = applyCountRule(cells, { perClass: { pus: { minScore: 0.6, minAreaPx: 100 } } });
    assert.deepEqual(kept, [cells[0], cells[3]]);
  });

  test('a segmentation at twice the model scale (toModelScale 0.5): areas count a quarter', () => {
    const kept = applyCountRule(cells, { perClass: { pus: { minScore: 0, minAreaPx: 101 } } }, 0.5);
    assert.deepEqual(kept, [cells[3]]);
  });

  describe('edge distance 5 px in a 100×60 frame', () => {
    const rule = { perClass: { pus: { minScore: 0, minAreaPx: 0, minEdgeDistancePx: 5 } } };
    const frame = { width: 100, height: 60 };
    const at = (centroidX: number, centroidY: number) => ({ className: 'pus', score: 0.9, areaPx: 400, centroidX, centroidY });
    // Pixel centres sit at index + 0.5: the pixel at index 4 is 4.5 px from the left edge.
    const cut = [at(3, 30), at(50, 55)];
    const whole = [at(4.5, 30), at(50, 50), at(94.5, 54.5)];

    test('centroids 3.5 and 4.5 px from an edge are dropped, 5 px and more kept', () => {
      assert.deepEqual(applyCountRule([...cut, ...whole], rule, 1, frame), whole);
    });

    test('at toModelScale 0.5 distances count half: 10 px from the edge is 5 model px and kept, 9.5 is not', () => {
      const kept = applyCountRule([at(9.5, 30), at(9, 30)], rule, 0.5, frame);
      assert.deepEqual(kept, [at(9.5, 30)]);
    });

    test('without the frame it says what is missing', () => {
      assert.throws(() => applyCountRule(whole, rule), /pus edge distance needs the image size and the cells' centroids/);
    });

    test('countCells measures from the segmentation: of two 1-px cells in a 12×12 map, the one at x 0 is dropped, the one at x 6 kept', () => {
      const instances = new Int32Array(144);
      const labels = new Uint8Array(144);
      instances[6 * 12] = 1;
      instances[6 * 12 + 6] = 2;
      labels[6 * 12] = labels[6 * 12 + 6] = 1;
      const segmentation = {
        instances: { width: 12, height: 12, data: instances, count: 2 },
        labels: { width: 12, height: 12, data: labels },
      };
      const found = [
        { id: 1, ...at(0, 6) },
        { id: 2, ...at(6, 6) },
      ];
      const counted = countCells(found, segmentation, { perClass: { pus: { minScore: 0, minAreaPx: 0, minEdgeDistancePx: 1 } } });
      assert.deepEqual(
        counted.map((c) => [c.id, c.centroidX]),
        [[1, 6]],
      );
      assert.deepEqual([instances[6 * 12], instances[6 * 12 + 6], labels[6 * 12]], [0, 1, 0]);
    });
  });
});

describe('keepInstances', () => {
  test('ids 1, 2, 3 keeping {1, 3}: 2 erased from instances and labels, 3 renumbered 2', () => {
    const instances = { width: 4, height: 1, data: Int32Array.of(1, 2, 3, 0), count: 3 };
    const labels = { width: 4, height: 1, data: Uint8Array.of(1, 2, 1, 0) };
    const renumber = keepInstances(instances, labels, new Set([1, 3]));
    assert.deepEqual([...instances.data], [1, 0, 2, 0]);
    assert.deepEqual([...labels.data], [1, 0, 1, 0]);
    assert.equal(instances.count, 2);
    assert.deepEqual(
      [...renumber],
      [
        [1, 1],
        [3, 2],
      ],
    );
  });
});

describe('countCells', () => {
  const segmentationOf = () => ({
    instances: { width: 3, height: 1, data: Int32Array.of(1, 2, 3), count: 3 },
    labels: { width: 3, height: 1, data: Uint8Array.of(1, 1, 1) },
  });
  const cells = [
    { id: 1, className: 'pus', score: 0.4, areaPx: 1 },
    { id: 2, className: 'pus', score: 0.9, areaPx: 1 },
    { id: 3, className: 'pus', score: 0.8, areaPx: 1 },
  ];

  test('pus score ≥ 0.5 on cells 1–3: cells 2 and 3 kept as ids 1 and 2, cell 1 erased from the maps', () => {
    const segmentation = segmentationOf();
    const counted = countCells(cells, segmentation, { perClass: { pus: { minScore: 0.5, minAreaPx: 0 } } });
    assert.deepEqual(
      counted.map((c) => [c.id, c.score]),
      [
        [1, 0.9],
        [2, 0.8],
      ],
    );
    assert.deepEqual([...segmentation.instances.data], [0, 1, 2]);
    assert.deepEqual([...segmentation.labels.data], [0, 1, 1]);
    assert.equal(segmentation.instances.count, 2);
  });

  test('no rule: the same cells, the maps untouched', () => {
    const segmentation = segmentationOf();
    assert.deepEqual(countCells(cells, segmentation, undefined), cells);
    assert.deepEqual([...segmentation.instances.data], [1, 2, 3]);
  });
});

describe('chooseCountRule', () => {
  // Two true pus boxes (radius ≈ 10 px, typical area ≈ 314 px²) per image; the network also finds
  // faint debris (score 0.55) and small fragments (area 40) outside them.
  const truth = {
    boxes: [
      { className: 'pus', xmin: 0, ymin: 0, xmax: 20, ymax: 20 },
      { className: 'pus', xmin: 50, ymin: 50, xmax: 70, ymax: 70 },
    ],
    points: [],
  };
  const image: CountRuleImage = {
    cells: [
      cell('pus', 10, 10, 0.95, 300),
      cell('pus', 60, 60, 0.85, 280),
      cell('pus', 100, 10, 0.55, 300),
      cell('pus', 10, 100, 0.9, 40),
      cell('pus', 100, 100, 0.52, 30),
    ],
    truth,
  };
  const trueCells = image.cells.slice(0, 2);

  test('2 true cells, 3 spurious (faint or small): the rule keeps exactly the 2 (F1 1 against 0.571 counting all)', () => {
    const rule = chooseCountRule([image, image], ['pus'], { pus: 10 });
    const pus = rule.perClass.pus;
    assert.ok(pus.minScore > 0.55 && pus.minScore <= 0.85, `minScore ${pus.minScore}`);
    assert.ok(pus.minAreaPx > 40 && pus.minAreaPx <= 280, `minAreaPx ${pus.minAreaPx}`);
    assert.equal(rule.validationF1?.pus.rule, 1);
    assert.ok(Math.abs(rule.validationF1!.pus.all - 4 / 7) < 1e-9, `all ${rule.validationF1?.pus.all}`);
    assert.equal(applyCountRule(image.cells, rule).length, 2);
    assert.match(describeCountRule(rule), /pus score ≥ 0\.\d, area ≥ \d+ px \(validation F1 1\.000, 0\.571 counting all\)/);
  });

  test('nothing spurious: the loosest rule (score 0, area 0) wins the tie', () => {
    const clean = { ...image, cells: trueCells };
    assert.deepEqual(chooseCountRule([clean], ['pus'], { pus: 10 }).perClass.pus, { minScore: 0, minAreaPx: 0, minEdgeDistancePx: 0 });
  });

  test('true cells inside a 120×120 frame, bright whole-sized cells cut by its edge (centroids 2–4 px in): the edge distance drops exactly those', () => {
    const framed: CountRuleImage = {
      cells: [...trueCells, cell('pus', 2, 60, 0.95, 300), cell('pus', 60, 116, 0.9, 290)],
      truth,
      frame: { width: 120, height: 120 },
    };
    const rule = chooseCountRule([framed, framed], ['pus'], { pus: 10 });
    const pus = rule.perClass.pus;
    assert.ok(pus.minEdgeDistancePx! > 4 && pus.minEdgeDistancePx! <= 10, `minEdgeDistancePx ${pus.minEdgeDistancePx}`);
    assert.deepEqual([pus.minScore, pus.minAreaPx], [0, 0]);
    assert.equal(rule.validationF1?.pus.rule, 1);
    assert.match(
      describeCountRule(rule),
      /pus score ≥ 0, area ≥ 0 px, centroid ≥ \d+(\.\d)? px from the image edge \(validation F1 1\.000/,
    );
  });

  test('framed images with no cell near the edge: the rule keeps the centre-in-frame distance 4/(3π)·r = 4.2 px', () => {
    const clean: CountRuleImage = { cells: trueCells, truth, frame: { width: 120, height: 120 } };
    assert.deepEqual(chooseCountRule([clean], ['pus'], { pus: 10 }).perClass.pus, { minScore: 0, minAreaPx: 0, minEdgeDistancePx: 4.2 });
  });

  test('annotators who box slivers (a true box on a cell 2 px from the edge): validation lowers the edge distance to 0', () => {
    const sliver: CountRuleImage = {
      cells: [trueCells[0], cell('pus', 2, 60, 0.95, 60)],
      truth: { boxes: [truth.boxes[0], { className: 'pus', xmin: 0, ymin: 55, xmax: 4, ymax: 65 }], points: [] },
      frame: { width: 120, height: 120 },
    };
    const rule = chooseCountRule([sliver], ['pus'], { pus: 10 });
    assert.equal(rule.perClass.pus.minEdgeDistancePx, 0);
    assert.equal(rule.validationF1?.pus.rule, 1);
  });

  test('the same cells without frames: no edge distance is tried, so the cut cells stay', () => {
    const unframed: CountRuleImage = { cells: [cell('pus', 10, 10, 0.95, 300), cell('pus', 2, 60, 0.95, 300)], truth };
    assert.equal(chooseCountRule([unframed], ['pus'], { pus: 10 }).perClass.pus.minEdgeDistancePx, 0);
  });

  test('a class without true cells on the validation images is left out of the rule', () => {
    const rule = chooseCountRule([image], ['pus', 'rbc'], { pus: 10, rbc: 5 });
    assert.deepEqual(Object.keys(rule.perClass), ['pus']);
  });

  test('a true point matches within the class radius: the cell 4 px away counts', () => {
    const pointed: CountRuleImage = {
      cells: [cell('pus', 34, 30, 0.9, 300), cell('pus', 90, 90, 0.6, 300)],
      truth: { boxes: [], points: [{ className: 'pus', x: 30, y: 30 }] },
    };
    const rule = chooseCountRule([pointed], ['pus'], { pus: 10 });
    assert.equal(rule.validationF1?.pus.rule, 1);
    assert.ok(rule.perClass.pus.minScore > 0.6);
  });
});

describe('chooseCountRuleFromMaps', () => {
  test('a 16×12 map with one 5×4 cell whose map still carries the initial instance rule (min size 30), the model the chosen one (min size 5): the cell is found, F1 1', () => {
    const width = 16;
    const height = 12;
    const data = new Float32Array(width * height);
    for (let y = 4; y < 8; y++) for (let x = 4; x < 9; x++) data[y * width + x] = 0.9;
    const initial = { method: 'threeClass', heads: [], decoder: 'threeClass', seedThreshold: 0.5, minSizePx: 30 };
    const map = { width, height, channels: 1, data, seeds: data.slice(), instanceRule: initial };
    const model = channelZeroModel({ classNames: ['background', 'pus'], instances: { ...initial, minSizePx: 5 } });
    const annotations = {
      image: 'a.png',
      boxes: [{ image: 'a.png', label: 'pus', xmin: 4, ymin: 4, xmax: 9, ymax: 8 }],
      points: [],
      polygons: [],
    };
    const { rule } = chooseCountRuleFromMaps(model, [map], [annotations], {
      pointRadiusPx: { pus: 2.25 },
      segment: { threshold: 0.5 },
    });
    assert.deepEqual(rule.validationF1?.pus, { rule: 1, all: 1 });
  });
});
