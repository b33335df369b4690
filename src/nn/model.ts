import type { Engine, LossKernel, Tensor } from '../engine/types.js';
import type { Batch, Normalization, Task } from './types.js';
import { fail } from '../util/errors.js';
import { hash32 } from '../util/random.js';
import { type LossName, lossDefinition } from './losses.js';
import { Optimizer, type OptimizerName, type OptimizerOptions } from './optimizers.js';
import { UNet, type UNetConfig, resolveUNetConfig, unetOutputSize } from './unet.js';

/** What a trained model knows besides its weights; stored in the model file's JSON. */
export interface ModelMetadata {
  task: Task;
  /** One name per class, background first (binary: ['background', 'foreground']). */
  classNames: string[];
  normalization: Normalization;
  /** The image files' channels the network sees, in order (`--channels`); absent: all of them. */
  channels?: number[];
  /** Probability above which a pixel is foreground (binary), tuned on validation data. */
  threshold: number;
  /** Post-processing of class maps chosen on the validation images (see infer/postprocess.ts). */
  postprocessing?: 'none' | 'largestComponent';
  /**
   * Test-time augmentation chosen on the validation images: a mode of infer/tiling.ts's
   * `TTA_MODES` ('none', 'flips', 'dihedral'); `true` means 'dihedral'.
   */
  tta?: boolean | string;
  /** The pixel size the model was trained at, µm/px, when known. */
  pixelSizeUm?: number;
  /**
   * Trained from boxes and points without a pixel size: the factor its training images were
   * resampled by (data/annotations/working-scale.ts). New images are taken to be like them and
   * resampled by it, the results back (infer/rescale.ts), unless pixel sizes resample.
   */
  imageScale?: number;
  /**
   * Trained from instance masks at one object size: the median object diameter, px, each training
   * image was resampled to (data/object-scale.ts). New images are brought to it by their estimated
   * object size (infer/rescale.ts); `objectDiameterPx` then holds σ*'s calibration.
   */
  workingDiameterPx?: number;
  /** The training objects' equivalent diameters (data/object-sizes.ts), for rescaling new images to them. */
  objectDiameterPx?: ObjectSizeDistribution;
  /** How the training masks were drawn, so predicted masks are written the same way. */
  mask?: { polarity?: 'white' | 'black'; valueMap?: Record<number, number> };
  /** Free-form facts about the training run (dataset, epochs, scores). */
  training?: Record<string, unknown>;
  /**
   * How cells are separated (infer/instance-methods.ts), chosen on the validation images; absent:
   * the foreground map's distance-transform watershed.
   */
  instances?: InstanceRule;
  /**
   * Models trained from boxes and points: per class, which segmented objects count as cells,
   * chosen on the validation annotations (train/count-rule.ts, applied by infer/count-rule.ts).
   */
  countRule?: CountRule;
}

/** One class's thresholds of a {@link CountRule}. */
export interface ClassCountRule {
  /** Cells whose mean class probability is below this are dropped (0 keeps all). */
  minScore: number;
  /** Cells smaller than this, in pixels at the model's scale, are dropped (0 keeps all). */
  minAreaPx: number;
  /**
   * Cells whose centroid lies nearer the image's edge than this, in pixels at the model's scale,
   * are dropped: cells cut by the frame that the annotators did not count (0 or absent keeps all;
   * models saved before 2026-12-03 have none).
   */
  minEdgeDistancePx?: number;
}

/** Per class name, the thresholds a cell must pass to be counted; classes not listed keep all. */
export interface CountRule {
  perClass: Record<string, ClassCountRule>;
  /** Per class, the detection F1 on the validation images under this rule, and without it. */
  validationF1?: Record<string, { rule: number; all: number }>;
}

/** One block of the network's output channels, in order: what it is and the activation it needs. */
export interface OutputHead {
  name: string;
  channels: number;
  activation: 'sigmoid' | 'softmax' | 'identity';
}

