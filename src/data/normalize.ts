import { PyocyteError } from '../util/errors.js';
import { checkName } from '../util/registry.js';
import type { IntensityScaling, Normalization } from '../nn/types.js';
import type { FloatImage } from '../image/types.js';

/**
 * Intensity normalisation, stored in the model file so prediction repeats it exactly.
 * - `percentile` (default): each image's own low/high percentiles per channel map to 0/1, as
 *   CSBDeep's `normalize` (StarDist) and Cellpose do (1 and 99.8 by default). Bit depth, camera
 *   range, exposure and stain strength stop mattering: a 12-bit image in a 16-bit file gets the
 *   same network input as its 8-bit copy. The percentiles are of the whole image, so tiles and
 *   training patches of one image share them.
 * - `meanStd`: one per-channel mean and standard deviation over all training pixels (nnU-Net's
 *   default for non-CT images); good when every image is acquired the same way.
 */
export const NORMALIZATIONS = {
  percentile: "each image's own low–high percentiles (default 1–99.8) map to 0–1, per channel",
  meanStd: 'per-channel mean/std of the training images',
} as const;
export type NormalizationKind = keyof typeof NORMALIZATIONS;

/** Percentile ranks of the default normalisation (CSBDeep's and StarDist's). */
export const DEFAULT_PERCENTILES = { low: 1, high: 99.8 } as const;

/** Percentiles are estimated from at most this many pixels per channel (an even stride). */
const PERCENTILE_SAMPLE = 1 << 20;
/** Below this, a channel is constant and cannot be standardised. */
const MIN_STD = 1e-6;

/** Options of {@link computeNormalization}. */
export interface NormalizationOptions {
  /** Default 'percentile'. */
  kind?: NormalizationKind;
  /** Percentile ranks, 0 ≤ low < high ≤ 100; default 1 and 99.8. */
  low?: number;
  high?: number;
  /** meanStd: how the images' stored values were scaled to floats, recorded in the model. Default 'range'. */
  intensityScaling?: IntensityScaling;
}

/**
 * Computes the normalisation of a training set.
 * @param images training images `[H, W, C]`, all with the same channel count (unused for percentile).
 */
export function computeNormalization(images: readonly FloatImage[], options: NormalizationOptions = {}): Normalization {
  const kind = checkName(NORMALIZATIONS, options.kind ?? 'percentile', 'normalization');
  if (kind === 'percentile') {
    const low = options.low ?? DEFAULT_PERCENTILES.low;
    const high = options.high ?? DEFAULT_PERCENTILES.high;
    if (!(low >= 0 && high <= 100 && low < high)) {
      throw new PyocyteError(`percentile normalisation needs 0 ≤ low < high ≤ 100, got low=${low}, high=${high}`);
    }
    return { kind, low, high };
  }
  if (images.length === 0) throw new PyocyteError(`cannot compute a normalisation from no images`);
  const channels = images[0].channels;
  const sums = new Float64Array(channels);
  let pixels = 0;
  for (const image of images) {
    if (image.channels !== channels) {
      throw new PyocyteError(`training images must all have the same number of channels; found ${channels} and ${image.channels}`);
    }
    const data = image.data;
    for (let i = 0; i < data.length; i += channels) for (let c = 0; c < channels; c++) sums[c] += data[i + c];
    pixels += image.width * image.height;
  }
  const mean = Array.from(sums, (s) => s / pixels);
  const squares = new Float64Array(channels);
  for (const image of images) {
    const data = image.data;
    for (let i = 0; i < data.length; i += channels) {
      for (let c = 0; c < channels; c++) {
        const d = data[i + c] - mean[c];
        squares[c] += d * d;
      }
    }
  }
  const std = Array.from(squares, (s) => Math.sqrt(s / pixels));
  std.forEach((s, c) => {
    if (!Number.isFinite(s) || !Number.isFinite(mean[c])) {
      throw new PyocyteError(`channel ${c} of the training images holds NaN or infinite values; fill them or leave those images out`);
    }
    if (s < MIN_STD) {
      throw new PyocyteError(
        `channel ${c} of the training images is constant (${mean[c].toFixed(4)} everywhere); check the images, or use percentile normalisation`,
      );
    }
  });
  return { kind, mean, std, intensityScaling: options.intensityScaling ?? 'range' };
}

