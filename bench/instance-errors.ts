/**
 * Where a model's instance errors at IoU 0.5 come from, on a dataset subset with instance labels:
 * every unmatched true cell and every unmatched predicted cell is put in one kind, so the next
 * change aims at the largest. Predictions are made as `pyocyte evaluate` makes them (the model's
 * object scale, decision and instance rules).
 *
 *   node --import tsx bench/instance-errors.ts --model .cache/bench-quality/dsb2018 [--subset test] [--tta none] [--out FILE]
 *
 * Kinds (areas in pixels of the image as given):
 * - a missed true cell: predictions cover under 30 % of it;
 * - split: two or more predictions each cover over 20 % of it;
 * - merged: the prediction covering most of it also covers over 30 % of another true cell;
 * - shape: otherwise (one prediction, IoU under 0.5);
 * - a spurious predicted cell: under 30 % of it lies on true cells;
 * - a merge: it covers over 30 % of two or more true cells; a split part: the true cell it covers
 *   most is also covered over 20 % by another prediction; shape: otherwise.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDataset } from '../src/data/prepare.js';
import { trueInstances } from '../src/data/true-instances.js';
import { createEngine } from '../src/engine/index.js';
import { pixelSizeScale, type ProbabilityMap } from '../src/infer/predict.js';
import { predictAtObjectScale } from '../src/infer/rescale.js';
import { segment } from '../src/infer/segment.js';
import { loadModel } from '../src/io/model-file.js';
import { matchInstances } from '../src/metrics/objects.js';
import { machineInfo } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const modelPath = arg('model') ?? '.cache/bench-quality/dsb2018';
const data = arg('data') ?? join(process.env.PYOCYTE_SHARED_DATA ?? '../shared/data', 'dsb2018-nuclei');
const subset = (arg('subset') ?? 'test') as 'test';
const tta = (arg('tta') ?? 'none') as 'none' | 'flips' | 'dihedral';

type Kinds = Record<string, number>;

/** Overlap areas of predicted × true ids, and each id's area. */
function overlaps(predicted: Int32Array, truth: Int32Array) {
  const pairs = new Map<number, Map<number, number>>();
  const byTruth = new Map<number, Map<number, number>>();
  const areaP = new Map<number, number>();
  const areaT = new Map<number, number>();
  const add = (m: Map<number, Map<number, number>>, a: number, b: number) => {
    let inner = m.get(a);
    if (!inner) m.set(a, (inner = new Map()));
    inner.set(b, (inner.get(b) ?? 0) + 1);
  };
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i];
    const t = truth[i];
    if (p) areaP.set(p, (areaP.get(p) ?? 0) + 1);
    if (t) areaT.set(t, (areaT.get(t) ?? 0) + 1);
    if (p && t) {
      add(pairs, p, t);
      add(byTruth, t, p);
    }
  }
  return { pairs, byTruth, areaP, areaT };
}

/** Adds the kinds of one image's unmatched cells to `kinds`. */
function classify(predicted: Int32Array, truth: Int32Array, kinds: Kinds): void {
  const match = matchInstances(predicted, truth, { iouThreshold: 0.5 });
  const matchedP = new Set(match.matches.map((m) => m[0]));
  const matchedT = new Set(match.matches.map((m) => m[1]));
  const { pairs, byTruth, areaP, areaT } = overlaps(predicted, truth);
  const bump = (k: string) => (kinds[k] = (kinds[k] ?? 0) + 1);
  kinds.tp = (kinds.tp ?? 0) + match.truePositives;
  for (const [t, area] of areaT) {
    if (matchedT.has(t)) continue;
    const covering = [...(byTruth.get(t) ?? new Map())].sort((a, b) => b[1] - a[1]);
    const covered = covering.reduce((s, [, n]) => s + n, 0) / area;
    if (covered < 0.3) bump('fnMissed');
    else if (covering.filter(([, n]) => n / area > 0.2).length >= 2) bump('fnSplit');
    else {
      const main = covering[0][0];
      const others = [...(pairs.get(main) ?? new Map())].filter(([tt, n]) => tt !== t && n / areaT.get(tt)! > 0.3);
      bump(others.length > 0 ? 'fnMerged' : 'fnShape');
    }
  }
  for (const [p, area] of areaP) {
    if (matchedP.has(p)) continue;
    const covered = [...(pairs.get(p) ?? new Map())].sort((a, b) => b[1] - a[1]);
    const onCells = covered.reduce((s, [, n]) => s + n, 0) / area;
    if (onCells < 0.3) bump('fpSpurious');
    else if (covered.filter(([t, n]) => n / areaT.get(t)! > 0.3).length >= 2) bump('fpMerge');
    else {
      const main = covered[0][0];
      const others = [...(byTruth.get(main) ?? new Map())].filter(([pp, n]) => pp !== p && n / areaT.get(main)! > 0.2);
      bump(others.length > 0 ? 'fpSplitPart' : 'fpShape');
    }
  }
}

const model = await loadModel(modelPath, { engine: createEngine({}) });
const dataset = await openDataset(data, { task: 'binary', onNote: () => {} });
const samples = await dataset.load(subset);
const rules = { threshold: model.metadata.threshold, postprocessing: model.metadata.postprocessing ?? 'none' };
const kinds: Kinds = {};
for (const sample of samples) {
  const options = { tta };
  const instancesOf = (map: ProbabilityMap) => segment(map, rules).instances;
  const rescaled = await predictAtObjectScale(model, sample.image, { ...options, instancesOf });
  const cells = segment(rescaled.map, { ...rules, toModelScale: pixelSizeScale(model, {}) * rescaled.scale }).instances;
  classify(cells.data, trueInstances(sample).instances, kinds);
}
const fn = ['fnMissed', 'fnMerged', 'fnSplit', 'fnShape'].reduce((s, k) => s + (kinds[k] ?? 0), 0);
const fp = ['fpSpurious', 'fpMerge', 'fpSplitPart', 'fpShape'].reduce((s, k) => s + (kinds[k] ?? 0), 0);
const result = {
  benchmark: 'instance-errors',
  machine: machineInfo(),
  model: modelPath,
  method: model.metadata.instances ? `${model.metadata.instances.method} → ${model.metadata.instances.decoder}` : 'watershed',
  subset,
  tta,
  images: samples.length,
  ap50: kinds.tp / (kinds.tp + fp + fn),
  fn,
  fp,
  ...kinds,
};
console.log(JSON.stringify(result));
const out = arg('out');
if (out) writeFileSync(resolve(out), `${JSON.stringify(result, null, 2)}\n`);