/** A model's instance method and the settings that turn its heads into cells. */
export interface InstanceRule {
  /** What the network was trained for: a name of `INSTANCE_METHODS` (infer/instance-methods.ts). */
  method: string;
  /** The output channels, in order (for ONNX export and other consumers of raw outputs). */
  heads: OutputHead[];
  /**
   * How cells are drawn from the heads at prediction time, chosen on validation: the trained
   * method's seeds, or 'watershed' (the foreground map's distance transform) when that scored better.
   */
  decoder: string;
  /**
   * Seeds are connected regions where the seed head (interior probability or distance) exceeds
   * this; for starDist, candidate centres are pixels whose centre score does.
   */
  seedThreshold: number;
  /**
   * Seed regions that touch are split by the distance-transform watershed of the seed mask
   * before they grow (chosen on validation; absent = false, as in models trained before it).
   */
  splitSeeds?: boolean;
  /**
   * When set, cells grow instead from the h-maxima of the foreground's distance transform (px)
   * damped by the seed head: a peak must rise this many pixels above its saddle to a higher one
   * (see `peakSeededInstances`; chosen on validation; absent = seed regions as above).
   */
  peakHeightPx?: number;
  /**
   * starDist: a candidate polygon is dropped when its IoU with a polygon kept before it exceeds
   * this (chosen on validation; absent = 0.4, StarDist's default NMS threshold).
   */
  overlapThreshold?: number;
  /** Cells smaller than this (pixels) are merged into a neighbour or dropped. */
  minSizePx: number;
  /** Validation AP at IoU 0.5 under this rule. */
  validationAp50?: number;
}

/** A distribution of object diameters, px (median and quartiles of equivalent diameters). */
export interface ObjectSizeDistribution {
  medianPx: number;
  lowerQuartilePx: number;
  upperQuartilePx: number;
  /** How many objects were measured. */
  objects: number;
  /**
   * Percentiles (5, 25, 75, 95) over the training images of each image's median object diameter,
   * px: the range of object sizes the network saw whole images of. A dataset that mixes small and
   * large objects (dsb2018) has a wide range, and a new image inside it needs no rescaling even
   * when it is far from the pooled median. Absent in models trained before it was stored.
   */
  perImageMedianPx?: { p5: number; p25: number; p75: number; p95: number };
  /**
   * What the objects were: instance labels, or connected components of binary masks (touching
   * objects merged). New images are measured the same way (infer/rescale.ts). Absent: instances.
   */
  from?: 'instances' | 'components';
  /**
   * Training images' median object diameter ÷ their characteristic scale σ* (image/scale-space.ts):
   * the median, 10th and 90th percentiles, and how many images gave one. A new image's diameter is
   * then estimated as `median × σ*` without a network pass (infer/rescale.ts). Training does not
   * store it by default yet (data/object-sizes.ts, `calibrateSpectrum`); absent also when σ* says
   * little about the objects.
   */
  diameterPerSigma?: { median: number; p10: number; p90: number; images: number };
}

export interface TrainingOptions {
  loss?: LossName;
  optimizer?: OptimizerName;
  optimizerOptions?: OptimizerOptions;
  /** Base seed of the dropout masks. */
  seed?: number;
}

export interface StepResult {
  /** The weighted total loss. */
  loss: number;
  /** Each loss term, in the loss definition's order. */
  terms: number[];
  /** The batch's confusion at p > 0.5 / argmax: correct, pixels, then tp, fp, fn per foreground class. */
  counts: number[];
}

/**
 * A U-Net with its metadata, trainable and usable for prediction on either engine.
 * `trainStep` queues a whole step (forward, loss, backward, update) before its first `await`, so
 * the caller can prepare the next batch while the engine computes.
 */
export class Model {
  readonly network: UNet;
  readonly engine: Engine;
  metadata: ModelMetadata;
  private loss?: { name: LossName; kernel: LossKernel; pixelWeights: boolean };
  private optimizer?: Optimizer;
  private seed = 0;
  private readonly inputs = new Map<string, Tensor>();

