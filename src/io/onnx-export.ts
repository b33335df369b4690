/**
 * Exports a trained U-Net to ONNX, for onnxruntime (Python, Node, web), OpenCV DNN and friends.
 *
 * Graph: `input [N, C, H, W]` (float32, normalised; N, H, W symbolic) → Conv(+Relu) blocks,
 * MaxPool 2×2/2, ConvTranspose 2×2/2, Concat along channels → 1×1 head Conv → `logits`, then
 * Sigmoid (one class) or Softmax over axis 1 → `probabilities`. Dropout is the identity at
 * inference and is left out.
 *
 * BatchNorm is folded into the convolution before it by default (w·γ/√(σ²+ε), β − μ·γ/√(σ²+ε),
 * computed in float64): the graph is plain Conv → Relu, which every runtime runs fast. With
 * `foldBatchNorm: false` it is a BatchNormalization node with the running statistics instead, and
 * the initializers keep PyTorch's state_dict names exactly.
 *
 * The unpadded ('valid') U-Net crops each skip connection to the up-sampled tensor's size. Every
 * size in the network is affine in the input size with the same slope on both sides of a skip,
 * so the crop margin of each level is a constant (depth 4: 88, 40, 16, 4 px, as in the paper):
 * a static Slice with negative ends crops correctly for every valid H and W.
 */
import { KERNEL_DEFAULTS } from '../engine/defaults.js';
import type { Model } from '../nn/model.js';
import { intensityScalingOf } from '../nn/types.js';
import { type PaddingMode, PADDINGS, nextValidTileSize } from '../nn/unet.js';
import { fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';
import { modelTensors } from './model-file.js';
import {
  type ImageGraphFacts,
  decisionRuleOf,
  imageDocString,
  metadataProps,
  networkDocString,
  outputHeadsOf,
  packageVersion,
  unetInputSizes,
} from './onnx-metadata.js';
import { type OnnxInputType, addCrop, addIntensityScaling, addMirrorPadding, addNormalization, addOutputStage } from './onnx-pipeline.js';
import { OnnxGraphBuilder, encodeOnnxModel } from './onnx-proto.js';

export { unetInputSizes } from './onnx-metadata.js';

/**
 * The opsets the exported graph is valid for, with the IR version written for each. The graph's
 * ops (Conv, ConvTranspose, MaxPool, BatchNormalization, Relu, Slice, Concat, Sigmoid, Softmax
 * over one axis) mean the same from opset 13 through 21.
 */
export const ONNX_OPSETS = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 } as const;

/** The default opset: onnxruntime ≥ 1.13, onnxruntime-web and Python onnxruntime all run it. */
export const DEFAULT_ONNX_OPSET = 17;

/** BatchNorm epsilon of pyocyte's (and PyTorch's) BatchNorm2d. */
const BATCH_NORM_EPSILON = KERNEL_DEFAULTS.batchNorm2d.epsilon;

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** ONNX opset, 13 to 21; default {@link DEFAULT_ONNX_OPSET}. */
  opsetVersion?: number;
  /** Fold BatchNorm into the preceding convolution (default true); false keeps BatchNormalization nodes. */
  foldBatchNorm?: boolean;
  /**
   * The network alone (input 'input': normalised float32 of a valid size, output 'probabilities'
   * or 'logits') instead of the self-contained graph. Default false.
   */
  networkOnly?: boolean;
  /** Network only: append Sigmoid/Softmax so the output is `probabilities`; false gives raw `logits`. Default true. */
  includeActivation?: boolean;
  /** Self-contained graph: the element type of 'image'; default 'float32' (takes any image's values). */
  inputType?: OnnxInputType;
  /**
   * Self-contained graph: mirrored pixels read before the image's first row and column, as
   * pyocyte's tiling does: the tile context of a padded net (default 32 px rounded up to
   * 2^depth), the network's own margin for an unpadded one (always).
   */
  contextMargin?: number;
  /** Extra metadata_props (JSON-encoded): tile size and overlap, instance method and parameters. */
  metadata?: Record<string, unknown>;
}

