import type { FloatImage } from '../image/types.js';
import type { PlanarImage, PlaneSize } from '../image/plane.js';
import { normalizeImage } from '../data/normalize.js';
import { resampleImage, scaledSize } from '../image/resample.js';
import type { InstanceRule, Model } from '../nn/model.js';
import { nextValidTileSize } from '../nn/unet.js';
import { fail } from '../util/errors.js';
import type { PredictOptionFields } from './options.generated.js';
import { instanceMethod, splitClassHeads, splitHeads } from './instance-methods.js';
import { PREDICT_DEFAULTS } from './options.js';
import { applySymmetry, invertSymmetry, ttaSymmetries } from './symmetry.js';
import { unturnRays } from './star-convex.js';
import { type TilePlan, accumulateTile, blendWeights, finishBlend, planTiles, readTile } from './tiling.js';

/** Options of {@link predictProbabilities}; their docs and defaults are in PREDICT_OPTIONS (./options.ts). */
export interface PredictOptions
  extends Pick<PredictOptionFields, 'tileSize' | 'overlapFraction' | 'contextMargin' | 'tta' | 'batchSize' | 'pixelSizeUm'> {
  /** Called after each batch of tiles. */
  onProgress?: (done: number, total: number) => void;
}

/** Per-pixel class probabilities of one image, `data` `[channels, H, W]` (planar). */
export interface ProbabilityMap extends PlanarImage<Float32Array> {
  /** 1 (foreground probability, binary) or K (softmax). */
  channels: number;
  /**
   * Models trained for separation (`metadata.instances`): the seed map `[H, W]` cells grow from
   * (interior probability or normalised distance), and the rule that decodes it. `data` is then
   * the foreground probability (the union of cells), one channel.
   */
  seeds?: Float32Array;
  /** starDist models: each pixel's distance (px) to its cell's boundary along R rays, `[R, H, W]` (see `rayAngles`). */
  rays?: Float32Array;
  instanceRule?: InstanceRule;
}

/** The TTA mode of a `tta` option: `true` means every symmetry of the square. */
export function ttaMode(tta: boolean | string | undefined): string {
  return typeof tta === 'string' ? tta : tta ? 'dihedral' : 'none';
}

/** Default input pixels per engine call during prediction (see {@link PredictOptions.batchSize}). */
const MAX_BATCH_PIXELS = 512 * 512;

/** The tile plan `predictProbabilities` uses for an image of this size. */
export function planImageTiles(model: Model, size: PlaneSize, options: PredictOptions = {}): TilePlan {
  const { width, height } = size;
  const config = model.config;
  const alignment = 2 ** config.depth;
  const overlapFraction = options.overlapFraction ?? PREDICT_DEFAULTS.overlapFraction;
  const wanted = options.tileSize ?? PREDICT_DEFAULTS.tileSize;
  if (config.padding === 'valid') {
    // The network's own shrinkage is the context: output = input − 2·margin.
    const inputSize = nextValidTileSize(Math.min(wanted, Math.max(width, height) + 2 * validMargin(model, wanted)), config);
    const outputSize = model.outputSize(inputSize)!;
    return planTiles({ width, height, tileSize: inputSize, overlapFraction, outputMargin: (inputSize - outputSize) / 2, alignment });
  }
  // Default context: 32 px, but never more than an eighth of the tile, so small tiles stay useful.
  const defaultContext = Math.min(32, Math.max(alignment, Math.floor(wanted / 8)));
  const context = Math.ceil((options.contextMargin ?? defaultContext) / alignment) * alignment;
  // One tile when the whole image plus its context fits in the requested tile plus that context:
  // a 512² image at the default 512 is one 576² tile, not four overlapping 512² ones (3× the work).
  const whole = nextValidTileSize(Math.max(width, height) + 2 * context, config);
  const inputSize = whole <= wanted + 2 * context ? whole : nextValidTileSize(Math.max(wanted, 2 * context + alignment), config);
  return planTiles({ width, height, tileSize: inputSize, overlapFraction, outputMargin: context, alignment });
}

function validMargin(model: Model, size: number): number {
  const input = nextValidTileSize(size, model.config);
  return (input - model.outputSize(input)!) / 2;
}

/**
 * The factor an image of `options.pixelSizeUm` is resampled by to the model's pixel size (image
 * µm/px ÷ model µm/px); 1 unless both are known.
 */
export function pixelSizeScale(model: Model, options: Pick<PredictOptions, 'pixelSizeUm'>): number {
  return options.pixelSizeUm && model.metadata.pixelSizeUm ? options.pixelSizeUm / model.metadata.pixelSizeUm : 1;
}

