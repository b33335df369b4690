/**
 * Re-chooses a trained dsb2018 model's instance rule on its validation images with the decoders
 * of this checkout (as `train` chooses it: the model's working diameter, decision rule and TTA),
 * saves the model with that rule to a new folder and scores the test images (bench/instances.ts).
 * For trying a decoder change without training again.
 *
 *   node --import tsx bench/rechoose-instance-rule.ts --model .cache/bench-quality/dsb2018 --to .cache/rechosen [--out FILE]
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { normalizeObjectSizes } from '../src/data/object-scale.js';
import { openDataset } from '../src/data/prepare.js';
import { createEngine } from '../src/engine/index.js';
import { ttaMode } from '../src/infer/predict.js';
import { loadModel, saveModel } from '../src/io/model-file.js';
import { chooseInstanceRule } from '../src/train/instance-rule.js';
import { evaluate } from '../src/workflows/evaluate.js';
import { instanceFigures } from './instances.js';
import { machineInfo } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const from = arg('model') ?? '.cache/bench-quality/dsb2018';
const to = arg('to') ?? '.cache/rechosen';
const data = join(process.env.PYOCYTE_SHARED_DATA ?? '../shared/data', 'dsb2018-nuclei');

const model = await loadModel(from, { engine: createEngine({}) });
if (!model.metadata.instances) throw new Error(`${from} was not trained with an instance method`);
const dataset = await openDataset(data, { task: 'binary', onNote: () => {} });
let val = await dataset.load('val');
const working = model.metadata.workingDiameterPx;
if (working) val = normalizeObjectSizes(val, working).samples;
const { tta, threshold, postprocessing } = model.metadata;
const chosen = await chooseInstanceRule(model, val, { predict: { tta: ttaMode(tta) as 'none' | 'dihedral' }, threshold, postprocessing });
console.log(chosen.summary);
model.metadata.instances = chosen.rule;
await saveModel(to, model);
const report = await evaluate({ model: to, data, subset: 'test', progressStream: null, log: () => {} });
const result = {
  benchmark: 'rechoose-instance-rule',
  machine: machineInfo(),
  model: from,
  rule: chosen.rule,
  test: instanceFigures(report, chosen.rule),
};
console.log(JSON.stringify(result.test));
const out = arg('out');
if (out) writeFileSync(resolve(out), `${JSON.stringify(result, null, 2)}\n`);
