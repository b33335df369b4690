/**
 * What an exported ONNX graph tells its reader: the output heads, the decision rule, the doc
 * string and `metadata_props` (every value a JSON string, so consumers parse them alike).
 */
import { createRequire } from 'node:module';
import type { Model } from '../nn/model.js';
import { intensityScalingOf } from '../nn/types.js';
import { nextValidTileSize, unetOutputSize } from '../nn/unet.js';
import { fail } from '../util/errors.js';
import { checkName } from '../util/registry.js';
import { type DecisionRule, HEAD_ACTIVATIONS, type OnnxInputType, type OutputHead } from './onnx-pipeline.js';

/** The name of the class-probability output, whatever other heads a model has. */
export const CLASS_HEAD = 'probabilities';

/**
 * The input sizes a U-Net takes along each axis: `smallest + k · step` for k ≥ 0, and how many
 * pixels the output loses on each side (0 for 'same').
 */
export function unetInputSizes(options: Pick<Model['config'], 'depth' | 'padding'>): {
  smallest: number;
  step: number;
  outputMargin: number;
} {
  const smallest = nextValidTileSize(1, options);
  return { smallest, step: 2 ** options.depth, outputMargin: (smallest - unetOutputSize(smallest, options)!) / 2 };
}

/** A head as a model's metadata may record it: its channels of the last layer and activation. */
/**
 * The graph's outputs: the heads a model trained for separation lists (`metadata.instances.heads`:
 * name, channel count and activation, in channel order), else one class head over every channel,
 * sigmoid for one channel and softmax for several. The class head is always named `probabilities`.
 * @throws PyocyteError when the heads do not add up to the network's output channels.
 */
export function outputHeadsOf(model: Model): OutputHead[] {
  const channels = model.outputChannels;
  const recorded = model.metadata.instances?.heads;
  if (!recorded || recorded.length === 0)
    return [{ name: CLASS_HEAD, first: 0, end: channels, activation: channels === 1 ? 'sigmoid' : 'softmax' }];
  let first = 0;
  const heads = recorded.map((head, i): OutputHead => {
    const end = first + head.channels;
    const activation = checkName(HEAD_ACTIVATIONS, head.activation, 'head activation');
    const output = { name: i === 0 ? CLASS_HEAD : head.name, first, end, activation };
    first = end;
    return output;
  });
  if (first !== channels)
    fail(
      `the model's heads (${recorded.map((h) => `${h.name}: ${h.channels}`).join(', ')}) do not add up to its ${channels} output channels`,
    );
  if (new Set(heads.map((h) => h.name)).size !== heads.length || heads.some((h) => h.name === 'mask' || h.name === 'image'))
    fail(`the model's heads have clashing names: ${recorded.map((h) => h.name).join(', ')}`);
  return heads;
}

/**
 * The decision rule of the class head, as pyocyte draws its mask: the tuned threshold for one
 * channel; for a binary task with several class channels (a three-class background / interior /
 * boundary head), that threshold on `1 − p(background)`; else the argmax.
 */
export function decisionRuleOf(model: Model, heads: readonly OutputHead[]): DecisionRule {
  const classHead = heads.find((h) => h.name === CLASS_HEAD)!;
  const { threshold, task } = model.metadata;
  if (classHead.end - classHead.first === 1) return { kind: 'threshold', threshold };
  return task === 'binary' ? { kind: 'notBackground', threshold } : { kind: 'argmax' };
}

/** The mask's rule in words, for doc strings and package descriptions. */
export function decisionRuleText(rule: DecisionRule): string {
  if (rule.kind === 'threshold') return `1 where probabilities > ${rule.threshold}, else 0`;
  if (rule.kind === 'notBackground')
    return `1 where 1 - probabilities[:, 0] (the background channel) > ${rule.threshold}, else 0: the union of cells`;
  return 'the argmax over the classes of probabilities';
}

/** pyocyte's version from its package.json ('' when it cannot be read). */
export function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '';
  }
}

/** The self-contained graph's facts, for its doc string and metadata. */
export interface ImageGraphFacts {
  inputType: OnnxInputType;
  heads: OutputHead[];
  rule: DecisionRule;
  /** Extra metadata from the caller: tiling, instance method, … */
  extra: Record<string, unknown>;
}

function normalisationText(model: Model): string {
  const n = model.metadata.normalization;
  return n.kind === 'meanStd'
    ? `per channel c: (x - mean[c]) / std[c] with mean = [${n.mean.join(', ')}], std = [${n.std.join(', ')}]`
    : `per image and channel: (x - p${n.low}) / (p${n.high} - p${n.low}), the image's own ${n.low}th and ${n.high}th percentiles (a constant channel becomes 0)`;
}

