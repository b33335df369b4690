import { hashUniform } from '../../util/random.js';
import type { AddKernel, ConcatKernel, DropoutKernel, ReluKernel, Tensor } from '../types.js';
import { type Allocator, OutputCache, type RefTensor, checkShape, dims4, ref } from './tensor.js';

export class RefRelu implements ReluKernel {
  private readonly outputs: OutputCache;
  private saved?: RefTensor;
  constructor(allocator: Allocator) {
    this.outputs = new OutputCache(allocator);
  }

  forward(xt: Tensor): Tensor {
    const x = ref(xt).data;
    const yt = this.outputs.get('y', xt.shape);
    for (let j = 0; j < x.length; j++) yt.data[j] = x[j] > 0 ? x[j] : 0;
    this.saved = yt;
    return yt;
  }

  backward(dyt: Tensor): Tensor {
    const y = this.saved ?? fail('relu');
    checkShape(dyt, y.shape, 'relu output gradient');
    const dy = ref(dyt).data;
    const dxt = this.outputs.get('dx', y.shape);
    for (let j = 0; j < dy.length; j++) dxt.data[j] = y.data[j] > 0 ? dy[j] : 0;
    return dxt;
  }
}

function fail(kernel: string): never {
  throw new Error(`${kernel} backward called before forward`);
}

/** Copies `b`'s centre crop of size `[H, W]` into channels `[offset, offset + Cb)` of `out`. */
function copyCropped(
  from: Float32Array,
  fromShape: readonly number[],
  to: Float32Array,
  toShape: readonly number[],
  channelOffset: number,
  direction: 'in' | 'out',
): void {
  const [N, Cb, Hb, Wb] = fromShape;
  const [, C, H, W] = toShape;
  const top = (Hb - H) >> 1;
  const left = (Wb - W) >> 1;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < Cb; c++) {
      for (let y = 0; y < H; y++) {
        const src = ((n * Cb + c) * Hb + y + top) * Wb + left;
        const dst = ((n * C + c + channelOffset) * H + y) * W;
        if (direction === 'in') to.set(from.subarray(src, src + W), dst);
        else from.set(to.subarray(dst, dst + W), src);
      }
    }
  }
}

export class RefConcat implements ConcatKernel {
  private readonly outputs: OutputCache;
  private saved?: { a: readonly number[]; b: readonly number[]; y: readonly number[] };
  constructor(allocator: Allocator) {
    this.outputs = new OutputCache(allocator);
  }

  forward(at: Tensor, bt: Tensor): Tensor {
    const [N, Ca, H, W] = dims4(at, 'concat first input');
    const [Nb, Cb, Hb, Wb] = dims4(bt, 'concat second input');
    if (Nb !== N || Hb < H || Wb < W || (Hb - H) % 2 !== 0 || (Wb - W) % 2 !== 0) {
      throw new Error(`concat: cannot centre-crop [${bt.shape.join(', ')}] to [${at.shape.join(', ')}]`);
    }
    const yt = this.outputs.get('y', [N, Ca + Cb, H, W]);
    copyCropped(ref(at).data, at.shape, yt.data, yt.shape, 0, 'in');
    copyCropped(ref(bt).data, bt.shape, yt.data, yt.shape, Ca, 'in');
    this.saved = { a: at.shape, b: bt.shape, y: yt.shape };
    return yt;
  }

  backward(dyt: Tensor): { da: Tensor; db: Tensor } {
    const saved = this.saved ?? fail('concat');
    checkShape(dyt, saved.y, 'concat output gradient');
    const dy = ref(dyt).data;
    const da = this.outputs.get('da', saved.a);
    const db = this.outputs.get('db', saved.b);
    db.data.fill(0);
    copyCropped(da.data, saved.a, dy, saved.y, 0, 'out');
    copyCropped(db.data, saved.b, dy, saved.y, saved.a[1], 'out');
    return { da, db };
  }
}

export class RefAdd implements AddKernel {
  private readonly outputs: OutputCache;
  constructor(allocator: Allocator) {
    this.outputs = new OutputCache(allocator);
  }

  forward(at: Tensor, bt: Tensor): Tensor {
    checkShape(bt, at.shape, 'add second input');
    const a = ref(at).data;
    const b = ref(bt).data;
    const yt = this.outputs.get('y', at.shape);
    for (let j = 0; j < a.length; j++) yt.data[j] = a[j] + b[j];
    return yt;
  }
}

export class RefDropout implements DropoutKernel {
  private readonly outputs: OutputCache;
  private saved?: { mask: RefTensor };
  constructor(
    allocator: Allocator,
    private readonly rate: number,
  ) {
    this.outputs = new OutputCache(allocator);
  }

  forward(xt: Tensor, options: { training: boolean; seed: number }): Tensor {
    if (!options.training || this.rate === 0) return xt;
    const x = ref(xt).data;
    const mask = this.outputs.get('mask', xt.shape);
    const yt = this.outputs.get('y', xt.shape);
    const keep = 1 / (1 - this.rate);
    for (let j = 0; j < x.length; j++) {
      mask.data[j] = hashUniform(options.seed, j) < this.rate ? 0 : keep;
      yt.data[j] = x[j] * mask.data[j];
    }
    this.saved = { mask };
    return yt;
  }

  backward(dyt: Tensor): Tensor {
    if (this.rate === 0) return dyt;
    const { mask } = this.saved ?? fail('dropout');
    const dy = ref(dyt).data;
    const dxt = this.outputs.get('dx', dyt.shape);
    for (let j = 0; j < dy.length; j++) dxt.data[j] = dy[j] * mask.data[j];
    return dxt;
  }
}