/**
 * Class probabilities of an image of any size by overlap-tile inference: mirror padding at the
 * borders, Gaussian-weighted blending of overlapping tiles, the unpadded net's output offsets,
 * optional flip TTA. Memory grows with the image, not with the tile count.
 * @param image `[H, W, C]` as `toFloatImage` gives it, finite; the model's normalisation is applied
 *   here, from statistics of the whole image (tiles never change it).
 */
export async function predictProbabilities(model: Model, image: FloatImage, options: PredictOptions = {}): Promise<ProbabilityMap> {
  checkImageChannels(model, image);
  const scale = pixelSizeScale(model, options);
  if (Math.abs(scale - 1) > 1e-6) {
    const [width, height] = scaledSize(image.width, image.height, scale);
    const scaled = await predictProbabilities(model, resampleImage(image, { width, height }), { ...options, pixelSizeUm: undefined });
    return resampleProbabilities(scaled, image);
  }
  return probabilitiesOfOutputs(model, await predictOutputs(model, image, options));
}

/**
 * The probability map of {@link predictOutputs}' activated heads: the outputs themselves, or for a
 * model trained for separation its foreground `[1, H, W]` with the seed map and instance rule (for
 * `centres`, its class probabilities `[K, H, W]` with the centre heatmap as the seed map).
 */
export function probabilitiesOfOutputs(model: Model, outputs: ProbabilityMap): ProbabilityMap {
  const rule = model.metadata.instances;
  if (!rule || rule.method === 'watershed') return outputs;
  const { width, height } = outputs;
  if (instanceMethod(rule.method).classes === 'task') {
    const channels = model.config.classes;
    const { classes, seeds } = splitClassHeads(outputs.data, width * height, channels);
    return { width, height, channels, data: classes, seeds, instanceRule: rule };
  }
  const { foreground, seeds, rays } = splitHeads(rule.method, outputs.data, width * height);
  return { width, height, channels: 1, data: foreground, seeds, ...(rays ? { rays } : {}), instanceRule: rule };
}

function checkImageChannels(model: Model, image: FloatImage): void {
  const { inChannels } = model.config;
  if (image.channels !== inChannels) {
    const chosen = model.metadata.channels ? ` (channels ${model.metadata.channels.join(',')} of its training files)` : '';
    const convert =
      inChannels === 3 && image.channels === 1 ? ', or convert it to RGB' : inChannels === 1 ? ', or convert it to grayscale' : '';
    fail(
      `the model takes ${inChannels}-channel images${chosen} but this image has ${image.channels} channel${image.channels === 1 ? '' : 's'}; choose ${inChannels} of its channels with --channels${convert}`,
    );
  }
}

/**
 * The activated outputs of every head of the network, `[C_out, H, W]` planar (class probabilities,
 * then any regression channels: see `metadata.instances.heads`), by the overlap-tile inference of
 * {@link predictProbabilities}, at the image's own scale (no pixel-size resampling).
 * @param image `[H, W, C]` as for {@link predictProbabilities}.
 */
export async function predictOutputs(model: Model, image: FloatImage, options: PredictOptions = {}): Promise<ProbabilityMap> {
  checkImageChannels(model, image);
  const { inChannels } = model.config;
  const normalized: FloatImage = { ...image, data: normalizeImage(image, model.metadata.normalization) };
  const plan = planImageTiles(model, image, options);
  const outChannels = model.outputChannels;
  const accumulator = new Float32Array(outChannels * image.width * image.height);
  const weightSum = new Float32Array(image.width * image.height);
  const weights = blendWeights(plan.outputSize, plan.outputSize);
  const symmetries = ttaSymmetries(ttaMode(options.tta ?? model.metadata.tta));
  const batchSize = Math.max(1, options.batchSize ?? Math.floor(MAX_BATCH_PIXELS / plan.inputSize ** 2));
  const tileValues = inChannels * plan.inputSize * plan.inputSize;
  // The padded net's output is as large as its input: its context margin is cropped off here.
  const networkOutput = model.outputSize(plan.inputSize)!;
  const netValues = outChannels * networkOutput * networkOutput;
  const crop = (networkOutput - plan.outputSize) / 2;
  const input = new Float32Array(batchSize * tileValues);
  const tileBuffer = new Float32Array(tileValues);
  // Work items: every (tile, symmetry) pair, run in batches.
  const items = plan.tiles.flatMap((tile) => symmetries.map((symmetry) => ({ tile, symmetry })));
  // Ray heads point in directions, which a turned tile turns too: reorder them when turning back.
  const rays = rayHeadOf(model);
  for (let start = 0; start < items.length; start += batchSize) {
    const batch = items.slice(start, start + batchSize);
    batch.forEach(({ tile, symmetry }, i) => {
      const planar = readTile(normalized, { x: tile.x, y: tile.y, width: plan.inputSize, height: plan.inputSize }, tileBuffer);
      input.set(applySymmetry(planar, inChannels, plan.inputSize, plan.inputSize, symmetry), i * tileValues);
    });
    const shape = [batch.length, inChannels, plan.inputSize, plan.inputSize] as const;
    const probabilities = await model.predict(input.subarray(0, batch.length * tileValues), shape);
    batch.forEach(({ tile, symmetry }, i) => {
      const out = invertSymmetry(
        probabilities.subarray(i * netValues, (i + 1) * netValues),
        outChannels,
        networkOutput,
        networkOutput,
        symmetry,
      );
      if (rays) unturnRays(out, networkOutput * networkOutput, rays.offset, rays.channels, symmetry);
      accumulateTile(accumulator, weightSum, centerCrop(out, outChannels, networkOutput, crop), weights, tile, plan);
    });
    options.onProgress?.(Math.min(items.length, start + batchSize), items.length);
  }
  return { width: image.width, height: image.height, channels: outChannels, data: finishBlend(accumulator, weightSum) };
}

