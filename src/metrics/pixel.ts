/**
 * Pixel metrics: confusion matrices → accuracy, Dice, IoU, precision, recall.
 *
 * Conventions (all NaN-free, chosen to match the PyTorch reference bench/torch_unet.py where it
 * defines one):
 * - A class absent from both truth and prediction ("empty vs empty") scores Dice = IoU =
 *   precision = recall = 1: there was nothing to find and nothing was wrongly found.
 * - Precision with nothing predicted is 1 when the truth is empty too, else 0 (missing everything
 *   is not rewarded); recall with an empty truth is 1 when nothing was predicted, else 0.
 * - The mean Dice / IoU average the foreground classes 1..K−1 only (binary: class 1).
 * - Accuracy of zero pixels is 1.
 */
import { IGNORE_LABEL } from '../image/ignore.js';
import { fail } from '../util/errors.js';

/** Options shared by the pixel-metric functions. */
export interface ClassOptions {
  /** Number of classes K, background included (binary tasks: 2). */
  classes: number;
  /** Display names, index = class; defaults to `class0`, `class1`, … */
  classNames?: readonly string[];
}

/** The scores of one class. */
export interface ClassMetrics {
  class: number;
  name: string;
  dice: number;
  iou: number;
  precision: number;
  recall: number;
  /** Number of truth pixels of this class. */
  support: number;
}

/** Metrics computed from one confusion matrix. */
export interface PixelMetrics {
  accuracy: number;
  /** Every class, background included, index = class. */
  perClass: ClassMetrics[];
  /** Mean Dice over the foreground classes 1..K−1. */
  meanDice: number;
  /** Mean IoU over the foreground classes 1..K−1. */
  meanIou: number;
}

/** Per-image metrics averaged over images (each image weighs the same). */
export interface MeanImageMetrics {
  /** Mean of the per-image accuracies (the reference's `pixel_accuracy`). */
  accuracy: number;
  /** Per class: mean of the per-image values (the reference's `mean_image_dice` for Dice). */
  perClass: Omit<ClassMetrics, 'support'>[];
  meanDice: number;
  meanIou: number;
  images: number;
}

function checkClasses(classes: number): void {
  if (!Number.isInteger(classes) || classes < 2 || classes > 256) {
    fail(`classes must be an integer from 2 to 256 (binary tasks use 2), got ${classes}`);
  }
}

/**
 * Counts (truth, prediction) pairs: a `[K, K]` matrix, row = truth class, column = predicted
 * class, flattened row-major. `predicted` and `truth` are `[H, W]` class maps of equal length.
 */
export function confusionMatrix(predicted: Uint8Array, truth: Uint8Array, options: ClassOptions): Float64Array {
  const { classes } = options;
  checkClasses(classes);
  if (predicted.length !== truth.length) {
    fail(`the prediction has ${predicted.length} pixels but the truth has ${truth.length}; they must be the same size`);
  }
  // Count into a 256×256 table so the hot loop has no range check; out-of-range classes are found after.
  const counts = new Float64Array(256 * 256);
  for (let i = 0; i < truth.length; i++) counts[(truth[i] << 8) | predicted[i]]++;
  // Pixels whose truth is unknown (a weak annotation's ignore ring) count neither way.
  counts.fill(0, IGNORE_LABEL << 8, (IGNORE_LABEL + 1) << 8);
  const confusion = new Float64Array(classes * classes);
  for (let t = 0; t < 256; t++) {
    for (let p = 0; p < 256; p++) {
      const n = counts[(t << 8) | p];
      if (n === 0) continue;
      if (t >= classes) fail(`the truth contains class ${t} but the task has ${classes} classes (0..${classes - 1})`);
      if (p >= classes) fail(`the prediction contains class ${p} but the task has ${classes} classes (0..${classes - 1})`);
      confusion[t * classes + p] = n;
    }
  }
  return confusion;
}

/** Adds `other` into `into` (same K) and returns `into`. */
export function addConfusion(into: Float64Array, other: Float64Array): Float64Array {
  if (into.length !== other.length) {
    fail(`cannot add a ${Math.sqrt(other.length)}-class confusion matrix to a ${Math.sqrt(into.length)}-class one`);
  }
  for (let i = 0; i < into.length; i++) into[i] += other[i];
  return into;
}

/** Ratio with the documented empty convention: `whenEmpty` when the denominator is 0. */
function ratio(numerator: number, denominator: number, whenEmpty: number): number {
  return denominator === 0 ? whenEmpty : numerator / denominator;
}

/** Accuracy, per-class Dice/IoU/precision/recall and foreground means of a `[K, K]` confusion. */
export function pixelMetrics(confusion: Float64Array, options: ClassOptions): PixelMetrics {
  const { classes, classNames } = options;
  checkClasses(classes);
  if (confusion.length !== classes * classes) {
    fail(`a ${classes}-class confusion matrix has ${classes * classes} entries, got ${confusion.length}`);
  }
  const rowSums = new Float64Array(classes);
  const colSums = new Float64Array(classes);
  let total = 0;
  let correct = 0;
  for (let t = 0; t < classes; t++) {
    for (let p = 0; p < classes; p++) {
      const n = confusion[t * classes + p];
      rowSums[t] += n;
      colSums[p] += n;
      total += n;
      if (t === p) correct += n;
    }
  }
  const perClass: ClassMetrics[] = [];
  for (let k = 0; k < classes; k++) {
    const tp = confusion[k * classes + k];
    const fn = rowSums[k] - tp;
    const fp = colSums[k] - tp;
    perClass.push({
      class: k,
      name: classNames?.[k] ?? `class${k}`,
      dice: ratio(2 * tp, 2 * tp + fp + fn, 1),
      iou: ratio(tp, tp + fp + fn, 1),
      precision: ratio(tp, tp + fp, fn === 0 ? 1 : 0),
      recall: ratio(tp, tp + fn, fp === 0 ? 1 : 0),
      support: rowSums[k],
    });
  }
  const foreground = perClass.slice(1);
  return {
    accuracy: ratio(correct, total, 1),
    perClass,
    meanDice: mean(foreground.map((c) => c.dice)),
    meanIou: mean(foreground.map((c) => c.iou)),
  };
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length === 0 ? 0 : sum / values.length;
}

