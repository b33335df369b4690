/**
 * Instance matching as StarDist scores it (Weigert et al., "Cell detection with star-convex
 * polygons", MICCAI 2018; `stardist/matching.py`, functions `matching` and `matching_dataset`):
 * predicted and true instances are matched one to one by an optimal assignment on their IoU
 * matrix, a pair counting as a true positive when IoU ≥ τ. StarDist minimises
 * `−[IoU ≥ τ] − IoU / (2·min(nTrue, nPred))` with `scipy.optimize.linear_sum_assignment`: the most
 * pairs at IoU ≥ τ, ties broken by the largest summed IoU. Pairs that do not overlap cost 0 there,
 * so the assignment splits into independent problems, one per connected group of overlapping
 * instances, each solved here with the Hungarian method.
 *
 * From TP, FP, FN: precision, recall, F1, AP = TP / (TP + FP + FN) (StarDist's `accuracy`, the
 * Data Science Bowl 2018's per-threshold score), mean matched IoU, and panoptic quality
 * PQ = ΣIoU(matched) / (TP + FP/2 + FN/2) (Kirillov et al., CVPR 2019). Scores are 0 when TP = 0,
 * as in StarDist, except when there is nothing to find and nothing was found: then 1.
 */
import { fail } from '../util/errors.js';

/** IoU thresholds of the matching table (StarDist's usual 0.1 … 0.9). */
export const MATCHING_THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] as const;
/** The Data Science Bowl 2018 thresholds 0.5 … 0.95 in steps of 0.05 (its score is the mean AP over them). */
export const DSB2018_THRESHOLDS = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95] as const;

/** The IoU of every overlapping (predicted, true) pair of one image. Pairs that do not overlap have IoU 0. */
export interface InstanceOverlaps {
  /** Predicted instance ids, ascending. */
  predictedIds: number[];
  /** True instance ids, ascending. */
  trueIds: number[];
  /** `[index into predictedIds, index into trueIds, IoU]` for every pair sharing a pixel. */
  pairs: [number, number, number][];
}

function addTo(map: Map<number, number>, key: number, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

/**
 * The overlap table of two `[H, W]` instance-id maps (ids ≤ 0 are background; ids need not be
 * consecutive). One pass over runs of equal (predicted, true) pairs, sparse.
 * @throws PyocyteError when the maps differ in size.
 */
export function instanceOverlaps(predicted: ArrayLike<number>, truth: ArrayLike<number>): InstanceOverlaps {
  if (predicted.length !== truth.length) {
    fail(`the predicted instances have ${predicted.length} pixels but the true ones have ${truth.length}; they must be the same size`);
  }
  const predictedArea = new Map<number, number>();
  const trueArea = new Map<number, number>();
  const intersection = new Map<number, Map<number, number>>();
  const n = predicted.length;
  let i = 0;
  while (i < n) {
    const p = predicted[i];
    const t = truth[i];
    let j = i + 1;
    while (j < n && predicted[j] === p && truth[j] === t) j++;
    const run = j - i;
    if (p > 0) addTo(predictedArea, p, run);
    if (t > 0) addTo(trueArea, t, run);
    if (p > 0 && t > 0) {
      let row = intersection.get(p);
      if (row === undefined) intersection.set(p, (row = new Map()));
      addTo(row, t, run);
    }
    i = j;
  }
  const predictedIds = [...predictedArea.keys()].sort((a, b) => a - b);
  const trueIds = [...trueArea.keys()].sort((a, b) => a - b);
  const predictedIndex = new Map(predictedIds.map((id, k) => [id, k]));
  const trueIndex = new Map(trueIds.map((id, k) => [id, k]));
  const pairs: [number, number, number][] = [];
  for (const [p, row] of intersection) {
    const areaP = predictedArea.get(p)!;
    for (const [t, inter] of row) pairs.push([predictedIndex.get(p)!, trueIndex.get(t)!, inter / (areaP + trueArea.get(t)! - inter)]);
  }
  pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { predictedIds, trueIds, pairs };
}

/**
 * Minimum-cost assignment of every row to a distinct column of a dense `rows × columns` cost
 * matrix with rows ≤ columns (the Hungarian method with potentials, O(rows² · columns)).
 * @returns the column of each row.
 */
export function minimumCostAssignment(cost: readonly (readonly number[])[], columns: number): number[] {
  const rows = cost.length;
  if (rows > columns) fail(`minimumCostAssignment needs rows ≤ columns, got ${rows} × ${columns}`);
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(columns + 1);
  const rowOf = new Int32Array(columns + 1); // 1-based row assigned to column j, 0 = none
  const way = new Int32Array(columns + 1);
  for (let row = 1; row <= rows; row++) {
    rowOf[0] = row;
    let column = 0;
    const minimum = new Float64Array(columns + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Uint8Array(columns + 1);
    do {
      used[column] = 1;
      const r = rowOf[column];
      let delta = Number.POSITIVE_INFINITY;
      let next = 0;
      for (let j = 1; j <= columns; j++) {
        if (used[j]) continue;
        const reduced = cost[r - 1][j - 1] - u[r] - v[j];
        if (reduced < minimum[j]) {
          minimum[j] = reduced;
          way[j] = column;
        }
        if (minimum[j] < delta) {
          delta = minimum[j];
          next = j;
        }
      }
      for (let j = 0; j <= columns; j++) {
        if (used[j]) {
          u[rowOf[j]] += delta;
          v[j] -= delta;
        } else {
          minimum[j] -= delta;
        }
      }
      column = next;
    } while (rowOf[column] !== 0);
    do {
      const previous = way[column];
      rowOf[column] = rowOf[previous];
      column = previous;
    } while (column !== 0);
  }
  const assigned = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= columns; j++) if (rowOf[j] > 0) assigned[rowOf[j] - 1] = j - 1;
  return assigned;
}

/** Groups of pairs whose instances overlap one another, directly or through others (union–find over instances). */
function overlapGroups(overlaps: InstanceOverlaps): [number, number, number][][] {
  const predictedCount = overlaps.predictedIds.length;
  const parent = Int32Array.from({ length: predictedCount + overlaps.trueIds.length }, (_, k) => k);
  const root = (a: number): number => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    return a;
  };
  for (const [p, t] of overlaps.pairs) parent[root(p)] = root(predictedCount + t);
  const groups = new Map<number, [number, number, number][]>();
  for (const pair of overlaps.pairs) {
    const key = root(pair[0]);
    const group = groups.get(key);
    if (group) group.push(pair);
    else groups.set(key, [pair]);
  }
  return [...groups.values()];
}

