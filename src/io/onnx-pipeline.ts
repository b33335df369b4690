/**
 * The pre- and post-processing stages of a self-contained ONNX export, as graph fragments around
 * the network: raw pixels → floats (the intensity-scaling rule of io/image/convert.ts) → the
 * model's normalisation (data/normalize.ts) → mirror padding to a size the network takes, and
 * after it: crop back to the image, one activation per output head, the decision rule's mask.
 *
 * Each stage repeats pyocyte's own arithmetic step by step, in float64 where pyocyte computes in
 * JavaScript numbers, so onnxruntime gives pyocyte's values to float32 rounding.
 */
import type { Normalization } from '../nn/types.js';
import type { OnnxGraphBuilder } from './onnx-proto.js';

/** The element types the exported graph takes as its image input. */
export const ONNX_INPUT_TYPES = {
  uint8: '8-bit images as stored (PNG, JPEG, 8-bit TIFF)',
  float32: 'any other depth (16-bit, float TIFF) as float32 values; 8-bit values as floats work too',
} as const;
export type OnnxInputType = keyof typeof ONNX_INPUT_TYPES;

/** Activations an output head may have. */
export const HEAD_ACTIVATIONS = {
  sigmoid: 'per channel, 1 / (1 + e^−x)',
  softmax: 'over the head’s channels (axis 1)',
  identity: 'the raw value (regression heads such as a distance map)',
} as const;
export type HeadActivation = keyof typeof HEAD_ACTIVATIONS;

/** One named output of the graph: channels `[first, end)` of the network's last layer and their activation. */
export interface OutputHead {
  name: string;
  first: number;
  end: number;
  activation: HeadActivation;
}

/**
 * How the graph's `mask` is decided from the class head: one probability above a threshold, the
 * argmax over classes, or (a binary task whose class head is background / interior / boundary)
 * `1 − p(background)` above a threshold, as pyocyte draws the union of cells.
 */
export type DecisionRule = { kind: 'threshold'; threshold: number } | { kind: 'argmax' } | { kind: 'notBackground'; threshold: number };

/** Percentiles are estimated from at most this many pixels per channel (data/normalize.ts). */
export const PERCENTILE_SAMPLE = 1 << 20;
/** A channel whose percentile range is below this maps to 0 (data/normalize.ts). */
const MIN_RANGE = 1e-6;
/** Whole-number images are divided by 2^k − 1 for the smallest k of 8, 10, 12, … holding their maximum. */
const WHOLE_NUMBER_RANGES = Array.from({ length: 28 }, (_, i) => 2 ** (8 + 2 * i) - 1);

/** Names one graph value per call: `prefix.0`, `prefix.1`, … */
class Names {
  private count = 0;
  constructor(private readonly prefix: string) {}
  next(what: string): string {
    return `${this.prefix}.${what}.${this.count++}`;
  }
}

/** Adds one node with a single output and returns that output's name. */
function op(g: OnnxGraphBuilder, names: Names, type: string, inputs: string[], attributes = {}): string {
  const out = names.next(type.toLowerCase());
  g.addNode(type, inputs, [out], attributes, out);
  return out;
}

/** A constant int64 or double initializer, named once. */
function constant(g: OnnxGraphBuilder, name: string, values: number[], type: 'int64' | 'double', dims?: number[]): string {
  if (!g.initializers.some((t) => t.name === name)) {
    if (type === 'int64') g.addInt64Initializer(name, values);
    else g.addDoubleInitializer(name, values, dims);
  }
  return name;
}

/** ReduceMin/ReduceMax over axes 1–3, keeping dims: the axes are an attribute before opset 18, an input from it. */
function reduceImage(g: OnnxGraphBuilder, names: Names, type: 'ReduceMin' | 'ReduceMax', x: string, opsetVersion: number): string {
  if (opsetVersion < 18) return op(g, names, type, [x], { axes: [1, 2, 3], keepdims: 1 });
  return op(g, names, type, [x, constant(g, 'const.axes123', [1, 2, 3], 'int64')], { keepdims: 1 });
}

