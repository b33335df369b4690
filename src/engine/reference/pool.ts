import type { MaxPool2dKernel, Tensor } from '../types.js';
import { type Allocator, OutputCache, type RefTensor, checkShape, dims4, ref } from './tensor.js';

/** 2×2 max-pooling, stride 2. Backward routes each gradient to the first maximum of its window. */
export class RefMaxPool2d implements MaxPool2dKernel {
  private readonly outputs: OutputCache;
  private saved?: { x: RefTensor; argmax: Int32Array; yShape: readonly number[] };
  private argmax = new Int32Array(0);

  constructor(allocator: Allocator) {
    this.outputs = new OutputCache(allocator);
  }

  forward(xt: Tensor, options: { training: boolean }): Tensor {
    const [N, C, H, W] = dims4(xt, 'maxPool2d input');
    if (H % 2 !== 0 || W % 2 !== 0) throw new Error(`maxPool2d needs even H and W, got ${H}×${W}`);
    const OH = H / 2;
    const OW = W / 2;
    const x = ref(xt).data;
    const yt = this.outputs.get('y', [N, C, OH, OW]);
    const y = yt.data;
    if (options.training && this.argmax.length !== y.length) this.argmax = new Int32Array(y.length);
    const argmax = options.training ? this.argmax : null;
    for (let plane = 0; plane < N * C; plane++) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          const base = plane * H * W + 2 * oy * W + 2 * ox;
          let best = base;
          for (const offset of [1, W, W + 1]) if (x[base + offset] > x[best]) best = base + offset;
          const out = (plane * OH + oy) * OW + ox;
          y[out] = x[best];
          if (argmax) argmax[out] = best;
        }
      }
    }
    if (argmax) this.saved = { x: ref(xt), argmax, yShape: yt.shape };
    return yt;
  }

  backward(dyt: Tensor): Tensor {
    const saved = this.saved;
    if (!saved) throw new Error('maxPool2d backward needs a training-mode forward first');
    checkShape(dyt, saved.yShape, 'maxPool2d output gradient');
    const dy = ref(dyt).data;
    const dxt = this.outputs.get('dx', saved.x.shape);
    const dx = dxt.data.fill(0);
    for (let j = 0; j < dy.length; j++) dx[saved.argmax[j]] += dy[j];
    return dxt;
  }
}