function channelText(model: Model): string {
  return model.metadata.channels
    ? `the image file's channels ${model.metadata.channels.join(', ')} (0-based) in that order`
    : "channels in the image file's order (RGB for colour images, alpha dropped)";
}

/** A model trained before per-image value ranges scales by bit depth: its float32 input is read as 16-bit. */
function sixteenBitText(model: Model, facts: ImageGraphFacts): string {
  const byBitDepth = intensityScalingOf(model.metadata.normalization) === 'bitDepth';
  return byBitDepth && facts.inputType === 'float32' ? ' (float32 input is read as 16-bit values, ÷ 65535: give 8-bit pixels × 257)' : '';
}

/** The doc string of the self-contained graph: what goes in and what comes out. */
export function imageDocString(model: Model, facts: ImageGraphFacts): string {
  const { inChannels } = model.config;
  const outputs = facts.heads.map((h) => `'${h.name}' float32 [N, ${h.end - h.first}, H, W] (${h.activation})`).join(', ');
  const rule = decisionRuleText(facts.rule);
  return [
    `pyocyte U-Net (${model.config.padding} padding, depth ${model.config.depth}, ${model.config.filters} filters) for ${model.metadata.task} segmentation, with its pre- and post-processing.`,
    `Input 'image': ${facts.inputType} [N, ${inChannels}, H, W], any H and W, raw pixel values as the image file holds them${sixteenBitText(model, facts)}, ${channelText(model)}.`,
    `Inside the graph: intensity scaling as pyocyte reads files, normalisation ${normalisationText(model)}, mirror padding to a size the network takes, the network, the crop back to H × W, the activations.`,
    `Outputs: ${outputs}; 'mask' uint8 [N, 1, H, W] = ${rule}; class names in metadata_props classNames.`,
    'The whole image is one pass: for images much larger than the tile size in metadata_props, tile them (pyocyte blends overlapping tiles with Gaussian weights).',
  ].join('\n');
}

/** The doc string of the network-only graph (normalised input of valid sizes). */
export function networkDocString(model: Model, output: string): string {
  const { inChannels, classes } = model.config;
  const sizes = unetInputSizes(model.config);
  return [
    `pyocyte U-Net (${model.config.padding} padding, depth ${model.config.depth}, ${model.config.filters} filters), the network alone.`,
    `Input 'input': float32 [N, ${inChannels}, H, W], ${channelText(model)}, normalised ${normalisationText(model)}.`,
    `H and W must each be ${sizes.smallest} + k * ${sizes.step}.`,
    `Output '${output}': [N, ${classes}, h, w], h = H - ${2 * sizes.outputMargin}, w = W - ${2 * sizes.outputMargin} (centred on the input).`,
  ].join('\n');
}

/**
 * Metadata props: class names, pixel size, image scale or working diameter, decision rule, output heads, normalisation, channels,
 * architecture and input sizes, the count rule, pyocyte version, the training summary, and the
 * caller's extras (tile size and overlap, instance method and its parameters).
 */
export function metadataProps(model: Model, output: string, facts?: ImageGraphFacts): Record<string, string> {
  const m = model.metadata;
  const props: Record<string, unknown> = {
    task: m.task,
    classNames: m.classNames,
    normalization: m.normalization,
    channels: m.channels,
    threshold: m.threshold,
    pixelSizeUm: m.pixelSizeUm,
    // Resample input images by this factor first, the outputs back (models trained from boxes at a working scale).
    imageScale: m.imageScale,
    // Resample each input image so its median object is this many pixels across first, the outputs back (models trained at a working diameter).
    workingDiameterPx: m.workingDiameterPx,
    architecture: { name: 'unet', ...model.config },
    inputSizes: unetInputSizes(model.config),
    output,
    mask: m.mask,
    // Per class, the minimum score, area and centroid distance from the image edge (model pixels) a cell needs to be counted (infer/count-rule.ts).
    countRule: m.countRule,
    training: m.training,
    pyocyteVersion: packageVersion(),
    ...(facts
      ? {
          inputType: facts.inputType,
          decisionRule: facts.rule,
          heads: facts.heads,
          ...facts.extra,
        }
      : {}),
  };
  return Object.fromEntries(
    Object.entries(props)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, JSON.stringify(v)]),
  );
}
