import { join } from 'node:path';
import { csvField } from '../util/csv.js';
import type { InstanceMatch, ObjectSummary } from '../metrics/objects.js';
import type { MeanImageMetrics, PixelMetrics } from '../metrics/pixel.js';
import { writeFileAtomic } from '../util/fs.js';
import { atThreshold } from '../metrics/instance-scores.js';
import {
  type EvaluationInstances,
  type ImageInstances,
  INSTANCE_CSV_COLUMNS,
  instanceCsvFields,
  instanceJson,
  instanceMarkdown,
} from './instance-report.js';

/** How many images were rescaled to the model's training object size, at which scales (one line). */
export function describeScales(rescale: NonNullable<EvaluationReport['rescale']>): string {
  const { rescaled, images, minScale, medianScale, maxScale, fromCharacteristicScale, fromScaleSearch } = rescale;
  const estimate =
    fromCharacteristicScale === undefined
      ? ''
      : fromCharacteristicScale === images
        ? '; object sizes from the characteristic scale'
        : fromCharacteristicScale > 0
          ? `; object sizes from the characteristic scale for ${fromCharacteristicScale}, a first pass for the rest`
          : '; object sizes from a first pass';
  const searched = fromScaleSearch
    ? ` (for ${fromScaleSearch}, it found no objects or ones far from the training sizes, and a scale search from ×0.25 to ×4 decided)`
    : '';
  return `${rescaled} of ${images} images rescaled to the training object size (scales ${minScale}–${maxScale}, median ${medianScale})${estimate}${searched}`;
}

export interface ImageScores {
  image: string;
  metrics: PixelMetrics;
  objects: InstanceMatch;
  /** Scores against the true instances at every report threshold, and where they came from. */
  instances?: ImageInstances;
}

/** Everything `pyocyte evaluate` measured. */
export interface EvaluationReport {
  model: string;
  data: string;
  subset: string;
  images: number;
  threshold: number;
  postprocessing: string;
  task: string;
  classNames: string[];
  pixelSizeUm?: number;
  modelPixelSizeUm?: number;
  /** TTA mode name: none, flips or dihedral. */
  tta: string;
  /** The scales images were predicted at after estimating their object size (infer/rescale.ts). */
  rescale?: {
    images: number;
    rescaled: number;
    minScale: number;
    medianScale: number;
    maxScale: number;
    /** How many images' object size came from their characteristic scale (infer/rescale.ts); the rest from a first pass. */
    fromCharacteristicScale?: number;
    /** How many of the first passes were not trusted (no objects, or far from the training sizes), so that a scale search decided. */
    fromScaleSearch?: number;
  };
  /** Pooled over all pixels of all images (the reference's `dice`). */
  pixels: PixelMetrics;
  /** Averaged over images. */
  meanImage: MeanImageMetrics;
  objects: ObjectSummary;
  /** StarDist's matching against the true instances, summed over images, and where the true instances came from. */
  instances?: EvaluationInstances;
  perImage: ImageScores[];
}

/** The one-line JSON summary printed last by `pyocyte evaluate`. */
export function reportSummary(report: EvaluationReport): Record<string, unknown> {
  const foreground = report.pixels.perClass.slice(1);
  return {
    dice: report.pixels.meanDice,
    iou: report.pixels.meanIou,
    accuracy: report.pixels.accuracy,
    ...(report.task === 'multiclass' ? { dice_per_class: Object.fromEntries(foreground.map((c) => [c.name, c.dice])) } : {}),
    mean_image_dice: report.meanImage.meanDice,
    object_f1: report.objects.f1,
    count_mae: report.objects.countMae,
    ...(report.instances
      ? {
          'ap_0.5': atThreshold(report.instances.byThreshold, 0.5).averagePrecision,
          dsb2018: report.instances.dsb2018,
          count_mean_relative_error: report.instances.countMeanRelativeError,
          truth: report.instances.sources['connected components'] > 0 ? 'connected components' : 'label images',
        }
      : {}),
    images: report.images,
    subset: report.subset,
  };
}

const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '');

