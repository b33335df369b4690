/**
 * The kernel interface that every engine implements: the oneDNN addon (src/engine/native) and the
 * pure-TypeScript reference (src/engine/reference). The model (src/nn) is written against this
 * interface only, so it trains and predicts on either engine.
 *
 * Shapes are logical and NCHW: activations `[N, C, H, W]`, convolution weights `[O, I, kH, kW]`,
 * transposed-convolution weights `[I, O, kH, kW]` (PyTorch's and ONNX's order), vectors `[C]`.
 * How an engine stores a tensor (the native one keeps oneDNN's blocked layouts) is its own affair;
 * `read` and `write` always speak plain row-major data in the logical shape.
 *
 * Kernels are stateful objects, one per call site in the model. They own their outputs, allocated
 * once per input shape, and remember what their backward pass needs from the last forward pass.
 * Calls are queued: a native kernel returns at once and computes on the engine's own thread, so the
 * JS thread stays free; `read` and `sync` wait for the queue.
 */

/** A tensor owned by an engine. Only the engine that made it can use it. */
export interface Tensor {
  readonly shape: readonly number[];
}

/** `conv2d` options. Padding is symmetric; `relu` fuses a ReLU after the bias. Unset fields: `KERNEL_DEFAULTS.conv2d`. */
export interface Conv2dOptions {
  kernelSize: number;
  padding: number;
  stride?: number;
  relu?: boolean;
}

