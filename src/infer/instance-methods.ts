/**
 * Instance methods: what the network is trained to predict so touching cells can be told apart,
 * and how its outputs become cells. `watershed` is the plain foreground map split by the distance
 * transform's watershed; `threeClass` (Caicedo et al. 2019, the DSB2018 analysis) predicts
 * background / interior / boundary; `distance` (deep watershed, Bai & Urtasun 2017) predicts the
 * foreground and each cell's normalised distance to its boundary. The user-facing mask is always
 * the union of cells (the foreground map); the extra channels only seed and split it. `starDist`
 * (Schmidt et al. 2018) predicts the foreground, how central each pixel is and its distances to
 * the cell boundary along 32 rays; cells are the polygons of the most central pixels. `centres`
 * (for boxes and points) keeps the task's classes and adds a heatmap of annotated cell centres;
 * each class's pixels split into cells grown from where the heatmap exceeds a seed threshold.
 */
import { labelComponents, labelEachClass, type InstanceLabels } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import { distanceTransform } from '../image/distance.js';
import { removeSmallObjects } from '../image/small-objects.js';
import { smoothInsideMask } from '../image/smooth.js';
import { hMaximaMarkers, markerWatershed } from '../image/watershed.js';
import type { InstanceRule, OutputHead } from '../nn/model.js';
import { fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';
import { SPLIT_DEFAULTS, type SplitOptions, splitTouching } from './instances.js';
import { CENTRE_TARGET_SCALE, RAY_COUNT, RAY_UNIT_PX } from '../data/star-distances.js';
import { starConvexInstances } from './star-convex.js';
import type { ProbabilityMap } from './predict.js';

/** One instance method: the network's output layout and the training target it needs. */
export interface InstanceMethod {
  description: string;
  /** The network's class logits (1 = sigmoid foreground), or 'task': the task's own classes. */
  classes: number | 'task';
  /** Regression channels after the class logits. */
  regressionChannels: number;
  /**
   * The loader's target: plain labels, the three-class labels, labels plus the distance map, or
   * labels plus the centre score and ray lengths (data/star-distances.ts), or the task's labels
   * plus the heatmap of annotated cell centres (data/instance-targets.ts's centreHeatmap).
   */
  target: 'labels' | 'threeClass' | 'distance' | 'starDist' | 'centres';
  /** Cross-entropy weight per target class, when the classes are weighted. */
  classWeights?: readonly number[];
  /** The output heads; a method with the task's classes lists only those after the class head. */
  heads: readonly OutputHead[];
}

export const INSTANCE_METHODS = {
  watershed: {
    description: 'foreground only; touching cells split by the distance-transform watershed',
    classes: 1,
    regressionChannels: 0,
    target: 'labels',
    heads: [{ name: 'foreground', channels: 1, activation: 'sigmoid' }],
  },
  threeClass: {
    description: 'background / interior / boundary softmax (Caicedo et al. 2019); cells grow from interior regions',
    classes: 3,
    regressionChannels: 0,
    target: 'threeClass',
    // The boundary is a thin minority class: without its weight a short run predicts none, and
    // touching cells merge. 1 / 1 / 10 is the weighting of Caicedo et al.'s three-class U-Net.
    classWeights: [1, 1, 10],
    heads: [{ name: 'background,interior,boundary', channels: 3, activation: 'softmax' }],
  },
  distance: {
    description: 'foreground plus normalised distance to the cell boundary (deep watershed, Bai & Urtasun 2017)',
    classes: 1,
    regressionChannels: 1,
    target: 'distance',
    heads: [
      { name: 'foreground', channels: 1, activation: 'sigmoid' },
      { name: 'distance', channels: 1, activation: 'identity' },
    ],
  },
  starDist: {
    description: `foreground, centre score and ${RAY_COUNT} ray distances to the cell boundary; cells are star-convex polygons (StarDist, Schmidt et al. 2018)`,
    classes: 1,
    regressionChannels: 1 + RAY_COUNT,
    target: 'starDist',
    heads: [
      { name: 'foreground', channels: 1, activation: 'sigmoid' },
      { name: 'centre', channels: 1, activation: 'identity' },
      { name: 'rays', channels: RAY_COUNT, activation: 'identity' },
    ],
  },
  centres: {
    description:
      'the classes plus a heatmap of cell centres (Xie et al. 2018; CenterNet, Zhou et al. 2019); each class splits into cells grown from where it is high. For boxes and points',
    classes: 'task',
    regressionChannels: 1,
    target: 'centres',
    heads: [{ name: 'centres', channels: 1, activation: 'identity' }],
  },
} as const satisfies Record<string, InstanceMethod>;
export type InstanceMethodName = keyof typeof INSTANCE_METHODS;

/**
 * The method `--instance-method auto` trains when the masks carry instances (label images,
 * `instances/` folders, Cellpose `_masks`); without instances it is `watershed`. Measured on
 * dsb2018-nuclei at equal epochs (4 epochs, 80 steps, 80 train / 12 validation images of
 * 256×256, depth 3, 8 filters, 96-px patches, a shared 2-core machine), validation AP@0.5:
 * threeClass 0.639, distance 0.626, watershed 0.591. A short run; bench:quality's dsb2018 rows
 * measure the 10-minute default against the watershed baseline. starDist in the 10-minute budget
 * (2026-12-02, working diameter 24 px, AVX-512 bf16): test AP@0.5 0.757–0.766 in 1624 steps
 * against threeClass's 0.819 in 2895 (its ray targets are computed per augmented patch, and it
 * merged more touching nuclei: bench/results/instance-errors-2026-12-02-*.json).
 */
export const AUTO_INSTANCE_METHOD: InstanceMethodName = 'threeClass';

/** `--instance-method` values: the methods and `auto`. */
export const INSTANCE_METHOD_CHOICES = {
  auto: `${AUTO_INSTANCE_METHOD} when the masks carry instances, else watershed`,
  ...Object.fromEntries(Object.entries(INSTANCE_METHODS).map(([name, method]) => [name, method.description])),
} as Record<'auto' | InstanceMethodName, string>;

/**
 * The method to train: `auto` becomes {@link AUTO_INSTANCE_METHOD} for a binary task whose
 * samples carry instance labels, else `watershed`. Trained separation needs a binary task, except
 * `centres`, which takes any task and needs annotated cell centres (boxes and points).
 */
export function resolveInstanceMethod(
  name: string,
  context: { binary: boolean; hasInstances: boolean; hasCellCentres?: boolean },
): InstanceMethodName {
  if (name === 'auto') return context.binary && context.hasInstances ? AUTO_INSTANCE_METHOD : 'watershed';
  const method = instanceMethod(name);
  if (method.target === 'centres') {
    if (!context.hasCellCentres) fail(`--instance-method ${name} learns from box or point annotations; this dataset has masks`);
    return name as InstanceMethodName;
  }
  if (name !== 'watershed' && !context.binary) fail(`--instance-method ${name} needs a binary (cell / background) task`);
  return name as InstanceMethodName;
}

/**
 * A method's output heads for a task's class names (background first): its own, or for a method
 * with the task's classes, the class head (sigmoid foreground for one class, softmax over the
 * classes otherwise) before its own.
 */
export function methodHeads(name: string, classNames: readonly string[]): OutputHead[] {
  const method = instanceMethod(name);
  if (method.classes !== 'task') return [...method.heads];
  const classHead: OutputHead =
    classNames.length <= 2
      ? { name: 'foreground', channels: 1, activation: 'sigmoid' }
      : { name: classNames.join(','), channels: classNames.length, activation: 'softmax' };
  return [classHead, ...method.heads];
}

/** The method for a name, or an error listing the valid names. */
export function instanceMethod(name: string): InstanceMethod {
  return lookup(INSTANCE_METHODS, name, 'instance method');
}

/** What the instance heads give a decoder besides the foreground: see {@link splitHeads}. */
export type SeparationHeads = Pick<ProbabilityMap, 'seeds' | 'rays'>;

/**
 * The network's activated outputs `[C, H, W]` (see `Model.predict`) split into the foreground
 * probability `[H, W]` and the seed map `[H, W]` the method grows cells from: the interior
 * probability (threeClass), the distance channel (distance), the centre score in [0, 1] with the
 * ray lengths `[R, H, W]` in pixels (starDist), or none (watershed).
 */
export function splitHeads(method: string, outputs: Float32Array, plane: number): { foreground: Float32Array } & SeparationHeads {
  const { target } = instanceMethod(method);
  if (target === 'centres') fail(`splitHeads: the ${method} method keeps its class channels; see splitClassHeads`);
  if (target === 'starDist') {
    // Plain loops: Float32Array.from with a map function iterates element by element, far slower.
    const seeds = outputs.slice(plane, 2 * plane);
    for (let i = 0; i < plane; i++) seeds[i] /= CENTRE_TARGET_SCALE;
    const rays = outputs.slice(2 * plane, (2 + RAY_COUNT) * plane);
    for (let i = 0; i < rays.length; i++) rays[i] *= RAY_UNIT_PX;
    return { foreground: outputs.slice(0, plane), seeds, rays };
  }
  if (target === 'threeClass') {
    const foreground = new Float32Array(plane);
    for (let i = 0; i < plane; i++) foreground[i] = 1 - outputs[i];
    return { foreground, seeds: outputs.slice(plane, 2 * plane) };
  }
  if (target === 'distance') return { foreground: outputs.slice(0, plane), seeds: outputs.slice(plane, 2 * plane) };
  return { foreground: outputs.slice(0, plane) };
}

/**
 * The outputs `[K + 1, H, W]` of a method with the task's classes (`centres`) split into the class
 * probabilities `[K, H, W]` and the centre heatmap `[H, W]` the cells grow from.
 */
export function splitClassHeads(
  outputs: Float32Array,
  plane: number,
  classChannels: number,
): { classes: Float32Array; seeds: Float32Array } {
  return { classes: outputs.slice(0, classChannels * plane), seeds: outputs.slice(classChannels * plane, (classChannels + 1) * plane) };
}

/**
 * Cells of a class map `[H, W]` (0 = background) grown per class from a centre heatmap `[H, W]`:
 * each class's pixels are flooded, by {@link seededInstances}, from the regions where the heatmap
 * exceeds `seedThreshold`, so two touching cells of one class part where the heatmap dips between
 * their centres, and a pus cell touching a red cell stays two cells. Ids 1..count.
 */
export function centreSeededInstances(
  labels: Plane<Uint8Array>,
  heatmap: Float32Array,
  options: { seedThreshold: number; minSizePx: number },
): InstanceLabels {
  return labelEachClass(labels, (mask) => seededInstances(mask, heatmap, options));
}

/**
 * Cells of a foreground mask `[H, W]` grown from a seed map `[H, W]`: the connected regions of
 * `seedMap > seedThreshold` inside the mask flood the mask by marker-controlled watershed on the
 * seed map (highest first); mask regions no seed reaches become cells of their own; cells under
 * `minSizePx` are merged into the neighbour they touch most, or dropped. With `splitSeeds`, seed
 * regions that still touch (two interiors joined by a thin neck the boundary class missed) are
 * first split by the distance-transform watershed of the seed mask, as {@link splitTouching}
 * splits a foreground (with `splitWatershed`'s h-maxima height and σ, default its own). Ids 1..count.
 */
export function seededInstances(
  foreground: Plane<Uint8Array>,
  seedMap: Float32Array,
  options: {
    seedThreshold: number;
    minSizePx: number;
    splitSeeds?: boolean;
    splitWatershed?: Pick<SplitOptions, 'hMaxima' | 'smoothingSigmaPx'>;
  },
): InstanceLabels {
  const { width, height, data: mask } = foreground;
  const seedMask = Uint8Array.from(seedMap, (v, i) => (mask[i] !== 0 && v > options.seedThreshold ? 1 : 0));
  const seedPlane = { width, height, data: seedMask };
  // minSizePx 0: a small seed still marks a cell; the size rule applies to the grown cells.
  const seeds = options.splitSeeds
    ? splitTouching(seedPlane, { ...options.splitWatershed, minSizePx: 0 })
    : labelComponents(seedPlane, { connectivity: 4 });
  const elevation = Float32Array.from(seedMap, (v) => Math.max(0, v));
  return growCells(foreground, seeds, elevation, options.minSizePx);
}

/**
 * Cells of a foreground mask `[H, W]` from the peaks of its distance transform (px) weighted by a
 * seed map `[H, W]` in [0, 1] (interior probability or normalised distance): the product is
 * lightly smoothed (Gaussian σ `smoothingSigmaPx` inside the mask, default 1), each h-maximum of height `peakHeightPx`
 * marks a cell, and cells flood the mask by marker-controlled watershed on the product. The
 * product has a valley wherever either cue parts two cells: a neck in the mask's shape, or a
 * boundary the network saw where the shape shows none. Seed regions (`seededInstances`) merge two
 * cells wherever the network missed a stretch of their boundary. Then as {@link seededInstances}:
 * unreached regions are cells, cells under `minSizePx` are merged or dropped. Ids 1..count.
 */
export function peakSeededInstances(
  foreground: Plane<Uint8Array>,
  seedMap: Float32Array,
  options: { peakHeightPx: number; minSizePx: number; smoothingSigmaPx?: number },
): InstanceLabels {
  const { width, height } = foreground;
  const distance = distanceTransform(foreground).data;
  // A mask covering the whole plane has no background to measure from: the seed map alone then.
  const product = Float32Array.from(distance, (d, i) => (Number.isFinite(d) ? d : 1) * Math.max(0, seedMap[i]));
  const elevation = smoothInsideMask({ width, height, data: product }, foreground, { sigmaPx: options.smoothingSigmaPx ?? 1 });
  const seeds = hMaximaMarkers(elevation, foreground, { hMaxima: options.peakHeightPx });
  return growCells(foreground, seeds, elevation.data, options.minSizePx);
}

/** Seeds flooded over the mask by watershed on `elevation`; unreached regions become cells of their own; then the size rule. */
function growCells(foreground: Plane<Uint8Array>, seeds: InstanceLabels, elevation: Float32Array, minSizePx: number): InstanceLabels {
  const { width, height, data: mask } = foreground;
  const grown = markerWatershed({ width, height, data: elevation }, seeds, foreground).data;
  // Foreground regions without a seed: their own cells, numbered after the seeded ones.
  const unreached = Uint8Array.from(grown, (id, i) => (mask[i] !== 0 && id <= 0 ? 1 : 0));
  const rest = labelComponents({ width, height, data: unreached });
  const labels = Int32Array.from(grown, (id, i) => (id > 0 ? id : rest.data[i] > 0 ? seeds.count + rest.data[i] : 0));
  return removeSmallObjects({ width, height, data: labels }, { minSizePx, inPlace: true });
}

/**
 * Cells from a foreground mask and, for trained separation, the seed map (and rays), by the rule's
 * decoder: the distance-transform watershed, star-convex polygons, seeded growth from seed regions,
 * or from peaks. The rule's lengths (peak height, the watershed's h-maxima height and smoothing σ;
 * rays are already stretched) were chosen in the network's pixels; `networkPixelPx` says how many
 * of the mask's pixels one of those spans (a map resampled back from a 2× upscaled image: 0.5).
 * `minSizePx` is taken as given (see `segment`).
 */
export function decodeInstances(
  foreground: Plane<Uint8Array>,
  heads: SeparationHeads,
  rule: Pick<InstanceRule, 'decoder' | 'seedThreshold' | 'minSizePx' | 'splitSeeds' | 'overlapThreshold' | 'peakHeightPx'>,
  networkPixelPx = 1,
): InstanceLabels {
  const { seeds, rays } = heads;
  const { minSizePx } = rule;
  const watershed = {
    hMaxima: SPLIT_DEFAULTS.hMaxima * networkPixelPx,
    smoothingSigmaPx: SPLIT_DEFAULTS.smoothingSigmaPx * networkPixelPx,
  };
  if (rule.decoder === 'watershed' || !seeds) return splitTouching(foreground, { minSizePx, ...watershed });
  if (rule.decoder === 'starDist') {
    if (!rays) fail('the starDist decoder needs the ray heads of a starDist model');
    return starConvexInstances(foreground, seeds, rays, rule);
  }
  if (rule.peakHeightPx !== undefined) {
    const peakHeightPx = rule.peakHeightPx * networkPixelPx;
    return peakSeededInstances(foreground, seeds, { peakHeightPx, minSizePx, smoothingSigmaPx: watershed.smoothingSigmaPx });
  }
  return seededInstances(foreground, seeds, { ...rule, splitWatershed: watershed });
}