const DOUBLE = 11;
const FLOAT = 1;
const INT64 = 7;
const UINT8 = 2;

/**
 * Raw pixels `[N, C, H, W]` to the floats pyocyte's `toFloatImage` gives: uint8 ÷ 255; other
 * values by the model's scaling rule, per image (see INTENSITY_SCALINGS in io/image/convert.ts).
 * With 'bitDepth' (model files from before the range rule), float32 input is taken as 16-bit.
 * @returns a float32 `[N, C, H, W]` value.
 */
export function addIntensityScaling(
  g: OnnxGraphBuilder,
  input: string,
  options: { inputType: OnnxInputType; scaling: 'range' | 'bitDepth'; opsetVersion: number },
): string {
  const names = new Names('scale');
  const x64 = op(g, names, 'Cast', [input], { to: DOUBLE });
  if (options.inputType === 'uint8' || options.scaling === 'bitDepth') {
    const divisor = options.inputType === 'uint8' ? 255 : 65535;
    const scaled = op(g, names, 'Mul', [x64, constant(g, `const.inverse${divisor}`, [1 / divisor], 'double', [])]);
    return op(g, names, 'Cast', [scaled], { to: FLOAT });
  }
  // rangeScaling: the finite minimum and maximum, and whether every value is a whole number.
  const low = reduceImage(g, names, 'ReduceMin', input, options.opsetVersion);
  const high = reduceImage(g, names, 'ReduceMax', input, options.opsetVersion);
  const isWhole = op(g, names, 'Cast', [op(g, names, 'Equal', [input, op(g, names, 'Round', [input])])], { to: FLOAT });
  const whole = op(g, names, 'Cast', [reduceImage(g, names, 'ReduceMin', isWhole, options.opsetVersion)], { to: 9 });
  const low64 = op(g, names, 'Cast', [low], { to: DOUBLE });
  const high64 = op(g, names, 'Cast', [high], { to: DOUBLE });
  const zero = constant(g, 'const.zero', [0], 'double', []);
  const one = constant(g, 'const.one', [1], 'double', []);
  const infinity = constant(g, 'const.infinity', [Number.POSITIVE_INFINITY], 'double', []);
  // Negative values: the minimum–maximum maps to 0–1 (a constant image to 0).
  const span = op(g, names, 'Sub', [high64, low64]);
  const spanScale = op(g, names, 'Where', [op(g, names, 'Greater', [span, zero]), op(g, names, 'Div', [one, span]), zero]);
  // Whole numbers: ÷ (2^k − 1), the smallest of the ranges holding the maximum.
  const ranges = constant(g, 'const.wholeRanges', WHOLE_NUMBER_RANGES, 'double', [1, 1, 1, WHOLE_NUMBER_RANGES.length]);
  const holding = op(g, names, 'Where', [op(g, names, 'GreaterOrEqual', [ranges, high64]), ranges, infinity]);
  const range = reduceImageLast(g, names, holding, options.opsetVersion);
  const wholeScale = op(g, names, 'Div', [one, range]);
  // Other values ≥ 0: kept within [0, 1], else ÷ the maximum.
  const fractionScale = op(g, names, 'Where', [op(g, names, 'LessOrEqual', [high64, one]), one, op(g, names, 'Div', [one, high64])]);
  const negative = op(g, names, 'Less', [low64, zero]);
  const offset = op(g, names, 'Where', [negative, low64, zero]);
  const scale = op(g, names, 'Where', [negative, spanScale, op(g, names, 'Where', [whole, wholeScale, fractionScale])]);
  const scaled = op(g, names, 'Mul', [op(g, names, 'Sub', [x64, offset]), scale]);
  return op(g, names, 'Cast', [scaled], { to: FLOAT });
}

