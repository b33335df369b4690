import { IGNORE_LABEL } from '../../image/ignore.js';
import { LossTermSums } from '../loss-terms.js';
import type { LossKernel, LossOptions, LossTerm, Tensor } from '../types.js';
import { type Allocator, OutputCache, type RefTensor, checkShape, dims4, ref } from './tensor.js';

/**
 * The fused loss head. Probabilities come from a sigmoid (K = 1) or a softmax over K classes; the
 * terms' values come from {@link LossTermSums}, and each term adds its gradient to dLogits in one
 * pass. Per-pixel quantities are computed in float64 so the reference is a trustworthy oracle.
 * Pixels whose target is {@link IGNORE_LABEL} take no part: no value, no Dice sums, zero gradient,
 * not counted; the pixel terms are means over the other pixels.
 */
export class RefLoss implements LossKernel {
  private readonly outputs: OutputCache;

  constructor(
    allocator: Allocator,
    private readonly options: Required<LossOptions>,
  ) {
    this.outputs = new OutputCache(allocator);
  }

  forward(
    logitsT: Tensor,
    targetT: Tensor,
    weightsT: Tensor | null,
    regressionT: Tensor | null = null,
  ): { value: Tensor; dLogits: Tensor; counts: Tensor } {
    const [N, channelsIn, H, W] = dims4(logitsT, 'loss logits');
    const { classes: K, regressionChannels: R } = this.options;
    if (channelsIn !== K + R) throw new Error(`loss: logits have ${channelsIn} channels, expected ${K + R}`);
    checkShape(targetT, [N, H, W], 'loss target');
    if (weightsT) checkShape(weightsT, [N, H, W], 'loss pixel weights');
    if (R > 0 && !regressionT) throw new Error(`loss: ${R} regression channel(s) need a regression target`);
    if (regressionT) checkShape(regressionT, [N, R, H, W], 'loss regression target');
    const z = classLogits(ref(logitsT).data, N, K, R, H * W);
    const target = ref(targetT).data;
    const weights = weightsT ? ref(weightsT).data : null;
    const plane = H * W;
    const channels = Math.max(K, 2);
    const prob = probabilities(z, N, K, plane);
    // Each pixel's probability pt of its true class and its cross-entropy, exact for large logits
    // (the log-sum-exp form) in the binary case; the values of the terms from their sums.
    const pixel = { pt: new Float64Array(N * plane), ce: new Float64Array(N * plane), weights, target };
    const sums = new LossTermSums(K, this.options);
    const counted = countedPixels(target);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < plane; j++) {
        const i = n * plane + j;
        const truth = target[i];
        if (truth === IGNORE_LABEL) continue;
        pixel.pt[i] = Math.max(prob[(n * channels + truth) * plane + j], 1e-38);
        pixel.ce[i] = K === 1 ? softplus(truth === 1 ? -z[i] : z[i]) : -Math.log(pixel.pt[i]);
        sums.addPixel(pixel.pt[i], pixel.ce[i], weights ? weights[i] : 1);
        for (let c = 1; c < channels; c++) sums.addOverlap(c, prob[(n * channels + c) * plane + j], truth === c);
      }
    }
    const regression = regressionT ? regressionGradient(ref(logitsT).data, ref(regressionT).data, sums, [N, K, R, plane]) : null;
    const valueT = this.outputs.get('value', [1 + this.options.terms.length]);
    const values = sums.values();
    this.options.terms.forEach((term, t) => (valueT.data[1 + t] = values[term.kind]));
    valueT.data[0] = sums.value(this.options.terms);
    // dLoss/dprob for the Dice terms, dLoss/dlogit for the others, accumulated in float64.
    const dProb = new Float64Array(prob.length);
    const dLogit = new Float64Array(z.length);
    for (const term of this.options.terms) {
      if (term.kind === 'dice') this.diceGradient(term.weight, sums, target, dProb, [N, channels, plane]);
      else if (term.kind !== 'regression') this.pixelTermGradient(term, pixel, prob, dLogit, [N, K, plane], counted);
    }
    chainDiceGradient(dProb, prob, dLogit, [N, K, plane]);
    const dLogits = this.outputs.get('dLogits', logitsT.shape);
    for (let n = 0; n < N; n++) {
      dLogits.data.set(dLogit.subarray(n * K * plane, (n + 1) * K * plane), n * (K + R) * plane);
      if (!regression) continue;
      const weight = this.options.terms.reduce((sum, t) => sum + (t.kind === 'regression' ? t.weight : 0), 0);
      for (let i = 0; i < R * plane; i++) dLogits.data[(n * (K + R) + K) * plane + i] = weight * regression[n * R * plane + i];
    }
    return { value: valueT, dLogits, counts: this.confusion(prob, target, N, channels, plane, counted) };
  }

  /** d(1 − Dice)/dp_i = −(2·t_i·den − (2I + s)) / den² per foreground class, averaged over them. */
  private diceGradient(weight: number, sums: LossTermSums, target: Float32Array, dProb: Float64Array, [N, channels, plane]: number[]) {
    const smooth = this.options.diceSmooth;
    const foreground = channels - 1;
    for (let c = 1; c < channels; c++) {
      const denominator = sums.total[c] + smooth;
      const numerator = 2 * sums.intersection[c] + smooth;
      for (let n = 0; n < N; n++) {
        for (let j = 0; j < plane; j++) {
          if (target[n * plane + j] === IGNORE_LABEL) continue;
          const isClass = target[n * plane + j] === c ? 1 : 0;
          const grad = -(2 * isClass * denominator - numerator) / (denominator * denominator);
          dProb[(n * channels + c) * plane + j] += (weight * grad) / foreground;
        }
      }
    }
  }

  /** Cross-entropy or focal: d loss / d pt, through the sigmoid/softmax Jacobian d pt / d z_k = pt (δ_kt − p_k). */
  private pixelTermGradient(
    term: LossTerm,
    pixel: { pt: Float64Array; ce: Float64Array; weights: Float32Array | null; target: Float32Array },
    prob: Float64Array,
    dLogit: Float64Array,
    [N, K, plane]: number[],
    counted: number,
  ) {
    const gamma = this.options.focalGamma;
    const focal = term.kind === 'focal';
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < plane; j++) {
        const i = n * plane + j;
        const [pt, ce, truth] = [pixel.pt[i], pixel.ce[i], pixel.target[i]];
        if (truth === IGNORE_LABEL) continue;
        const w = (pixel.weights ? pixel.weights[i] : 1) / counted;
        const modulation = focal ? (1 - pt) ** gamma : 1;
        const dPt = focal ? -gamma * (1 - pt) ** (gamma - 1) * ce - modulation / pt : -1 / pt;
        if (K === 1) {
          const sign = truth === 1 ? 1 : -1;
          const p1 = prob[(n * 2 + 1) * plane + j];
          dLogit[i] += term.weight * w * (focal ? dPt * sign * p1 * (1 - p1) : p1 - truth);
        } else {
          for (let k = 0; k < K; k++) {
            const pk = prob[(n * K + k) * plane + j];
            const jac = focal ? pt * ((k === truth ? 1 : 0) - pk) : 0;
            dLogit[(n * K + k) * plane + j] += term.weight * w * (focal ? dPt * jac : pk - (k === truth ? 1 : 0));
          }
        }
      }
    }
  }

  /** Correct pixels, pixels, and (tp, fp, fn) per foreground class at p > 0.5 / argmax. */
  private confusion(prob: Float64Array, target: Float32Array, N: number, channels: number, plane: number, counted: number): RefTensor {
    const countsT = this.outputs.get('counts', [2 + 3 * (channels - 1)]);
    const counts = countsT.data.fill(0);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < plane; j++) {
        if (target[n * plane + j] === IGNORE_LABEL) continue;
        let predicted = 0;
        if (channels === 2 && this.options.classes === 1) predicted = prob[(n * 2 + 1) * plane + j] > 0.5 ? 1 : 0;
        else
          for (let k = 1; k < channels; k++)
            if (prob[(n * channels + k) * plane + j] > prob[(n * channels + predicted) * plane + j]) predicted = k;
        const truth = target[n * plane + j];
        if (predicted === truth) counts[0] += 1;
        for (let c = 1; c < channels; c++) {
          if (predicted === c && truth === c) counts[2 + 3 * (c - 1)] += 1;
          else if (predicted === c) counts[3 + 3 * (c - 1)] += 1;
          else if (truth === c) counts[4 + 3 * (c - 1)] += 1;
        }
      }
    }
    counts[1] = counted;
    return countsT;
  }
}

