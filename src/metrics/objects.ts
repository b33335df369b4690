/**
 * Object (instance) metrics: match predicted cells to true cells by IoU, then precision,
 * recall, F1 and count errors.
 *
 * Conventions (NaN-free): with no true and no predicted objects, precision = recall = F1 = 1;
 * with true objects but no predictions, precision = recall = F1 = 0 (and symmetrically).
 * Labels ≤ 0 are background; ids need not be consecutive.
 */
import { fail } from '../util/errors.js';
import { detectionScores } from './counting.js';
import { instanceOverlaps, optimalMatches } from './matching.js';

/** Options of {@link matchInstances}. */
export interface MatchOptions {
  /** A pair can match when IoU ≥ this (in (0, 1]). Default 0.5. */
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

/**
 * Matches predicted to true instances of one image (both `[H, W]` instance-id maps) one to one,
 * as StarDist does (see `optimalMatches` in ./matching.ts): the most pairs at IoU ≥ the
 * threshold, ties broken by summed IoU. Above IoU 0.5 matches are unique, so this equals taking
 * pairs greedily by IoU.
 */
export function matchInstances(predicted: Int32Array, truth: Int32Array, options: MatchOptions = {}): InstanceMatch {
  const iouThreshold = options.iouThreshold ?? 0.5;
  if (!(iouThreshold > 0 && iouThreshold <= 1)) fail(`iouThreshold must be in (0, 1], got ${iouThreshold}`);
  const overlaps = instanceOverlaps(predicted, truth);
  const matches = optimalMatches(overlaps, iouThreshold).map(([p, t, iou]): [number, number, number] => [
    overlaps.predictedIds[p],
    overlaps.trueIds[t],
    iou,
  ]);
  const tp = matches.length;
  const fp = overlaps.predictedIds.length - tp;
  const fn = overlaps.trueIds.length - tp;
  return {
    matches,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    ...detectionScores(tp, fp, fn),
    predictedCount: overlaps.predictedIds.length,
    trueCount: overlaps.trueIds.length,
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
    ...detectionScores(tp, fp, fn),
    countMae: perImageMean(absolute),
    countMeanRelativeError: perImageMean(relative),
    meanTrueCount: perImageMean(trueCount),
    meanPredictedCount: perImageMean(predictedCount),
    meanMatchedIou: matched === 0 ? 1 : iouSum / matched,
    images,
  };
}