  constructor(engine: Engine, config: UNetConfig, metadata: ModelMetadata, options: { seed?: number } = {}) {
    this.engine = engine;
    this.network = new UNet(engine, config, options);
    this.metadata = metadata;
  }

  get config(): UNetConfig {
    return this.network.config;
  }

  /** The output size of this network for an input size along one axis, or null when invalid. */
  outputSize(inputSize: number): number | null {
    return unetOutputSize(inputSize, this.config);
  }

  /** Chooses the loss and optimizer for `trainStep` (defaults: bce+dice, AdamW). */
  configureTraining(options: TrainingOptions = {}): void {
    const name = options.loss ?? 'bce+dice';
    const definition = lossDefinition(name);
    const regressionChannels = this.config.regressionChannels ?? 0;
    // The regression channels' mean squared error joins the loss with weight 1: the distance
    // targets lie in [0, 1], so its scale is comparable to the cross-entropy's.
    const terms = regressionChannels > 0 ? [...definition.terms, { kind: 'regression' as const, weight: 1 }] : definition.terms;
    this.loss = {
      name,
      kernel: this.engine.loss({ terms, classes: this.config.classes, regressionChannels }),
      pixelWeights: definition.pixelWeights,
    };
    this.optimizer = new Optimizer(this.engine, options.optimizer ?? 'adamw', options.optimizerOptions);
    this.seed = options.seed ?? 0;
  }

  get trainingOptimizer(): Optimizer | undefined {
    return this.optimizer;
  }

  /** A tensor for an input of this shape, allocated once and rewritten each call. */
  private input(role: string, shape: readonly number[], data: Float32Array): Tensor {
    const key = `${role}:${shape.join('x')}`;
    let tensor = this.inputs.get(key);
    if (!tensor) {
      tensor = this.engine.tensor(shape);
      this.inputs.set(key, tensor);
    }
    this.engine.write(tensor, data);
    return tensor;
  }

  /** One optimisation step on a batch; resolves with the loss once the engine has run it. */
  async trainStep(batch: Batch, options: { learningRate: number }): Promise<StepResult> {
    if (!this.loss || !this.optimizer) this.configureTraining();
    const loss = this.loss!;
    const optimizer = this.optimizer!;
    const [N, , H, W] = batch.inputShape;
    const [, h, w] = batch.targetShape;
    if (this.outputSize(H) !== h || this.outputSize(W) !== w) {
      fail(`batch targets are ${h}×${w} but a ${H}×${W} input gives ${this.outputSize(H)}×${this.outputSize(W)} outputs`);
    }
    if (loss.pixelWeights && !batch.weights) fail(`the '${loss.name}' loss needs per-pixel weight maps from the data loader`);
    const x = this.input('x', batch.inputShape, batch.x);
    const y = this.input('y', [N, h, w], batch.y);
    // A batch's weights (border maps, an instance method's class weights) always reach the loss.
    const weights = batch.weights ? this.input('weights', [N, h, w], batch.weights) : null;
    const regressionChannels = this.config.regressionChannels ?? 0;
    if (regressionChannels > 0 && batch.regression?.length !== N * regressionChannels * h * w) {
      fail(`this model has ${regressionChannels} regression channel(s) but the batch has no matching regression targets`);
    }
    const regression = regressionChannels > 0 ? this.input('regression', [N, regressionChannels, h, w], batch.regression!) : null;
    const logits = this.network.forward(x, { training: true, seed: hash32(this.seed, optimizer.step) });
    const { value, dLogits, counts } = loss.kernel.forward(logits, y, weights, regression);
    this.network.backward(dLogits);
    optimizer.apply(this.network.parameters(), options.learningRate);
    const [values, confusion] = await Promise.all([this.engine.read(value), this.engine.read(counts)]);
    const result = { loss: values[0], terms: Array.from(values.subarray(1)), counts: Array.from(confusion) };
    if (!Number.isFinite(result.loss)) {
      fail(`the training loss became ${result.loss} at step ${optimizer.step}; lower the learning rate or check the data`);
    }
    return result;
  }

