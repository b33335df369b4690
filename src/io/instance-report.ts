/**
 * The object part of evaluation reports: where the true instances came from, StarDist's matching
 * table, the DSB2018 score and count errors (report.md), and their per-image columns (per_image.csv).
 */
import { MATCHING_THRESHOLDS } from '../metrics/matching.js';
import { atThreshold, type ImageInstanceScores, type InstanceScores, type InstanceSource } from '../metrics/instance-scores.js';

/** Instance scores of an evaluation, with how many images' true instances came from where. */
export interface EvaluationInstances extends InstanceScores {
  /** Images whose true instances are label images, and connected components of masks (each class on its own). */
  sources: Record<InstanceSource, number>;
}

/** One image's instance scores and where its true instances came from. */
export interface ImageInstances extends ImageInstanceScores {
  source: InstanceSource;
}

const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '');

/** One line saying where the true instances came from, and the lower-bound warning when any are connected components. */
export function instanceSourceLines(sources: Record<InstanceSource, number>): string[] {
  const labels = sources['label images'];
  const components = sources['connected components'];
  const total = labels + components;
  if (components === 0) return [`True instances: instance label images (${labels} of ${total} images).`];
  const which = labels === 0 ? 'all images' : `${components} of ${total} images (the others: label images)`;
  return [
    `True instances: connected components of the binary masks for ${which}.`,
    '',
    `> **Warning:** in connected components touching cells merge into one object, so these object scores and counts are a lower bound. ` +
      'For exact scores give instance label images: 16-bit masks with one id per cell, `instances/<name>.png` beside `masks/`, or Cellpose `<name>_masks.png`.',
  ];
}

/** The warning `evaluate` logs when some true instances are connected components, or undefined. */
export function instanceSourceWarning(sources: Record<InstanceSource, number>): string | undefined {
  const components = sources['connected components'];
  if (components === 0) return undefined;
  return (
    `warning: the true instances of ${components} of ${components + sources['label images']} images are connected components of their masks (each class on its own); ` +
    'touching cells of one class merge there, so object scores and counts are a lower bound (give instance label images for exact scores)'
  );
}

/** report.md's object section. */
export function instanceMarkdown(scores: EvaluationInstances): string[] {
  const rows = MATCHING_THRESHOLDS.map((t) => atThreshold(scores.byThreshold, t)).map(
    (s) =>
      `| ${s.threshold} | ${s.truePositives} | ${s.falsePositives} | ${s.falseNegatives} | ${f4(s.precision)} | ${f4(s.recall)} | ${f4(s.f1)} | ${f4(s.averagePrecision)} | ${f4(s.meanMatchedIou)} | ${f4(s.panopticQuality)} |`,
  );
  const ap = (t: number) => f4(atThreshold(scores.byThreshold, t).averagePrecision);
  return [
    '## Objects',
    '',
    ...instanceSourceLines(scores.sources),
    '',
    "Predicted and true instances matched one to one at IoU ≥ τ (optimal assignment, as StarDist's `matching`), " +
      'counts summed over all images; AP = TP / (TP + FP + FN); PQ is panoptic quality.',
    '',
    '| IoU τ | TP | FP | FN | precision | recall | F1 | AP | mean matched IoU | PQ |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `AP at IoU 0.5 / 0.75 / 0.9: ${ap(0.5)} / ${ap(0.75)} / ${ap(0.9)}. DSB2018 score (AP averaged over IoU 0.5 … 0.95): ${f4(scores.dsb2018)}.`,
    '',
    `Cells per image: ${f4(scores.meanTrueCount)} true, ${f4(scores.meanPredictedCount)} predicted; ` +
      `count error ${f4(scores.countMae)} cells per image (mean relative error ${f4(scores.countMeanRelativeError)}).`,
    '',
  ];
}

/** per_image.csv's object columns. */
export const INSTANCE_CSV_COLUMNS = [
  'truth_source',
  'count_error',
  'relative_count_error',
  'tp_0.5',
  'fp_0.5',
  'fn_0.5',
  'precision_0.5',
  'recall_0.5',
  'f1_0.5',
  'ap_0.5',
  'ap_0.75',
  'ap_0.9',
  'mean_matched_iou_0.5',
  'pq_0.5',
  'dsb2018',
];

/** One image's values for {@link INSTANCE_CSV_COLUMNS}. */
export function instanceCsvFields(image: ImageInstances): string[] {
  const half = atThreshold(image.byThreshold, 0.5);
  return [
    image.source,
    String(image.countError),
    f4(image.relativeCountError),
    String(half.truePositives),
    String(half.falsePositives),
    String(half.falseNegatives),
    f4(half.precision),
    f4(half.recall),
    f4(half.f1),
    f4(half.averagePrecision),
    f4(atThreshold(image.byThreshold, 0.75).averagePrecision),
    f4(atThreshold(image.byThreshold, 0.9).averagePrecision),
    f4(half.meanMatchedIou),
    f4(half.panopticQuality),
    f4(image.dsb2018),
  ];
}

/** One image's object scores in report.json: counts, AP at 0.5 / 0.75 / 0.9, DSB2018. */
export function instanceJson(image: ImageInstances): Record<string, unknown> {
  const ap = (t: number) => atThreshold(image.byThreshold, t).averagePrecision;
  return {
    source: image.source,
    trueCount: image.trueCount,
    predictedCount: image.predictedCount,
    countError: image.countError,
    relativeCountError: image.relativeCountError,
    ap: { '0.5': ap(0.5), '0.75': ap(0.75), '0.9': ap(0.9) },
    dsb2018: image.dsb2018,
  };
}
