import { isAbsolute, relative } from 'node:path';
import { PyocyteError, PyocyteErrors } from '../util/errors.js';
import type { ImagePair } from './dataset.js';
import { readImage, toFloatImage } from '../io/image/image-io.js';
import { maskToLabels, resolveMaskOptions, surveyMask, type MaskOptions } from './masks.js';
import { mapPool } from '../util/pool.js';
import { resampleImage, resampleLabels, scaledSize } from '../image/resample.js';
import type { Sample } from './types.js';
import type { FloatImage, RasterImage } from '../image/types.js';

/** How to load image/mask pairs into samples. */
export interface LoadOptions extends MaskOptions {
  /** Micrometres per pixel of the files (e.g. from `dataset.json`). */
  pixelSizeUm?: number;
  /** Resample to this many micrometres per pixel (needs `pixelSizeUm`). */
  targetPixelSizeUm?: number;
  /** Resample by this factor (0.5 halves each side); an alternative to `targetPixelSizeUm`. */
  scale?: number;
  /** Refuse larger images, checked from the header (default 100e6 pixels). */
  maxPixels?: number;
  /** Receives what was decided automatically (mask polarity, snapped values), once per decision. */
  onNote?: (note: string) => void;
  /**
   * Receives the mask options after the automatic choices were fixed (polarity, background), so
   * other subsets of the same dataset can be loaded with exactly the same rules.
   */
  onResolved?: (options: MaskOptions) => void;
}