/** The IR version that goes with an opset; unknown opsets fail listing the supported ones. */
export function onnxIrVersion(opsetVersion: number): number {
  return lookup(ONNX_OPSETS, String(opsetVersion), 'ONNX opset');
}

/**
 * How many pixels each skip connection loses on every side before concatenation, by encoder level
 * (0 = shallowest). All zeros for 'same'; for 'valid', depth 4: `[88, 40, 16, 4]`.
 */
export function skipCropMargins(options: { depth: number; padding: PaddingMode }): number[] {
  // Two 3×3 convolutions per block, each losing 1 px per side when unpadded.
  const shrink = options.padding === 'valid' ? 4 : 0;
  // The margins do not depend on the input size (see the file comment), so any valid size will do.
  let size = nextValidTileSize(1, options);
  const encoder: number[] = [];
  for (let level = 0; level < options.depth; level++) {
    size -= shrink;
    encoder.push(size);
    size /= 2;
  }
  size -= shrink;
  const margins = new Array<number>(options.depth);
  for (let level = options.depth - 1; level >= 0; level--) {
    size *= 2;
    margins[level] = (encoder[level] - size) / 2;
    size -= shrink;
  }
  return margins;
}

/** A tensor read from the model by state_dict name. */
type Weights = (name: string) => { shape: number[]; data: Float32Array };

/** Adds `name → Conv [→ BatchNorm] → Relu` (3×3, or the 1×1 head without Relu); returns the output value. */
function addConv(
  g: OnnxGraphBuilder,
  weights: Weights,
  input: string,
  options: {
    conv: string;
    norm: string | null;
    padding: number;
    relu: boolean;
    fold: boolean;
    output?: string;
  },
): string {
  const { conv, norm, padding } = options;
  const weight = weights(`${conv}.weight`);
  const kernel = weight.shape[2];
  const attributes = { kernel_shape: [kernel, kernel], pads: [padding, padding, padding, padding] };
  let output = options.output ?? `${conv}.conv`;
  if (norm && options.fold) {
    const { weight: folded, bias } = foldBatchNorm(weight, weights, norm);
    g.addInitializer(`${conv}.weight`, weight.shape, folded).addInitializer(`${conv}.bias`, [bias.length], bias);
    g.addNode('Conv', [input, `${conv}.weight`, `${conv}.bias`], [output], attributes, output);
  } else if (norm) {
    g.addInitializer(`${conv}.weight`, weight.shape, weight.data);
    g.addNode('Conv', [input, `${conv}.weight`], [output], attributes, output);
    const statistics = ['weight', 'bias', 'running_mean', 'running_var'].map((s) => `${norm}.${s}`);
    for (const name of statistics) g.addInitializer(name, weights(name).shape, weights(name).data);
    g.addNode('BatchNormalization', [output, ...statistics], [`${norm}.norm`], { epsilon: { float: BATCH_NORM_EPSILON } }, `${norm}.norm`);
    output = `${norm}.norm`;
  } else {
    const bias = weights(`${conv}.bias`);
    g.addInitializer(`${conv}.weight`, weight.shape, weight.data).addInitializer(`${conv}.bias`, bias.shape, bias.data);
    g.addNode('Conv', [input, `${conv}.weight`, `${conv}.bias`], [output], attributes, output);
  }
  if (!options.relu) return output;
  g.addNode('Relu', [output], [`${conv}.relu`], {}, `${conv}.relu`);
  return `${conv}.relu`;
}