/** Linear interpolation between order statistics (numpy's default), on sorted values. */
export function percentileOfSorted(sorted: ArrayLike<number>, rank: number): number {
  const position = (rank / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

// Validation predicts the same images every epoch: their percentiles are computed once.
const percentileCache = new WeakMap<Float32Array, Map<string, [number, number][]>>();

/**
 * The `low` and `high` percentile of each channel of an image (over the whole image; cached per
 * image data array).
 * @returns `[[low, high] per channel]`.
 */
export function channelPercentiles(image: FloatImage, low: number, high: number): [number, number][] {
  const { channels, data } = image;
  const key = `${low},${high},${channels}`;
  const cached = percentileCache.get(data)?.get(key);
  if (cached) return cached;
  const pixels = image.width * image.height;
  const stride = Math.max(1, Math.ceil(pixels / PERCENTILE_SAMPLE));
  const result: [number, number][] = [];
  for (let c = 0; c < channels; c++) {
    const sample = new Float32Array(Math.ceil(pixels / stride));
    for (let p = 0, k = 0; p < pixels; p += stride) sample[k++] = data[p * channels + c];
    sample.sort();
    result.push([percentileOfSorted(sample, low), percentileOfSorted(sample, high)]);
  }
  if (!percentileCache.has(data)) percentileCache.set(data, new Map());
  percentileCache.get(data)!.set(key, result);
  return result;
}

/**
 * The per-channel map `(v − offset[c]) · scale[c]` a normalisation applies to one whole image.
 * Training patches, validation and prediction tiles of an image all use this one map.
 */
export function normalizationAffine(image: FloatImage, normalization: Normalization): { offset: Float64Array; scale: Float64Array } {
  const { channels } = image;
  if (normalization.kind === 'meanStd') {
    if (normalization.mean.length !== channels) {
      throw new PyocyteError(
        `the model was trained on ${normalization.mean.length}-channel images but this image has ${channels} channel${channels === 1 ? '' : 's'}`,
      );
    }
    return { offset: Float64Array.from(normalization.mean), scale: Float64Array.from(normalization.std, (s) => 1 / s) };
  }
  const ranges = channelPercentiles(image, normalization.low, normalization.high);
  return {
    offset: Float64Array.from(ranges, ([lo]) => lo),
    // A constant channel has no range; it maps to 0 rather than to infinities.
    scale: Float64Array.from(ranges, ([lo, hi]) => (hi - lo > MIN_STD ? 1 / (hi - lo) : 0)),
  };
}

/**
 * Applies a normalisation to one image.
 * @param image `[H, W, C]` of finite values (`toFloatImage` refuses or fills the others).
 * @param out optional destination of `H·W·C` floats (reused between batches).
 * @returns the normalised image, `[H, W, C]` interleaved.
 */
export function normalizeImage(image: FloatImage, normalization: Normalization, out?: Float32Array): Float32Array {
  const { channels, data } = image;
  const result = out ?? new Float32Array(data.length);
  if (result.length !== data.length) {
    throw new PyocyteError(`normalizeImage: the output holds ${result.length} values but the image has ${data.length}`);
  }
  const { offset, scale } = normalizationAffine(image, normalization);
  let nonFinite = 0;
  for (let i = 0; i < data.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const v = (data[i + c] - offset[c]) * scale[c];
      result[i + c] = v;
      if (v - v !== 0) nonFinite++;
    }
  }
  if (nonFinite > 0) {
    throw new PyocyteError(
      `the image holds ${nonFinite} NaN or infinite value${nonFinite === 1 ? '' : 's'}; fill them first (toFloatImage with nonFinite: 'fill')`,
    );
  }
  return result;
}
