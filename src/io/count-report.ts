/**
 * The report of `pyocyte evaluate` on box and point ground truth (workflows/evaluate-counts.ts):
 * report.json, report.md and per_image.csv, per class.
 */
import { join } from 'node:path';
import { type ClassCountScores, type ClassMatch, COUNT_BINS, countBin } from '../metrics/counting.js';
import type { CountRule } from '../nn/model.js';
import { csvField } from '../util/csv.js';
import { writeFileAtomic } from '../util/fs.js';

/** One image's per-class matches. */
export interface ImageCountScores {
  image: string;
  perClass: Record<string, ClassMatch>;
  /** Predictions set aside inside `missedlabel` boxes. */
  ignored: number;
}

/** Everything `pyocyte evaluate` measured on box and point ground truth. */
export interface CountEvaluationReport {
  kind: 'counts';
  model: string;
  data: string;
  subset: string;
  images: number;
  threshold: number;
  /** The classes scored: the model's foreground classes, in its order. */
  classNames: string[];
  /** Per class, the radius (pixels) within which a centroid matches a true point. */
  pointRadiusPx: Record<string, number>;
  /** The count rule applied (the model's, chosen on its validation annotations); absent: every segmented cell counted. */
  countRule?: CountRule;
  /** Per class, pooled over the images. */
  perClass: Record<string, ClassCountScores>;
  perImage: ImageCountScores[];
}

const f4 = (v: number) => v.toFixed(4);
const EMPTY: ClassMatch = { truePositives: 0, falsePositives: 0, falseNegatives: 0, predictedCount: 0, trueCount: 0 };

/** The one-line JSON summary `pyocyte evaluate` prints last: per class F1, count MAE, bin agreement. */
export function countReportSummary(report: CountEvaluationReport): Record<string, unknown> {
  const pick = (key: keyof ClassCountScores) => Object.fromEntries(Object.entries(report.perClass).map(([c, s]) => [c, s[key]]));
  return { images: report.images, f1: pick('f1'), count_mae: pick('countMae'), bin_agreement: pick('binAgreement') };
}

/**
 * The per-class table of report.md and of the CLI: class, true and predicted cells, precision,
 * recall, F1, count MAE and mean relative count error per image, share of images in the right bin.
 */
export function countScoresTable(perClass: Record<string, ClassCountScores>): string {
  const lines = [
    '| class | true | predicted | precision | recall | F1 | count MAE | mean relative count error | same bin |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, s] of Object.entries(perClass)) {
    lines.push(
      `| ${name} | ${s.trueCount} | ${s.predictedCount} | ${f4(s.precision)} | ${f4(s.recall)} | ${f4(s.f1)} | ${s.countMae.toFixed(2)} | ${f4(s.countMeanRelativeError)} | ${f4(s.binAgreement)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** per_image.csv: `image`, then per class `true_<c>,predicted_<c>,tp_<c>,fp_<c>,fn_<c>,bin_true_<c>,bin_predicted_<c>`, then `ignored`. */
export function countPerImageCsv(report: CountEvaluationReport): string {
  const classes = Object.keys(report.perClass);
  const header = [
    'image',
    ...classes.flatMap((c) => ['true', 'predicted', 'tp', 'fp', 'fn', 'bin_true', 'bin_predicted'].map((k) => csvField(`${k}_${c}`))),
    'ignored',
  ];
  const rows = report.perImage.map(({ image, perClass, ignored }) =>
    [
      csvField(image),
      ...classes.flatMap((c) => {
        const m = perClass[c] ?? EMPTY;
        return [
          m.trueCount,
          m.predictedCount,
          m.truePositives,
          m.falsePositives,
          m.falseNegatives,
          countBin(m.trueCount),
          countBin(m.predictedCount),
        ];
      }),
      ignored,
    ].join(','),
  );
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

function markdown(report: CountEvaluationReport): string {
  const radii = Object.entries(report.pointRadiusPx)
    .map(([c, r]) => `${c} ${r.toFixed(1)} px`)
    .join(', ');
  return [
    `# Evaluation of ${report.model} on ${report.data} (${report.subset}, ${report.images} images)`,
    '',
    'Ground truth: boxes and points. A predicted cell matches a true box of its class when its centroid lies inside it, a true point when it lies within the class radius; one to one, as many pairs as possible, the nearest among those. Predictions inside `missedlabel` boxes count neither way.',
    '',
    countScoresTable(report.perClass),
    `Counts are per image. "same bin": share of images whose predicted count falls in the same semi-quantitative bin as the true one (${COUNT_BINS.map((b) => b.name).join(', ')} cells per image). Point radii: ${radii || 'none'}. Threshold ${report.threshold}. ${report.countRule ? `Cells counted under the model's ${describeCountRule(report.countRule)}.` : 'Every segmented cell counted (no count rule).'}`,
    '',
  ].join('\n');
}

/** Writes report.json, report.md and per_image.csv into `dir`. */
export async function writeCountReport(dir: string, report: CountEvaluationReport): Promise<void> {
  await writeFileAtomic(join(dir, 'report.json'), `${JSON.stringify({ ...report, summary: countReportSummary(report) }, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'report.md'), markdown(report));
  await writeFileAtomic(join(dir, 'per_image.csv'), countPerImageCsv(report));
}

/** One line for logs: each class's thresholds and validation F1. */
export function describeCountRule(rule: CountRule): string {
  const parts = Object.entries(rule.perClass).map(([name, r]) => {
    const f1 = rule.validationF1?.[name];
    const edge = r.minEdgeDistancePx ? `, centroid ≥ ${r.minEdgeDistancePx} px from the image edge` : '';
    return `${name} score ≥ ${r.minScore}, area ≥ ${Math.round(r.minAreaPx)} px${edge}${f1 ? ` (validation F1 ${f1.rule.toFixed(3)}, ${f1.all.toFixed(3)} counting all)` : ''}`;
  });
  return `count rule: ${parts.join('; ')}`;
}