function markdown(report: EvaluationReport): string {
  const lines = [
    `# pyocyte evaluation`,
    '',
    `- model: \`${report.model}\``,
    `- data: \`${report.data}\` (${report.subset}, ${report.images} images)`,
    `- task: ${report.task}; threshold ${report.threshold}; post-processing ${report.postprocessing}; TTA ${report.tta}` +
      (report.pixelSizeUm ? `; images at ${report.pixelSizeUm} µm/px, model at ${report.modelPixelSizeUm ?? '?'} µm/px` : '') +
      (report.rescale ? `; ${describeScales(report.rescale)}` : ''),
    '',
    '## Pixels (pooled over all images)',
    '',
    '| class | Dice | IoU | precision | recall | mean Dice per image |',
    '|---|---|---|---|---|---|',
    ...report.pixels.perClass
      .slice(1)
      .map(
        (c, i) =>
          `| ${c.name} | ${f4(c.dice)} | ${f4(c.iou)} | ${f4(c.precision)} | ${f4(c.recall)} | ${f4(report.meanImage.perClass[i + 1].dice)} |`,
      ),
    '',
    `Pixel accuracy ${f4(report.pixels.accuracy)} (mean per image ${f4(report.meanImage.accuracy)}).`,
    '',
    ...(report.instances ? instanceMarkdown(report.instances) : objectsMarkdown(report.objects)),
    'Per-image scores: `per_image.csv`.',
    '',
  ];
  return lines.join('\n');
}

function objectsMarkdown(objects: ObjectSummary): string[] {
  return [
    '## Objects (IoU ≥ 0.5)',
    '',
    '| precision | recall | F1 | count MAE | mean true count | mean predicted count |',
    '|---|---|---|---|---|---|',
    `| ${f4(objects.precision)} | ${f4(objects.recall)} | ${f4(objects.f1)} | ${f4(objects.countMae)} | ${f4(objects.meanTrueCount)} | ${f4(objects.meanPredictedCount)} |`,
    '',
  ];
}

function perImageCsv(report: EvaluationReport): string {
  const classes = report.pixels.perClass.slice(1).map((c) => c.name);
  const multi = classes.length > 1;
  const header = [
    'image',
    'dice',
    'iou',
    'accuracy',
    'precision',
    'recall',
    ...(multi ? classes.flatMap((c) => [`dice_${c}`, `iou_${c}`]) : []),
    'true_count',
    'predicted_count',
    'matched',
    'object_f1',
    ...(report.instances ? INSTANCE_CSV_COLUMNS : []),
  ];
  const rows = report.perImage.map(({ image, metrics, objects, instances }) => {
    const fg = metrics.perClass.slice(1);
    const mean = (pick: (c: (typeof fg)[number]) => number) => fg.reduce((a, c) => a + pick(c), 0) / fg.length;
    return [
      csvField(image),
      f4(metrics.meanDice),
      f4(metrics.meanIou),
      f4(metrics.accuracy),
      f4(mean((c) => c.precision)),
      f4(mean((c) => c.recall)),
      ...(multi ? fg.flatMap((c) => [f4(c.dice), f4(c.iou)]) : []),
      objects.trueCount,
      objects.predictedCount,
      objects.truePositives,
      f4(objects.f1),
      ...(report.instances && instances ? instanceCsvFields(instances) : []),
    ].join(',');
  });
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

/** Writes report.json, report.md and per_image.csv into `dir`. */
export async function writeEvaluationReport(dir: string, report: EvaluationReport): Promise<void> {
  const { perImage, ...aggregate } = report;
  const json = {
    ...aggregate,
    summary: reportSummary(report),
    perImage: perImage.map((p) => ({
      image: p.image,
      dice: p.metrics.meanDice,
      iou: p.metrics.meanIou,
      accuracy: p.metrics.accuracy,
      objects: { true: p.objects.trueCount, predicted: p.objects.predictedCount, matched: p.objects.truePositives },
      ...(p.instances ? { instances: instanceJson(p.instances) } : {}),
    })),
  };
  await writeFileAtomic(join(dir, 'report.json'), `${JSON.stringify(json, null, 2)}\n`);
  await writeFileAtomic(join(dir, 'report.md'), markdown(report));
  await writeFileAtomic(join(dir, 'per_image.csv'), perImageCsv(report));
}
