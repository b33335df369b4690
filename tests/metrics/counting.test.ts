import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { countBin, detectionScores, matchWeakTruth, summarizeWeakMatches } from '../../src/metrics/counting.js';
import { PyocyteError } from '../../src/util/errors.js';

const box = (className: string, xmin: number, ymin: number, xmax: number, ymax: number) => ({ className, xmin, ymin, xmax, ymax });
const at = (className: string, x: number, y: number) => ({ className, x, y });
const RADII = { pus: 5, rbc: 4 };

describe('matchWeakTruth', () => {
  test('pus box 0..10 with a pus centroid at (5, 5) and one at (30, 30): 1 TP, 1 FP, 0 FN', () => {
    const match = matchWeakTruth(
      [at('pus', 5, 5), at('pus', 30, 30)],
      { boxes: [box('pus', 0, 0, 10, 10)], points: [] },
      { pointRadiusPx: RADII },
    );
    assert.deepEqual(match.perClass.pus, { truePositives: 1, falsePositives: 1, falseNegatives: 0, predictedCount: 2, trueCount: 1 });
    assert.deepEqual(match.pairs, [[0, 0]]);
  });

  test('a centroid on the box border (10, 10) matches; at (10.1, 5) it does not', () => {
    const truth = { boxes: [box('pus', 0, 0, 10, 10)], points: [] };
    assert.equal(matchWeakTruth([at('pus', 10, 10)], truth, { pointRadiusPx: RADII }).perClass.pus.truePositives, 1);
    assert.equal(matchWeakTruth([at('pus', 10.1, 5)], truth, { pointRadiusPx: RADII }).perClass.pus.truePositives, 0);
  });

  test('pus point at (50, 50), radius 5: centroid at distance 5 matches, at 5.1 it is a FP and the point a FN', () => {
    const truth = { boxes: [], points: [at('pus', 50, 50)] };
    assert.equal(matchWeakTruth([at('pus', 53, 54)], truth, { pointRadiusPx: RADII }).perClass.pus.truePositives, 1);
    const far = matchWeakTruth([at('pus', 55.1, 50)], truth, { pointRadiusPx: RADII }).perClass.pus;
    assert.deepEqual([far.truePositives, far.falsePositives, far.falseNegatives], [0, 1, 1]);
  });

  test('one to one: two pus centroids in one pus box, the nearer to its centre matches, the other is a FP', () => {
    const match = matchWeakTruth(
      [at('pus', 1, 1), at('pus', 4, 5)],
      { boxes: [box('pus', 0, 0, 10, 10)], points: [] },
      { pointRadiusPx: RADII },
    );
    assert.deepEqual(match.pairs, [[1, 0]]);
    assert.deepEqual([match.perClass.pus.truePositives, match.perClass.pus.falsePositives], [1, 1]);
  });

  test('two overlapping boxes and two cells each take the nearer box centre', () => {
    const truth = { boxes: [box('pus', 0, 0, 10, 10), box('pus', 6, 0, 16, 10)], points: [] };
    const match = matchWeakTruth([at('pus', 4, 5), at('pus', 12, 5)], truth, { pointRadiusPx: RADII });
    assert.deepEqual(match.pairs, [
      [0, 0],
      [1, 1],
    ]);
  });

  test('pus points at (0, 0) and (10, 0), radius 8, cells at (4, 0) and (-6, 0): both points matched (the nearest-first pair (4, 0)–(0, 0) would leave (10, 0) unmatched)', () => {
    const truth = { boxes: [], points: [at('pus', 0, 0), at('pus', 10, 0)] };
    const match = matchWeakTruth([at('pus', 4, 0), at('pus', -6, 0)], truth, { pointRadiusPx: { pus: 8 } });
    assert.deepEqual(match.pairs, [
      [0, 1],
      [1, 0],
    ]);
    assert.deepEqual([match.perClass.pus.truePositives, match.perClass.pus.falsePositives, match.perClass.pus.falseNegatives], [2, 0, 0]);
  });

  test('three cells in one box, two of them also in a second box: two matches, the nearest cells to the centres', () => {
    const truth = { boxes: [box('pus', 0, 0, 20, 10), box('pus', 10, 0, 30, 10)], points: [] };
    const match = matchWeakTruth([at('pus', 2, 5), at('pus', 12, 5), at('pus', 19, 5)], truth, { pointRadiusPx: RADII });
    assert.deepEqual(match.pairs, [
      [2, 1],
      [1, 0],
    ]);
  });

  test('an rbc centroid in a pus box: rbc FP and pus FN, per class', () => {
    const match = matchWeakTruth([at('rbc', 5, 5)], { boxes: [box('pus', 0, 0, 10, 10)], points: [] }, { pointRadiusPx: RADII });
    assert.deepEqual(match.perClass.pus, { truePositives: 0, falsePositives: 0, falseNegatives: 1, predictedCount: 0, trueCount: 1 });
    assert.deepEqual(match.perClass.rbc, { truePositives: 0, falsePositives: 1, falseNegatives: 0, predictedCount: 1, trueCount: 0 });
  });

  test('a pus centroid inside a missedlabel box counts neither way; one matching a pus box there still counts', () => {
    const truth = { boxes: [box('pus', 0, 0, 10, 10)], points: [], ignoreBoxes: [{ xmin: 0, ymin: 0, xmax: 40, ymax: 40 }] };
    const match = matchWeakTruth([at('pus', 5, 5), at('pus', 30, 30)], truth, { pointRadiusPx: RADII });
    assert.deepEqual(match.ignored, [1]);
    assert.deepEqual(match.perClass.pus, { truePositives: 1, falsePositives: 0, falseNegatives: 0, predictedCount: 1, trueCount: 1 });
  });

  test('a point of a class without a radius, or a box with xmin > xmax: PyocyteError', () => {
    assert.throws(() => matchWeakTruth([], { boxes: [], points: [at('ep', 1, 1)] }, { pointRadiusPx: RADII }), PyocyteError);
    assert.throws(() => matchWeakTruth([], { boxes: [box('pus', 5, 0, 1, 1)], points: [] }, { pointRadiusPx: RADII }), PyocyteError);
  });
});