/** ReduceMin over the last axis of a `[N, 1, 1, R]` value, keeping dims. */
function reduceImageLast(g: OnnxGraphBuilder, names: Names, x: string, opsetVersion: number): string {
  if (opsetVersion < 18) return op(g, names, 'ReduceMin', [x], { axes: [3], keepdims: 1 });
  return op(g, names, 'ReduceMin', [x, constant(g, 'const.axis3', [3], 'int64')], { keepdims: 1 });
}

/** `shape[axis]` of a value as a 1-D int64 `[1]`. */
function dimension(g: OnnxGraphBuilder, names: Names, shape: string, axis: number): string {
  return op(g, names, 'Slice', [
    shape,
    constant(g, `const.i${axis}`, [axis], 'int64'),
    constant(g, `const.i${axis + 1}`, [axis + 1], 'int64'),
  ]);
}

/**
 * The `rank` percentile of the sorted last axis of `sorted` `[N, C, n]`, interpolated linearly
 * between order statistics as `percentileOfSorted` does, in float64: `[N, C, 1]`.
 */
function percentileOfSorted(g: OnnxGraphBuilder, names: Names, sorted: string, lastIndex: string, rank: number): string {
  const position = op(g, names, 'Mul', [
    op(g, names, 'Cast', [lastIndex], { to: DOUBLE }),
    constant(g, `const.rank${rank}`, [rank / 100], 'double'),
  ]);
  // Cast truncates, which is the floor for a position ≥ 0.
  const below = op(g, names, 'Cast', [position], { to: INT64 });
  const above = op(g, names, 'Min', [op(g, names, 'Add', [below, constant(g, 'const.i1', [1], 'int64')]), lastIndex]);
  const lowValue = op(g, names, 'Cast', [op(g, names, 'Gather', [sorted, below], { axis: 2 })], { to: DOUBLE });
  const highValue = op(g, names, 'Cast', [op(g, names, 'Gather', [sorted, above], { axis: 2 })], { to: DOUBLE });
  const fraction = op(g, names, 'Sub', [position, op(g, names, 'Cast', [below], { to: DOUBLE })]);
  return op(g, names, 'Add', [lowValue, op(g, names, 'Mul', [op(g, names, 'Sub', [highValue, lowValue]), fraction])]);
}

/**
 * The model's normalisation of float images `[N, C, H, W]`, per image as `normalizeImage` does:
 * percentile (each image's own low and high percentile per channel, from an even-strided sample
 * of at most 2^20 pixels, a constant channel → 0) or the stored per-channel mean and std.
 * @returns a float32 `[N, C, H, W]` value.
 */
export function addNormalization(g: OnnxGraphBuilder, x: string, normalization: Normalization): string {
  const names = new Names('normalize');
  const x64 = op(g, names, 'Cast', [x], { to: DOUBLE });
  let offset: string;
  let scale: string;
  if (normalization.kind === 'meanStd') {
    const channels = normalization.mean.length;
    offset = constant(g, 'normalize.mean', normalization.mean, 'double', [1, channels, 1, 1]);
    scale = constant(
      g,
      'normalize.inverseStd',
      normalization.std.map((s) => 1 / s),
      'double',
      [1, channels, 1, 1],
    );
  } else {
    const flat = op(g, names, 'Reshape', [x, constant(g, 'const.flatShape', [0, 0, -1], 'int64')]);
    const pixels = dimension(g, names, op(g, names, 'Shape', [flat]), 2);
    const sampleSize = constant(g, 'const.percentileSample', [PERCENTILE_SAMPLE], 'int64');
    const stride = op(g, names, 'Div', [
      op(g, names, 'Add', [pixels, constant(g, 'const.percentileSampleMinus1', [PERCENTILE_SAMPLE - 1], 'int64')]),
      sampleSize,
    ]);
    const all = constant(g, 'const.int64Max', [Number.MAX_SAFE_INTEGER], 'int64');
    const sample = op(g, names, 'Slice', [flat, constant(g, 'const.i0', [0], 'int64'), all, constant(g, 'const.i2', [2], 'int64'), stride]);
    const count = dimension(g, names, op(g, names, 'Shape', [sample]), 2);
    const sortedName = names.next('topk');
    g.addNode('TopK', [sample, count], [sortedName, `${sortedName}.indices`], { axis: 2, largest: 0, sorted: 1 }, sortedName);
    const lastIndex = op(g, names, 'Sub', [count, constant(g, 'const.i1', [1], 'int64')]);
    const low = percentileOfSorted(g, names, sortedName, lastIndex, normalization.low);
    const high = percentileOfSorted(g, names, sortedName, lastIndex, normalization.high);
    const lastAxis = constant(g, 'const.i3', [3], 'int64');
    offset = op(g, names, 'Unsqueeze', [low, lastAxis]);
    const range = op(g, names, 'Unsqueeze', [op(g, names, 'Sub', [high, low]), lastAxis]);
    const usable = op(g, names, 'Greater', [range, constant(g, 'const.minRange', [MIN_RANGE], 'double', [])]);
    const one = constant(g, 'const.one', [1], 'double', []);
    scale = op(g, names, 'Where', [usable, op(g, names, 'Div', [one, range]), constant(g, 'const.zero', [0], 'double', [])]);
  }
  return op(g, names, 'Cast', [op(g, names, 'Mul', [op(g, names, 'Sub', [x64, offset]), scale])], { to: FLOAT });
}

