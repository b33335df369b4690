import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { matchInstances, objectSummary } from '../../src/metrics/objects.js';
import { PyocyteError } from '../../src/util/errors.js';

// 4×4 maps written row by row.
const map = (...rows: number[][]): Int32Array => Int32Array.from(rows.flat());

describe('matchInstances', () => {
  test('identical maps with ids 3 and 9: two matches at IoU 1', () => {
    const truth = map([3, 3, 0, 0], [3, 3, 0, 9], [0, 0, 0, 9], [0, 0, 0, 9]);
    const m = matchInstances(truth, truth);
    assert.deepEqual(m.matches, [
      [3, 3, 1],
      [9, 9, 1],
    ]);
    assert.deepEqual([m.truePositives, m.falsePositives, m.falseNegatives, m.f1], [2, 0, 0, 1]);
  });

  test('a 2×2 truth covered by a 1×2 prediction: IoU 0.5 matches at threshold 0.5, not at 0.6', () => {
    const truth = map([1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]);
    const predicted = map([5, 5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]);
    assert.deepEqual(matchInstances(predicted, truth).matches, [[5, 1, 0.5]]);
    const strict = matchInstances(predicted, truth, { iouThreshold: 0.6 });
    assert.deepEqual([strict.truePositives, strict.falsePositives, strict.falseNegatives, strict.precision], [0, 1, 1, 0]);
  });

  test('one truth split into two halves: one match, one false positive', () => {
    const truth = map([1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]);
    const predicted = map([1, 1, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]);
    const m = matchInstances(predicted, truth);
    assert.deepEqual(m.matches, [[1, 1, 0.5]]);
    assert.deepEqual([m.truePositives, m.falsePositives, m.falseNegatives], [1, 1, 0]);
    assert.equal(m.precision, 0.5);
    assert.equal(m.recall, 1);
  });

  test('empty truth and empty prediction: precision = recall = f1 = 1', () => {
    const m = matchInstances(new Int32Array(16), new Int32Array(16));
    assert.deepEqual([m.precision, m.recall, m.f1, m.trueCount, m.predictedCount], [1, 1, 1, 0, 0]);
  });

  test('different sizes are a PyocyteError', () => {
    assert.throws(() => matchInstances(new Int32Array(4), new Int32Array(5)), PyocyteError);
  });
});

describe('objectSummary', () => {
  test('two images pool counts and average count errors', () => {
    const truth = map([1, 1, 0, 2], [1, 1, 0, 2], [0, 0, 0, 0], [3, 0, 0, 0]);
    const a = matchInstances(truth, truth); // 3 of 3
    const b = matchInstances(map([1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]), new Int32Array(16)); // 1 FP, 0 true
    const s = objectSummary([a, b]);
    assert.equal(s.precision, 3 / 4);
    assert.equal(s.recall, 1);
    assert.equal(s.f1, 6 / 7);
    assert.equal(s.countMae, 0.5);
    assert.equal(s.countMeanRelativeError, 0.5);
    assert.equal(s.meanTrueCount, 1.5);
    assert.equal(s.meanPredictedCount, 2);
    assert.equal(s.meanMatchedIou, 1);
  });

  test('no images: perfect scores and zero counts, no NaN', () => {
    const s = objectSummary([]);
    assert.deepEqual([s.precision, s.recall, s.f1, s.countMae, s.images], [1, 1, 1, 0, 0]);
  });
});