/** Conv weights `[O, I, k, k]` and a zero bias scaled and shifted by BatchNorm's inference transform. */
function foldBatchNorm(
  weight: { shape: number[]; data: Float32Array },
  weights: Weights,
  norm: string,
): { weight: Float32Array; bias: Float32Array } {
  const gamma = weights(`${norm}.weight`).data;
  const beta = weights(`${norm}.bias`).data;
  const mean = weights(`${norm}.running_mean`).data;
  const variance = weights(`${norm}.running_var`).data;
  const channels = weight.shape[0];
  const perChannel = weight.data.length / channels;
  const folded = new Float32Array(weight.data.length);
  const bias = new Float32Array(channels);
  for (let o = 0; o < channels; o++) {
    const scale = gamma[o] / Math.sqrt(variance[o] + BATCH_NORM_EPSILON);
    for (let i = o * perChannel; i < (o + 1) * perChannel; i++) folded[i] = weight.data[i] * scale;
    bias[o] = beta[o] - mean[o] * scale;
  }
  return { weight: folded, bias };
}

/** The image input's context for a padded net: 32 px rounded up to the pooling grid, as `predict` uses. */
function defaultContextMargin(depth: number): number {
  const alignment = 2 ** depth;
  return Math.ceil(32 / alignment) * alignment;
}

/**
 * Adds the U-Net from `input` `[N, C, H, W]` (normalised, a valid size) to the 1×1 head's
 * `logits` `[N, K, h, w]`; returns 'logits'.
 */
async function addUNet(g: OnnxGraphBuilder, model: Model, input: string, fold: boolean): Promise<string> {
  const tensors = await modelTensors(model);
  const weights: Weights = (name) => {
    const tensor = tensors[name] ?? fail(`the model has no tensor '${name}'; is it a pyocyte U-Net?`);
    if (!(tensor.data instanceof Float32Array)) fail(`the model's tensor '${name}' is not float32`);
    return { shape: tensor.shape, data: tensor.data as Float32Array };
  };
  const { depth, padding, norm } = model.config;
  const conv = { padding: PADDINGS[padding], relu: true, fold };
  const block = (name: string, blockInput: string): string => {
    const bn = norm === 'batch';
    const first = addConv(g, weights, blockInput, { ...conv, conv: `${name}.0`, norm: bn ? `${name}.1` : null });
    return addConv(g, weights, first, { ...conv, conv: `${name}.${bn ? 3 : 2}`, norm: bn ? `${name}.4` : null });
  };
  const pool2 = { kernel_shape: [2, 2], strides: [2, 2] };
  const encoder: string[] = [];
  let h = input;
  for (let level = 0; level < depth; level++) {
    encoder.push(block(`down.${level}`, h));
    g.addNode('MaxPool', [encoder[level]], [`pool.${level}`], pool2, `pool.${level}`);
    h = `pool.${level}`;
  }
  h = block('mid', h);
  const margins = skipCropMargins(model.config);
  if (margins.some((m) => m > 0)) g.addInt64Initializer('crop.axes', [2, 3]);
  for (let i = 0; i < depth; i++) {
    const level = depth - 1 - i;
    const up = weights(`up.${i}.weight`);
    const upBias = weights(`up.${i}.bias`);
    g.addInitializer(`up.${i}.weight`, up.shape, up.data).addInitializer(`up.${i}.bias`, upBias.shape, upBias.data);
    g.addNode('ConvTranspose', [h, `up.${i}.weight`, `up.${i}.bias`], [`up.${i}.out`], pool2, `up.${i}`);
    let skip = encoder[level];
    const margin = margins[level];
    if (margin > 0) {
      g.addInt64Initializer(`crop.${level}.starts`, [margin, margin]).addInt64Initializer(`crop.${level}.ends`, [-margin, -margin]);
      g.addNode('Slice', [skip, `crop.${level}.starts`, `crop.${level}.ends`, 'crop.axes'], [`crop.${level}`], {}, `crop.${level}`);
      skip = `crop.${level}`;
    }
    g.addNode('Concat', [`up.${i}.out`, skip], [`concat.${i}`], { axis: 1 }, `concat.${i}`);
    h = block(`dec.${i}`, `concat.${i}`);
  }
  return addConv(g, weights, h, { conv: 'head', norm: null, padding: 0, relu: false, fold, output: 'logits' });
}