export interface Conv2dKernel {
  /** `x [N, I, H, W]`, `weight [O, I, k, k]`, `bias [O]` → `y [N, O, H', W']`. */
  forward(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor;
  /** Gradients for the last forward pass. `dx` is computed only when `inputGrad` is true. */
  backward(dy: Tensor, options: { inputGrad: boolean }): { dx: Tensor | null; dWeight: Tensor; dBias: Tensor | null };
}

/** A transposed convolution with kernel = stride (the U-Net's 2×2 up-convolution). */
export interface ConvTranspose2dKernel {
  /** `x [N, I, H, W]`, `weight [I, O, s, s]`, `bias [O]` → `y [N, O, sH, sW]`. */
  forward(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor;
  backward(dy: Tensor): { dx: Tensor; dWeight: Tensor; dBias: Tensor | null };
}

/** 2×2 max-pooling with stride 2. H and W must be even. */
export interface MaxPool2dKernel {
  forward(x: Tensor, options: { training: boolean }): Tensor;
  backward(dy: Tensor): Tensor;
}

/** Unset fields take `KERNEL_DEFAULTS.batchNorm2d` (src/engine/defaults.ts): PyTorch's. */
export interface BatchNorm2dOptions {
  epsilon?: number;
  /** PyTorch's convention: running = (1 − momentum)·running + momentum·batch. */
  momentum?: number;
  relu?: boolean;
}

export interface BatchNorm2dKernel {
  /**
   * Training mode normalises with the batch statistics and updates `runningMean`/`runningVar`
   * in place (the variance update uses the unbiased estimate, as PyTorch does); evaluation mode
   * normalises with the running statistics.
   */
  forward(
    x: Tensor,
    params: { gamma: Tensor; beta: Tensor; runningMean: Tensor; runningVar: Tensor },
    options: { training: boolean },
  ): Tensor;
  /** Only after a training-mode forward. */
  backward(dy: Tensor): { dx: Tensor; dGamma: Tensor; dBeta: Tensor };
}

export interface ReluKernel {
  forward(x: Tensor): Tensor;
  backward(dy: Tensor): Tensor;
}

/**
 * Channel concatenation `[a, crop(b)]`. When `b` is spatially larger than `a` it is centre-cropped
 * to `a`'s size: the skip connection of the unpadded U-Net.
 */
export interface ConcatKernel {
  forward(a: Tensor, b: Tensor): Tensor;
  /** `db` has `b`'s full shape, zero outside the crop. */
  backward(dy: Tensor): { da: Tensor; db: Tensor };
}

/** Element-wise sum of two tensors of one shape (gradient accumulation). */
export interface AddKernel {
  forward(a: Tensor, b: Tensor): Tensor;
}

/**
 * Inverted dropout. Element (n, c, h, w) is dropped when `hashUniform(seed, flatIndex) < rate`,
 * with `flatIndex` its row-major index, so both engines draw the same mask from the same seed.
 */
export interface DropoutKernel {
  forward(x: Tensor, options: { training: boolean; seed: number }): Tensor;
  backward(dy: Tensor): Tensor;
}

/** The loss terms the fused loss kernel knows. Binary tasks use a sigmoid, multi-class a softmax. */
export type LossTermKind = 'crossEntropy' | 'dice' | 'focal' | 'regression';

export interface LossTerm {
  kind: LossTermKind;
  /** Multiplies the term in the total. */
  weight: number;
}

/** Unset fields take `KERNEL_DEFAULTS.loss`. */
export interface LossOptions {
  terms: readonly LossTerm[];
  /** 1 = binary (one logit, sigmoid); ≥ 2 = softmax over that many classes. */
  classes: number;
  /** Focal loss exponent. */
  focalGamma?: number;
  /** Smoothing constant of the soft Dice ratio. */
  diceSmooth?: number;
  /**
   * Regression channels after the `classes` logits (identity activation, e.g. a deep-watershed
   * distance map): the logits are `[N, classes + R, H, W]` and `forward` takes their target
   * `[N, R, H, W]`. The `regression` term is their mean squared error. Default 0.
   */
  regressionChannels?: number;
}

/**
 * A loss head fused with its activation: sigmoid + BCE-with-logits, softmax + cross-entropy,
 * soft Dice and focal loss, summed with weights, and the gradient with respect to the logits.
 * Cross-entropy and focal terms are means over pixels of `pixelWeight · loss` (per-pixel weights
 * give the U-Net paper's weighted cross-entropy). Dice is computed over the whole batch:
 * binary `1 − (2Σpt + s)/(Σp + Σt + s)`, multi-class the mean of that over the foreground classes
 * (the formulas: src/engine/loss-terms.ts).
 */
export interface LossKernel {
  /**
   * `logits [N, K + R, h, w]`, `target [N, h, w]` class indices, `pixelWeights [N, h, w]` or null,
   * `regressionTarget [N, R, h, w]` when the loss has R regression channels (unweighted MSE).
   * Returns `value`, a `[1 + terms]` tensor (total, then each term), `dLogits`, and `counts`,
   * the batch's confusion at the default decision (p > 0.5, or argmax):
   * `[correct pixels, pixels, then tp, fp, fn for each foreground class]`.
   */
  forward(
    logits: Tensor,
    target: Tensor,
    pixelWeights: Tensor | null,
    regressionTarget?: Tensor | null,
  ): { value: Tensor; dLogits: Tensor; counts: Tensor };
}

/** Unset fields take `KERNEL_DEFAULTS.adam`: PyTorch's Adam. */
export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /** AdamW (decoupled weight decay) when true, L2 added to the gradient when false. */
  decoupled?: boolean;
}

/** One update kernel serves every parameter. `step` counts from 1 (bias correction). */
export interface AdamKernel {
  update(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, options: { learningRate: number; step: number }): void;
}

/** Unset fields take `KERNEL_DEFAULTS.sgd`. */
export interface SgdOptions {
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export interface SgdKernel {
  update(param: Tensor, grad: Tensor, velocity: Tensor, options: { learningRate: number }): void;
}

/** Counters that tests use to prove a steady-state step allocates nothing. */
export interface EngineStats {
  /** Buffers the engine allocated since it started. */
  allocations: number;
  /** Bytes currently held by the engine's buffers. */
  bytes: number;
}

export type EngineName = 'native' | 'reference';

export interface Engine {
  readonly name: EngineName;
  /** One line for logs, e.g. `native: oneDNN 2.6.3, avx512_core, 2 threads`. */
  readonly description: string;

  /** A new tensor, zero-filled or filled from plain row-major `data`. */
  tensor(shape: readonly number[], data?: Float32Array): Tensor;
  /** A zero tensor with the same shape and storage layout as `like`. */
  zerosLike(like: Tensor): Tensor;
  /** Overwrites a tensor with plain row-major data (queued after earlier work). */
  write(tensor: Tensor, data: Float32Array): void;
  /** Plain row-major contents of a tensor, once every queued kernel has run. */
  read(tensor: Tensor): Promise<Float32Array>;
  /** Resolves when every queued kernel has run. */
  sync(): Promise<void>;
  /** Compute threads used by kernels. */
  setThreads(threads: number): void;
  stats(): EngineStats;

  conv2d(options: Conv2dOptions): Conv2dKernel;
  convTranspose2d(options: { stride: number }): ConvTranspose2dKernel;
  maxPool2d(): MaxPool2dKernel;
  batchNorm2d(options?: BatchNorm2dOptions): BatchNorm2dKernel;
  relu(): ReluKernel;
  concat(): ConcatKernel;
  add(): AddKernel;
  dropout(options: { rate: number }): DropoutKernel;
  loss(options: LossOptions): LossKernel;
  adam(options?: AdamOptions): AdamKernel;
  sgd(options?: SgdOptions): SgdKernel;
}
