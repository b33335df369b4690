/**
 * Where a box-and-point model's count errors come from (issue 11): each test image is predicted
 * as `pyocyte evaluate` does, matched one to one (metrics/counting.ts), and every unmatched cell
 * is put in one bin:
 * - a false positive inside a true box of another class (class confusion), inside a true box of
 *   its own class that another prediction already took (a split cell), or outside every box
 *   (a background object: debris, an unlabelled cell);
 * - a false negative with an unmatched prediction of another class on it (confusion), with a
 *   matched prediction of its class inside its box (merged with a neighbour), or with nothing.
 * Prints one JSON line per class and writes `--out` (default .cache/count-errors.json). The
 * dataset's images are read from `<data>/images/`; `--pixel-size` (µm per pixel of those images,
 * default 1) is what the umid bench row gives evaluate; `--subset` defaults to test.
 *
 *   node --import tsx bench/count-errors.ts --model .cache/bench-quality/umid --data .cache/bench-quality/umid-data
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { typicalRadii } from '../src/data/annotations/rasterize.js';
import { readAnnotations } from '../src/data/annotations/read.js';
import { createEngine } from '../src/engine/index.js';
import { loadModel } from '../src/io/model-file.js';
import { coversCentroid, matchWeakTruth, weakTruthOf } from '../src/metrics/counting.js';
import { countedCellPoints } from '../src/workflows/evaluate-counts.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const modelPath = arg('model', '.cache/bench-quality/umid') as string;
const data = arg('data', '.cache/bench-quality/umid-data') as string;
const subset = arg('subset', 'test') as string;
const pixelSizeUm = Number(arg('pixel-size', '1'));
const out = arg('out', '.cache/count-errors.json') as string;

const model = await loadModel(modelPath, { engine: createEngine() });
const { classNames: allNames, threshold, postprocessing, countRule } = model.metadata;
const classNames = allNames.slice(1);
const annotations = await readAnnotations(data);
const images = [...annotations.byImage.values()].filter((a) => annotations.splits.get(a.image) === subset);
const pointRadiusPx = typicalRadii(annotations.byImage.values(), classNames);
const bins = Object.fromEntries(
  classNames.map((c) => [
    c,
    {
      truePositives: 0,
      fpConfusion: {} as Record<string, number>,
      fpSplit: 0,
      fpBackground: 0,
      fnConfusion: {} as Record<string, number>,
      fnMerged: 0,
      fnMissed: 0,
    },
  ]),
);
// Where the background false positives lie, in the image's pixels: to look at them.
const backgroundFalsePositives: { image: string; className: string; x: number; y: number }[] = [];
// Where the true cells nothing was predicted on lie (their centres), likewise.
const missedTruths: { image: string; className: string; x: number; y: number }[] = [];

for (const truth of images) {
  const { predicted } = await countedCellPoints(model, join(data, 'images', truth.image), {
    model,
    data,
    pixelSizeUm,
    segmentOptions: { threshold, postprocessing },
    countRule,
  });
  const weak = weakTruthOf(truth, classNames);
  const match = matchWeakTruth(predicted, weak, { pointRadiusPx });
  // The matcher's truth order: boxes, then points.
  const trueObjects = [...weak.boxes, ...weak.points];
  const covers = (t: (typeof trueObjects)[number], x: number, y: number) => coversCentroid(t, x, y, pointRadiusPx[t.className]);
  const matchedPrediction = new Set(match.pairs.map(([p]) => p));
  const matchedTruth = new Set(match.pairs.map(([, t]) => t));
  const ignored = new Set(match.ignored);
  for (const [, t] of match.pairs) bins[trueObjects[t].className].truePositives++;
  predicted.forEach((p, i) => {
    if (matchedPrediction.has(i) || ignored.has(i)) return;
    const bin = bins[p.className];
    const under = trueObjects.filter((t) => covers(t, p.x, p.y));
    const other = under.find((t) => t.className !== p.className);
    if (under.some((t) => t.className === p.className)) bin.fpSplit++;
    else if (other) bin.fpConfusion[other.className] = (bin.fpConfusion[other.className] ?? 0) + 1;
    else {
      bin.fpBackground++;
      backgroundFalsePositives.push({ image: truth.image, className: p.className, x: Math.round(p.x), y: Math.round(p.y) });
    }
  });
  trueObjects.forEach((t, k) => {
    if (matchedTruth.has(k)) return;
    const bin = bins[t.className];
    const on = predicted.map((p, i) => ({ p, i })).filter(({ p }) => covers(t, p.x, p.y));
    const confused = on.find(({ p, i }) => p.className !== t.className && !matchedPrediction.has(i));
    if (confused) bin.fnConfusion[confused.p.className] = (bin.fnConfusion[confused.p.className] ?? 0) + 1;
    else if (on.some(({ p }) => p.className === t.className)) bin.fnMerged++;
    else {
      bin.fnMissed++;
      const [x, y] = 'xmin' in t ? [(t.xmin + t.xmax) / 2, (t.ymin + t.ymax) / 2] : [t.x, t.y];
      missedTruths.push({ image: truth.image, className: t.className, x: Math.round(x), y: Math.round(y) });
    }
  });
}
for (const [name, bin] of Object.entries(bins)) console.log(JSON.stringify({ class: name, ...bin }));
writeFileSync(
  out,
  `${JSON.stringify({ model: modelPath, data, subset, images: images.length, bins, backgroundFalsePositives, missedTruths }, null, 2)}\n`,
);
