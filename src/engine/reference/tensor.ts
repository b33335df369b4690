import type { EngineStats, Tensor } from '../types.js';

/** The reference engine's tensor: plain row-major float32 data in the logical shape. */
export class RefTensor implements Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  constructor(shape: readonly number[], data: Float32Array) {
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Counts what the reference engine allocates, for the same steady-state tests as the native one. */
export class Allocator {
  private readonly counters: EngineStats = { allocations: 0, bytes: 0 };

  tensor(shape: readonly number[]): RefTensor {
    const size = sizeOf(shape);
    this.counters.allocations += 1;
    this.counters.bytes += size * 4;
    return new RefTensor(shape, new Float32Array(size));
  }

  stats(): EngineStats {
    return { ...this.counters };
  }
}

/**
 * Outputs of one kernel, allocated once per shape and reused by every later call with that shape,
 * like the native engine's buffers.
 */
export class OutputCache {
  private readonly tensors = new Map<string, RefTensor>();
  constructor(private readonly allocator: Allocator) {}

  get(name: string, shape: readonly number[]): RefTensor {
    const key = `${name}:${shape.join('x')}`;
    let tensor = this.tensors.get(key);
    if (!tensor) {
      tensor = this.allocator.tensor(shape);
      this.tensors.set(key, tensor);
    }
    return tensor;
  }
}

/** Narrows an engine-agnostic tensor to the reference one, or explains the mix-up. */
export function ref(tensor: Tensor): RefTensor {
  if (tensor instanceof RefTensor) return tensor;
  throw new Error('a tensor from another engine was passed to the reference engine');
}

export function checkShape(tensor: Tensor, expected: readonly number[], what: string): void {
  if (tensor.shape.length !== expected.length || tensor.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${what}: expected shape [${expected.join(', ')}], got [${tensor.shape.join(', ')}]`);
  }
}

/** `[N, C, H, W]` of a 4-D tensor. */
export function dims4(tensor: Tensor, what: string): [number, number, number, number] {
  if (tensor.shape.length !== 4) throw new Error(`${what}: expected a 4-D [N, C, H, W] tensor, got [${tensor.shape.join(', ')}]`);
  return tensor.shape as unknown as [number, number, number, number];
}
