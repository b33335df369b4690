import type {
  BatchNorm2dKernel,
  ConcatKernel,
  Conv2dKernel,
  ConvTranspose2dKernel,
  DropoutKernel,
  Engine,
  MaxPool2dKernel,
  Tensor,
} from '../engine/types.js';
import type { Random } from '../util/random.js';

/**
 * A trainable tensor with its gradient. Names follow PyTorch's state_dict of the reference U-Net
 * (shared/bench/torch_unet.py), so pyocyte's safetensors load there too.
 */
export class Parameter {
  grad: Tensor | null = null;
  constructor(
    readonly name: string,
    readonly value: Tensor,
    /** Whether weight decay applies (not to biases and normalisation parameters). */
    readonly decay: boolean,
  ) {}
}

/** A tensor the model keeps but does not train: BatchNorm's running statistics. */
export interface Buffer {
  name: string;
  value: Tensor;
}

/** What every forward pass needs to know. */
export interface ForwardContext {
  training: boolean;
  /** Seed of this step's dropout masks. */
  seed: number;
}

/** He-normal initialisation, std = √(2 / fan-in), as in the U-Net paper. */
export function heNormal(size: number, fanIn: number, rng: Random): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal(0, std);
  return out;
}

export class Conv2d {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private readonly kernel: Conv2dKernel;

  constructor(
    engine: Engine,
    name: string,
    rng: Random,
    options: { inChannels: number; outChannels: number; kernelSize: number; padding: number; bias: boolean; relu: boolean },
  ) {
    const { inChannels: I, outChannels: O, kernelSize: k } = options;
    this.weight = new Parameter(`${name}.weight`, engine.tensor([O, I, k, k], heNormal(O * I * k * k, I * k * k, rng)), true);
    this.bias = options.bias ? new Parameter(`${name}.bias`, engine.tensor([O]), false) : null;
    this.kernel = engine.conv2d({ kernelSize: k, padding: options.padding, relu: options.relu });
  }

  forward(x: Tensor): Tensor {
    return this.kernel.forward(x, this.weight.value, this.bias?.value ?? null);
  }

  backward(dy: Tensor, inputGrad = true): Tensor | null {
    const { dx, dWeight, dBias } = this.kernel.backward(dy, { inputGrad });
    this.weight.grad = dWeight;
    if (this.bias) this.bias.grad = dBias;
    return dx;
  }

  parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }
}

/** The 2×2, stride-2 up-convolution; weights `[I, O, 2, 2]`. */
export class ConvTranspose2d {
  readonly weight: Parameter;
  readonly bias: Parameter;
  private readonly kernel: ConvTranspose2dKernel;

  constructor(engine: Engine, name: string, rng: Random, options: { inChannels: number; outChannels: number }) {
    const { inChannels: I, outChannels: O } = options;
    // Each output pixel sees I inputs through one kernel tap.
    this.weight = new Parameter(`${name}.weight`, engine.tensor([I, O, 2, 2], heNormal(I * O * 4, I, rng)), true);
    this.bias = new Parameter(`${name}.bias`, engine.tensor([O]), false);
    this.kernel = engine.convTranspose2d({ stride: 2 });
  }

  forward(x: Tensor): Tensor {
    return this.kernel.forward(x, this.weight.value, this.bias.value);
  }

  backward(dy: Tensor): Tensor {
    const { dx, dWeight, dBias } = this.kernel.backward(dy);
    this.weight.grad = dWeight;
    this.bias.grad = dBias;
    return dx;
  }

  parameters(): Parameter[] {
    return [this.weight, this.bias];
  }
}

/** Batch normalisation fused with the ReLU that follows it. */
export class BatchNormRelu {
  readonly gamma: Parameter;
  readonly beta: Parameter;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  private readonly kernel: BatchNorm2dKernel;
  readonly name: string;
  /** Training-mode forward passes so far (PyTorch's num_batches_tracked). */
  batchesTracked = 0;

