/**
 * `npm run bench:quality`: the default recipe on the real datasets, each trained from scratch
 * within a 10-minute budget on this machine, then scored on the test subset of split.json.
 *   1. wbc-cellavision, binary (foreground = mask > 0)
 *   2. wbc-cellavision, three classes (0 background / 128 cytoplasm / 255 nucleus)
 *   3. isbi2012-em, membrane (the black pixels)
 *   4. the binary model of (1) on copies of the wbc test images rescaled ×0.5 and ×2, each
 *      evaluated with its pixel size given, against the native-size Dice; and again without the
 *      pixel size (`*-auto` rows: the images are rescaled to the training object size).
 *   5. dsb2018-nuclei (instance labels): defaults (`dsb2018`) and the instance method forced to
 *      the old foreground + distance-transform watershed (`dsb2018-baseline`), both scored on the
 *      50 test images (StarDist's test set) by AP at IoU 0.5 / 0.75 / 0.9, the DSB2018 score and
 *      the count MAE (bench/instances.ts). StarDist reports AP@0.5 ≈ 0.86 there. Defaults train at
 *      the working diameter (data/object-scale.ts); `--set workingDiameterPx=0` at native resolution.
 *   6. umid-urine: pus, rbc, ep from box and point annotations at half resolution, validated on 30
 *      images held out of train.csv, scored on val.csv, with and without the count rule (`--only umid`).
 *   7. `dsb2018-scales`: a dsb2018-nuclei model (the `dsb2018` row's, else one trained with
 *      defaults) on its test images at ×1, ×0.5 and ×2 without pixel size nor TTA, AP@0.5
 *      against native.
 * Prints one JSON line per result and writes bench/results/quality-<date>.json.
 *
 *   npm run bench:quality                 # everything (~75 min on 2 cores)
 *   node --import tsx bench/quality.ts --only wbc-binary --minutes 2
 *   node --import tsx bench/quality.ts --only isbi --set filters=32,augment=default --out .cache/try.json
 *   node --import tsx bench/quality.ts --only scales --reuse   # the scale rows of the last wbc-binary model
 *   node --import tsx bench/quality.ts --only wbc-3class --resume   # finish an interrupted row's training
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate } from '../src/workflows/evaluate.js';
import { evaluateCounts } from '../src/workflows/evaluate-counts.js';
import { reportSummary } from '../src/io/reports.js';
import { resumeTraining, train } from '../src/workflows/train.js';
import type { TrainOptions } from '../src/train/options.js';
import { dayStamp, machineInfo } from './machine.js';
import { instanceFigures } from './instances.js';
import { rescaledCopy } from './rescale.js';
import { umidWithHeldOutValidation } from './umid-split.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.PYOCYTE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const work = join(root, '.cache', 'bench-quality');
const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const minutes = Number(arg('minutes') ?? 10);
// `--set filters=16,precision=bf16`: try other training options (recorded in the results).
const overrides: Partial<TrainOptions> = Object.fromEntries(
  (arg('set') ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => {
      const [key, value] = kv.split('=');
      return [key, Number.isNaN(Number(value)) ? value : Number(value)];
    }),
);
const only = arg('only')?.split(',');
const results: Record<string, unknown>[] = [];

function emit(result: Record<string, unknown>) {
  results.push(result);
  console.log(JSON.stringify(result));
}

/** The budget, the overrides and what the training run did, as every row reports them. */
function runFields(trained: Awaited<ReturnType<typeof train>>) {
  return {
    minutes_budget: minutes,
    overrides,
    train_seconds: Math.round(trained.seconds),
    epochs: trained.epochs,
    steps: trained.steps,
    best_epoch: trained.bestEpoch,
  };
}

/**
 * With `--reuse`, a row whose run folder already holds a model is evaluated again without
 * training (the scale rows of a model trained by an earlier invocation); the row says so.
 */
const reuse = args.includes('--reuse');

/**
 * With `--resume`, a row whose run folder holds an interrupted training run (a `last` checkpoint
 * and no model yet) continues it with its own saved options (`--set` is not applied again).
 */
const resume = args.includes('--resume');

/** The metadata of the model saved in run folder `out` (io/model-file.ts's model.json). */
function savedMetadata(out: string) {
  return JSON.parse(readFileSync(join(out, 'model', 'model.json'), 'utf8')).metadata as {
    threshold: number;
    imageScale?: number;
    workingDiameterPx?: number;
    instances?: { method: string; decoder: string };
    training: { epochs: number; steps: number; seconds: number; bestEpoch: number; valDice?: number };
  };
}

