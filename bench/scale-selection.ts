/**
 * Can a model tell which scale suits an image from its own confidence? (Issue 10, §4: dsb2018 test
 * images at ×2 lose 0.28 AP@0.5 because their nuclei, twice as large, still lie within the wide
 * range of sizes the training images had, so `chooseScale` keeps them at native scale.)
 *
 * For dsb2018-nuclei validation images at ×0.5, ×1 and ×2 (image and labels resampled), the
 * trained dsb2018 model predicts each at network scales 0.5, 0.71, 1, 1.41 and 2 (no TTA); each
 * prediction is scored by AP@0.5 against the resampled labels and by two confidences of its own:
 * the mean certainty of the foreground, mean |2p − 1| over all pixels, and of the seed map, the
 * same over foreground pixels. Then rules that pick one scale per image are compared by pooled
 * AP@0.5: native, the best scale (an oracle), today's `chooseScale` from the native pass's object
 * size (the nearest candidate scale, no second pass), the most confident scale, and hybrids. Validation only: no test image is seen.
 *
 *   node --import tsx bench/scale-selection.ts [--images 24]   # ≈ 35 s per image on 2 cores
 * Writes bench/results/scale-selection-<date>.json. Needs the model of `bench:quality --only dsb2018`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset } from '../src/data/prepare.js';
import { createEngine } from '../src/engine/index.js';
import { resampleImage, resampleLabels, scaledSize } from '../src/image/resample.js';
import { predictProbabilities, resampleProbabilities } from '../src/infer/predict.js';
import { chooseScale, estimateObjectDiameter } from '../src/infer/rescale.js';
import { segment } from '../src/infer/segment.js';
import { loadModel } from '../src/io/model-file.js';
import { matchInstances } from '../src/metrics/objects.js';
import { dayStamp, machineInfo } from './machine.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.PYOCYTE_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const modelDir = join(root, '.cache', 'bench-quality', 'dsb2018');
if (!existsSync(join(shared, 'dsb2018-nuclei'))) throw new Error(`no ${shared}/dsb2018-nuclei`);
if (!existsSync(join(modelDir, 'model', 'model.json'))) throw new Error(`no model in ${modelDir}: run bench:quality --only dsb2018 first`);
const args = process.argv.slice(2);
const imageLimit = Number(args[args.indexOf('--images') + 1] ?? 0) || Number.POSITIVE_INFINITY;

const FACTORS = [0.5, 1, 2] as const;
const NETWORK_SCALES = [0.5, 0.71, 1, 1.41, 2] as const;
interface Row {
  image: number;
  factor: number;
  scale: number;
  tp: number;
  fp: number;
  fn: number;
  foregroundCertainty: number;
  seedCertainty: number;
  objectDiameterPx: number;
}

const model = await loadModel(modelDir, { engine: createEngine() });
const training = model.metadata.objectDiameterPx!;
const samples = (await (await openDataset(join(shared, 'dsb2018-nuclei'))).load('val')).slice(0, imageLimit);
const rows: Row[] = [];
for (const [image, sample] of samples.entries()) {
  for (const factor of FACTORS) {
    const [width, height] = scaledSize(sample.image.width, sample.image.height, factor);
    const input = factor === 1 ? sample.image : resampleImage(sample.image, { width, height });
    const truth = resampleLabels(
      { width: sample.image.width, height: sample.image.height, data: sample.instances! },
      { width, height },
    ).data;
    for (const scale of NETWORK_SCALES) {
      const [w, h] = scaledSize(width, height, scale);
      if (w * h > 1600 * 1600 || w < 16 || h < 16) continue;
      const network = await predictProbabilities(model, scale === 1 ? input : resampleImage(input, { width: w, height: h }), {
        tta: false,
      });
      let foreground = 0;
      let seeds = 0;
      let foregroundPixels = 0;
      network.data.forEach((p, i) => {
        foreground += Math.abs(2 * p - 1);
        if (p > 0.5) {
          foregroundPixels++;
          seeds += Math.abs(2 * network.seeds![i] - 1);
        }
      });
      const map = scale === 1 ? network : resampleProbabilities(network, { width, height });
      const cells = segment(map, { threshold: model.metadata.threshold, toModelScale: scale }).instances;
      const match = matchInstances(cells.data, truth, { iouThreshold: 0.5 });
      // The object size predict estimates from a pass (infer/rescale.ts), in the network's pixels.
      const networkCells = scale === 1 ? cells : segment(network, { threshold: model.metadata.threshold }).instances;
      rows.push({
        image,
        factor,
        scale,
        tp: match.truePositives,
        fp: match.falsePositives,
        fn: match.falseNegatives,
        foregroundCertainty: foreground / network.data.length,
        seedCertainty: foregroundPixels ? seeds / foregroundPixels : 0,
        objectDiameterPx: estimateObjectDiameter(networkCells) ?? 0,
      });
    }
  }
  process.stderr.write(`scale-selection: image ${image + 1}/${samples.length}\n`);
}

type Rule = (candidates: Row[]) => Row;
const nearest = (candidates: Row[], scale: number) =>
  candidates.reduce((a, b) => (Math.abs(Math.log(b.scale / scale)) < Math.abs(Math.log(a.scale / scale)) ? b : a));
const ap = (r: Row) => r.tp / (r.tp + r.fp + r.fn || 1);
const most = (candidates: Row[], key: 'foregroundCertainty' | 'seedCertainty') => candidates.reduce((a, b) => (b[key] > a[key] ? b : a));
const native: Rule = (c) => c.find((r) => r.scale === 1)!;
const current: Rule = (c) => nearest(c, chooseScale(native(c).objectDiameterPx || undefined, training));
const RULES: Record<string, Rule> = {
  native,
  oracle: (c) => c.reduce((a, b) => (ap(b) > ap(a) ? b : a)),
  chooseScale: current,
  mostCertainForeground: (c) => most(c, 'foregroundCertainty'),
  mostCertainSeeds: (c) => most(c, 'seedCertainty'),
  // chooseScale where it rescales, else the most certain seeds among scales ≤ 1 (by a margin).
  ...Object.fromEntries(
    [0, 0.02, 0.05].map((margin) => [
      `chooseScaleThenCertainDownscale+${margin}`,
      (c: Row[]) => {
        const chosen = current(c);
        if (chosen.scale !== 1) return chosen;
        const down = most(
          c.filter((r) => r.scale <= 1),
          'seedCertainty',
        );
        return down.seedCertainty > native(c).seedCertainty + margin ? down : native(c);
      },
    ]),
  ),
};
const pooled: Record<string, Record<string, number>> = {};
for (const factor of FACTORS) {
  const groups = samples.map((_, image) => rows.filter((r) => r.image === image && r.factor === factor));
  pooled[`x${factor}`] = Object.fromEntries(
    Object.entries(RULES).map(([name, rule]) => {
      const picks = groups.map(rule);
      const sum = (k: 'tp' | 'fp' | 'fn') => picks.reduce((s, r) => s + r[k], 0);
      return [name, Math.round((sum('tp') / (sum('tp') + sum('fp') + sum('fn'))) * 1000) / 1000];
    }),
  );
}
console.log(JSON.stringify(pooled, null, 1));
const file = join(root, 'bench', 'results', `scale-selection-${dayStamp()}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(
  file,
  `${JSON.stringify({ benchmark: 'scale-selection', machine: machineInfo(), images: samples.length, subset: 'val', pooledAp50: pooled, rows }, null, 1)}\n`,
);
process.stderr.write(`bench: wrote ${file}\n`);
