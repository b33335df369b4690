import { PyocyteError } from '../../util/errors.js';
import type { FloatImage, RasterImage } from '../../image/types.js';
import type { IntensityScaling } from '../../nn/types.js';

/**
 * How a raster's stored values become floats. Either rule maps one image by one positive factor
 * and offset, so per-image percentile normalisation gives the same network input under both; the
 * rule matters for dataset mean/std normalisation and for augmentation (which works in [0, 1]).
 */
export const INTENSITY_SCALINGS = {
  range:
    "whole numbers ≥ 0 ÷ (2^k − 1), k the smallest of 8, 10, 12, 14, 16, … bits that holds the image's largest value " +
    '(so 12-bit camera data in a 16-bit file spans 0–1); other values ≥ 0 kept when within 0–1, else ÷ the largest; ' +
    'images with negative values map their minimum–maximum to 0–1',
  bitDepth: '8-bit ÷ 255, 16-bit ÷ 65535, floats as stored (model files written before the range rule)',
} as const satisfies Record<IntensityScaling, string>;

/** What to do with NaN and infinite values. */
export const NON_FINITE_POLICIES = {
  refuse: 'fail naming the file and the pixel count (training and evaluation data)',
  fill: "replace each by its channel's median and warn (prediction)",
} as const;
export type NonFinitePolicy = keyof typeof NON_FINITE_POLICIES;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Options of {@link toFloatImage}. */
export interface FloatImageOptions {
  /** How messages name the file. */
  file?: string;
  /** The file's channels to keep, in this order, 0-based (alpha is not one of them). Default all. */
  channels?: readonly number[];
  /** Default 'range'. */
  scaling?: IntensityScaling;
  /** Default 'refuse'. */
  nonFinite?: NonFinitePolicy;
  /** Receives warnings (filled values), each naming the file. */
  onWarning?: (message: string) => void;
}

/** The raster's colour channels (alpha dropped), failing when alpha marks transparent pixels. */
function colourChannels(raster: RasterImage, name: string): number {
  const alpha = raster.alpha ?? (raster.channels === 2 || raster.channels === 4);
  if (!alpha) return raster.channels;
  const colours = raster.channels - 1;
  const opaque = raster.bitDepth === 8 ? 255 : raster.bitDepth === 16 ? 65535 : 1;
  let transparent = 0;
  for (let i = colours; i < raster.data.length; i += raster.channels) if (raster.data[i] < opaque) transparent++;
  if (transparent > 0) {
    throw new PyocyteError(
      `${name} has an alpha channel with ${plural(transparent, 'transparent pixel')}; ` +
        `pyocyte cannot know what lies under them: flatten it onto a background or save it without alpha`,
      { file: name },
    );
  }
  return colours;
}

/** Checks a channel selection against the channels a file has. */
export function checkChannels(channels: readonly number[], available: number, name: string): void {
  const what = `${name} has ${plural(available, 'channel')} (0–${available - 1})`;
  if (channels.length === 0) throw new PyocyteError(`the channel selection is empty; name channels of the files, e.g. --channels 0,2`);
  const bad = channels.filter((c) => !(Number.isInteger(c) && c >= 0 && c < available));
  if (bad.length > 0)
    throw new PyocyteError(`${what}; channel${bad.length === 1 ? '' : 's'} ${bad.join(', ')} cannot be chosen`, { file: name });
  if (new Set(channels).size !== channels.length)
    throw new PyocyteError(`the channel selection ${channels.join(',')} names a channel twice`);
}

/** The scale and offset of the 'range' rule, from the finite values of the image. */
export function rangeScaling(data: ArrayLike<number>): { offset: number; scale: number } {
  let min = Infinity;
  let max = -Infinity;
  let whole = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    if (whole && v !== Math.round(v)) whole = false;
  }
  if (!(max >= min)) return { offset: 0, scale: 1 };
  if (min < 0) return { offset: min, scale: max > min ? 1 / (max - min) : 0 };
  if (whole) {
    let bits = 8;
    while (max > 2 ** bits - 1) bits += 2;
    return { offset: 0, scale: 1 / (2 ** bits - 1) };
  }
  return { offset: 0, scale: max <= 1 ? 1 : 1 / max };
}