/** The training facts a saved model records (io/model-file.ts), as {@link train} returns them. */
function savedRun(out: string): Awaited<ReturnType<typeof train>> {
  const metadata = savedMetadata(out);
  const t = metadata.training;
  return { runDir: out, interrupted: false, ...t, threshold: metadata.threshold };
}

/** A row's model in `out`: trained afresh, or with `--reuse` / `--resume` the one there taken or finished. */
async function trainedModel(out: string, options: Omit<TrainOptions, 'out'>) {
  const reused = reuse && existsSync(join(out, 'model', 'model.json'));
  const resumed = !reused && resume && existsSync(join(out, 'checkpoints', 'last', 'trainer.json'));
  if (!reused && !resumed) await rm(out, { recursive: true, force: true });
  const trained = reused
    ? savedRun(out)
    : resumed
      ? await resumeTraining(out)
      : await train({ ...options, ...overrides, out, minutes }, {});
  return { trained, reused, resumed };
}

async function trainAndTest(name: string, options: Omit<TrainOptions, 'out'>) {
  const out = join(work, name);
  const { trained, reused, resumed } = await trainedModel(out, options);
  const report = await evaluate({
    model: out,
    data: options.data,
    subset: 'test',
    valueMap: options.valueMap,
    strayValues: options.strayValues,
    progressStream: null,
  });
  const summary = reportSummary(report);
  emit({
    benchmark: name,
    data: options.data.replace(`${shared}/`, ''),
    task: options.task ?? 'binary',
    ...runFields(trained),
    ...(reused ? { reused_model: true } : {}),
    ...(resumed ? { resumed_run: true } : {}),
    threshold: trained.threshold,
    postprocessing: report.postprocessing,
    tta: report.tta,
    val_dice: trained.valDice,
    test: summary,
  });
  return { out, summary, report };
}

const wanted = (name: string) => !only || only.includes(name);
const wbc = join(shared, 'wbc-cellavision');
if (wanted('wbc-binary') || wanted('scales')) {
  // The pixel size is a description of the data (1 unit per pixel), so rescaled copies can say theirs.
  const { out, summary } = await trainAndTest('wbc-binary', { data: wbc, pixelSizeUm: 1 });
  if (wanted('scales')) {
    for (const scale of [0.5, 2]) {
      const dir = await rescaledCopy(wbc, join(work, `wbc-test-x${scale}`), scale);
      const report = await evaluate({ model: out, data: dir, subset: 'test', pixelSizeUm: 1 / scale, progressStream: null });
      const scaled = reportSummary(report);
      emit({
        benchmark: `wbc-binary-scale-x${scale}`,
        pixel_size_um: 1 / scale,
        model_pixel_size_um: 1,
        test: scaled,
        native_dice: summary.dice,
        dice_drop: (summary.dice as number) - (scaled.dice as number),
      });
    }
    await autoRescaleRows('wbc-binary', out, wbc, summary);
  }
}
/**
 * Rows `<name>-scale-x0.5-auto` and `-x2-auto`: a model on copies of the dataset's test images
 * rescaled ×0.5 and ×2, evaluated without a pixel size, so predict's object-size estimate chooses
 * the scale (infer/rescale.ts); Dice and AP@0.5 (= F1 / (2 − F1) at IoU 0.5) against native.
 * Rows `-no-rescale`: the same copies predicted at their own scale.
 */
async function autoRescaleRows(name: string, model: string, data: string, native: Record<string, unknown>, tta?: 'none') {
  const ap = (summary: Record<string, unknown>) => (summary.object_f1 as number) / (2 - (summary.object_f1 as number));
  for (const scale of [0.5, 2]) {
    const dir = await rescaledCopy(data, join(work, `${name}-test-x${scale}`), scale);
    const report = await evaluate({ model, data: dir, subset: 'test', tta, progressStream: null });
    const scaled = reportSummary(report);
    emit({
      benchmark: `${name}-scale-x${scale}-auto`,
      ...(tta ? { tta } : {}),
      pixel_size_um: null,
      rescale: report.rescale,
      test: scaled,
      native_dice: native.dice,
      dice_drop: (native.dice as number) - (scaled.dice as number),
      native_ap50: ap(native),
      ap50: ap(scaled),
      ap50_drop: ap(native) - ap(scaled),
    });
    // The same copies at native scale (`--no-rescale`): what the network does with the scale alone.
    const plain = reportSummary(await evaluate({ model, data: dir, subset: 'test', rescale: false, tta, progressStream: null }));
    emit({
      benchmark: `${name}-scale-x${scale}-no-rescale`,
      test: plain,
      dice_drop: (native.dice as number) - (plain.dice as number),
      ap50: ap(plain),
      ap50_drop: ap(native) - ap(plain),
    });
  }
}