  /**
   * Logits for `x [N, C, H, W]` (normalised): `[N, K, h, w]`, in evaluation mode (running
   * BatchNorm statistics, no dropout).
   */
  async predictLogits(x: Float32Array, shape: readonly [number, number, number, number]): Promise<Float32Array> {
    const logits = this.network.forward(this.input('predict', shape, x), { training: false, seed: 0 });
    return this.engine.read(logits);
  }

  /**
   * Classes as the user's task counts them, like `config.classes` (1 = binary): a model trained
   * for separation (`metadata.instances`) has extra outputs but still predicts cells vs background.
   */
  get taskClasses(): number {
    const method = this.metadata.instances?.method;
    // Separation methods predict one foreground through their own classes; `centres` keeps the task's.
    return method && method !== 'watershed' && method !== 'centres' ? 1 : this.config.classes;
  }

  /** The network's output channels: the class logits, then the regression channels. */
  get outputChannels(): number {
    return this.config.classes + (this.config.regressionChannels ?? 0);
  }

  /**
   * Class probabilities `[N, K' + R, h, w]`: K' = 1 (sigmoid) for binary, K (softmax) otherwise,
   * then the R regression channels as they are (identity).
   */
  async predict(x: Float32Array, shape: readonly [number, number, number, number]): Promise<Float32Array> {
    const logits = await this.predictLogits(x, shape);
    const channels = this.outputChannels;
    const plane = logits.length / (shape[0] * channels);
    if (channels === this.config.classes) return logitsToProbabilities(logits, this.config.classes, plane);
    for (let n = 0; n < shape[0]; n++) {
      logitsToProbabilities(
        logits.subarray(n * channels * plane, (n * channels + this.config.classes) * plane),
        this.config.classes,
        plane,
      );
    }
    return logits;
  }
}

/** Sigmoid for one channel, softmax across channels otherwise, in place. `logits [N, K, plane]`. */
export function logitsToProbabilities(logits: Float32Array, classes: number, plane: number): Float32Array {
  if (classes === 1) {
    for (let i = 0; i < logits.length; i++) logits[i] = 1 / (1 + Math.exp(-logits[i]));
    return logits;
  }
  const images = logits.length / (classes * plane);
  for (let n = 0; n < images; n++) {
    const base = n * classes * plane;
    for (let j = 0; j < plane; j++) {
      let max = -Infinity;
      for (let k = 0; k < classes; k++) max = Math.max(max, logits[base + k * plane + j]);
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += logits[base + k * plane + j] = Math.exp(logits[base + k * plane + j] - max);
      for (let k = 0; k < classes; k++) logits[base + k * plane + j] /= sum;
    }
  }
  return logits;
}

/** Creates a model: `unet({ inChannels: 3, classes: 1 }, { engine })`. */
export function unet(
  config: Partial<UNetConfig> & Pick<UNetConfig, 'inChannels' | 'classes'>,
  options: { engine: Engine; seed?: number; metadata?: Partial<ModelMetadata> },
): Model {
  const resolved = resolveUNetConfig(config);
  const classes = resolved.classes;
  const metadata: ModelMetadata = {
    task: classes === 1 ? 'binary' : 'multiclass',
    classNames:
      classes === 1 ? ['background', 'foreground'] : Array.from({ length: classes }, (_, k) => (k === 0 ? 'background' : `class${k}`)),
    normalization: { kind: 'meanStd', mean: new Array(resolved.inChannels).fill(0), std: new Array(resolved.inChannels).fill(1) },
    threshold: 0.5,
    ...options.metadata,
  };
  return new Model(options.engine, resolved, metadata, { seed: options.seed });
}
