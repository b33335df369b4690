/**
 * Object (instance) metrics: match predicted cells to true cells by IoU, then precision,
 * recall, F1 and count errors.
 *
 * Conventions (NaN-free): with no true and no predicted objects, precision = recall = F1 = 1;
 * with true objects but no predictions, precision = recall = F1 = 0 (and symmetrically).
 * Labels ≤ 0 are background; ids need not be consecutive.
 */
import { fail } from '../util/errors.js';

/** Options of {@link matchInstances}. */
export interface MatchOptions {
  /** A pair counts as a match when IoU ≥ this. Above 0.5 matches are unique anyway. Default 0.5. */
  iouThreshold?: number;
}

/** The result of matching one image's predicted instances to its true instances. */
export interface InstanceMatch {
  /** `[predictedId, trueId, iou]`, by IoU descending. */
  matches: [number, number, number][];
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
  f1: number;
  predictedCount: number;
  trueCount: number;
}

/** Object metrics pooled over images. */
export interface ObjectSummary {
  /** From the pooled TP/FP/FN counts of all images. */
  precision: number;
  recall: number;
  f1: number;
  /** Mean over images of |predicted count − true count|. */
  countMae: number;
  /** Mean over images of |predicted − true| / max(true, 1). */
  countMeanRelativeError: number;
  meanTrueCount: number;
  meanPredictedCount: number;
  /** Mean IoU of the matched pairs (1 when there are none). */
  meanMatchedIou: number;
  images: number;
}

function scores(tp: number, fp: number, fn: number): { precision: number; recall: number; f1: number } {
  return {
    precision: tp + fp === 0 ? (fn === 0 ? 1 : 0) : tp / (tp + fp),
    recall: tp + fn === 0 ? (fp === 0 ? 1 : 0) : tp / (tp + fn),
    f1: 2 * tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn),
  };
}

function addTo(map: Map<number, number>, key: number, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

/**
 * Matches predicted to true instances of one image (both `[H, W]` instance-id maps). The
 * intersection table is sparse and filled in one pass over runs of equal (pred, true) pairs;
 * pairs are then taken greedily by IoU descending (ties: smaller predicted id, then true id),
 * each instance used at most once.
 */
export function matchInstances(predicted: Int32Array, truth: Int32Array, options: MatchOptions = {}): InstanceMatch {
  const iouThreshold = options.iouThreshold ?? 0.5;
  if (!(iouThreshold > 0 && iouThreshold <= 1)) fail(`iouThreshold must be in (0, 1], got ${iouThreshold}`);
  if (predicted.length !== truth.length) {
    fail(`the predicted instances have ${predicted.length} pixels but the true ones have ${truth.length}; they must be the same size`);
  }
  const predictedArea = new Map<number, number>();
  const trueArea = new Map<number, number>();
  const intersection = new Map<number, Map<number, number>>();
  const flush = (p: number, t: number, run: number): void => {
    if (p > 0) addTo(predictedArea, p, run);
    if (t > 0) addTo(trueArea, t, run);
    if (p > 0 && t > 0) {
      let row = intersection.get(p);
      if (row === undefined) intersection.set(p, (row = new Map()));
      addTo(row, t, run);
    }
  };
  const n = predicted.length;
  let i = 0;
  while (i < n) {
    const p = predicted[i];
    const t = truth[i];
    let j = i + 1;
    while (j < n && predicted[j] === p && truth[j] === t) j++;
    if (p > 0 || t > 0) flush(p, t, j - i);
    i = j;
  }
  const candidates: [number, number, number][] = [];
  for (const [p, row] of intersection) {
    const areaP = predictedArea.get(p) ?? 0;
    for (const [t, inter] of row) {
      const iou = inter / (areaP + (trueArea.get(t) ?? 0) - inter);
      if (iou >= iouThreshold) candidates.push([p, t, iou]);
    }
  }
  candidates.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
  const usedP = new Set<number>();
  const usedT = new Set<number>();
  const matches: [number, number, number][] = [];
  for (const candidate of candidates) {
    if (usedP.has(candidate[0]) || usedT.has(candidate[1])) continue;
    usedP.add(candidate[0]);
    usedT.add(candidate[1]);
    matches.push(candidate);
  }
  const tp = matches.length;
  const fp = predictedArea.size - tp;
  const fn = trueArea.size - tp;
  return {
    matches,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    ...scores(tp, fp, fn),
    predictedCount: predictedArea.size,
    trueCount: trueArea.size,
  };
}

/** Pools per-image matches: precision/recall/F1 from summed counts, count errors averaged over images. */
export function objectSummary(perImage: readonly InstanceMatch[]): ObjectSummary {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let absolute = 0;
  let relative = 0;
  let trueCount = 0;
  let predictedCount = 0;
  let iouSum = 0;
  let matched = 0;
  for (const m of perImage) {
    tp += m.truePositives;
    fp += m.falsePositives;
    fn += m.falseNegatives;
    const error = Math.abs(m.predictedCount - m.trueCount);
    absolute += error;
    relative += error / Math.max(m.trueCount, 1);
    trueCount += m.trueCount;
    predictedCount += m.predictedCount;
    for (const match of m.matches) iouSum += match[2];
    matched += m.matches.length;
  }
  const images = perImage.length;
  const perImageMean = (v: number): number => (images === 0 ? 0 : v / images);
  return {
    ...scores(tp, fp, fn),
    countMae: perImageMean(absolute),
    countMeanRelativeError: perImageMean(relative),
    meanTrueCount: perImageMean(trueCount),
    meanPredictedCount: perImageMean(predictedCount),
    meanMatchedIou: matched === 0 ? 1 : iouSum / matched,
    images,
  };
}