/** How messages name a file: relative to the working folder when inside it. */
export function displayName(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The resampling factor the options ask for (1 when none). */
export function scaleFactor(options: LoadOptions): number {
  if (options.scale !== undefined && options.targetPixelSizeUm !== undefined) {
    throw new PyocyteError(`give either a scale factor or a target pixel size, not both`);
  }
  if (options.scale !== undefined) {
    scaledSize(1, 1, options.scale);
    return options.scale;
  }
  if (options.targetPixelSizeUm !== undefined) {
    if (!(options.targetPixelSizeUm > 0)) throw new PyocyteError(`the target pixel size must be a positive number of µm, got ${options.targetPixelSizeUm}`);
    if (options.pixelSizeUm === undefined) {
      throw new PyocyteError(`resampling to ${options.targetPixelSizeUm} µm/px needs the images' pixel size: pass --pixel-size or add "pixelSizeUm" to the dataset's pyocyte.json`);
    }
    if (!(options.pixelSizeUm > 0)) throw new PyocyteError(`the pixel size must be a positive number of µm, got ${options.pixelSizeUm}`);
    return options.pixelSizeUm / options.targetPixelSizeUm;
  }
  return 1;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** An image read and converted to floats, with its mask still as stored (for surveys and checks). */
export interface LoadedPair {
  pair: ImagePair;
  image: FloatImage;
  mask: RasterImage;
  /** Channels and bit depth of the image file as stored (before an opaque alpha is dropped). */
  file: { channels: number; bitDepth: 8 | 16 | 32 };
}

/** Reads one pair and checks that the mask's size matches the image's. Lower level than `loadSample`. */
export async function readPair(pair: ImagePair, options: LoadOptions = {}): Promise<LoadedPair> {
  const imageName = displayName(pair.imagePath);
  if (!pair.maskPath) throw new PyocyteError(`${imageName} has no mask; training and evaluation need one per image`, { file: imageName });
  const maskName = displayName(pair.maskPath);
  const [raster, mask] = await Promise.all([
    readImage(pair.imagePath, { maxPixels: options.maxPixels, name: imageName }),
    readImage(pair.maskPath, { maxPixels: options.maxPixels, name: maskName }),
  ]);
  if (mask.width !== raster.width || mask.height !== raster.height) {
    throw new PyocyteError(`${maskName} is ${mask.width}×${mask.height} but ${imageName} is ${raster.width}×${raster.height}`, { file: maskName });
  }
  const file = { channels: raster.channels, bitDepth: raster.bitDepth };
  return { pair, image: toFloatImage(raster, { file: imageName }), mask, file };
}

/** Turns a read pair into a sample: mask to labels, then resampling by `factor`. Lower level than `loadSample`. */
export function pairToSample(
  loaded: LoadedPair, options: MaskOptions, factor: number, pixelSizeUm?: number,
): { sample: Sample; note?: string; polarity?: 'white' | 'black' } {
  const { pair, image, mask } = loaded;
  const converted = maskToLabels(mask, { ...options, file: displayName(pair.maskPath!) });
  const sample: Sample = { stem: pair.stem, image, labels: converted.labels };
  if (converted.instances) sample.instances = converted.instances;
  if (factor !== 1) {
    const [width, height] = scaledSize(image.width, image.height, factor);
    sample.image = resampleImage(image, { width, height });
    const original = { width: image.width, height: image.height };
    sample.labels = resampleLabels({ ...original, data: converted.labels }, { width, height }).data;
    if (converted.instances) sample.instances = resampleLabels({ ...original, data: converted.instances }, { width, height }).data;
  }
  if (pixelSizeUm !== undefined) sample.pixelSizeUm = pixelSizeUm / factor;
  return { sample, note: converted.note, polarity: converted.polarity };
}

/**
 * Loads one image and its mask: image to floats in [0, 1], mask to class labels (see
 * `maskToLabels`), both resampled by `scale` or `pixelSizeUm / targetPixelSizeUm`. With polarity
 * 'auto' this decides from this mask alone; {@link loadSamples} decides once for all masks.
 */
export async function loadSample(pair: ImagePair, options: LoadOptions = {}): Promise<Sample> {
  const factor = scaleFactor(options);
  const { sample, note } = pairToSample(await readPair(pair, options), options, factor, options.pixelSizeUm);
  if (note) options.onNote?.(`${displayName(pair.maskPath!)}: ${note}`);
  return sample;
}

/**
 * Loads many pairs (a few files in flight at once). Automatic mask choices are made once over all
 * masks (`resolveMaskOptions`) and reported through `onNote`. Every file's problem is collected and
 * reported together in one {@link PyocyteErrors}.
 */
export async function loadSamples(
  pairs: readonly ImagePair[], options: LoadOptions & { onProgress?: (done: number, total: number) => void; concurrency?: number } = {},
): Promise<Sample[]> {
  const factor = scaleFactor(options);
  const problems: string[] = [];
  let done = 0;
  const loaded = await mapPool(pairs, options.concurrency ?? 4, async (pair) => {
    try {
      return await readPair(pair, options);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      problems.push(error.message);
      return undefined;
    } finally {
      options.onProgress?.(++done, pairs.length);
    }
  });
  const surveys = [];
  const usable: LoadedPair[] = [];
  for (const item of loaded) {
    if (!item) continue;
    try {
      surveys.push(surveyMask(item.mask, displayName(item.pair.maskPath!)));
      usable.push(item);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      problems.push(error.message);
    }
  }
  const resolved = problems.length === 0 ? resolveMaskOptions(surveys, options) : { options };
  if (resolved.note) options.onNote?.(`masks: ${resolved.note}`);
  options.onResolved?.(resolved.options);
  const samples: Sample[] = [];
  let instanceMasks = 0;
  for (const item of usable) {
    try {
      const { sample, note } = pairToSample(item, resolved.options, factor, options.pixelSizeUm);
      samples.push(sample);
      if (sample.instances) instanceMasks++;
      else if (note) options.onNote?.(note);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) {
    throw new PyocyteErrors(`${plural(problems.length, 'problem')} loading ${plural(pairs.length, 'image/mask pair')}`, problems);
  }
  if (instanceMasks > 0) options.onNote?.(`masks: ${instanceMasks} of ${samples.length} are instance label images (0 = background, one id per object)`);
  return samples;
}
