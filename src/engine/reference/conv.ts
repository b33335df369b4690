import type { Conv2dKernel, Conv2dOptions, ConvTranspose2dKernel, Tensor } from '../types.js';
import { type Allocator, OutputCache, type RefTensor, checkShape, dims4, ref } from './tensor.js';

/** Range of output positions `o` whose input `o·stride − pad + k` falls inside `[0, size)`. */
function validRange(k: number, pad: number, stride: number, size: number, outSize: number): [number, number] {
  const first = Math.max(0, Math.ceil((pad - k) / stride));
  const last = Math.min(outSize, Math.floor((size - 1 + pad - k) / stride) + 1);
  return [first, Math.max(first, last)];
}

/**
 * The loop nest of every reference convolution pass: batch n, output channel o, input channel i,
 * kernel tap (ky, kx), with the offsets of the input plane `[n, i]` and the output plane `[n, o]`.
 * `visit` walks the rows of one tap, so the innermost loop walks a row.
 */
function forEachTap(
  [N, O, I, k]: readonly number[],
  inPlane: number,
  outPlane: number,
  visit: (o: number, i: number, ky: number, kx: number, inBase: number, outBase: number) => void,
): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < I; i++) {
        for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) visit(o, i, ky, kx, (n * I + i) * inPlane, (n * O + o) * outPlane);
      }
    }
  }
}

/** y[n, o, ·] = bias[o] (or 0) over `[N, O, plane]`. */
function fillBias(y: Float32Array, bias: Tensor | null, N: number, O: number, plane: number): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) y.fill(bias ? ref(bias).data[o] : 0, (n * O + o) * plane, (n * O + o + 1) * plane);
  }
}

/** The gradient of a per-channel bias: out[o] = Σ_{n, j} g[n, o, j] over `[N, O, plane]`. */
function channelSums(g: Float32Array, out: Float32Array, N: number, O: number, plane: number): void {
  out.fill(0);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const base = (n * O + o) * plane;
      let sum = 0;
      for (let j = 0; j < plane; j++) sum += g[base + j];
      out[o] += sum;
    }
  }
}

/**
 * Direct convolution: y[n,o] = b[o] + Σ_i Σ_ky,kx w[o,i,ky,kx] · x[n,i, oy·s−p+ky, ox·s−p+kx],
 * optionally followed by ReLU.
 */
export class RefConv2d implements Conv2dKernel {
  private readonly outputs: OutputCache;
  private saved?: { x: RefTensor; w: RefTensor; b: RefTensor | null; y: RefTensor };

  constructor(
    allocator: Allocator,
    private readonly options: Required<Conv2dOptions>,
  ) {
    this.outputs = new OutputCache(allocator);
  }

  private outSize(size: number): number {
    return Math.floor((size + 2 * this.options.padding - this.options.kernelSize) / this.options.stride) + 1;
  }

  forward(xt: Tensor, wt: Tensor, bt: Tensor | null): Tensor {
    const [N, I, H, W] = dims4(xt, 'conv2d input');
    const [O] = wt.shape;
    const { kernelSize: k, padding: p, stride: s } = this.options;
    checkShape(wt, [O, I, k, k], 'conv2d weight');
    if (bt) checkShape(bt, [O], 'conv2d bias');
    const [OH, OW] = [this.outSize(H), this.outSize(W)];
    const [x, w] = [ref(xt).data, ref(wt).data];
    const yt = this.outputs.get('y', [N, O, OH, OW]);
    const y = yt.data;
    fillBias(y, bt, N, O, OH * OW);
    forEachTap([N, O, I, k], H * W, OH * OW, (o, i, ky, kx, xBase, yBase) => {
      const [oy0, oy1] = validRange(ky, p, s, H, OH);
      const [ox0, ox1] = validRange(kx, p, s, W, OW);
      const weight = w[((o * I + i) * k + ky) * k + kx];
      for (let oy = oy0; oy < oy1; oy++) {
        const xRow = xBase + (oy * s - p + ky) * W - p + kx;
        const yRow = yBase + oy * OW;
        for (let ox = ox0; ox < ox1; ox++) y[yRow + ox] += weight * x[xRow + ox * s];
      }
    });
    if (this.options.relu) for (let j = 0; j < y.length; j++) if (y[j] < 0) y[j] = 0;
    this.saved = { x: ref(xt), w: ref(wt), b: bt ? ref(bt) : null, y: yt };
    return yt;
  }

