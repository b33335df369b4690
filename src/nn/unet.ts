import type { Engine, Tensor } from '../engine/types.js';
import { fail } from '../util/errors.js';
import { Random } from '../util/random.js';
import { checkName } from '../util/registry.js';
import {
  type Buffer,
  type BatchNormRelu,
  ConvBlock,
  Conv2d,
  ConvTranspose2d,
  type ForwardContext,
  type Parameter,
  Skip,
} from './layers.js';

/** `same`: padded 3×3 convolutions, output = input size. `valid`: the paper's unpadded U-Net. */
export const PADDINGS = { same: 1, valid: 0 } as const;
export type PaddingMode = keyof typeof PADDINGS;
export const NORMS = { batch: 'batch', none: 'none' } as const;
export type NormName = keyof typeof NORMS;

export interface UNetConfig {
  inChannels: number;
  /** 1 for a binary task (sigmoid), K ≥ 2 for K classes (softmax). */
  classes: number;
  depth: number;
  filters: number;
  padding: PaddingMode;
  norm: NormName;
  /** Dropout rate at the end of the bottleneck block, as in the paper; 0 disables it. */
  dropout: number;
  /**
   * Regression channels after the class logits (identity activation), e.g. the deep-watershed
   * distance map of `--instance-method distance`. Absent = 0.
   */
  regressionChannels?: number;
}

/**
 * The default architecture, also the default of `pyocyte train`: in a fixed time budget on a CPU,
 * 16 base filters see several times more patches than 32 and end with a higher Dice (bench:quality).
 */
export const UNET_DEFAULTS = {
  depth: 4,
  filters: 16,
  padding: 'same',
  norm: 'batch',
  dropout: 0,
} as const satisfies Omit<UNetConfig, 'inChannels' | 'classes'>;

