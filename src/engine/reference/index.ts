import { KERNEL_DEFAULTS, withDefaults } from '../defaults.js';
import type { AdamOptions, BatchNorm2dOptions, Conv2dOptions, Engine, EngineStats, LossOptions, SgdOptions, Tensor } from '../types.js';
import { RefConv2d, RefConvTranspose2d } from './conv.js';
import { RefAdd, RefConcat, RefDropout, RefRelu } from './elementwise.js';
import { RefLoss } from './loss.js';
import { RefBatchNorm2d } from './norm.js';
import { RefAdam, RefSgd } from './optim.js';
import { RefMaxPool2d } from './pool.js';
import { Allocator, RefTensor, ref, sizeOf } from './tensor.js';

/**
 * The pure-TypeScript engine: plain loops, no layouts, no threads. It is the oracle that the
 * native engine is tested against, and the fallback where the addon cannot be built.
 */
export class ReferenceEngine implements Engine {
  readonly name = 'reference' as const;
  readonly description = 'reference: pure TypeScript, 1 thread (slow; for tests and as a fallback)';
  private readonly allocator = new Allocator();

  tensor(shape: readonly number[], data?: Float32Array): Tensor {
    const tensor = this.allocator.tensor(shape);
    if (data) this.write(tensor, data);
    return tensor;
  }

  zerosLike(like: Tensor): Tensor {
    return this.allocator.tensor(like.shape);
  }

  write(tensor: Tensor, data: Float32Array): void {
    const target = ref(tensor);
    if (data.length !== sizeOf(target.shape)) {
      throw new Error(`write: ${data.length} values for a tensor of shape [${target.shape.join(', ')}]`);
    }
    target.data.set(data);
  }

  async read(tensor: Tensor): Promise<Float32Array> {
    return ref(tensor).data.slice();
  }

  async sync(): Promise<void> {}

  setThreads(): void {}

  stats(): EngineStats {
    return this.allocator.stats();
  }

  conv2d(options: Conv2dOptions) {
    return new RefConv2d(this.allocator, withDefaults(KERNEL_DEFAULTS.conv2d, options));
  }
  convTranspose2d(options: { stride: number }) {
    return new RefConvTranspose2d(this.allocator, options.stride);
  }
  maxPool2d() {
    return new RefMaxPool2d(this.allocator);
  }
  batchNorm2d(options: BatchNorm2dOptions = {}) {
    return new RefBatchNorm2d(this.allocator, withDefaults(KERNEL_DEFAULTS.batchNorm2d, options));
  }
  relu() {
    return new RefRelu(this.allocator);
  }
  concat() {
    return new RefConcat(this.allocator);
  }
  add() {
    return new RefAdd(this.allocator);
  }
  dropout(options: { rate: number }) {
    return new RefDropout(this.allocator, options.rate);
  }
  loss(options: LossOptions) {
    return new RefLoss(this.allocator, withDefaults(KERNEL_DEFAULTS.loss, options));
  }
  adam(options: AdamOptions = {}) {
    return new RefAdam(withDefaults(KERNEL_DEFAULTS.adam, options));
  }
  sgd(options: SgdOptions = {}) {
    return new RefSgd(withDefaults(KERNEL_DEFAULTS.sgd, options));
  }
}

export { RefTensor };
