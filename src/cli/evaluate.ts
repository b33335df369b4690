import { SUBSETS, type SubsetName, evaluate } from '../workflows/evaluate.js';
import { reportSummary } from '../io/reports.js';
import { fail } from '../util/errors.js';
import { type CommandSpec, defineCommand } from './args.js';
import { DATASET_FLAGS, ENGINE_FLAGS, datasetOptions } from './common.js';
import { PREDICT_FLAGS, predictOptions } from './predict-flags.js';

const spec: CommandSpec = {
  name: 'evaluate',
  summary: 'Score a trained model on a dataset: Dice, IoU, accuracy, precision, recall per class, and object counts and detection F1. Writes report.json, report.md and per_image.csv.',
  usage: 'pyocyte evaluate --model RUN --data DIR [--subset test] [options]',
  flags: {
    model: { type: 'string', short: 'm', description: 'a training run folder (or its model.json)' },
    data: { type: 'string', description: 'dataset folder with images and masks' },
    subset: { type: 'string', choices: Object.keys(SUBSETS), description: 'which images of the split to score', defaultText: 'test' },
    out: { type: 'string', short: 'o', description: 'report folder', defaultText: 'RUN/eval-<subset>' },
    'iou-threshold': { type: 'number', description: 'IoU for a detected cell to count as found', defaultText: '0.5' },
    ...DATASET_FLAGS,
    ...PREDICT_FLAGS,
    ...ENGINE_FLAGS,
  },
};

/** `pyocyte evaluate`: prints a summary table, then a JSON line with `dice` (and `dice_per_class`). */
export const command = defineCommand(spec, async ({ flags: f }) => {
  if (typeof f.model !== 'string') fail(`evaluate needs --model RUN; usage: ${spec.usage}`);
  if (typeof f.data !== 'string') fail(`evaluate needs --data DIR; usage: ${spec.usage}`);
  const report = await evaluate({
    ...datasetOptions(f),
    ...predictOptions(f),
    model: f.model,
    data: f.data,
    subset: f.subset as SubsetName | undefined,
    out: f.out as string | undefined,
    iouThreshold: f.iouThreshold as number | undefined,
    threads: f.threads as number | undefined,
    engine: f.engine as 'auto' | undefined,
  });
  for (const c of report.pixels.perClass.slice(1)) {
    console.log(`${c.name}: Dice ${c.dice.toFixed(4)}  IoU ${c.iou.toFixed(4)}  precision ${c.precision.toFixed(4)}  recall ${c.recall.toFixed(4)}`);
  }
  console.log(`pixel accuracy ${report.pixels.accuracy.toFixed(4)}; cells: F1 ${report.objects.f1.toFixed(4)}, count MAE ${report.objects.countMae.toFixed(2)} (${report.images} images)`);
  console.log(JSON.stringify(reportSummary(report)));
  return 0;
});
