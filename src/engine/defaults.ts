import type { AdamOptions, BatchNorm2dOptions, Conv2dOptions, LossOptions, SgdOptions } from './types.js';

/** The optional fields of an options type, required and without `undefined`: what a default must give. */
type Defaults<T> = { [K in keyof T as undefined extends T[K] ? K : never]-?: Exclude<T[K], undefined> };

/**
 * Kernel defaults, in one table for both engines. The reference engine's kernels receive options
 * resolved against it, and so does the native addon, whose C++ assumes no value of its own.
 */
export const KERNEL_DEFAULTS = {
  conv2d: { stride: 1, relu: false },
  /** PyTorch's `BatchNorm2d` (eps 1e-5, momentum 0.1); `relu` fuses the ReLU that follows. */
  batchNorm2d: { epsilon: 1e-5, momentum: 0.1, relu: false },
  /** `focalGamma` 2 is Lin et al. 2017's choice (focal loss, ICCV); Dice smoothing 1 keeps empty masks finite. */
  loss: { focalGamma: 2, diceSmooth: 1, regressionChannels: 0 },
  /** PyTorch's `Adam`; `decoupled` (AdamW, Loshchilov & Hutter 2019) is off by default. */
  adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, decoupled: false },
  /** Momentum 0.9 (PyTorch's `SGD` defaults to none); Nesterov and weight decay off unless asked. */
  sgd: { momentum: 0.9, nesterov: false, weightDecay: 0 },
} as const satisfies {
  conv2d: Defaults<Conv2dOptions>;
  batchNorm2d: Defaults<BatchNorm2dOptions>;
  loss: Defaults<LossOptions>;
  adam: Defaults<AdamOptions>;
  sgd: Defaults<SgdOptions>;
};

/** Options with every optional field filled from `defaults` (a field set to `undefined` counts as unset). */
export function withDefaults<T extends object>(defaults: Defaults<T>, options: T): Required<T> {
  const resolved: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) resolved[key] = value;
  return resolved as Required<T>;
}
