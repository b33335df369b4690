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
import { createRequire } from 'node:module';
import { KERNEL_DEFAULTS } from '../engine/defaults.js';
import type { Model } from '../nn/model.js';
import { type PaddingMode, PADDINGS, nextValidTileSize, unetOutputSize } from '../nn/unet.js';
import { fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';
import { modelTensors } from './model-file.js';
import { OnnxGraphBuilder, encodeOnnxModel } from './onnx-proto.js';

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
  /** Append Sigmoid/Softmax so the output is `probabilities`; false gives raw `logits`. Default true. */
  includeActivation?: boolean;
  /** Fold BatchNorm into the preceding convolution (default true); false keeps BatchNormalization nodes. */
  foldBatchNorm?: boolean;
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

/**
 * The input sizes a U-Net takes along each axis: `smallest + k · step` for k ≥ 0, and how many
 * pixels the output loses on each side (0 for 'same').
 */
export function unetInputSizes(options: { depth: number; padding: PaddingMode }): { smallest: number; step: number; outputMargin: number } {
  const smallest = nextValidTileSize(1, options);
  return { smallest, step: 2 ** options.depth, outputMargin: (smallest - unetOutputSize(smallest, options)!) / 2 };
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

/** The model-level doc string: what the input must be and what the output means. */
function docString(model: Model, output: string): string {
  const { normalization, classNames, threshold } = model.metadata;
  const { inChannels, classes } = model.config;
  const sizes = unetInputSizes(model.config);
  const normalise =
    normalization.kind === 'meanStd'
      ? `then per channel c: (x - mean[c]) / std[c] with mean = [${normalization.mean.join(', ')}], std = [${normalization.std.join(', ')}]`
      : `then per image and channel: (x - p${normalization.low}) / (p${normalization.high} - p${normalization.low}), the image's own ${normalization.low}th and ${normalization.high}th percentiles (a constant channel becomes 0)`;
  const channelText = model.metadata.channels
    ? `the image file's channels ${model.metadata.channels.join(', ')} (0-based) in that order`
    : "channels in the image file's order (RGB for colour images)";
  const scalingText =
    normalization.kind === 'percentile'
      ? 'the stored values (any bit depth or scaling: the percentiles make it irrelevant)'
      : normalization.intensityScaling === 'range'
        ? "values scaled to [0, 1]: whole numbers ≥ 0 divided by 2^k - 1 for the smallest k of 8, 10, 12, … bits that holds the image's maximum, other values ≥ 0 kept within [0, 1] or divided by the maximum, images with negative values min-max scaled"
        : "intensities scaled to [0, 1] by the file's bit depth (8-bit: /255, 16-bit: /65535)";
  const meaning =
    output === 'logits'
      ? `logits [N, ${classes}, h, w] (apply ${classes === 1 ? 'a sigmoid' : 'a softmax over axis 1'} for probabilities)`
      : classes === 1
        ? `probabilities [N, 1, h, w] of '${classNames[1] ?? 'foreground'}'; foreground where p > ${threshold}`
        : `probabilities [N, ${classes}, h, w] (softmax over axis 1); the class of a pixel is the argmax, named by classNames = ${JSON.stringify(classNames)}`;
  return [
    `pyocyte U-Net (${model.config.padding} padding, depth ${model.config.depth}, ${model.config.filters} filters) for ${model.metadata.task} segmentation.`,
    `Input 'input': float32 [N, ${inChannels}, H, W], ${channelText}, ${scalingText}, ${normalise}.`,
    `H and W must each be ${sizes.smallest} + k * ${sizes.step}; larger images are tiled (pyocyte blends overlapping tiles with Gaussian weights).`,
    `Output '${output}': ${meaning}; h = H - ${2 * sizes.outputMargin}, w = W - ${2 * sizes.outputMargin} (the output is centred on the input).`,
    `The same facts are in metadata_props as JSON: normalization, channels, classNames, threshold, task, pixelSizeUm, architecture, inputSizes.`,
  ].join('\n');
}

/** Metadata props: every value is a JSON string so consumers parse them all the same way. */
function metadataProps(model: Model, output: string): Record<string, string> {
  const m = model.metadata;
  const props: Record<string, unknown> = {
    task: m.task,
    classNames: m.classNames,
    normalization: m.normalization,
    channels: m.channels,
    threshold: m.threshold,
    pixelSizeUm: m.pixelSizeUm,
    architecture: { name: 'unet', ...model.config },
    inputSizes: unetInputSizes(model.config),
    output,
    mask: m.mask,
    training: m.training,
  };
  return Object.fromEntries(
    Object.entries(props)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, JSON.stringify(v)]),
  );
}

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '';
  }
}

/**
 * Serialises a model as an ONNX ModelProto: `input [N, C, H, W]` → `probabilities` (or `logits`)
 * `[N, K, h, w]`, with N, H, W symbolic. The model's preprocessing facts go into metadata_props
 * and the doc string. Works from any engine (weights are read with `modelTensors`).
 */
export async function exportOnnx(model: Model, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const { opsetVersion = DEFAULT_ONNX_OPSET, includeActivation = true, foldBatchNorm: fold = true } = options;
  const irVersion = onnxIrVersion(opsetVersion);
  const tensors = await modelTensors(model);
  const weights: Weights = (name) => {
    const tensor = tensors[name] ?? fail(`the model has no tensor '${name}'; is it a pyocyte U-Net?`);
    if (!(tensor.data instanceof Float32Array)) fail(`the model's tensor '${name}' is not float32`);
    return { shape: tensor.shape, data: tensor.data as Float32Array };
  };
  const { depth, padding, norm, inChannels, classes } = model.config;
  const output = includeActivation ? 'probabilities' : 'logits';
  const doc = docString(model, output);
  const g = new OnnxGraphBuilder('pyocyte-unet', doc);
  g.addInput('input', ['N', inChannels, 'H', 'W']);

  const conv = { padding: PADDINGS[padding], relu: true, fold };
  const block = (name: string, input: string): string => {
    const bn = norm === 'batch';
    const first = addConv(g, weights, input, { ...conv, conv: `${name}.0`, norm: bn ? `${name}.1` : null });
    return addConv(g, weights, first, { ...conv, conv: `${name}.${bn ? 3 : 2}`, norm: bn ? `${name}.4` : null });
  };
  const pool2 = { kernel_shape: [2, 2], strides: [2, 2] };
  const encoder: string[] = [];
  let h = 'input';
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
  addConv(g, weights, h, { conv: 'head', norm: null, padding: 0, relu: false, fold, output: 'logits' });
  if (includeActivation) {
    if (classes === 1) g.addNode('Sigmoid', ['logits'], ['probabilities'], {}, 'sigmoid');
    else g.addNode('Softmax', ['logits'], ['probabilities'], { axis: 1 }, 'softmax');
  }
  const same = padding === 'same';
  g.addOutput(output, ['N', classes, same ? 'H' : 'H_out', same ? 'W' : 'W_out']);
  return encodeOnnxModel(g, {
    opsetVersion,
    irVersion,
    producerVersion: packageVersion(),
    docString: doc,
    metadata: metadataProps(model, output),
  });
}
