/**
 * Is the count rule's choice on validation the limit of a box-and-point model's counts? For each
 * saved run folder (a `bench/quality.ts` umid row copied aside), the validation images' candidate
 * cells (as train's count rule sees them) and the test images' (as `pyocyte evaluate` predicts
 * them, every cell kept) are computed once; then count rules are chosen on validation in several
 * ways and scored on test by detection F1 per class:
 * - `stored`: the model's own rule; `chosen`: train/count-rule.ts's chooseCountRule again;
 * - `smoothed`: the same grid, each (score, area) cell's F1 averaged with its 3×3 neighbours
 *   before the argmax (a choice less fitted to a few dozen images), centre-in-frame edge distance;
 * - `fixed`: no choice, score ≥ 0.5, area ≥ 0.3 of the typical cell, centre in frame;
 * - `none`: every segmented cell counts.
 *
 *   node --import tsx bench/count-rule-variants.ts RUN... [--out FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { typicalRadii } from '../src/data/annotations/rasterize.js';
import { readAnnotations } from '../src/data/annotations/read.js';
import { openDataset } from '../src/data/prepare.js';
import { createEngine } from '../src/engine/index.js';
import { applyCountRule } from '../src/infer/count-rule.js';
import { predictProbabilities, ttaMode } from '../src/infer/predict.js';
import { loadModel } from '../src/io/model-file.js';
import { type WeakTruth, centroidPoint, matchWeakTruth, summarizeWeakMatches, weakTruthOf } from '../src/metrics/counting.js';
import type { CountRule } from '../src/nn/model.js';
import {
  CENTRE_IN_FRAME_FRACTION,
  COUNT_RULE_AREA_FRACTIONS,
  COUNT_RULE_SCORES,
  type CountRuleImage,
  chooseCountRule,
  classRuleScorer,
  countRuleImages,
  edgeDistanceOfFraction,
} from '../src/train/count-rule.js';
import { segmentedCells } from '../src/workflows/evaluate-counts.js';
import { machineInfo } from './machine.js';

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1] : '.cache/count-rule-variants.json';
const runs = args.filter((_, i) => i !== outIndex && i !== outIndex + 1);
const results: Record<string, unknown>[] = [];

/** chooseCountRule with F1 smoothed over the 3×3 neighbourhood of the score × area grid. */
function chooseSmoothed(images: readonly CountRuleImage[], classNames: readonly string[], radii: Record<string, number>): CountRule {
  const rule: CountRule = { perClass: {}, validationF1: {} };
  for (const name of classNames) {
    const f1Of = classRuleScorer(images, name, radii);
    if (!f1Of) continue;
    const radius = radii[name];
    const typicalArea = Math.PI * radius * radius;
    const edge = edgeDistanceOfFraction(CENTRE_IN_FRAME_FRACTION, radius);
    const grid = COUNT_RULE_SCORES.map((s) => COUNT_RULE_AREA_FRACTIONS.map((a) => f1Of(s, Math.round(a * typicalArea), edge)));
    let best = { i: 0, j: 0, f1: -1 };
    for (let i = 0; i < grid.length; i++) {
      for (let j = 0; j < grid[i].length; j++) {
        let sum = 0;
        let n = 0;
        for (let di = -1; di <= 1; di++)
          for (let dj = -1; dj <= 1; dj++) {
            const row = grid[i + di];
            if (row && row[j + dj] !== undefined) {
              sum += row[j + dj];
              n++;
            }
          }
        if (sum / n > best.f1 + 1e-9) best = { i, j, f1: sum / n };
      }
    }
    rule.perClass[name] = {
      minScore: COUNT_RULE_SCORES[best.i],
      minAreaPx: Math.round(COUNT_RULE_AREA_FRACTIONS[best.j] * typicalArea),
      minEdgeDistancePx: edge,
    };
  }
  return rule;
}

/** One rule for every class: score 0.5, area 0.3 of the typical cell, centre in frame. */
function fixedRule(classNames: readonly string[], radii: Record<string, number>): CountRule {
  const rule: CountRule = { perClass: {} };
  for (const name of classNames) {
    const r = radii[name];
    rule.perClass[name] = {
      minScore: 0.5,
      minAreaPx: Math.round(0.3 * Math.PI * r * r),
      minEdgeDistancePx: edgeDistanceOfFraction(CENTRE_IN_FRAME_FRACTION, r),
    };
  }
  return rule;
}

for (const run of runs) {
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  const model = await loadModel(join(run, 'model'), { engine: createEngine({}) });
  const dataset = await openDataset(config.data, { ...config, onNote: () => {} });
  const weak = dataset.weak!;
  const classNames = model.metadata.classNames.slice(1);
  const { threshold, postprocessing, tta } = model.metadata;
  const seg = { threshold, postprocessing };
  const val = await dataset.load('val');
  const maps = [];
  for (const sample of val)
    maps.push(
      await predictProbabilities(model, sample.image, { tileSize: config.validationTileSize, tta: ttaMode(tta) as 'none' | 'dihedral' }),
    );
  const valImages = countRuleImages(
    model,
    maps,
    val.map((s) => weak.annotationsOf(s.stem)),
    seg,
  );
  // Test: as evaluate predicts (segmentedCells), every cell kept for the rules to filter.
  const annotations = await readAnnotations(config.data);
  const testTruth = [...annotations.byImage.values()].filter((a) => annotations.splits.get(a.image) === 'test');
  const testRadii = typicalRadii(annotations.byImage.values(), classNames);
  const tests: (Awaited<ReturnType<typeof segmentedCells>> & { truth: WeakTruth })[] = [];
  for (const truth of testTruth) {
    const file = join(config.data, 'images', truth.image);
    const cells = await segmentedCells(model, file, { model, data: config.data, segmentOptions: seg, log: () => {} });
    tests.push({ ...cells, truth: weakTruthOf(truth, classNames) });
  }
  // Detection F1 per class, pooled over the test images as evaluate pools it.
  const score = (rule: CountRule | undefined) => {
    const matches = tests.map((t) =>
      matchWeakTruth(applyCountRule(t.cells, rule, t.toModelScale, t.frame).map(centroidPoint), t.truth, { pointRadiusPx: testRadii }),
    );
    const summary = summarizeWeakMatches(matches, classNames);
    return Object.fromEntries(classNames.map((c) => [c, Math.round(summary[c].f1 * 1000) / 1000]));
  };
  const variants = {
    stored: model.metadata.countRule,
    chosen: chooseCountRule(valImages, classNames, weak.pointRadiusPx),
    smoothed: chooseSmoothed(valImages, classNames, weak.pointRadiusPx),
    fixed: fixedRule(classNames, weak.pointRadiusPx),
    none: undefined,
  };
  const row: Record<string, unknown> = { run };
  for (const [name, rule] of Object.entries(variants)) row[name] = score(rule);
  row.rules = Object.fromEntries(Object.entries(variants).map(([k, v]) => [k, v?.perClass]));
  console.log(JSON.stringify({ run, ...Object.fromEntries(Object.keys(variants).map((k) => [k, row[k]])) }));
  results.push(row);
  const file = { benchmark: 'count-rule-variants', date: new Date().toISOString().slice(0, 10), machine: machineInfo(), results };
  writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
}