/** Where the network's input starts before the image, and which sizes it takes. */
export interface PaddingPlan {
  /** Mirrored pixels before the image's first row and column (pyocyte's tile context, or the unpadded net's margin). */
  lead: number;
  /** Pixels the network loses on each side (0 for 'same' padding). */
  outputMargin: number;
  /** Valid input sizes: `smallest + k · step`. */
  smallest: number;
  step: number;
}

/** Mirror indices `[−lead, size − lead)` reflected into `[0, n)` (numpy 'reflect', as `mirrorIndex`). */
function mirrorIndices(g: OnnxGraphBuilder, names: Names, n: string, size: string, lead: number): string {
  const scalar = constant(g, 'const.scalarShape', [], 'int64');
  const start = constant(g, `const.minusLead`, [-lead], 'int64');
  const end = op(g, names, 'Sub', [size, constant(g, 'const.lead', [lead], 'int64')]);
  const indices = op(g, names, 'Range', [
    op(g, names, 'Reshape', [start, scalar]),
    op(g, names, 'Reshape', [end, scalar]),
    op(g, names, 'Reshape', [constant(g, 'const.i1', [1], 'int64'), scalar]),
  ]);
  const last = op(g, names, 'Sub', [n, constant(g, 'const.i1', [1], 'int64')]);
  const period = op(g, names, 'Max', [op(g, names, 'Add', [last, last]), constant(g, 'const.i1', [1], 'int64')]);
  const folded = op(g, names, 'Mod', [indices, period], { fmod: 0 });
  return op(g, names, 'Sub', [last, op(g, names, 'Abs', [op(g, names, 'Sub', [folded, last])])]);
}

/**
 * Mirror-pads `[N, C, H, W]` to the square tile pyocyte's `predict` would use for a one-tile
 * image: side `S = smallest + k · step` ≥ max(H, W) + 2 · lead, starting `lead` pixels before it.
 * @returns the padded value and the image's height and width as 1-D int64 values (for the crop).
 */
