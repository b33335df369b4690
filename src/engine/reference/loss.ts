import type { LossKernel, LossOptions, Tensor } from '../types.js';
import { type Allocator, OutputCache, type RefTensor, checkShape, dims4, ref } from './tensor.js';

/**
 * The fused loss head. Probabilities come from a sigmoid (K = 1) or a softmax over K classes; each
 * term adds its weighted value to the total and its gradient to dLogits in one pass per term.
 * Per-pixel quantities are computed in float64 so the reference is a trustworthy oracle.
 */
export class RefLoss implements LossKernel {
  private readonly outputs: OutputCache;
  private readonly gamma: number;
  private readonly smooth: number;

  constructor(allocator: Allocator, private readonly options: LossOptions) {
    this.outputs = new OutputCache(allocator);
    this.gamma = options.focalGamma ?? 2;
    this.smooth = options.diceSmooth ?? 1;
  }

  forward(logitsT: Tensor, targetT: Tensor, weightsT: Tensor | null): { value: Tensor; dLogits: Tensor; counts: Tensor } {
    const [N, K, H, W] = dims4(logitsT, 'loss logits');
    const classes = this.options.classes;
    if (K !== classes) throw new Error(`loss: logits have ${K} channels, expected ${classes}`);
    checkShape(targetT, [N, H, W], 'loss target');
    if (weightsT) checkShape(weightsT, [N, H, W], 'loss pixel weights');
    const z = ref(logitsT).data;
    const target = ref(targetT).data;
    const weights = weightsT ? ref(weightsT).data : null;
    const plane = H * W;
    const pixels = N * plane;
    const channels = Math.max(K, 2);
    // Class probabilities per pixel, [N, max(K,2), H, W]; the binary case stores (1 − p, p).
    const prob = new Float64Array(N * channels * plane);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < plane; j++) {
        if (K === 1) {
          const p = 1 / (1 + Math.exp(-z[n * plane + j]));
          prob[(n * 2) * plane + j] = 1 - p;
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
    // dLoss/dprob for the Dice terms, dLoss/dlogit for the others, accumulated in float64.
    const dProb = new Float64Array(prob.length);
    const dLogit = new Float64Array(z.length);
    const valueT = this.outputs.get('value', [1 + this.options.terms.length]);
    const value = valueT.data;
    value.fill(0);
    const targetOf = (n: number, j: number) => target[n * plane + j];
    this.options.terms.forEach((term, t) => {
      let loss = 0;
      if (term.kind === 'dice') {
        // Foreground classes only: class 1 for binary, 1..K−1 for multi-class.
        const foreground = channels - 1;
        for (let c = 1; c < channels; c++) {
          let intersection = 0;
          let total = 0;
          for (let n = 0; n < N; n++) {
            for (let j = 0; j < plane; j++) {
              const p = prob[(n * channels + c) * plane + j];
              const isClass = targetOf(n, j) === c ? 1 : 0;
              intersection += p * isClass;
              total += p + isClass;
            }
          }
          const denominator = total + this.smooth;
          const dice = (2 * intersection + this.smooth) / denominator;
          loss += (1 - dice) / foreground;
          for (let n = 0; n < N; n++) {
            for (let j = 0; j < plane; j++) {
              const isClass = targetOf(n, j) === c ? 1 : 0;
              const grad = -(2 * isClass * denominator - (2 * intersection + this.smooth)) / (denominator * denominator);
              dProb[(n * channels + c) * plane + j] += (term.weight * grad) / foreground;
            }
          }
        }
      } else {
        for (let n = 0; n < N; n++) {
          for (let j = 0; j < plane; j++) {
            const truth = targetOf(n, j);
            const w = (weights ? weights[n * plane + j] : 1) / pixels;
            const pt = Math.max(prob[(n * channels + truth) * plane + j], 1e-38);
            // Cross-entropy of the true class, exact for large logits (log-sum-exp form).
            const ce = K === 1 ? softplus(truth === 1 ? -z[n * plane + j] : z[n * plane + j]) : -Math.log(pt);
            const focal = term.kind === 'focal';
            const modulation = focal ? (1 - pt) ** this.gamma : 1;
            loss += w * modulation * ce;
            // d loss / d pt, then the softmax/sigmoid Jacobian: d pt / d z_k = pt (δ_kt − p_k).
            const dPt = focal
              ? -this.gamma * (1 - pt) ** (this.gamma - 1) * ce - modulation / pt
              : -1 / pt;
            if (K === 1) {
              const sign = truth === 1 ? 1 : -1;
              const p1 = prob[(n * 2 + 1) * plane + j];
              dLogit[n * plane + j] += term.weight * w * (focal ? dPt * sign * p1 * (1 - p1) : p1 - truth);
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
      value[1 + t] = loss;
      value[0] += term.weight * loss;
    });
    // Chain the Dice terms' dLoss/dprob through the activation.
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
    const dLogits = this.outputs.get('dLogits', logitsT.shape);
    dLogits.data.set(dLogit);
    return { value: valueT, dLogits, counts: this.confusion(prob, target, N, channels, plane) };
  }

  /** Correct pixels, pixels, and (tp, fp, fn) per foreground class at p > 0.5 / argmax. */
  private confusion(prob: Float64Array, target: Float32Array, N: number, channels: number, plane: number): RefTensor {
    const countsT = this.outputs.get('counts', [2 + 3 * (channels - 1)]);
    const counts = countsT.data.fill(0);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < plane; j++) {
        let predicted = 0;
        if (channels === 2 && this.options.classes === 1) predicted = prob[(n * 2 + 1) * plane + j] > 0.5 ? 1 : 0;
        else for (let k = 1; k < channels; k++) if (prob[(n * channels + k) * plane + j] > prob[(n * channels + predicted) * plane + j]) predicted = k;
        const truth = target[n * plane + j];
        if (predicted === truth) counts[0] += 1;
        for (let c = 1; c < channels; c++) {
          if (predicted === c && truth === c) counts[2 + 3 * (c - 1)] += 1;
          else if (predicted === c) counts[3 + 3 * (c - 1)] += 1;
          else if (truth === c) counts[4 + 3 * (c - 1)] += 1;
        }
      }
    }
    counts[1] = N * plane;
    return countsT;
  }
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}
