/**
 * The embedded demo: synthesise a stained pus smear dataset, split it 30/5/5, train on 15 grid
 * patches per image (the seed project's recipe), evaluate on the test images and predict them.
 */
import { fail } from '../util/errors.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeSyntheticDataset } from '../synth/dataset.js';
import type { DemoOptionFields } from './options.generated.js';
import { DEMO_DEFAULTS } from './options.js';
import { evaluate } from './evaluate.js';
import { predictFiles } from './predict-files.js';
import { type EvaluationReport, reportSummary } from '../io/reports.js';
import { atThreshold } from '../metrics/instance-scores.js';
import { train } from './train.js';

/** Options of {@link runDemo}; the docs and defaults of most are in DEMO_OPTIONS (./options.ts). */
export interface DemoOptions extends DemoOptionFields {
  /** Where progress lines go; default stderr. */
  log?: (line: string) => void;
}

export interface DemoResult {
  dice: number;
  iou: number;
  /** Cell detection F1 at IoU ≥ 0.5 against the generator's true instances (`data/instances/`). */
  objectF1: number;
  /** Cell scores against the generator's true instances, summed over the test images. */
  cells: DemoCellScores;
  seconds: number;
  trainSeconds: number;
  predictions: string;
  run: string;
}

/** What the demo says about cells: matched one to one against the generator's instance labels. */
export interface DemoCellScores {
  /** AP at IoU 0.5 = TP / (TP + FP + FN), summed over the test images. */
  ap50: number;
  f1: number;
  /** Mean |predicted − true| cells per test image, and the same relative to the true count. */
  countMae: number;
  countMeanRelativeError: number;
  trueCells: number;
  predictedCells: number;
  /** Where the true instances came from: 'label images' unless the dataset lost its instances/ folder. */
  truth: string;
}

/** The demo's cell scores from an evaluation report (which scored against `instances/`). */
export function demoCellScores(report: EvaluationReport): DemoCellScores {
  const instances = report.instances!;
  const half = atThreshold(instances.byThreshold, 0.5);
  return {
    ap50: half.averagePrecision,
    f1: half.f1,
    countMae: instances.countMae,
    countMeanRelativeError: instances.countMeanRelativeError,
    trueCells: half.trueCount,
    predictedCells: half.predictedCount,
    truth: instances.sources['connected components'] > 0 ? 'connected components' : 'label images',
  };
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const out = resolve(options.out ?? DEMO_DEFAULTS.out);
  const data = join(out, 'data');
  const seed = options.seed ?? DEMO_DEFAULTS.seed;
  if (existsSync(join(data, 'dataset.json'))) {
    log(`demo: reusing the synthetic dataset in ${data}`);
  } else {
    const count = options.images ?? DEMO_DEFAULTS.images;
    if (!(Number.isInteger(count) && count >= 8)) fail(`--images must be a whole number of at least 8, got ${count}`);
    const held = Math.round(count / 8);
    log(`demo: synthesising ${count} stained smears (512×384) into ${data}, split ${count - 2 * held}/${held}/${held}`);
    await writeSyntheticDataset(data, { count, width: 512, height: 384, seed, split: [count - 2 * held, held, held] });
  }
  const run = join(out, 'run');
  log('demo: training on 15 overlapping patches per training image (the seed recipe), with augmentation');
  const trained = await train(
    {
      data,
      out: run,
      sampling: 'grid',
      patchesPerImage: 15,
      minutes: options.minutes ?? DEMO_DEFAULTS.minutes,
      filters: 16,
      batchSize: 8,
      seed,
      engine: options.engine,
      threads: options.threads,
    },
    { log },
  );
  log('demo: evaluating on the 5 test images');
  const report = await evaluate({
    model: run,
    data,
    subset: 'test',
    engine: options.engine,
    threads: options.threads,
    log,
    progressStream: null,
  });
  const predictions = join(out, 'predictions');
  const testImages = report.perImage.map((p) => join(data, 'images', `${p.image}.png`));
  await predictFiles({
    model: run,
    inputs: testImages,
    out: predictions,
    engine: options.engine,
    threads: options.threads,
    log,
    progressStream: null,
  });
  const summary = reportSummary(report);
  const cells = demoCellScores(report);
  return {
    dice: summary.dice as number,
    iou: summary.iou as number,
    objectF1: cells.f1,
    cells,
    seconds: (Date.now() - started) / 1000,
    trainSeconds: trained.seconds,
    predictions,
    run,
  };
}