/** Where a model's ray head sits among its output channels, if it has one. */
function rayHeadOf(model: Model): { offset: number; channels: number } | undefined {
  const heads = model.metadata.instances?.heads ?? [];
  let offset = 0;
  for (const head of heads) {
    if (head.name === 'rays') return { offset, channels: head.channels };
    offset += head.channels;
  }
  return undefined;
}

/** The centre `size − 2·margin` square of a planar `[C, size, size]` array. */
function centerCrop(data: Float32Array, channels: number, size: number, margin: number): Float32Array {
  if (margin === 0) return data;
  const inner = size - 2 * margin;
  const out = new Float32Array(channels * inner * inner);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < inner; y++) {
      const from = (c * size + y + margin) * size + margin;
      out.set(data.subarray(from, from + inner), (c * inner + y) * inner);
    }
  }
  return out;
}

/** Bilinear/area resampling of a planar probability map to `size`. */
export function resampleProbabilities(map: ProbabilityMap, size: PlaneSize): ProbabilityMap {
  const { width, height } = size;
  const data = resamplePlanar(map.data, map.channels, map, size);
  if (!map.seeds) return { width, height, channels: map.channels, data };
  const seeds = resampleImage({ width: map.width, height: map.height, channels: 1, data: map.seeds }, size).data;
  if (!map.rays) return { width, height, channels: map.channels, data, seeds, instanceRule: map.instanceRule };
  // Ray lengths are in the map's pixels: resampled, they stretch with it.
  const stretch = (width / map.width + height / map.height) / 2;
  const rays = resamplePlanar(map.rays, map.rays.length / (map.width * map.height), map, size);
  for (let i = 0; i < rays.length; i++) rays[i] *= stretch;
  return { width, height, channels: map.channels, data, seeds, rays, instanceRule: map.instanceRule };
}

/** A planar `[C, H, W]` array resampled to `size` (through the interleaved layout `resampleImage` takes). */
function resamplePlanar(planar: Float32Array, channels: number, from: PlaneSize, size: PlaneSize): Float32Array {
  const plane = from.width * from.height;
  const target = size.width * size.height;
  const interleaved = new Float32Array(planar.length);
  for (let k = 0; k < channels; k++) for (let i = 0; i < plane; i++) interleaved[i * channels + k] = planar[k * plane + i];
  const resized = resampleImage({ width: from.width, height: from.height, channels, data: interleaved }, size);
  const out = new Float32Array(channels * target);
  for (let k = 0; k < channels; k++) for (let i = 0; i < target; i++) out[k * target + i] = resized.data[i * channels + k];
  return out;
}

/**
 * Class labels from probabilities: foreground where p > threshold (binary), else the argmax.
 * @returns `[H, W]` class indices.
 */
export function probabilitiesToLabels(map: ProbabilityMap, threshold: number): Uint8Array {
  const plane = map.width * map.height;
  const labels = new Uint8Array(plane);
  if (map.channels === 1) {
    for (let i = 0; i < plane; i++) labels[i] = map.data[i] > threshold ? 1 : 0;
    return labels;
  }
  for (let i = 0; i < plane; i++) {
    let best = 0;
    for (let k = 1; k < map.channels; k++) if (map.data[k * plane + i] > map.data[best * plane + i]) best = k;
    labels[i] = best;
  }
  return labels;
}
