/**
 * Re-chooses a trained box-and-point model's count rule (train/count-rule.ts) on its validation
 * images with this checkout's grid, as `train` chooses it: the run's config.json opens the same
 * dataset and split, the validation images are predicted at the model's scale with its TTA, and
 * the cells are drawn by its decision rule (a centres model's seeds are chosen with the count rule,
 * as train chooses them). Saves the model with that rule to a new folder and
 * scores the test images with it and without any rule (`pyocyte evaluate`'s counting). For trying
 * a count-rule change without training again.
 *
 *   node --import tsx bench/rechoose-count-rule.ts --run .cache/bench-quality/umid --to .cache/umid-rechosen [--out FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDataset } from '../src/data/prepare.js';
import { createEngine } from '../src/engine/index.js';
import { predictProbabilities, ttaMode } from '../src/infer/predict.js';
import { loadModel, saveModel } from '../src/io/model-file.js';
import type { ResolvedTrainOptions } from '../src/train/options.js';
import { chooseModelCountRule } from '../src/train/count-rule.js';
import { evaluateCounts } from '../src/workflows/evaluate-counts.js';
import { machineInfo } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const run = arg('run') ?? '.cache/bench-quality/umid';
const to = arg('to') ?? '.cache/umid-rechosen';

const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')) as ResolvedTrainOptions;
const model = await loadModel(join(run, 'model'), { engine: createEngine({}) });
const dataset = await openDataset(config.data, { ...config, onNote: () => {} });
const { weak } = dataset;
if (!weak) throw new Error(`${config.data} has no box or point annotations`);
const val = await dataset.load('val');
const { threshold, postprocessing, tta } = model.metadata;
const maps = [];
for (const sample of val)
  maps.push(
    await predictProbabilities(model, sample.image, { tileSize: config.validationTileSize, tta: ttaMode(tta) as 'none' | 'dihedral' }),
  );
const before = model.metadata.countRule;
// A centres model's seeds are chosen with its count rule, as train chooses them.
const chosen = chooseModelCountRule(
  model,
  maps,
  val.map((s) => weak.annotationsOf(s.stem)),
  { pointRadiusPx: weak.pointRadiusPx, segment: { threshold, postprocessing } },
);
console.log(chosen.summary);
model.metadata.countRule = chosen.rule;
if (chosen.instances) model.metadata.instances = chosen.instances;
await saveModel(to, model);
const test = { model: to, data: config.data, subset: 'test', progressStream: null, log: () => {} } as const;
const report = await evaluateCounts(test);
const all = await evaluateCounts({ ...test, countRule: false });
const result = {
  benchmark: 'rechoose-count-rule',
  machine: machineInfo(),
  run,
  validation_images: val.length,
  count_rule_before: before,
  count_rule: chosen.rule,
  ...(chosen.instances ? { instance_rule: chosen.instances } : {}),
  detection: report.perClass,
  detection_counting_all_cells: all.perClass,
};
console.log(JSON.stringify(Object.fromEntries(Object.entries(report.perClass).map(([name, c]) => [name, c]))));
const out = arg('out');
if (out) writeFileSync(resolve(out), `${JSON.stringify(result, null, 2)}\n`);