/** StarDist's optimal one-to-one matching at IoU ≥ `threshold`: the matched pairs (indices into the overlap table) and their IoU. */
export function optimalMatches(overlaps: InstanceOverlaps, threshold: number): [number, number, number][] {
  if (!(threshold > 0 && threshold <= 1)) fail(`an IoU threshold must be in (0, 1], got ${threshold}`);
  const matches: [number, number, number][] = [];
  for (const group of overlapGroups(overlaps)) {
    if (group.length === 1) {
      if (group[0][2] >= threshold) matches.push(group[0]);
      continue;
    }
    const predicted = [...new Set(group.map((g) => g[0]))];
    const truth = [...new Set(group.map((g) => g[1]))];
    // The assignment runs over the smaller side as rows.
    const byPredicted = predicted.length <= truth.length;
    const rows = byPredicted ? predicted : truth;
    const columns = byPredicted ? truth : predicted;
    const rowIndex = new Map(rows.map((id, k) => [id, k]));
    const columnIndex = new Map(columns.map((id, k) => [id, k]));
    const cost = rows.map(() => new Array<number>(columns.length).fill(0));
    const iou = rows.map(() => new Array<number>(columns.length).fill(0));
    for (const [p, t, value] of group) {
      const r = rowIndex.get(byPredicted ? p : t)!;
      const c = columnIndex.get(byPredicted ? t : p)!;
      cost[r][c] = -(value >= threshold ? 1 : 0) - value / (2 * rows.length);
      iou[r][c] = value;
    }
    minimumCostAssignment(cost, columns.length).forEach((c, r) => {
      if (c < 0 || !(iou[r][c] >= threshold)) return;
      matches.push(byPredicted ? [rows[r], columns[c], iou[r][c]] : [columns[c], rows[r], iou[r][c]]);
    });
  }
  return matches.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
}

/** The counts at one IoU threshold: what sums over images. */
export interface MatchingCounts {
  /** IoU τ: pairs with IoU ≥ τ can match. */
  threshold: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueCount: number;
  predictedCount: number;
  /** Sum of the IoU of the matched pairs. */
  matchedIouSum: number;
}

/** {@link MatchingCounts} and the scores that follow from them. */
export interface MatchingScores extends MatchingCounts {
  precision: number;
  recall: number;
  f1: number;
  /** TP / (TP + FP + FN): "AP at IoU τ" in the DSB2018 and StarDist sense (StarDist's `accuracy`). */
  averagePrecision: number;
  /** Mean IoU of the matched pairs (StarDist's `mean_matched_score`). */
  meanMatchedIou: number;
  /** Matched IoU summed over true instances (StarDist's `mean_true_score`). */
  meanTrueIou: number;
  /** ΣIoU(matched) / (TP + FP/2 + FN/2). */
  panopticQuality: number;
}