if (wanted('wbc-3class')) {
  await trainAndTest('wbc-3class', {
    data: wbc,
    task: 'multiclass',
    valueMap: '0:background,128:cytoplasm,255:nucleus',
    strayValues: 'nearest',
  });
}
if (wanted('isbi')) {
  await trainAndTest('isbi-membrane', { data: join(shared, 'isbi2012-em') });
}
for (const [name, method] of [
  ['dsb2018', undefined],
  ['dsb2018-baseline', 'watershed'],
] as const) {
  if (!wanted(name) && !wanted('dsb2018-nuclei')) continue;
  const data = join(shared, 'dsb2018-nuclei');
  const { out, summary, report } = await trainAndTest(name, { data, ...(method ? { instanceMethod: method } : {}) });
  const { instances, workingDiameterPx } = savedMetadata(out);
  emit({
    benchmark: `${name}-instances`,
    stardist_ap50: 0.86,
    test_dice: summary.dice,
    working_diameter_px: workingDiameterPx ?? null,
    ...instanceFigures(report, instances),
  });
}
if (wanted('dsb2018-scales')) {
  const dsb = join(shared, 'dsb2018-nuclei');
  const trained = join(work, 'dsb2018');
  // A training run keeps its model in RUN/model/ (io/model-file.ts's MODEL_FOLDER).
  const model = existsSync(join(trained, 'model', 'model.json')) ? trained : (await trainAndTest('dsb2018-for-scales', { data: dsb })).out;
  // Without TTA (eight times faster on the ×2 copies; the rows compare scales, not the model's best figure).
  const native = reportSummary(await evaluate({ model, data: dsb, subset: 'test', tta: 'none', progressStream: null }));
  emit({ benchmark: 'dsb2018-scale-x1', tta: 'none', test: native, working_diameter_px: savedMetadata(model).workingDiameterPx ?? null });
  await autoRescaleRows('dsb2018', model, dsb, native, 'none');
}
if (wanted('umid')) {
  // Issue 11: pus, rbc and ep from boxes and points (no masks), scored on UMID's val.csv (38
  // images), which training never sees: it validates on 30 images held out of train.csv
  // (bench/umid-split.ts). A prediction matches a true box when its centroid lies inside it, a
  // true point within the class radius. Defaults as `pyocyte train --data` has them (since
  // 2026-12-03 a fine-tuning of the shipped `nuclei` model; `--set initialWeights=none` trains
  // from scratch, as the rows before that date did): the working
  // scale from the boxes (data/annotations/working-scale.ts: ×0.5 on UMID, median box 44 px →
  // 22 px). `--set imageScale=1` trains at full resolution, `--set targetPixelSizeUm=2` at half by
  // micrometres (a pixel size of 1 µm, as the rows before 2026-12-02 did).
  // Target for pus: F1 ≥ 0.85, count MAE ≤ 1.0 per image.
  const data = await umidWithHeldOutValidation(join(shared, 'umid-urine'), join(work, 'umid-data'));
  const out = join(work, 'umid');
  const scale = overrides.targetPixelSizeUm ? { pixelSizeUm: 1, targetPixelSizeUm: overrides.targetPixelSizeUm } : {};
  const { trained, reused, resumed } = await trainedModel(out, { data, ...scale });
  const test = { model: out, data, subset: 'test', ...scale, progressStream: null, log: () => {} } as const;
  const report = await evaluateCounts(test);
  // The same model counting every segmented cell: what the count rule adds, in the same run.
  const counted = await evaluateCounts({ ...test, countRule: false, out: join(out, 'eval-test-all-cells') });
  emit({
    benchmark: 'umid',
    data: 'umid-urine',
    task: 'multiclass (boxes and points)',
    ...runFields(trained),
    ...(reused ? { reused_model: true } : {}),
    ...(resumed ? { resumed_run: true } : {}),
    ...scale,
    image_scale: savedMetadata(out).imageScale ?? 1,
    split: 'train.csv less 30 held-out images for validation; scored on val.csv',
    val_dice_drawn_masks: trained.valDice,
    images: report.images,
    point_radius_px: report.pointRadiusPx,
    count_rule: report.countRule,
    detection: report.perClass,
    detection_counting_all_cells: counted.perClass,
  });
}
const file = arg('out') ? resolve(root, arg('out')!) : join(root, 'bench', 'results', `quality-${dayStamp()}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify({ benchmark: 'quality', machine: machineInfo(), minutes, overrides, results }, null, 2)}\n`);
process.stderr.write(`bench: wrote ${file}\n`);
