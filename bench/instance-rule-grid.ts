/**
 * How much the instance rule's decoder could still give (issue 10): a separation model's
 * probability and seed maps of the validation and test images (with the TTA the model chose) are decoded
 * over a grid wider than training's choice (train/instance-rule.ts): foreground thresholds 0.5,
 * 0.65 and the model's own; seed regions whole or split, seed thresholds 0.5–0.95, or peaks of
 * heights 0.75–2 px; minimum sizes 5 / 15 / 30 / 50 px. Images are brought to the model's working
 * diameter by their true cells, as training's validation is. Each cell of the grid gets pooled AP at IoU 0.5 on both subsets, so one sees
 * whether a setting validation could pick would score higher on test. Prints one JSON line per
 * setting and writes `--out` (default .cache/instance-rule-grid.json).
 *
 *   node --import tsx bench/instance-rule-grid.ts --model .cache/bench-quality/dsb2018 --data ../shared/data/dsb2018-nuclei
 */
import { writeFileSync } from 'node:fs';
import { normalizeObjectSizes } from '../src/data/object-scale.js';
import { openDataset } from '../src/data/prepare.js';
import { createEngine } from '../src/engine/index.js';
import { type ProbabilityMap, predictProbabilities, probabilitiesToLabels, ttaMode } from '../src/infer/predict.js';
import { loadModel } from '../src/io/model-file.js';
import { type DecoderSetting, ruleTruth, scoreDecoderSettings } from '../src/train/instance-rule.js';
import { machineInfo } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const modelPath = arg('model', '.cache/bench-quality/dsb2018');
const dataPath = arg('data', '../shared/data/dsb2018-nuclei');
const out = arg('out', '.cache/instance-rule-grid.json');

const model = await loadModel(modelPath, { engine: createEngine() });
const rule = model.metadata.instances;
if (!rule || rule.method === 'watershed') throw new Error(`${modelPath} was not trained to separate cells: it has no seed map`);
const dataset = await openDataset(dataPath);
const subsets = {
  val: { maps: [] as ProbabilityMap[], truth: [] as Int32Array[] },
  test: { maps: [] as ProbabilityMap[], truth: [] as Int32Array[] },
};
for (const name of ['val', 'test'] as const) {
  const samples = await dataset.load(name);
  const working = model.metadata.workingDiameterPx;
  for (const sample of working ? normalizeObjectSizes(samples, working).samples : samples) {
    subsets[name].maps.push(await predictProbabilities(model, sample.image, { tta: ttaMode(model.metadata.tta) as 'none' | 'dihedral' }));
    subsets[name].truth.push(ruleTruth(sample));
  }
}

const MIN_SIZES_PX = [5, 15, 30, 50];
const settings: DecoderSetting[] = [
  ...[false, true].flatMap((splitSeeds) =>
    [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95].map((seedThreshold) => ({ decoder: rule.method, seedThreshold, splitSeeds })),
  ),
  ...[0.75, 1, 1.5, 2].map((peakHeightPx) => ({ decoder: rule.method, seedThreshold: 0, peakHeightPx })),
];
const rows: Record<string, unknown>[] = [];
for (const foregroundThreshold of [0.5, 0.65, model.metadata.threshold]) {
  const [val, test] = [subsets.val, subsets.test].map(({ maps, truth }) => {
    const masks = maps.map((map) => ({ width: map.width, height: map.height, data: probabilitiesToLabels(map, foregroundThreshold) }));
    return scoreDecoderSettings(masks, maps, truth, settings, MIN_SIZES_PX);
  });
  settings.forEach(({ splitSeeds, seedThreshold, peakHeightPx }, i) => {
    const bySize = (scores: number[]) => Object.fromEntries(MIN_SIZES_PX.map((size, k) => [size, scores[k]]));
    const row = {
      foregroundThreshold,
      splitSeeds,
      seedThreshold,
      peakHeightPx,
      valAp50ByMinSizePx: bySize(val[i]),
      testAp50ByMinSizePx: bySize(test[i]),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  });
}
const chosen = { ...rule, threshold: model.metadata.threshold };
writeFileSync(
  out,
  `${JSON.stringify({ benchmark: 'instance-rule-grid', machine: machineInfo(), model: modelPath, chosen, rows }, null, 2)}\n`,
);
console.log(`bench: wrote ${out}`);