  backward(dyt: Tensor, options: { inputGrad: boolean }): { dx: Tensor | null; dWeight: Tensor; dBias: Tensor | null } {
    const saved = this.saved;
    if (!saved) throw new Error('conv2d backward called before forward');
    const [N, I, H, W] = saved.x.shape;
    const [O, , k] = saved.w.shape;
    const [, , OH, OW] = saved.y.shape;
    const { padding: p, stride: s } = this.options;
    checkShape(dyt, saved.y.shape, 'conv2d output gradient');
    let g = ref(dyt).data;
    if (this.options.relu) {
      const masked = this.outputs.get('reluGrad', saved.y.shape).data;
      for (let j = 0; j < g.length; j++) masked[j] = saved.y.data[j] > 0 ? g[j] : 0;
      g = masked;
    }
    const [x, w] = [saved.x.data, saved.w.data];
    const dWt = this.outputs.get('dWeight', saved.w.shape);
    const dW = dWt.data.fill(0);
    const dBt = saved.b ? this.outputs.get('dBias', [O]) : null;
    const dxt = options.inputGrad ? this.outputs.get('dx', saved.x.shape) : null;
    const dx = dxt ? dxt.data.fill(0) : null;
    forEachTap([N, O, I, k], H * W, OH * OW, (o, i, ky, kx, xBase, gBase) => {
      const [oy0, oy1] = validRange(ky, p, s, H, OH);
      const [ox0, ox1] = validRange(kx, p, s, W, OW);
      const wIndex = ((o * I + i) * k + ky) * k + kx;
      const weight = w[wIndex];
      let sum = 0;
      for (let oy = oy0; oy < oy1; oy++) {
        const xRow = xBase + (oy * s - p + ky) * W - p + kx;
        const gRow = gBase + oy * OW;
        for (let ox = ox0; ox < ox1; ox++) {
          sum += g[gRow + ox] * x[xRow + ox * s];
          if (dx) dx[xRow + ox * s] += weight * g[gRow + ox];
        }
      }
      dW[wIndex] += sum;
    });
    if (dBt) channelSums(g, dBt.data, N, O, OH * OW);
    return { dx: dxt, dWeight: dWt, dBias: dBt };
  }
}

/**
 * Transposed convolution whose kernel equals its stride (no overlap, no padding):
 * y[n,o, iy·s+ky, ix·s+kx] = b[o] + Σ_i x[n,i,iy,ix] · w[i,o,ky,kx].
 */
export class RefConvTranspose2d implements ConvTranspose2dKernel {
  private readonly outputs: OutputCache;
  private saved?: { x: RefTensor; w: RefTensor; hasBias: boolean };

  constructor(
    allocator: Allocator,
    private readonly stride: number,
  ) {
    this.outputs = new OutputCache(allocator);
  }

  forward(xt: Tensor, wt: Tensor, bt: Tensor | null): Tensor {
    const [N, I, H, W] = dims4(xt, 'convTranspose2d input');
    const s = this.stride;
    const O = wt.shape[1];
    checkShape(wt, [I, O, s, s], 'convTranspose2d weight');
    if (bt) checkShape(bt, [O], 'convTranspose2d bias');
    const [x, w] = [ref(xt).data, ref(wt).data];
    const OW = W * s;
    const yt = this.outputs.get('y', [N, O, H * s, OW]);
    const y = yt.data;
    fillBias(y, bt, N, O, H * s * OW);
    forEachTap([N, O, I, s], H * W, H * s * OW, (o, i, ky, kx, xBase, yBase) => {
      const weight = w[((i * O + o) * s + ky) * s + kx];
      for (let iy = 0; iy < H; iy++) {
        const yRow = yBase + (iy * s + ky) * OW + kx;
        const xRow = xBase + iy * W;
        for (let ix = 0; ix < W; ix++) y[yRow + ix * s] += weight * x[xRow + ix];
      }
    });
    this.saved = { x: ref(xt), w: ref(wt), hasBias: bt !== null };
    return yt;
  }

  backward(dyt: Tensor): { dx: Tensor; dWeight: Tensor; dBias: Tensor | null } {
    const saved = this.saved;
    if (!saved) throw new Error('convTranspose2d backward called before forward');
    const [N, I, H, W] = saved.x.shape;
    const O = saved.w.shape[1];
    const s = this.stride;
    const OW = W * s;
    checkShape(dyt, [N, O, H * s, OW], 'convTranspose2d output gradient');
    const g = ref(dyt).data;
    const [x, w] = [saved.x.data, saved.w.data];
    const dxt = this.outputs.get('dx', saved.x.shape);
    const dx = dxt.data.fill(0);
    const dWt = this.outputs.get('dWeight', saved.w.shape);
    const dW = dWt.data.fill(0);
    forEachTap([N, O, I, s], H * W, H * s * OW, (o, i, ky, kx, xBase, gBase) => {
      const wIndex = ((i * O + o) * s + ky) * s + kx;
      const weight = w[wIndex];
      let sum = 0;
      for (let iy = 0; iy < H; iy++) {
        const gRow = gBase + (iy * s + ky) * OW + kx;
        const xRow = xBase + iy * W;
        for (let ix = 0; ix < W; ix++) {
          sum += x[xRow + ix] * g[gRow + ix * s];
          dx[xRow + ix] += weight * g[gRow + ix * s];
        }
      }
      dW[wIndex] += sum;
    });
    const dBt = saved.hasBias ? this.outputs.get('dBias', [O]) : null;
    if (dBt) channelSums(g, dBt.data, N, O, H * s * OW);
    return { dx: dxt, dWeight: dWt, dBias: dBt };
  }
}
