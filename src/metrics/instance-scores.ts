/**
 * Instance scores of a set of images as evaluation reports them: StarDist's matching at IoU
 * 0.1 … 0.9 and the DSB2018 thresholds, summed over images, the DSB2018 score, and count errors.
 */
import { fail } from '../util/errors.js';
import {
  DSB2018_THRESHOLDS,
  MATCHING_THRESHOLDS,
  type MatchingCounts,
  type MatchingScores,
  countErrors,
  dsb2018Score,
  matchAtThresholds,
  matchingScores,
  sumCounts,
} from './matching.js';

/** Where true instances come from; every report says which. */
export const INSTANCE_SOURCES = {
  'label images': 'instance label images: one id per object, touching objects kept apart',
  'connected components': 'connected components of the mask: touching objects merge into one',
} as const;
export type InstanceSource = keyof typeof INSTANCE_SOURCES;

/** Every threshold a report scores at: the matching table's and the DSB2018 score's, ascending. */
export const REPORT_THRESHOLDS: readonly number[] = [...new Set<number>([...MATCHING_THRESHOLDS, ...DSB2018_THRESHOLDS])].sort(
  (a, b) => a - b,
);

/** One image's instance scores. */
export interface ImageInstanceScores {
  trueCount: number;
  predictedCount: number;
  /** |predicted − true|. */
  countError: number;
  /** |predicted − true| / max(true, 1). */
  relativeCountError: number;
  /** At each of {@link REPORT_THRESHOLDS}. */
  byThreshold: MatchingScores[];
  /** AP averaged over IoU 0.5 … 0.95. */
  dsb2018: number;
}

/** Instance scores over a set of images. */
export interface InstanceScores {
  images: number;
  /** From TP/FP/FN and matched IoU summed over images, at each of {@link REPORT_THRESHOLDS}. */
  byThreshold: MatchingScores[];
  /** The DSB2018 score of the summed counts. */
  dsb2018: number;
  /** Mean over images of |predicted − true|. */
  countMae: number;
  /** Mean over images of |predicted − true| / max(true, 1). */
  countMeanRelativeError: number;
  meanTrueCount: number;
  meanPredictedCount: number;
}

/** The scores at IoU `threshold` (one of {@link REPORT_THRESHOLDS}). */
export function atThreshold(byThreshold: readonly MatchingScores[], threshold: number): MatchingScores {
  const found = byThreshold.find((s) => s.threshold === threshold);
  if (!found) fail(`no instance scores at IoU ${threshold}; reports score at ${REPORT_THRESHOLDS.join(', ')}`);
  return found;
}

/** Counts of one image at every report threshold: predicted and true `[H, W]` instance-id maps. */
export function imageInstanceCounts(predicted: ArrayLike<number>, truth: ArrayLike<number>): MatchingCounts[] {
  return matchAtThresholds(predicted, truth, REPORT_THRESHOLDS);
}

/** One image's scores from its counts (see {@link imageInstanceCounts}). */
export function imageInstanceScores(counts: readonly MatchingCounts[]): ImageInstanceScores {
  const byThreshold = counts.map(matchingScores);
  const { trueCount, predictedCount } = counts[0];
  const errors = countErrors([{ trueCount, predictedCount }]);
  return {
    trueCount,
    predictedCount,
    countError: errors.absolute[0],
    relativeCountError: errors.relative[0],
    byThreshold,
    dsb2018: dsb2018Score(byThreshold),
  };
}

/** Pools images' counts (StarDist's `matching_dataset(by_image=False)`) and averages their count errors. */
export function instanceScores(perImage: readonly (readonly MatchingCounts[])[]): InstanceScores {
  const images = perImage.length;
  const pooled = images === 0 ? imageInstanceCounts([], []) : sumCounts(perImage);
  const byThreshold = pooled.map(matchingScores);
  const errors = countErrors(perImage.map((counts) => counts[0]));
  return {
    images,
    byThreshold,
    dsb2018: dsb2018Score(byThreshold),
    countMae: errors.meanAbsolute,
    countMeanRelativeError: errors.meanRelative,
    meanTrueCount: images === 0 ? 0 : pooled[0].trueCount / images,
    meanPredictedCount: images === 0 ? 0 : pooled[0].predictedCount / images,
  };
}
