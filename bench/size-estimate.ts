/**
 * Which object-size estimate brings images of unknown resolution to the model's scale? (Issue 10,
 * §4: dsb2018 test images at ×0.5 and ×2 must lose ≤ 0.02 AP@0.5 against native, without a pixel
 * size.) The dsb2018 model of `bench:quality --only dsb2018` evaluates the test images at ×0.5, ×1
 * and ×2 (image and labels resampled, bench/rescale.ts) twice, in the same run: with the object
 * size estimated by a first network pass (the model without its σ* calibration, as models trained
 * before it) and from the image's characteristic scale (image/scale-space.ts). TTA is off in both
 * (eight times faster; the comparison is between estimates, not the model's best figure).
 *
 *   node --import tsx bench/size-estimate.ts [--data dsb2018-nuclei] [--model .cache/bench-quality/dsb2018] [--images N]
 * (`--images N`: the first N test images only, each factor a resampled copy, ×1 included.)
 * Writes bench/results/size-estimate-<date>.json. Training does not store the calibration by
 * default (see trainingObjectSizes), so it is computed here from the training split as training
 * would (data/object-sizes.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainingObjectSizes } from '../src/data/object-sizes.js';
import { openDataset } from '../src/data/prepare.js';
import { createEngine } from '../src/engine/index.js';
import { loadModel } from '../src/io/model-file.js';
import { atThreshold } from '../src/metrics/instance-scores.js';
import { evaluate } from '../src/workflows/evaluate.js';
import { dayStamp, machineInfo } from './machine.js';
import { rescaledCopy } from './rescale.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.PYOCYTE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const dataName = arg('data', 'dsb2018-nuclei');
const data = join(shared, dataName);
const modelDir = join(root, arg('model', '.cache/bench-quality/dsb2018'));
if (!existsSync(data)) throw new Error(`no ${data}`);
if (!existsSync(join(modelDir, 'model', 'model.json'))) throw new Error(`no model in ${modelDir}: run bench:quality --only dsb2018 first`);

const model = await loadModel(modelDir, { engine: createEngine() });
const sizes = model.metadata.objectDiameterPx;
if (!sizes) throw new Error(`${modelDir} has no training object size`);
const calibration =
  sizes.diameterPerSigma ??
  trainingObjectSizes(await (await openDataset(data)).load('train'), { calibrateSpectrum: true })?.diameterPerSigma;
if (!calibration) throw new Error(`σ* does not describe the objects of ${dataName} (no calibration): nothing to compare`);
process.stderr.write(
  `calibration: diameter ≈ ${calibration.median} σ* (p10 ${calibration.p10}, p90 ${calibration.p90}, ${calibration.images} images)\n`,
);

const ESTIMATES = { 'first pass': undefined, 'characteristic scale': calibration } as const;
const results: Record<string, unknown>[] = [];
const images = args.includes('--images') ? Number(arg('images', '50')) : undefined;
for (const factor of [1, 0.5, 2]) {
  const dir =
    factor === 1 && images === undefined
      ? data
      : await rescaledCopy(data, join(root, '.cache', 'bench-quality', `${dataName}-test-x${factor}`), factor, images);
  for (const [estimate, diameterPerSigma] of Object.entries(ESTIMATES)) {
    model.metadata.objectDiameterPx = { ...sizes, diameterPerSigma };
    const started = Date.now();
    const report = await evaluate({ model, data: dir, subset: 'test', tta: 'none', progressStream: null, log: () => {} });
    const instances = report.instances!;
    const row = {
      factor,
      estimate,
      ap50: atThreshold(instances.byThreshold, 0.5).averagePrecision,
      ap75: atThreshold(instances.byThreshold, 0.75).averagePrecision,
      dsb2018: instances.dsb2018,
      count_mae: instances.countMae,
      dice: report.pixels.meanDice,
      rescale: report.rescale,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
}
const native = (estimate: string) => results.find((r) => r.factor === 1 && r.estimate === estimate)!.ap50 as number;
for (const row of results) row.ap50_drop = native(row.estimate as string) - (row.ap50 as number);
const file = join(root, 'bench', 'results', `size-estimate-${dayStamp()}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(
  file,
  `${JSON.stringify({ benchmark: 'size-estimate', machine: machineInfo(), data: dataName, images: images ?? 'all test images', model: modelDir.replace(`${root}/`, ''), calibration, tta: 'none', results }, null, 2)}\n`,
);
process.stderr.write(`bench: wrote ${file}\n`);
