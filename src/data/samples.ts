import { isAbsolute, relative } from 'node:path';
import { PyocyteError, PyocyteErrors } from '../util/errors.js';
import type { ImagePair } from './dataset.js';
import { mixedChannels, ORIENTATIONS, sizeMismatch } from './pair-checks.js';
import { decodeImage, type ImageInfo } from '../io/image/image-io.js';
import { toFloatImage } from '../io/image/convert.js';
import { maskToLabels, resolveMaskOptions, surveyMask, type MaskOptions } from './masks.js';
import { mapPool } from '../util/pool.js';
import { scaledSize } from '../image/resample.js';
import { resampleSample } from './object-scale.js';
import type { Sample } from './types.js';
import type { FloatImage, RasterImage } from '../image/types.js';
import type { IntensityScaling } from '../nn/types.js';
import { valueRange, type ValueRange } from './intensity.js';

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
  /** The image files' channels to use, in this order (0-based); default all but alpha. */
  channels?: readonly number[];
  /** How stored values become floats (see `INTENSITY_SCALINGS`); default 'range'. */
  intensityScaling?: IntensityScaling;
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
    if (!(options.targetPixelSizeUm > 0))
      throw new PyocyteError(`the target pixel size must be a positive number of µm, got ${options.targetPixelSizeUm}`);
    if (options.pixelSizeUm === undefined) {
      throw new PyocyteError(
        `resampling to ${options.targetPixelSizeUm} µm/px needs the images' pixel size: pass --pixel-size or add "pixelSizeUm" to the dataset's pyocyte.json`,
      );
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
  /** The image file's header: channels and sample type as stored, orientation applied, CMYK. */
  file: ImageInfo;
  /** The mask file's header. */
  maskFile: ImageInfo;
  /** The instance label image of `pair.instancesPath`, as stored. */
  instanceMask?: RasterImage;
  /** The stored values of the channels used. */
  range: ValueRange;
}

/** What reading a file decided on its own that the user should hear (orientation, CMYK), or undefined. */
export function readerNote(name: string, info: ImageInfo): string | undefined {
  const parts: string[] = [];
  if (info.orientation) parts.push(`its EXIF orientation ${info.orientation} was applied (${ORIENTATIONS[info.orientation]})`);
  if (info.cmykProfile)
    parts.push(
      `it is CMYK, converted to RGB with ${info.cmykProfile === 'embedded' ? 'its own ICC profile' : 'a generic CMYK profile (it has none of its own): colours may differ from other readers by several levels; save it as RGB'}`,
    );
  return parts.length > 0 ? `${name}: ${parts.join('; ')}` : undefined;
}

/** The reader notes of loaded pairs' images and masks, at most `limit` lines then a count of the rest. */
export function readerNotes(loaded: readonly LoadedPair[], limit = 5): string[] {
  const notes = loaded
    .flatMap((item) => [
      readerNote(displayName(item.pair.imagePath), item.file),
      readerNote(displayName(item.pair.maskPath!), item.maskFile),
    ])
    .filter((note): note is string => note !== undefined);
  if (notes.length <= limit) return notes;
  return [...notes.slice(0, limit), `… and ${notes.length - limit} more files whose orientation or colour space was converted on reading`];
}

/**
 * Reads one pair: checks that the mask's size matches the image's (saying when an EXIF orientation
 * was applied), converts the image to floats (channels, intensity scaling; NaN/∞ refused).
 * Lower level than `loadSample`.
 */
export async function readPair(pair: ImagePair, options: LoadOptions = {}): Promise<LoadedPair> {
  const imageName = displayName(pair.imagePath);
  if (!pair.maskPath) throw new PyocyteError(`${imageName} has no mask; training and evaluation need one per image`, { file: imageName });
  const maskName = displayName(pair.maskPath);
  const instanceName = pair.instancesPath ? displayName(pair.instancesPath) : undefined;
  const [image, mask, instances] = await Promise.all([
    decodeImage(pair.imagePath, { maxPixels: options.maxPixels, name: imageName }),
    decodeImage(pair.maskPath, { maxPixels: options.maxPixels, name: maskName }),
    pair.instancesPath ? decodeImage(pair.instancesPath, { maxPixels: options.maxPixels, name: instanceName }) : undefined,
  ]);
  for (const [name, info] of [[maskName, mask.info] as const, ...(instances ? [[instanceName!, instances.info] as const] : [])]) {
    const mismatch = sizeMismatch({ name, info }, { name: imageName, info: image.info });
    if (mismatch) throw new PyocyteError(mismatch, { file: name });
  }
  const float = toFloatImage(image.image, { file: imageName, channels: options.channels, scaling: options.intensityScaling });
  const loaded: LoadedPair = {
    pair,
    image: float,
    mask: mask.image,
    file: image.info,
    maskFile: mask.info,
    range: valueRange(image.image, options.channels),
  };
  if (instances) loaded.instanceMask = instances.image;
  return loaded;
}

/** Turns a read pair into a sample: mask to labels, then resampling by `factor`. Lower level than `loadSample`. */
export function pairToSample(
  loaded: LoadedPair,
  options: MaskOptions,
  factor: number,
  pixelSizeUm?: number,
): { sample: Sample; note?: string; polarity?: 'white' | 'black' } {
  const { pair, image, mask } = loaded;
  const converted = maskToLabels(mask, { ...options, labelImageName: pair.cellposeMask, file: displayName(pair.maskPath!) });
  if (loaded.instanceMask) {
    converted.instances = maskToLabels(loaded.instanceMask, { instances: true, file: displayName(pair.instancesPath!) }).instances;
  }
  const sample: Sample = { stem: pair.stem, image, labels: converted.labels };
  if (converted.instances) {
    sample.instances = converted.instances;
    sample.instanceSource = 'label images';
  }
  if (pixelSizeUm !== undefined) sample.pixelSizeUm = pixelSizeUm;
  return { sample: resampleSample(sample, factor), note: converted.note, polarity: converted.polarity };
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
  pairs: readonly ImagePair[],
  options: LoadOptions & { onProgress?: (done: number, total: number) => void; concurrency?: number } = {},
): Promise<Sample[]> {
  const factor = scaleFactor(options);
  const problems: string[] = [];
  let done = 0;
  const loaded = await mapPool(pairs, options.concurrency ?? 4, async (pair) => {
    try {
      return await readPair(pair, options);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      return error.message;
    } finally {
      options.onProgress?.(++done, pairs.length);
    }
  });
  const surveys = [];
  const usable: LoadedPair[] = [];
  for (const item of loaded) {
    if (typeof item === 'string') {
      problems.push(item);
      continue;
    }
    try {
      surveys.push(surveyMask(item.mask, displayName(item.pair.maskPath!), item.pair.cellposeMask));
      usable.push(item);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      problems.push(error.message);
    }
  }
  const mixed = mixedChannels(usable.map((u) => ({ name: displayName(u.pair.imagePath), channels: u.image.channels })));
  if (mixed) problems.push(mixed);
  for (const note of readerNotes(usable)) options.onNote?.(note);
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
  if (instanceMasks > 0)
    options.onNote?.(
      `masks: ${instanceMasks} of ${samples.length} images have instance label images (0 = background, one id per object)${instanceMasks < samples.length ? '; the others are scored by connected components, where touching cells merge' : ''}`,
    );
  return samples;
}