/**
 * Matches one image's predicted to true instances (`[H, W]` id maps, ids ≤ 0 background) at each
 * IoU threshold; one overlap table serves all thresholds.
 */
export function matchAtThresholds(
  predicted: ArrayLike<number>,
  truth: ArrayLike<number>,
  thresholds: readonly number[] = MATCHING_THRESHOLDS,
): MatchingCounts[] {
  const overlaps = instanceOverlaps(predicted, truth);
  return thresholds.map((threshold) => {
    const matches = optimalMatches(overlaps, threshold);
    const tp = matches.length;
    return {
      threshold,
      truePositives: tp,
      falsePositives: overlaps.predictedIds.length - tp,
      falseNegatives: overlaps.trueIds.length - tp,
      trueCount: overlaps.trueIds.length,
      predictedCount: overlaps.predictedIds.length,
      matchedIouSum: matches.reduce((sum, m) => sum + m[2], 0),
    };
  });
}

const ratio = (numerator: number, denominator: number) => (denominator > 0 ? numerator / denominator : 0);

/** The scores of counts (of one image, or summed with {@link sumCounts}). */
export function matchingScores(counts: MatchingCounts): MatchingScores {
  const { truePositives: tp, falsePositives: fp, falseNegatives: fn, trueCount, matchedIouSum } = counts;
  // Nothing to find and nothing found is perfect; StarDist would say 0.
  const empty = tp + fp + fn === 0 ? 1 : 0;
  const score = (denominator: number) => (tp > 0 ? tp / denominator : empty);
  return {
    ...counts,
    precision: score(tp + fp),
    recall: score(tp + fn),
    f1: tp > 0 ? (2 * tp) / (2 * tp + fp + fn) : empty,
    averagePrecision: score(tp + fp + fn),
    meanMatchedIou: ratio(matchedIouSum, tp),
    meanTrueIou: ratio(matchedIouSum, trueCount),
    panopticQuality: tp + fp + fn === 0 ? 1 : ratio(matchedIouSum, tp + fp / 2 + fn / 2),
  };
}

/** Sums per-image counts threshold by threshold (StarDist's `matching_dataset(by_image=False)`). */
export function sumCounts(perImage: readonly (readonly MatchingCounts[])[]): MatchingCounts[] {
  if (perImage.length === 0) return [];
  return perImage[0].map((first, k) => {
    const total: MatchingCounts = { ...first };
    for (const image of perImage.slice(1)) {
      const c = image[k];
      if (c.threshold !== first.threshold) fail(`cannot sum matching counts at IoU ${c.threshold} and ${first.threshold}`);
      total.truePositives += c.truePositives;
      total.falsePositives += c.falsePositives;
      total.falseNegatives += c.falseNegatives;
      total.trueCount += c.trueCount;
      total.predictedCount += c.predictedCount;
      total.matchedIouSum += c.matchedIouSum;
    }
    return total;
  });
}

/** The DSB2018 score: AP averaged over IoU 0.5 … 0.95; `scores` must hold every DSB2018 threshold. */
export function dsb2018Score(scores: readonly MatchingScores[]): number {
  const byThreshold = new Map(scores.map((s) => [s.threshold, s.averagePrecision]));
  const missing = DSB2018_THRESHOLDS.filter((t) => !byThreshold.has(t));
  if (missing.length > 0) fail(`the DSB2018 score needs AP at IoU ${missing.join(', ')}`);
  return DSB2018_THRESHOLDS.reduce((sum, t) => sum + byThreshold.get(t)!, 0) / DSB2018_THRESHOLDS.length;
}

/** Count errors of each image and their means. */
export interface CountErrors {
  /** |predicted − true| per image. */
  absolute: number[];
  /** |predicted − true| / max(true, 1) per image. */
  relative: number[];
  /** Mean absolute error over images (0 with no images). */
  meanAbsolute: number;
  meanRelative: number;
}

/** Count errors from per-image true and predicted object counts. */
export function countErrors(images: readonly { trueCount: number; predictedCount: number }[]): CountErrors {
  const absolute = images.map((c) => Math.abs(c.predictedCount - c.trueCount));
  const relative = images.map((c, k) => absolute[k] / Math.max(c.trueCount, 1));
  const mean = (values: number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);
  return { absolute, relative, meanAbsolute: mean(absolute), meanRelative: mean(relative) };
}