describe('countBin and summarizeWeakMatches', () => {
  test('bins 0–5, 6–10, 11–20, > 20 at their edges', () => {
    assert.deepEqual([0, 5, 6, 10, 11, 20, 21].map(countBin), ['0-5', '0-5', '6-10', '6-10', '11-20', '11-20', '>20']);
    assert.throws(() => countBin(-1), PyocyteError);
  });

  test('detection scores: nothing true, nothing found is 1; all missed is 0', () => {
    assert.deepEqual(detectionScores(0, 0, 0), { precision: 1, recall: 1, f1: 1 });
    assert.deepEqual(detectionScores(0, 0, 3), { precision: 0, recall: 0, f1: 0 });
    assert.deepEqual(detectionScores(3, 1, 0), { precision: 0.75, recall: 1, f1: 6 / 7 });
  });

  test('two images: pus 4 true/5 predicted and 12 true/9 predicted → MAE 2, relative (1/4 + 3/12)/2, bins agree on 1 of 2', () => {
    const image = (tp: number, fp: number, fn: number) => ({
      perClass: { pus: { truePositives: tp, falsePositives: fp, falseNegatives: fn, predictedCount: tp + fp, trueCount: tp + fn } },
      pairs: [],
      ignored: [],
    });
    const summary = summarizeWeakMatches([image(4, 1, 0), image(9, 0, 3)], ['pus', 'rbc']);
    assert.deepEqual(Object.keys(summary), ['pus', 'rbc']);
    const pus = summary.pus;
    assert.deepEqual([pus.truePositives, pus.falsePositives, pus.falseNegatives, pus.trueCount, pus.predictedCount], [13, 1, 3, 16, 14]);
    assert.equal(pus.countMae, 2);
    assert.equal(pus.countMeanRelativeError, (1 / 4 + 3 / 12) / 2);
    assert.equal(pus.binAgreement, 0.5);
    assert.equal(pus.f1, 26 / 30);
    assert.deepEqual([summary.rbc.f1, summary.rbc.countMae, summary.rbc.binAgreement], [1, 0, 1]);
  });
});