export function addMirrorPadding(g: OnnxGraphBuilder, x: string, plan: PaddingPlan): { padded: string; height: string; width: string } {
  const names = new Names('pad');
  const shape = op(g, names, 'Shape', [x]);
  const height = dimension(g, names, shape, 2);
  const width = dimension(g, names, shape, 3);
  const needed = op(g, names, 'Add', [op(g, names, 'Max', [height, width]), constant(g, 'const.twoLead', [2 * plan.lead], 'int64')]);
  const beyond = op(g, names, 'Max', [
    op(g, names, 'Sub', [needed, constant(g, 'const.smallest', [plan.smallest], 'int64')]),
    constant(g, 'const.i0', [0], 'int64'),
  ]);
  const step = constant(g, 'const.step', [plan.step], 'int64');
  const steps = op(g, names, 'Div', [op(g, names, 'Add', [beyond, constant(g, 'const.stepMinus1', [plan.step - 1], 'int64')]), step]);
  const size = op(g, names, 'Add', [constant(g, 'const.smallest', [plan.smallest], 'int64'), op(g, names, 'Mul', [steps, step])]);
  const rows = op(g, names, 'Gather', [x, mirrorIndices(g, names, height, size, plan.lead)], { axis: 2 });
  const padded = op(g, names, 'Gather', [rows, mirrorIndices(g, names, width, size, plan.lead)], { axis: 3 });
  return { padded, height, width };
}

/** Crops the network's output `[N, K, S − 2m, S − 2m]` back to the image `[N, K, H, W]`. */
export function addCrop(g: OnnxGraphBuilder, logits: string, plan: PaddingPlan, image: { height: string; width: string }): string {
  const names = new Names('crop');
  const start = plan.lead - plan.outputMargin;
  const starts = constant(g, 'const.cropStarts', [start, start], 'int64');
  const offset = constant(g, 'const.cropStart', [start], 'int64');
  const ends = op(g, names, 'Concat', [op(g, names, 'Add', [image.height, offset]), op(g, names, 'Add', [image.width, offset])], {
    axis: 0,
  });
  return op(g, names, 'Slice', [logits, starts, ends, constant(g, 'const.axes23', [2, 3], 'int64')]);
}

/**
 * One graph output per head (its channels of `logits` through its activation), and `mask`
 * `[N, 1, H, W]` uint8 from the class head (`classHead`, normally 'probabilities') by the decision rule.
 */
export function addOutputStage(
  g: OnnxGraphBuilder,
  logits: string,
  heads: readonly OutputHead[],
  rule: DecisionRule,
  classHead: string,
): void {
  const names = new Names('head');
  const wholeHead = heads.length === 1;
  for (const head of heads) {
    const slice = wholeHead
      ? logits
      : op(g, names, 'Slice', [
          logits,
          constant(g, `${head.name}.first`, [head.first], 'int64'),
          constant(g, `${head.name}.end`, [head.end], 'int64'),
          constant(g, 'const.axis1', [1], 'int64'),
        ]);
    const activation = { sigmoid: 'Sigmoid', softmax: 'Softmax', identity: 'Identity' }[head.activation];
    g.addNode(activation, [slice], [head.name], activation === 'Softmax' ? { axis: 1 } : {}, head.name);
  }
  // Compared in float64, as JavaScript compares a float32 probability with the threshold.
  const above = (probability: string, threshold: number) =>
    op(g, names, 'Greater', [
      op(g, names, 'Cast', [probability], { to: DOUBLE }),
      constant(g, 'decision.threshold', [threshold], 'double', []),
    ]);
  let decided: string;
  if (rule.kind === 'threshold') decided = above(classHead, rule.threshold);
  else if (rule.kind === 'argmax') decided = op(g, names, 'ArgMax', [classHead], { axis: 1, keepdims: 1, select_last_index: 0 });
  else {
    // 1 − p(background) in float32, as pyocyte stores the foreground map before comparing.
    const background = op(g, names, 'Slice', [
      classHead,
      constant(g, 'background.first', [0], 'int64'),
      constant(g, 'background.end', [1], 'int64'),
      constant(g, 'const.axis1', [1], 'int64'),
    ]);
    if (!g.initializers.some((t) => t.name === 'const.one.float')) g.addInitializer('const.one.float', [], Float32Array.of(1));
    decided = above(op(g, names, 'Sub', ['const.one.float', background]), rule.threshold);
  }
  g.addNode('Cast', [decided], ['mask'], { to: UINT8 }, 'mask');
}
