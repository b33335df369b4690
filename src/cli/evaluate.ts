import { DATASET_OPTIONS } from '../data/dataset-options.js';
import { countReportSummary, countScoresTable } from '../io/count-report.js';
import { reportSummary } from '../io/reports.js';
import { defineOptions, omitOptions } from '../util/options.js';
import { evaluate } from '../workflows/evaluate.js';
import { evaluateCounts, hasWeakAnnotations } from '../workflows/evaluate-counts.js';
import { EVALUATE_OPTIONS } from '../workflows/options.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'evaluate',
  summary:
    'Score a trained model on a dataset: Dice, IoU, accuracy, precision, recall per class, and object counts and detection F1. A dataset of box/point annotations (train.csv, val.csv, COCO, VOC; no masks/) is scored per class on detection precision, recall, F1 by centroid, count MAE and semi-quantitative bins. Writes report.json, report.md and per_image.csv.',
  usage: 'pyocyte evaluate --model RUN --data DIR [--subset test] [options]',
  // The images' pixel size is one option here: PREDICT_OPTIONS' (it rescales them to the model's).
  options: defineOptions({ ...EVALUATE_OPTIONS, ...omitOptions(DATASET_OPTIONS, 'pixelSizeUm', 'targetPixelSizeUm', 'imageScale') }),
} as const;

/** `pyocyte evaluate`: prints a summary table, then a JSON line with `dice` (and `dice_per_class`). */
export const command = defineCommand(spec, async ({ options }) => {
  if (await hasWeakAnnotations(options.data)) {
    const report = await evaluateCounts(options);
    process.stdout.write(countScoresTable(report.perClass));
    console.log(`${report.images} images (${report.subset}); counts are per image`);
    console.log(JSON.stringify(countReportSummary(report)));
    return 0;
  }
  const report = await evaluate(options);
  for (const c of report.pixels.perClass.slice(1)) {
    console.log(
      `${c.name}: Dice ${c.dice.toFixed(4)}  IoU ${c.iou.toFixed(4)}  precision ${c.precision.toFixed(4)}  recall ${c.recall.toFixed(4)}`,
    );
  }
  console.log(
    `pixel accuracy ${report.pixels.accuracy.toFixed(4)}; cells: F1 ${report.objects.f1.toFixed(4)}, count MAE ${report.objects.countMae.toFixed(2)} (${report.images} images)`,
  );
  console.log(JSON.stringify(reportSummary(report)));
  return 0;
});