  constructor(engine: Engine, name: string, channels: number) {
    this.name = name;
    this.gamma = new Parameter(`${name}.weight`, engine.tensor([channels], new Float32Array(channels).fill(1)), false);
    this.beta = new Parameter(`${name}.bias`, engine.tensor([channels]), false);
    this.runningMean = engine.tensor([channels]);
    this.runningVar = engine.tensor([channels], new Float32Array(channels).fill(1));
    this.kernel = engine.batchNorm2d({ relu: true });
  }

  forward(x: Tensor, context: ForwardContext): Tensor {
    if (context.training) this.batchesTracked += 1;
    const params = { gamma: this.gamma.value, beta: this.beta.value, runningMean: this.runningMean, runningVar: this.runningVar };
    return this.kernel.forward(x, params, { training: context.training });
  }

  backward(dy: Tensor): Tensor {
    const { dx, dGamma, dBeta } = this.kernel.backward(dy);
    this.gamma.grad = dGamma;
    this.beta.grad = dBeta;
    return dx;
  }

  parameters(): Parameter[] {
    return [this.gamma, this.beta];
  }

  buffers(): Buffer[] {
    return [
      { name: `${this.name}.running_mean`, value: this.runningMean },
      { name: `${this.name}.running_var`, value: this.runningVar },
    ];
  }
}

/**
 * Two 3×3 convolutions, each followed by ReLU (with BatchNorm before it when `norm` is on), and
 * optional dropout at the end. Sub-module indices mirror torch's nn.Sequential of the reference.
 */
export class ConvBlock {
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;
  private readonly norm1: BatchNormRelu | null;
  private readonly norm2: BatchNormRelu | null;
  private readonly dropout: DropoutKernel | null;

  constructor(
    engine: Engine,
    name: string,
    rng: Random,
    options: { inChannels: number; outChannels: number; padding: number; batchNorm: boolean; dropout: number },
  ) {
    const bn = options.batchNorm;
    const conv = (index: number, inChannels: number) =>
      new Conv2d(engine, `${name}.${index}`, rng, {
        inChannels,
        outChannels: options.outChannels,
        kernelSize: 3,
        padding: options.padding,
        bias: !bn,
        relu: !bn,
      });
    this.conv1 = conv(0, options.inChannels);
    this.norm1 = bn ? new BatchNormRelu(engine, `${name}.1`, options.outChannels) : null;
    this.conv2 = conv(bn ? 3 : 2, options.outChannels);
    this.norm2 = bn ? new BatchNormRelu(engine, `${name}.4`, options.outChannels) : null;
    this.dropout = options.dropout > 0 ? engine.dropout({ rate: options.dropout }) : null;
  }

  forward(x: Tensor, context: ForwardContext): Tensor {
    let h = this.conv1.forward(x);
    if (this.norm1) h = this.norm1.forward(h, context);
    h = this.conv2.forward(h);
    if (this.norm2) h = this.norm2.forward(h, context);
    if (this.dropout) h = this.dropout.forward(h, { training: context.training, seed: context.seed });
    return h;
  }

  /** `inputGrad: false` skips the gradient of the network's input. */
  backward(dy: Tensor, inputGrad = true): Tensor | null {
    let g = this.dropout ? this.dropout.backward(dy) : dy;
    if (this.norm2) g = this.norm2.backward(g);
    g = this.conv2.backward(g)!;
    if (this.norm1) g = this.norm1.backward(g);
    return this.conv1.backward(g, inputGrad);
  }

  parameters(): Parameter[] {
    return [this.conv1, this.norm1, this.conv2, this.norm2].flatMap((m) => m?.parameters() ?? []);
  }

  norms(): BatchNormRelu[] {
    return [this.norm1, this.norm2].filter((n): n is BatchNormRelu => n !== null);
  }
}

/** Max-pooling, concatenation and the skip-gradient sum, one kernel per call site. */
export class Skip {
  readonly pool: MaxPool2dKernel;
  readonly concat: ConcatKernel;
  private readonly add;

  constructor(engine: Engine) {
    this.pool = engine.maxPool2d();
    this.concat = engine.concat();
    this.add = engine.add();
  }

  /** The encoder output's gradient: through the pool, plus through the skip connection. */
  encoderGrad(poolGrad: Tensor, skipGrad: Tensor): Tensor {
    return this.add.forward(this.pool.backward(poolGrad), skipGrad);
  }
}
