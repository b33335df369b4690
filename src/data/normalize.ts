import { PyocyteError } from '../util/errors.js';
import { checkName } from '../util/registry.js';
import type { Normalization } from '../nn/types.js';
import type { FloatImage } from '../image/types.js';

/**
 * Intensity normalisation, stored in the model file so prediction repeats it exactly.
 * - `meanStd`: per-channel mean and standard deviation over all training pixels (nnU-Net's
 *   default for non-CT images); robust when every image is acquired the same way.
 * - `percentile`: each image's own low/high percentiles per channel map to 0/1 (Cellpose and
 *   CSBDeep style); robust to brightness and stain differences between slides. `low`/`high` are
 *   percentile ranks (e.g. 1 and 99), so the same rule applies to images never seen in training.
 */
export const NORMALIZATIONS = {
  meanStd: 'per-channel mean/std of the training images',
  percentile: "each image's own low–high percentiles map to 0–1",
} as const;
export type NormalizationKind = keyof typeof NORMALIZATIONS;

/** Percentiles are estimated from at most this many pixels per channel (an even stride). */
const PERCENTILE_SAMPLE = 1 << 20;
/** Below this, a channel is constant and cannot be standardised. */
const MIN_STD = 1e-6;

/**
 * Computes the normalisation of a training set.
 * @param images training images `[H, W, C]`, all with the same channel count.
 * @param options.kind 'meanStd' (default) or 'percentile'; `low`/`high` percentile ranks (default 1, 99).
 */
export function computeNormalization(
  images: readonly FloatImage[], options: { kind?: NormalizationKind; low?: number; high?: number } = {},
): Normalization {
  const kind = checkName(NORMALIZATIONS, options.kind ?? 'meanStd', 'normalization');
  if (kind === 'percentile') {
    const low = options.low ?? 1;
    const high = options.high ?? 99;
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
    if (s < MIN_STD) {
      throw new PyocyteError(`channel ${c} of the training images is constant (${mean[c].toFixed(4)} everywhere); check the images, or use percentile normalisation`);
    }
  });
  return { kind, mean, std };
}

/** Linear interpolation between order statistics (numpy's default), on sorted values. */
function percentileOfSorted(sorted: Float32Array, rank: number): number {
  const position = (rank / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/**
 * The `low` and `high` percentile of each channel of an image.
 * @returns `[[low, high] per channel]`.
 */
export function channelPercentiles(image: FloatImage, low: number, high: number): [number, number][] {
  const { channels, data } = image;
  const pixels = image.width * image.height;
  const stride = Math.max(1, Math.ceil(pixels / PERCENTILE_SAMPLE));
  const result: [number, number][] = [];
  for (let c = 0; c < channels; c++) {
    const sample = new Float32Array(Math.ceil(pixels / stride));
    for (let p = 0, k = 0; p < pixels; p += stride) sample[k++] = data[p * channels + c];
    sample.sort();
    result.push([percentileOfSorted(sample, low), percentileOfSorted(sample, high)]);
  }
  return result;
}

/**
 * Applies a normalisation to one image.
 * @param image `[H, W, C]` in [0, 1].
 * @param out optional destination of `H·W·C` floats (reused between batches).
 * @returns the normalised image, `[H, W, C]` interleaved.
 */
export function normalizeImage(image: FloatImage, normalization: Normalization, out?: Float32Array): Float32Array {
  const { channels, data } = image;
  const result = out ?? new Float32Array(data.length);
  if (result.length !== data.length) {
    throw new PyocyteError(`normalizeImage: the output holds ${result.length} values but the image has ${data.length}`);
  }
  let offset: number[];
  let scale: number[];
  if (normalization.kind === 'meanStd') {
    if (normalization.mean.length !== channels) {
      throw new PyocyteError(`the model was trained on ${normalization.mean.length}-channel images but this image has ${channels} channel${channels === 1 ? '' : 's'}`);
    }
    offset = normalization.mean;
    scale = normalization.std.map((s) => 1 / s);
  } else {
    const ranges = channelPercentiles(image, normalization.low, normalization.high);
    offset = ranges.map(([lo]) => lo);
    // A constant channel has no range; it maps to 0 rather than to infinities.
    scale = ranges.map(([lo, hi]) => (hi - lo > MIN_STD ? 1 / (hi - lo) : 0));
  }
  for (let i = 0; i < data.length; i += channels) {
    for (let c = 0; c < channels; c++) result[i + c] = (data[i + c] - offset[c]) * scale[c];
  }
  return result;
}