/**
 * Aggregates per-image confusions two ways: `global` from their sum (pooled pixels; the
 * reference's `dice`/`iou`) and `meanImage`, the mean of per-image metrics (its
 * `mean_image_dice` and `pixel_accuracy`). Images where a class is empty in both truth and
 * prediction count Dice = 1 for it, as in the reference.
 */
export function summarizeImages(
  perImage: readonly Float64Array[],
  options: ClassOptions,
): { global: PixelMetrics; meanImage: MeanImageMetrics } {
  const { classes } = options;
  checkClasses(classes);
  const total = new Float64Array(classes * classes);
  for (const confusion of perImage) addConfusion(total, confusion);
  const images = perImage.map((c) => pixelMetrics(c, options));
  const global = pixelMetrics(total, options);
  const perClass = global.perClass.map((c, k) => ({
    class: k,
    name: c.name,
    dice: images.length === 0 ? 1 : mean(images.map((m) => m.perClass[k].dice)),
    iou: images.length === 0 ? 1 : mean(images.map((m) => m.perClass[k].iou)),
    precision: images.length === 0 ? 1 : mean(images.map((m) => m.perClass[k].precision)),
    recall: images.length === 0 ? 1 : mean(images.map((m) => m.perClass[k].recall)),
  }));
  const foreground = perClass.slice(1);
  const meanImage: MeanImageMetrics = {
    accuracy: images.length === 0 ? 1 : mean(images.map((m) => m.accuracy)),
    perClass,
    meanDice: mean(foreground.map((c) => c.dice)),
    meanIou: mean(foreground.map((c) => c.iou)),
    images: images.length,
  };
  return { global, meanImage };
}

/** Options of {@link bestThreshold}. */
export interface BestThresholdOptions {
  /** Thresholds to try; a pixel is foreground when `probability > threshold` (as in the reference). Default 0.05, 0.075, …, 0.95. */
  candidates?: readonly number[];
}

/** The default threshold candidates: 0.05 to 0.95 in steps of 0.025. */
export const DEFAULT_THRESHOLD_CANDIDATES: readonly number[] = Array.from(
  { length: 37 },
  (_, i) => Math.round((0.05 + 0.025 * i) * 1000) / 1000,
);

/**
 * The foreground-probability threshold that maximises the pooled (global) Dice of class 1 over
 * all images. `probabilities[i]` and `truths[i]` are `[H, W]` (truth: nonzero = foreground).
 * One pass per image: each pixel is binned by how many candidates lie below it, split by truth,
 * and every candidate's TP/FP/FN is a suffix sum of those bins. Ties go to the candidate closest
 * to 0.5.
 */
export function bestThreshold(
  probabilities: readonly Float32Array[],
  truths: readonly Uint8Array[],
  options: BestThresholdOptions = {},
): { threshold: number; dice: number } {
  const candidates = [...(options.candidates ?? DEFAULT_THRESHOLD_CANDIDATES)].sort((a, b) => a - b);
  if (candidates.length === 0) fail('bestThreshold needs at least one candidate threshold');
  if (probabilities.length !== truths.length) {
    fail(`bestThreshold got ${probabilities.length} probability maps but ${truths.length} truth masks`);
  }
  const n = candidates.length;
  const thresholds = Float64Array.from(candidates);
  // bins[b]: pixels with exactly b candidates strictly below their probability.
  const positive = new Float64Array(n + 1);
  const negative = new Float64Array(n + 1);
  for (let image = 0; image < probabilities.length; image++) {
    const prob = probabilities[image];
    const truth = truths[image];
    if (prob.length !== truth.length) {
      fail(`image ${image}: the probability map has ${prob.length} pixels but the truth has ${truth.length}`);
    }
    for (let i = 0; i < prob.length; i++) {
      const p = prob[i];
      let low = 0;
      let high = n;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (thresholds[mid] < p) low = mid + 1;
        else high = mid;
      }
      if (truth[i] === IGNORE_LABEL) continue;
      if (truth[i] !== 0) positive[low]++;
      else negative[low]++;
    }
  }
  let totalPositive = 0;
  for (const v of positive) totalPositive += v;
  let best = { threshold: candidates[0], dice: -1 };
  let tp = 0;
  let fp = 0;
  for (let c = n - 1; c >= 0; c--) {
    tp += positive[c + 1];
    fp += negative[c + 1];
    const fn = totalPositive - tp;
    const dice = ratio(2 * tp, 2 * tp + fp + fn, 1);
    const t = candidates[c];
    if (dice > best.dice || (dice === best.dice && Math.abs(t - 0.5) < Math.abs(best.threshold - 0.5))) {
      best = { threshold: t, dice };
    }
  }
  return best;
}
