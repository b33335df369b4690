import type { BatchNorm2dKernel, BatchNorm2dOptions, Tensor } from '../types.js';
import { type Allocator, OutputCache, type RefTensor, checkShape, dims4, ref } from './tensor.js';

/**
 * Batch normalisation over (N, H, W) per channel, optionally fused with a ReLU, with PyTorch's
 * semantics: biased variance to normalise, unbiased variance for the running estimate.
 */
export class RefBatchNorm2d implements BatchNorm2dKernel {
  private readonly outputs: OutputCache;
  private readonly epsilon: number;
  private readonly momentum: number;
  private readonly relu: boolean;
  private saved?: { x: RefTensor; y: RefTensor; gamma: RefTensor; mean: Float64Array; invStd: Float64Array };

  constructor(allocator: Allocator, options: Required<BatchNorm2dOptions>) {
    this.outputs = new OutputCache(allocator);
    this.epsilon = options.epsilon;
    this.momentum = options.momentum;
    this.relu = options.relu;
  }

  forward(
    xt: Tensor,
    params: { gamma: Tensor; beta: Tensor; runningMean: Tensor; runningVar: Tensor },
    options: { training: boolean },
  ): Tensor {
    const [N, C, H, W] = dims4(xt, 'batchNorm2d input');
    for (const [name, t] of Object.entries(params)) checkShape(t, [C], `batchNorm2d ${name}`);
    const x = ref(xt).data;
    const gamma = ref(params.gamma).data;
    const beta = ref(params.beta).data;
    const runningMean = ref(params.runningMean).data;
    const runningVar = ref(params.runningVar).data;
    const plane = H * W;
    const count = N * plane;
    const mean = new Float64Array(C);
    const invStd = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      if (options.training) {
        let sum = 0;
        for (let n = 0; n < N; n++) for (let j = 0, b = (n * C + c) * plane; j < plane; j++) sum += x[b + j];
        const m = sum / count;
        let squares = 0;
        for (let n = 0; n < N; n++) {
          for (let j = 0, b = (n * C + c) * plane; j < plane; j++) squares += (x[b + j] - m) ** 2;
        }
        const variance = squares / count;
        mean[c] = m;
        invStd[c] = 1 / Math.sqrt(variance + this.epsilon);
        runningMean[c] = (1 - this.momentum) * runningMean[c] + this.momentum * m;
        const unbiased = count > 1 ? (variance * count) / (count - 1) : variance;
        runningVar[c] = (1 - this.momentum) * runningVar[c] + this.momentum * unbiased;
      } else {
        mean[c] = runningMean[c];
        invStd[c] = 1 / Math.sqrt(runningVar[c] + this.epsilon);
      }
    }
    const yt = this.outputs.get(options.training ? 'y' : 'yEval', xt.shape);
    const y = yt.data;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const scale = gamma[c] * invStd[c];
        const shift = beta[c] - mean[c] * scale;
        for (let j = 0, b = (n * C + c) * plane; j < plane; j++) {
          const v = x[b + j] * scale + shift;
          y[b + j] = this.relu && v < 0 ? 0 : v;
        }
      }
    }
    if (options.training) this.saved = { x: ref(xt), y: yt, gamma: ref(params.gamma), mean, invStd };
    return yt;
  }

  backward(dyt: Tensor): { dx: Tensor; dGamma: Tensor; dBeta: Tensor } {
    const saved = this.saved;
    if (!saved) throw new Error('batchNorm2d backward needs a training-mode forward first');
    const [N, C, H, W] = saved.x.shape;
    checkShape(dyt, saved.x.shape, 'batchNorm2d output gradient');
    const dy = ref(dyt).data;
    const { x, y } = { x: saved.x.data, y: saved.y.data };
    const plane = H * W;
    const count = N * plane;
    const dxt = this.outputs.get('dx', saved.x.shape);
    const dGammaT = this.outputs.get('dGamma', [C]);
    const dBetaT = this.outputs.get('dBeta', [C]);
    const dx = dxt.data;
    const grad = (index: number) => (this.relu && y[index] <= 0 ? 0 : dy[index]);
    for (let c = 0; c < C; c++) {
      const m = saved.mean[c];
      const invStd = saved.invStd[c];
      let sumG = 0;
      let sumGXhat = 0;
      for (let n = 0; n < N; n++) {
        for (let j = 0, b = (n * C + c) * plane; j < plane; j++) {
          const g = grad(b + j);
          sumG += g;
          sumGXhat += g * (x[b + j] - m) * invStd;
        }
      }
      dBetaT.data[c] = sumG;
      dGammaT.data[c] = sumGXhat;
      const k = (saved.gamma.data[c] * invStd) / count;
      for (let n = 0; n < N; n++) {
        for (let j = 0, b = (n * C + c) * plane; j < plane; j++) {
          const xhat = (x[b + j] - m) * invStd;
          dx[b + j] = k * (count * grad(b + j) - sumG - xhat * sumGXhat);
        }
      }
    }
    return { dx: dxt, dGamma: dGammaT, dBeta: dBetaT };
  }
}
