/**
 * Object scores of an evaluation report on a dataset subset with instance labels, as StarDist's
 * `matching` and the DSB2018 challenge define them: one-to-one matches at IoU τ, AP(τ) =
 * ΣTP / Σ(TP + FP + FN) pooled over the images, the DSB2018 score (AP averaged over τ = 0.5,
 * 0.55, …, 0.95), and the mean absolute error of the per-image cell count. The report is
 * `pyocyte evaluate`'s, so predictions use the model's stored decision and instance rules and its
 * object scale (a working diameter, or the training object size), as `pyocyte predict` does.
 */
import { atThreshold } from '../src/metrics/instance-scores.js';
import type { EvaluationReport } from '../src/io/reports.js';

export function instanceFigures(
  report: EvaluationReport,
  instances: { method: string; decoder: string } | undefined,
): { ap50: number; ap75: number; ap90: number; dsb2018: number; countMae: number; images: number; method: string } {
  const scores = report.instances;
  if (!scores) throw new Error('the report has no instance scores');
  const ap = (t: number) => atThreshold(scores.byThreshold, t).averagePrecision;
  return {
    ap50: ap(0.5),
    ap75: ap(0.75),
    ap90: ap(0.9),
    dsb2018: scores.dsb2018,
    countMae: scores.countMae,
    images: scores.images,
    method: instances ? `${instances.method} → ${instances.decoder}` : 'watershed',
  };
}