/**
 * Serialises a model as an ONNX ModelProto. Works from any engine (weights are read with `modelTensors`).
 *
 * Self-contained (default): `image` `[N, C, H, W]` raw pixels (uint8 or float32) of any H and W →
 * `probabilities` `[N, K, H, W]`, one output per further head of the model, and `mask` uint8
 * `[N, 1, H, W]` (threshold or argmax). The graph scales intensities as pyocyte reads files,
 * normalises as the model does, mirror-pads to the square tile `predict` uses for an image that
 * fits one tile, runs the network and crops back: onnxruntime gives `predict`'s probabilities
 * (without TTA) to float32 rounding for such images.
 *
 * `networkOnly`: `input` `[N, C, H, W]` normalised float32 of a valid size → `probabilities` (or
 * `logits`) `[N, K, h, w]`.
 */
export async function exportOnnx(model: Model, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const { opsetVersion = DEFAULT_ONNX_OPSET, foldBatchNorm: fold = true } = options;
  const irVersion = onnxIrVersion(opsetVersion);
  const { inChannels, classes, padding, depth } = model.config;
  const encode = (g: OnnxGraphBuilder, doc: string, metadata: Record<string, string>): Uint8Array =>
    encodeOnnxModel(g, { opsetVersion, irVersion, producerVersion: packageVersion(), docString: doc, metadata });
  if (options.networkOnly) {
    const activation = options.includeActivation ?? true;
    const output = activation ? 'probabilities' : 'logits';
    const doc = networkDocString(model, output);
    const g = new OnnxGraphBuilder('pyocyte-unet', doc);
    g.addInput('input', ['N', inChannels, 'H', 'W']);
    await addUNet(g, model, 'input', fold);
    if (activation) {
      if (classes === 1) g.addNode('Sigmoid', ['logits'], ['probabilities'], {}, 'sigmoid');
      else g.addNode('Softmax', ['logits'], ['probabilities'], { axis: 1 }, 'softmax');
    }
    const same = padding === 'same';
    g.addOutput(output, ['N', classes, same ? 'H' : 'H_out', same ? 'W' : 'W_out']);
    return encode(g, doc, metadataProps(model, output));
  }
  const inputType = options.inputType ?? 'float32';
  const heads = outputHeadsOf(model);
  const facts: ImageGraphFacts = { inputType, heads, rule: decisionRuleOf(model, heads), extra: options.metadata ?? {} };
  const doc = imageDocString(model, facts);
  const g = new OnnxGraphBuilder('pyocyte-unet-image', doc);
  g.addInput('image', ['N', inChannels, 'H', 'W'], inputType === 'uint8' ? 'uint8' : 'float');
  const normalization = model.metadata.normalization;
  // The scaling rule of modelInput (infer/model-input.ts): older meanStd models scale by bit depth.
  const scaling = intensityScalingOf(normalization);
  const floats = addIntensityScaling(g, 'image', { inputType, scaling, opsetVersion });
  const normalised = addNormalization(g, floats, normalization);
  const sizes = unetInputSizes(model.config);
  const lead = padding === 'valid' ? sizes.outputMargin : (options.contextMargin ?? defaultContextMargin(depth));
  const plan = { lead, outputMargin: sizes.outputMargin, smallest: sizes.smallest, step: sizes.step };
  const { padded, height, width } = addMirrorPadding(g, normalised, plan);
  const logits = await addUNet(g, model, padded, fold);
  addOutputStage(g, addCrop(g, logits, plan, { height, width }), heads, facts.rule, 'probabilities');
  // probabilities and mask first: consumers that match outputs by position (bioimage.io) find them there.
  const [classHead, ...others] = heads;
  g.addOutput(classHead.name, ['N', classHead.end - classHead.first, 'H', 'W']);
  g.addOutput('mask', ['N', 1, 'H', 'W'], 'uint8');
  for (const head of others) g.addOutput(head.name, ['N', head.end - head.first, 'H', 'W']);
  return encode(g, doc, metadataProps(model, 'probabilities', facts));
}
