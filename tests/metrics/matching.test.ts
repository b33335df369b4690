import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DSB2018_THRESHOLDS,
  MATCHING_THRESHOLDS,
  countErrors,
  dsb2018Score,
  matchAtThresholds,
  matchingScores,
  minimumCostAssignment,
  sumCounts,
} from '../../src/metrics/matching.js';
import { matchInstances } from '../../src/metrics/objects.js';

// 6×6 label images written row by row.
const image = (...rows: number[][]): Int32Array => {
  assert.equal(rows.length, 6);
  for (const row of rows) assert.equal(row.length, 6);
  return Int32Array.from(rows.flat());
};

// Truth: 1 is 3×3 (9 px), 2 is 2×2 (4 px), 3 is 2×2 (4 px).
const truth = image([1, 1, 1, 0, 2, 2], [1, 1, 1, 0, 2, 2], [1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0], [3, 3, 0, 0, 0, 0], [3, 3, 0, 0, 0, 0]);
// Prediction: 7 covers 6 px of truth 1 (IoU 6/9); 8 covers truth 2 and one more pixel (IoU 4/5); 9 is a false positive; truth 3 is missed.
const predicted = image(
  [7, 7, 0, 0, 8, 8],
  [7, 7, 0, 0, 8, 8],
  [7, 7, 0, 0, 0, 8],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 9],
  [0, 0, 0, 0, 0, 9],
);

const counts = (c: { truePositives: number; falsePositives: number; falseNegatives: number }) => [
  c.truePositives,
  c.falsePositives,
  c.falseNegatives,
];