function bitDepthScaling(raster: RasterImage): { offset: number; scale: number } {
  return { offset: 0, scale: raster.bitDepth === 8 ? 1 / 255 : raster.bitDepth === 16 ? 1 / 65535 : 1 };
}

/** Replaces NaN/±∞ of each channel by the median of its finite values; returns how many pixels had any. */
function fillNonFinite(data: Float32Array, channels: number): number {
  const pixels = data.length / channels;
  const bad = new Uint8Array(pixels);
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad[(i / channels) | 0] = 1;
  let count = 0;
  for (let p = 0; p < pixels; p++) count += bad[p];
  if (count === 0) return 0;
  for (let c = 0; c < channels; c++) {
    const finite = new Float32Array(pixels);
    let n = 0;
    for (let p = 0; p < pixels; p++) if (Number.isFinite(data[p * channels + c])) finite[n++] = data[p * channels + c];
    const sorted = finite.subarray(0, n).sort();
    const median = n > 0 ? sorted[n >> 1] : 0;
    for (let p = 0; p < pixels; p++) if (!Number.isFinite(data[p * channels + c])) data[p * channels + c] = median;
  }
  return count;
}

/**
 * Converts a raster to floats for the network. Alpha is dropped when fully opaque (transparent
 * pixels fail: nothing says what lies under them); `channels` picks and orders the file's channels;
 * NaN and infinite values are refused or filled (`nonFinite`); intensities are scaled by
 * `scaling` (see {@link INTENSITY_SCALINGS}), the same rule for one image however it is tiled.
 * Errors name `options.file`.
 * @returns `[H, W, C]` with C = the chosen channels (default every channel but alpha).
 */
export function toFloatImage(raster: RasterImage, options: FloatImageOptions = {}): FloatImage {
  const name = options.file ?? 'the image';
  const { width, height } = raster;
  const colours = colourChannels(raster, name);
  const chosen = options.channels ?? Array.from({ length: colours }, (_, c) => c);
  checkChannels(chosen, colours, name);
  const channels = chosen.length;
  const pixels = width * height;
  const out = new Float32Array(pixels * channels);
  const { data } = raster;
  for (let p = 0, o = 0; p < pixels; p++) {
    for (const c of chosen) out[o++] = data[p * raster.channels + c];
  }
  if (raster.bitDepth === 32) {
    if ((options.nonFinite ?? 'refuse') === 'refuse') {
      let count = 0;
      for (let p = 0; p < pixels; p++) {
        for (let c = 0; c < channels; c++) {
          if (!Number.isFinite(out[p * channels + c])) {
            count++;
            break;
          }
        }
      }
      if (count > 0) {
        throw new PyocyteError(
          `${name} has ${plural(count, 'pixel')} that are NaN or infinite (of ${pixels}); training and evaluation need finite values: fill them (e.g. with the background level) or leave the image out`,
          { file: name },
        );
      }
    } else {
      const filled = fillNonFinite(out, channels);
      if (filled > 0)
        options.onWarning?.(`${name}: ${plural(filled, 'pixel')} NaN or infinite (of ${pixels}), filled with each channel's median`);
    }
  }
  const byRange = (options.scaling ?? 'range') === 'range' && raster.bitDepth !== 8;
  const { offset, scale } = byRange ? rangeScaling(out) : bitDepthScaling(raster);
  if (offset !== 0 || scale !== 1) for (let i = 0; i < out.length; i++) out[i] = (out[i] - offset) * scale;
  return { width, height, channels, data: out };
}

/** The first three channels of a float image (or its first, with fewer than three), to draw on. */
export function previewImage(image: FloatImage): FloatImage {
  const channels = image.channels >= 3 ? 3 : 1;
  if (channels === image.channels) return image;
  const data = new Float32Array(image.width * image.height * channels);
  for (let p = 0; p < image.width * image.height; p++) {
    for (let c = 0; c < channels; c++) data[p * channels + c] = image.data[p * image.channels + c];
  }
  return { width: image.width, height: image.height, channels, data };
}