/** The classification channels of logits `[N, K + R, plane]` as `[N, K, plane]` (the array itself when R = 0). */
function classLogits(z: Float32Array, N: number, K: number, R: number, plane: number): Float32Array {
  if (R === 0) return z;
  const out = new Float32Array(N * K * plane);
  for (let n = 0; n < N; n++) out.set(z.subarray(n * (K + R) * plane, (n * (K + R) + K) * plane), n * K * plane);
  return out;
}

/**
 * The regression channels' squared errors added to `sums`, and d MSE / d z per regression output
 * `[N, R, plane]` (before the term's weight): 2(z − y) / (N·R·plane).
 */
function regressionGradient(z: Float32Array, y: Float32Array, sums: LossTermSums, [N, K, R, plane]: number[]): Float64Array {
  const gradient = new Float64Array(N * R * plane);
  const scale = 2 / (N * R * plane);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < R * plane; i++) {
      const prediction = z[(n * (K + R) + K) * plane + i];
      const truth = y[n * R * plane + i];
      sums.addRegression(prediction, truth);
      gradient[n * R * plane + i] = scale * (prediction - truth);
    }
  }
  return gradient;
}

/** Class probabilities per pixel, `[N, max(K, 2), H, W]`; the binary case stores (1 − p, p). */
function probabilities(z: Float32Array, N: number, K: number, plane: number): Float64Array {
  const prob = new Float64Array(N * Math.max(K, 2) * plane);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < plane; j++) {
      if (K === 1) {
        const p = 1 / (1 + Math.exp(-z[n * plane + j]));
        prob[n * 2 * plane + j] = 1 - p;
        prob[(n * 2 + 1) * plane + j] = p;
      } else {
        let max = -Infinity;
        for (let k = 0; k < K; k++) max = Math.max(max, z[(n * K + k) * plane + j]);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(z[(n * K + k) * plane + j] - max);
        for (let k = 0; k < K; k++) prob[(n * K + k) * plane + j] = Math.exp(z[(n * K + k) * plane + j] - max) / sum;
      }
    }
  }
  return prob;
}

/** Adds dLoss/dprob (the Dice terms') to dLoss/dlogit through the sigmoid or softmax. */
function chainDiceGradient(dProb: Float64Array, prob: Float64Array, dLogit: Float64Array, [N, K, plane]: number[]): void {
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < plane; j++) {
      if (K === 1) {
        const p = prob[(n * 2 + 1) * plane + j];
        dLogit[n * plane + j] += dProb[(n * 2 + 1) * plane + j] * p * (1 - p);
      } else {
        let dot = 0;
        for (let k = 0; k < K; k++) dot += dProb[(n * K + k) * plane + j] * prob[(n * K + k) * plane + j];
        for (let k = 0; k < K; k++) {
          const index = (n * K + k) * plane + j;
          dLogit[index] += prob[index] * (dProb[index] - dot);
        }
      }
    }
  }
}

/** The number of pixels the loss counts (not ignored), at least 1 so an all-ignored batch gives 0, not NaN. */
function countedPixels(target: Float32Array): number {
  let counted = 0;
  for (const t of target) if (t !== IGNORE_LABEL) counted++;
  return Math.max(counted, 1);
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}