describe('matchAtThresholds on 6×6 label images', () => {
  test('IoU 2/3 and 4/5 pairs, one false positive, one miss: TP/FP/FN at 0.1 … 0.9', () => {
    const result = matchAtThresholds(predicted, truth, MATCHING_THRESHOLDS);
    assert.deepEqual(result.map(counts), [
      [2, 1, 1], // 0.1
      [2, 1, 1],
      [2, 1, 1],
      [2, 1, 1],
      [2, 1, 1], // 0.5
      [2, 1, 1], // 0.6 < 2/3
      [1, 2, 2], // 0.7: only the 4/5 pair
      [1, 2, 2], // 0.8 = 4/5 matches (IoU ≥ τ, as StarDist)
      [0, 3, 3], // 0.9
    ]);
  });

  test('scores at 0.5: precision, recall, F1, AP, mean matched IoU, panoptic quality', () => {
    const s = matchingScores(matchAtThresholds(predicted, truth, [0.5])[0]);
    assert.equal(s.precision, 2 / 3);
    assert.equal(s.recall, 2 / 3);
    assert.equal(s.f1, 4 / 6);
    assert.equal(s.averagePrecision, 2 / 4);
    assert.ok(Math.abs(s.meanMatchedIou - (6 / 9 + 4 / 5) / 2) < 1e-12);
    assert.ok(Math.abs(s.panopticQuality - (6 / 9 + 4 / 5) / (2 + 0.5 + 0.5)) < 1e-12);
    assert.ok(Math.abs(s.meanTrueIou - (6 / 9 + 4 / 5) / 3) < 1e-12);
  });

  test('a 4×4 square shifted down 2 rows (IoU 1/3, StarDist docstring case): TP at 0.3, FP+FN at 0.5 with zero scores', () => {
    const square = image(
      [1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
    );
    const shifted = image(
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [5, 5, 5, 5, 0, 0],
      [5, 5, 5, 5, 0, 0],
      [5, 5, 5, 5, 0, 0],
      [5, 5, 5, 5, 0, 0],
    );
    const [low, half] = matchAtThresholds(shifted, square, [0.3, 0.5]).map(matchingScores);
    assert.deepEqual(counts(low), [1, 0, 0]);
    assert.deepEqual(counts(half), [0, 1, 1]);
    assert.deepEqual([half.precision, half.recall, half.f1, half.averagePrecision, half.panopticQuality], [0, 0, 0, 0, 0]);
  });

  test('optimal, not greedy: at IoU 0.2 both predictions match (greedy would take the best pair and find 1)', () => {
    // Truth A (10 px) and B (5 px); X overlaps A with IoU 5/12 and B with 0.2; Y overlaps A with IoU 0.4.
    const ab = image(
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 2, 2],
      [2, 2, 2, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
    );
    const xy = image(
      [3, 3, 3, 3, 3, 0],
      [4, 4, 4, 4, 3, 3],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
    );
    const [low, high] = matchAtThresholds(xy, ab, [0.2, 0.3]);
    assert.deepEqual(counts(low), [2, 0, 0]);
    assert.ok(Math.abs(low.matchedIouSum - 0.6) < 1e-12);
    // At 0.3 one pair can match. StarDist's tie-break sums the IoU of every assigned pair, below τ
    // too: Y–A (0.4) with X–B (0.2) beats X–A (5/12) alone, so Y–A is the match.
    assert.deepEqual(counts(high), [1, 1, 1]);
    assert.equal(high.matchedIouSum, 0.4);
    assert.deepEqual(matchInstances(xy, ab, { iouThreshold: 0.2 }).matches, [
      [4, 1, 0.4],
      [3, 2, 0.2],
    ]);
  });

  test('no true and no predicted objects: perfect scores, not NaN', () => {
    const s = matchingScores(matchAtThresholds(new Int32Array(36), new Int32Array(36), [0.5])[0]);
    assert.deepEqual([s.precision, s.recall, s.f1, s.averagePrecision, s.panopticQuality, s.meanMatchedIou], [1, 1, 1, 1, 1, 0]);
  });

  test('a threshold of 0 is refused', () => {
    assert.throws(() => matchAtThresholds(predicted, truth, [0]), /IoU threshold must be in \(0, 1\]/);
  });
});

describe('summing over images and the DSB2018 score', () => {
  test('two images sum TP/FP/FN before the ratios (by_image=False)', () => {
    const perfect = matchAtThresholds(truth, truth, [0.5]);
    const partial = matchAtThresholds(predicted, truth, [0.5]);
    const [total] = sumCounts([perfect, partial]).map(matchingScores);
    assert.deepEqual(counts(total), [5, 1, 1]);
    assert.equal(total.averagePrecision, 5 / 7);
    assert.equal(total.trueCount, 6);
    assert.equal(total.predictedCount, 6);
  });

  test('DSB2018 score of the 6×6 pair: AP 0.5 at 0.5–0.65, 0.2 at 0.7–0.8, 0 above', () => {
    const scores = matchAtThresholds(predicted, truth, DSB2018_THRESHOLDS).map(matchingScores);
    assert.deepEqual(
      scores.map((s) => s.averagePrecision),
      [0.5, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 0, 0, 0],
    );
    assert.ok(Math.abs(dsb2018Score(scores) - (4 * 0.5 + 3 * 0.2) / 10) < 1e-12);
    assert.throws(() => dsb2018Score(scores.slice(1)), /needs AP at IoU 0\.5/);
  });

  test('count errors: absolute, relative to max(true, 1), and their means', () => {
    const e = countErrors([
      { trueCount: 4, predictedCount: 3 },
      { trueCount: 0, predictedCount: 2 },
    ]);
    assert.deepEqual([e.absolute, e.relative, e.meanAbsolute, e.meanRelative], [[1, 2], [0.25, 2], 1.5, 1.125]);
  });
});

describe('minimumCostAssignment', () => {
  test('3×3 matrix: rows to columns 1, 0, 2 (cost 5)', () => {
    assert.deepEqual(
      minimumCostAssignment(
        [
          [4, 1, 3],
          [2, 0, 5],
          [3, 2, 2],
        ],
        3,
      ),
      [1, 0, 2],
    );
  });

  test('2×3 matrix: each row its own column', () => {
    assert.deepEqual(
      minimumCostAssignment(
        [
          [-1, -0.9, 0],
          [-1, 0, 0],
        ],
        3,
      ),
      [1, 0],
    );
  });
});