/** Fills defaults and checks a configuration, with messages that say what is wrong. */
export function resolveUNetConfig(config: Partial<UNetConfig> & Pick<UNetConfig, 'inChannels' | 'classes'>): UNetConfig {
  const c = { ...UNET_DEFAULTS, ...config };
  checkName(PADDINGS, c.padding, 'padding');
  checkName(NORMS, c.norm, 'norm');
  const positive = (v: number, what: string) => (Number.isInteger(v) && v >= 1) || fail(`${what} must be a positive integer, got ${v}`);
  positive(c.inChannels, 'inChannels');
  positive(c.classes, 'classes');
  positive(c.filters, 'filters');
  positive(c.depth, 'depth');
  if (c.depth > 6) fail(`depth ${c.depth} is too deep; use 1 to 6 levels`);
  if (c.classes === 2) fail('a two-class task is binary: use classes = 1 (sigmoid)');
  if (c.classes > 64) fail(`at most 64 classes are supported, got ${c.classes}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) fail(`dropout must be in [0, 1), got ${c.dropout}`);
  const regression = c.regressionChannels ?? 0;
  if (!(Number.isInteger(regression) && regression >= 0 && regression <= 64)) fail(`regressionChannels must be 0 to 64, got ${regression}`);
  return c;
}

/**
 * The output size of a U-Net for an input of `size` pixels along one axis, or `null` when some
 * 2×2 pooling would see an odd size or a layer would shrink to nothing.
 */
export function unetOutputSize(size: number, options: { depth: number; padding: PaddingMode }): number | null {
  const shrink = options.padding === 'valid' ? 4 : 0;
  let s = size;
  for (let level = 0; level < options.depth; level++) {
    s -= shrink;
    if (s < 2 || s % 2 !== 0) return null;
    s /= 2;
  }
  s -= shrink;
  if (s < 1) return null;
  for (let level = 0; level < options.depth; level++) s = 2 * s - shrink;
  return s >= 1 ? s : null;
}

/**
 * Input tile sizes the U-Net accepts, ascending, between `min` and `max`: for `same` the multiples
 * of 2^depth; for `valid` the sizes whose every pooling sees an even size (e.g. 572 → 388).
 */
export function validTileSizes(options: { depth: number; padding: PaddingMode; min?: number; max?: number }): number[] {
  const sizes: number[] = [];
  for (let s = options.min ?? 1; s <= (options.max ?? 1024); s++) {
    if (unetOutputSize(s, options) !== null) sizes.push(s);
  }
  return sizes;
}

/** The smallest valid input size ≥ `size` (tiles round up to the next one the network takes). */
export function nextValidTileSize(size: number, options: { depth: number; padding: PaddingMode }): number {
  for (let s = Math.max(1, Math.ceil(size)); s < size + 4096; s++) if (unetOutputSize(s, options) !== null) return s;
  return fail(`no valid U-Net input size near ${size}`);
}

/**
 * The U-Net (Ronneberger et al. 2015): an encoder of conv blocks and 2×2 max-pools, a bottleneck,
 * and a decoder of 2×2 up-convolutions whose outputs are concatenated with the encoder's
 * (centre-cropped in `valid` mode), ending in a 1×1 convolution to the class logits.
 * Forward and backward are spelled out here; the engine only provides the kernels.
 */
export class UNet {
  readonly config: UNetConfig;
  readonly engine: Engine;
  private readonly down: ConvBlock[] = [];
  private readonly skips: Skip[] = [];
  private readonly mid: ConvBlock;
  private readonly up: ConvTranspose2d[] = [];
  private readonly dec: ConvBlock[] = [];
  private readonly head: Conv2d;
  private encoderOutputs: Tensor[] = [];

  constructor(engine: Engine, config: UNetConfig, options: { seed?: number } = {}) {
    this.engine = engine;
    this.config = config;
    const rng = new Random(options.seed ?? 0);
    const { depth, filters: f, padding, norm, dropout } = config;
    const block = { padding: PADDINGS[padding], batchNorm: norm === 'batch' };
    let channels = config.inChannels;
    for (let d = 0; d < depth; d++) {
      this.down.push(new ConvBlock(engine, `down.${d}`, rng, { ...block, inChannels: channels, outChannels: f * 2 ** d, dropout: 0 }));
      this.skips.push(new Skip(engine));
      channels = f * 2 ** d;
    }
    this.mid = new ConvBlock(engine, 'mid', rng, { ...block, inChannels: channels, outChannels: f * 2 ** depth, dropout });
    channels = f * 2 ** depth;
    // Decoder modules are listed deepest first, as in the reference implementation.
    for (let i = 0, d = depth - 1; d >= 0; d--, i++) {
      this.up.push(new ConvTranspose2d(engine, `up.${i}`, rng, { inChannels: channels, outChannels: f * 2 ** d }));
      this.dec.push(
        new ConvBlock(engine, `dec.${i}`, rng, { ...block, inChannels: f * 2 ** (d + 1), outChannels: f * 2 ** d, dropout: 0 }),
      );
      channels = f * 2 ** d;
    }
    this.head = new Conv2d(engine, 'head', rng, {
      inChannels: channels,
      outChannels: config.classes + (config.regressionChannels ?? 0),
      kernelSize: 1,
      padding: 0,
      bias: true,
      relu: false,
    });
  }

  /** `x [N, C, H, W]` → logits `[N, K, h, w]` (h = H for `same`). */
  forward(x: Tensor, context: ForwardContext): Tensor {
    const [, C, H, W] = x.shape;
    if (C !== this.config.inChannels) fail(`the model takes ${this.config.inChannels}-channel images, got ${C} channels`);
    for (const size of [H, W]) {
      if (unetOutputSize(size, this.config) === null) {
        fail(`input size ${H}×${W} does not fit this U-Net; valid sizes near ${size}: ${nextValidTileSize(size, this.config)}`);
      }
    }
    this.encoderOutputs = [];
    let h = x;
    for (let d = 0; d < this.config.depth; d++) {
      const e = this.down[d].forward(h, context);
      this.encoderOutputs.push(e);
      h = this.skips[d].pool.forward(e, { training: context.training });
    }
    h = this.mid.forward(h, context);
    for (let i = 0; i < this.config.depth; i++) {
      const d = this.config.depth - 1 - i;
      const u = this.up[i].forward(h);
      h = this.dec[i].forward(this.skips[d].concat.forward(u, this.encoderOutputs[d]), context);
    }
    return this.head.forward(h);
  }

  /** Back-propagates `dLogits` from the last training forward; fills every parameter's grad. */
  backward(dLogits: Tensor): void {
    let g = this.head.backward(dLogits)!;
    const skipGrads: Tensor[] = new Array(this.config.depth);
    for (let i = this.config.depth - 1; i >= 0; i--) {
      const d = this.config.depth - 1 - i;
      const { da, db } = this.skips[d].concat.backward(this.dec[i].backward(g)!);
      skipGrads[d] = db;
      g = this.up[i].backward(da);
    }
    g = this.mid.backward(g)!;
    for (let d = this.config.depth - 1; d >= 0; d--) {
      g = this.down[d].backward(this.skips[d].encoderGrad(g, skipGrads[d]), d > 0)!;
    }
  }

  parameters(): Parameter[] {
    return [...this.down, this.mid, ...this.dec]
      .flatMap((b) => b.parameters())
      .concat(
        this.up.flatMap((u) => u.parameters()),
        this.head.parameters(),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  norms(): BatchNormRelu[] {
    return [...this.down, this.mid, ...this.dec].flatMap((b) => b.norms());
  }

  buffers(): Buffer[] {
    return this.norms().flatMap((n) => n.buffers());
  }

  /** Every tensor a saved model holds, by state_dict name: the parameters, then the BatchNorm running statistics. */
  stateTensors(): { name: string; value: Tensor }[] {
    return [...this.parameters().map((p) => ({ name: p.name, value: p.value })), ...this.buffers()];
  }

  /** Number of trainable values. */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.value.shape.reduce((a, b) => a * b, 1), 0);
  }
}
