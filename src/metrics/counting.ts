/**
 * Detection and counting scores against weak ground truth (boxes and points, as labs annotate,
 * issue 11): predicted cells are matched to true boxes and points by their centroids, one to one
 * per class; then precision, recall, F1, count errors and semi-quantitative bin agreement.
 *
 * Coordinates are in pixels with (0, 0) at the top-left corner of the top-left pixel (the
 * annotation files' convention): a cell centroid in pixel indices is shifted by +0.5 first.
 * Conventions as metrics/objects.ts: with nothing true and nothing predicted, precision = recall =
 * F1 = 1; relative count error is |predicted − true| / max(true, 1).
 */
import { type ImageAnnotations, className, isIgnoreLabel } from '../data/annotations/types.js';
import { find, union } from '../image/components.js';
import { fail } from '../util/errors.js';
import { minimumCostAssignment } from './matching.js';

/** A true box of one class, `xmin ≤ xmax`, `ymin ≤ ymax`. */
export interface TrueBox {
  className: string;
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/** A true cell marked by a point. */
export interface TruePoint {
  className: string;
  x: number;
  y: number;
}

/** A predicted cell: its class and centroid. */
export interface PredictedPoint {
  className: string;
  x: number;
  y: number;
}

/** One image's ground truth: boxes, points, and boxes around unclassified objects (`missedlabel`). */
export interface WeakTruth {
  boxes: readonly TrueBox[];
  points: readonly TruePoint[];
  /** Predictions left unmatched inside these count neither as true nor as false positives. */
  ignoreBoxes?: readonly Omit<TrueBox, 'className'>[];
}

/** Options of {@link matchWeakTruth}. */
export interface WeakMatchOptions {
  /** Per class, how far (pixels) a centroid may lie from a true point to match it: the class's typical cell radius. */
  pointRadiusPx: Readonly<Record<string, number>>;
}

/** One class's result on one image. */
export interface ClassMatch {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** Predicted cells of the class, those ignored (unmatched inside a `missedlabel` box) left out. */
  predictedCount: number;
  /** True boxes and points of the class. */
  trueCount: number;
}

/** One image's matches: per class, and the pairs `[prediction index, truth index]` (truths: boxes, then points). */
export interface WeakMatch {
  perClass: Record<string, ClassMatch>;
  pairs: [number, number][];
  /** Indices of the predictions ignored (inside a `missedlabel` box, unmatched). */
  ignored: number[];
}

/**
 * A measured cell as a {@link PredictedPoint}: centroids are pixel indices, annotations put
 * (0, 0) at the top-left pixel's corner, so the centroid moves by half a pixel.
 */
export function centroidPoint(cell: { className: string; centroidX: number; centroidY: number }): PredictedPoint {
  return { className: cell.className, x: cell.centroidX + 0.5, y: cell.centroidY + 0.5 };
}

/** The truth of one image for the model's classes: boxes, points, and `missedlabel` boxes to ignore. */
export function weakTruthOf(annotations: ImageAnnotations, classNames: readonly string[]): WeakTruth {
  const kept = (label: string) => classNames.includes(className(label));
  return {
    boxes: annotations.boxes.filter((b) => kept(b.label)).map((b) => ({ ...b, className: className(b.label) })),
    points: annotations.points.filter((p) => kept(p.label)).map((p) => ({ ...p, className: className(p.label) })),
    ignoreBoxes: annotations.boxes.filter((b) => isIgnoreLabel(b.label)),
  };
}

const inside = (x: number, y: number, b: Omit<TrueBox, 'className'>) => x >= b.xmin && x <= b.xmax && y >= b.ymin && y <= b.ymax;

/**
 * Whether a centroid at (x, y) may match a truth, whatever its class: inside a box (borders
 * included), or within `radiusPx` of a point. The test {@link matchWeakTruth} applies per class.
 */
export function coversCentroid(
  truth: Omit<TrueBox, 'className'> | Omit<TruePoint, 'className'>,
  x: number,
  y: number,
  radiusPx: number,
): boolean {
  return 'xmin' in truth ? inside(x, y, truth) : Math.hypot(x - truth.x, y - truth.y) <= radiusPx;
}

/**
 * Matches one image's predicted cells to its true boxes and points, one to one within each class:
 * a prediction may match a true box when its centroid lies inside it (borders included), a true
 * point when it lies within the class's `pointRadiusPx`. The pairs are a maximum matching of these
 * candidates (Hungarian method, ./matching.ts), the nearest (distance to the box centre, or to the
 * point) among maximum matchings: where boxes overlap or point radii cross, as in clusters, a cell
 * that fits two truths leaves the one another cell needs, which taking pairs nearest first does not.
 * Pairs are listed nearest first. Unmatched predictions inside an ignore box are set aside.
 * Classes: those of the truth and of the predictions (each listed).
 * @throws PyocyteError when a class has points but no radius, or a box has min > max.
 */
export function matchWeakTruth(predicted: readonly PredictedPoint[], truth: WeakTruth, options: WeakMatchOptions): WeakMatch {
  for (const box of truth.boxes)
    if (!(box.xmin <= box.xmax && box.ymin <= box.ymax)) fail(`a ${box.className} box has min > max: ${JSON.stringify(box)}`);
  const targets = [
    ...truth.boxes.map((b) => ({
      className: b.className,
      x: (b.xmin + b.xmax) / 2,
      y: (b.ymin + b.ymax) / 2,
      box: b as TrueBox | undefined,
    })),
    ...truth.points.map((p) => ({ className: p.className, x: p.x, y: p.y, box: undefined })),
  ];
  const candidates: [number, number, number][] = [];
  for (const [t, target] of targets.entries()) {
    let reach = Infinity;
    if (!target.box) {
      reach = options.pointRadiusPx[target.className];
      if (!(reach >= 0)) fail(`no point radius for class ${target.className}: give pointRadiusPx.${target.className} in pixels`);
    }
    for (const [p, cell] of predicted.entries()) {
      if (cell.className !== target.className) continue;
      const distance = Math.hypot(cell.x - target.x, cell.y - target.y);
      if (coversCentroid(target.box ?? target, cell.x, cell.y, reach)) candidates.push([distance, p, t]);
    }
  }
  const usedPrediction = new Uint8Array(predicted.length);
  const usedTarget = new Uint8Array(targets.length);
  const pairs: [number, number][] = [];
  for (const [, p, t] of maximumMatching(candidates, predicted.length, targets.length)) {
    usedPrediction[p] = usedTarget[t] = 1;
    pairs.push([p, t]);
  }
  const ignored: number[] = [];
  for (const [p, cell] of predicted.entries())
    if (!usedPrediction[p] && (truth.ignoreBoxes ?? []).some((b) => inside(cell.x, cell.y, b))) ignored.push(p);
  const perClass: Record<string, ClassMatch> = {};
  const entry = (name: string) =>
    (perClass[name] ??= { truePositives: 0, falsePositives: 0, falseNegatives: 0, predictedCount: 0, trueCount: 0 });
  for (const target of targets) entry(target.className).trueCount++;
  const isIgnored = new Uint8Array(predicted.length);
  for (const p of ignored) isIgnored[p] = 1;
  for (const [p, cell] of predicted.entries()) {
    const counts = entry(cell.className);
    if (isIgnored[p]) continue;
    counts.predictedCount++;
    if (usedPrediction[p]) counts.truePositives++;
    else counts.falsePositives++;
  }
  for (const [t, target] of targets.entries()) if (!usedTarget[t]) entry(target.className).falseNegatives++;
  return { perClass, pairs, ignored };
}

/**
 * A maximum one-to-one matching of candidate pairs `[distance, prediction, truth]`, with the least
 * summed distance among maximum matchings, sorted nearest first. Solved per connected group of
 * candidates: a pair costs −1 plus its distance scaled so that a group's distances sum below 1
 * (fewer pairs never win by distance), a non-candidate 0.
 */
function maximumMatching(candidates: readonly [number, number, number][], predictions: number, truths: number): [number, number, number][] {
  // Union–find over predictions (0…predictions−1) and truths (predictions + t).
  const parent = Int32Array.from({ length: predictions + truths }, (_, i) => i);
  for (const [, p, t] of candidates) union(parent, p, predictions + t);
  const groups = new Map<number, [number, number, number][]>();
  for (const candidate of candidates) {
    const key = find(parent, candidate[1]);
    const group = groups.get(key);
    if (group) group.push(candidate);
    else groups.set(key, [candidate]);
  }
  const chosen: [number, number, number][] = [];
  for (const group of groups.values()) {
    if (group.length === 1) {
      chosen.push(group[0]);
      continue;
    }
    const predictionIds = [...new Set(group.map((g) => g[1]))];
    const truthIds = [...new Set(group.map((g) => g[2]))];
    const byPrediction = predictionIds.length <= truthIds.length;
    const [rows, columns] = byPrediction ? [predictionIds, truthIds] : [truthIds, predictionIds];
    const rowIndex = new Map(rows.map((id, k) => [id, k]));
    const columnIndex = new Map(columns.map((id, k) => [id, k]));
    const farthest = Math.max(...group.map((g) => g[0]));
    const cost = rows.map(() => new Array<number>(columns.length).fill(0));
    const pair = rows.map(() => new Array<[number, number, number] | undefined>(columns.length));
    for (const candidate of group) {
      const [distance, p, t] = candidate;
      const r = rowIndex.get(byPrediction ? p : t)!;
      const c = columnIndex.get(byPrediction ? t : p)!;
      cost[r][c] = -1 + distance / (farthest + 1) / rows.length;
      pair[r][c] = candidate;
    }
    minimumCostAssignment(cost, columns.length).forEach((c, r) => {
      const candidate = c < 0 ? undefined : pair[r][c];
      if (candidate) chosen.push(candidate);
    });
  }
  return chosen.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
}

/** Semi-quantitative count bins per image, as labs report pus cells: 0–5, 6–10, 11–20, > 20. */
export const COUNT_BINS = [
  { name: '0-5', max: 5 },
  { name: '6-10', max: 10 },
  { name: '11-20', max: 20 },
  { name: '>20', max: Infinity },
] as const;

/** The name of the bin of {@link COUNT_BINS} a per-image count falls in. */
export function countBin(count: number): string {
  if (!(count >= 0)) fail(`a count must be ≥ 0, got ${count}`);
  return COUNT_BINS.find((bin) => count <= bin.max)!.name;
}

/** One class's scores over a set of images. */
export interface ClassCountScores {
  /** From the TP/FP/FN pooled over images. */
  precision: number;
  recall: number;
  f1: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  predictedCount: number;
  trueCount: number;
  /** Mean over images of |predicted count − true count|. */
  countMae: number;
  /** Mean over images of |predicted − true| / max(true, 1). */
  countMeanRelativeError: number;
  /** Share of images whose predicted count falls in the same {@link COUNT_BINS} bin as the true count. */
  binAgreement: number;
}

/** Precision, recall and F1 of TP/FP/FN counts (1 when there is nothing to find and nothing found). */
export function detectionScores(tp: number, fp: number, fn: number): { precision: number; recall: number; f1: number } {
  const precision = tp + fp === 0 ? (fn === 0 ? 1 : 0) : tp / (tp + fp);
  const recall = tp + fn === 0 ? (fp === 0 ? 1 : 0) : tp / (tp + fn);
  const f1 = tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
  return { precision, recall, f1 };
}

/**
 * Per class, the scores of many images' matches ({@link matchWeakTruth}): detection scores from
 * the pooled TP/FP/FN, count errors and bin agreement averaged over images. An image where a
 * class is absent from both truth and prediction counts as 0 true, 0 predicted. Classes are
 * `classNames` then any other class met, in order.
 */
export function summarizeWeakMatches(matches: readonly WeakMatch[], classNames: readonly string[]): Record<string, ClassCountScores> {
  const names = [...classNames];
  for (const match of matches) for (const name of Object.keys(match.perClass)) if (!names.includes(name)) names.push(name);
  const summary: Record<string, ClassCountScores> = {};
  for (const name of names) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let predictedCount = 0;
    let trueCount = 0;
    let absolute = 0;
    let relative = 0;
    let sameBin = 0;
    for (const match of matches) {
      const c = match.perClass[name] ?? { truePositives: 0, falsePositives: 0, falseNegatives: 0, predictedCount: 0, trueCount: 0 };
      tp += c.truePositives;
      fp += c.falsePositives;
      fn += c.falseNegatives;
      predictedCount += c.predictedCount;
      trueCount += c.trueCount;
      const error = Math.abs(c.predictedCount - c.trueCount);
      absolute += error;
      relative += error / Math.max(c.trueCount, 1);
      if (countBin(c.predictedCount) === countBin(c.trueCount)) sameBin++;
    }
    const images = Math.max(matches.length, 1);
    summary[name] = {
      ...detectionScores(tp, fp, fn),
      truePositives: tp,
      falsePositives: fp,
      falseNegatives: fn,
      predictedCount,
      trueCount,
      countMae: absolute / images,
      countMeanRelativeError: relative / images,
      binAgreement: matches.length === 0 ? 1 : sameBin / matches.length,
    };
  }
  return summary;
}
