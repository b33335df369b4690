import { PyocyteError } from '../util/errors.js';
import { checkName } from '../util/registry.js';
import type { Task } from '../nn/types.js';
import type { RasterImage } from '../image/types.js';
import {
  countOf,
  describeValues,
  interiorFraction,
  listValues,
  lossyHint,
  maskValues,
  mergeHistograms,
  percent,
  valueHistogram,
  type MaskValues,
  type ValueHistogram,
} from './mask-values.js';
import { mapValues } from './value-map.js';

/** Which colour the objects are in a two-valued mask. */
export const MASK_POLARITIES = {
  auto: 'the less frequent value is foreground (the note says which was chosen)',
  white: 'high values are objects on a low (black) background',
  black: 'low values are objects on a high (white) background',
} as const;
export type MaskPolarity = keyof typeof MASK_POLARITIES;

/** What the values of a binary-task mask mean (`--mask-kind`). */
export const MASK_KINDS = {
  auto: 'a >8-bit mask (or a Cellpose <name>_masks file) with background 0 and more than two values holds instance ids; a two-valued mask is binary whatever its bit depth',
  binary: 'every mask is a binary mask (objects vs background), whatever its bit depth and values',
  instances: 'every mask is an instance label image: 0 is background, each other value one object',
} as const;
export type MaskKind = keyof typeof MASK_KINDS;

/** `MaskOptions.instances` for a mask kind: forced one way, or decided per file. */
export function instancesOfKind(kind: MaskKind | undefined): boolean | undefined {
  if (kind !== undefined) checkName(MASK_KINDS, kind, 'mask kind');
  return kind === 'instances' ? true : kind === 'binary' ? false : undefined;
}

/** What to do with mask values that a value map does not list. */
export const STRAY_VALUE_POLICIES = {
  error: 'fail, listing the values and their pixel counts',
  nearest: 'snap each to the numerically nearest value in the map',
} as const;
export type StrayValuePolicy = keyof typeof STRAY_VALUE_POLICIES;

/** How mask files become class labels. */
export interface MaskOptions {
  /** Default 'binary': foreground (1) vs background (0). 'multiclass' needs class indices or a value map. */
  task?: Task;
  /** Binary masks: which colour the objects are. Default 'auto'. */
  polarity?: MaskPolarity;
  /** File value → class index, e.g. `{0: 0, 128: 1, 255: 2}` (see `parseValueMap`). */
  valueMap?: Record<number, number>;
  /** Binary masks with in-between grays: foreground is above it ('white') or below it ('black'). */
  threshold?: number;
  /** Values missing from `valueMap`. Default 'error'. */
  strayValues?: StrayValuePolicy;
  /** Binary masks: the file value that is background, fixed for a whole dataset (set by `resolveMaskOptions`). */
  background?: number;
  /** Treat the mask as an instance label image (true) or not (false); default decided per file (see `MASK_KINDS.auto`). */
  instances?: boolean;
  /** The file is named as a label image (Cellpose's `<name>_masks`), so an 8-bit one with many values holds ids too. */
  labelImageName?: boolean;
  /** How messages name the mask file. */
  file?: string;
}

/** Labels from one mask file. */
export interface MaskLabels {
  /** Class index per pixel `[H, W]`; binary tasks use 0/1. */
  labels: Uint8Array;
  /** Number of classes including background (2 for binary). */
  classes: number;
  /** Which colour was foreground, for binary masks that had one. */
  polarity?: 'white' | 'black';
  /** Object id per pixel `[H, W]`, for instance label images. */
  instances?: Int32Array;
  /** What was decided automatically, for the user to see. */
  note?: string;
}

/** The largest value a class-index mask (nnU-Net style 0, 1, 2, …) may hold without a value map. */
const MAX_DIRECT_CLASS = 31;
/** Below this share of in-between pixels inside regions, in-between grays are edge seams. */
const MIN_INTERIOR_FRACTION = 0.25;

/**
 * Whether a mask is an instance label image: background 0 and more than two values, in a >8-bit
 * file or one named as a label image. A two-valued mask is binary whatever its bit depth (a 0/1
 * 16-bit or float TIFF, as QuPath exports it), unless the user says otherwise.
 */
function isInstanceMask(histogram: ValueHistogram, bitDepth: number, options: MaskOptions): boolean {
  if (options.instances !== undefined) return options.instances;
  const { values } = histogram;
  if (values[0] !== 0 || values.length <= 2) return false;
  return bitDepth !== 8 || options.labelImageName === true;
}

function instanceLabels(values: MaskValues, histogram: ValueHistogram, options: MaskOptions, file: string): MaskLabels {
  if (options.polarity === 'black') {
    throw new PyocyteError(
      `${file} is an instance label image (0 = background, ${histogram.values.length - 1} object ids); --mask-polarity black does not apply to it`,
      { file },
    );
  }
  const labels = new Uint8Array(values.length);
  const instances = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    instances[i] = values[i];
    labels[i] = values[i] > 0 ? 1 : 0;
  }
  const objects = histogram.values.filter((v) => v > 0).length;
  return { labels, classes: 2, instances, note: `instance label image with ${objects} object${objects === 1 ? '' : 's'}` };
}

function thresholdLabels(values: MaskValues, histogram: ValueHistogram, threshold: number, polarity: MaskPolarity): MaskLabels {
  let above = 0;
  histogram.values.forEach((v, i) => (above += v > threshold ? histogram.counts[i] : 0));
  const below = values.length - above - countOf(histogram, threshold);
  const chosen = polarity === 'auto' ? (above <= below ? 'white' : 'black') : polarity;
  const labels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) labels[i] = (chosen === 'white' ? values[i] > threshold : values[i] < threshold) ? 1 : 0;
  const note =
    polarity === 'auto'
      ? `foreground is ${chosen === 'white' ? 'above' : 'below'} the threshold ${threshold} (the minority side)`
      : undefined;
  return { labels, classes: 2, polarity: chosen, note };
}

/** The background value of a binary mask: fixed by the dataset, or from polarity and the mask itself. */
function chooseBackground(histogram: ValueHistogram, polarity: MaskPolarity): { background: number; note?: string } {
  const { values, counts } = histogram;
  const low = values[0];
  const high = values[values.length - 1];
  if (polarity === 'white') return { background: low };
  if (polarity === 'black') return { background: high };
  if (low === high) return { background: low };
  const lowCount = counts[0];
  const highCount = counts[counts.length - 1];
  const total = counts.reduce((a, b) => a + b, 0);
  // Ties go to white objects on black, the most common convention.
  const background = lowCount >= highCount ? low : high;
  const foreground = values.filter((v) => v !== background);
  const note =
    values.length === 2
      ? `foreground is ${background === low ? 'white' : 'black'} (value ${foreground[0]}), the minority value (${percent(total - countOf(histogram, background), total)} of pixels); pass --mask-polarity ${background === low ? 'black' : 'white'} if the objects are the other colour`
      : `background is value ${background} (${percent(countOf(histogram, background), total)} of pixels); values ${listValues(foreground)} are foreground`;
  return { background, note };
}

function binaryLabels(values: MaskValues, histogram: ValueHistogram, mask: RasterImage, options: MaskOptions, file: string): MaskLabels {
  const polarity = options.polarity ?? 'auto';
  const { values: present } = histogram;
  const low = present[0];
  const high = present[present.length - 1];
  if (present.length > 2) {
    const between = new Set(present.slice(1, -1));
    if (interiorFraction({ width: mask.width, height: mask.height, data: values }, between) < MIN_INTERIOR_FRACTION) {
      const inBetween: ValueHistogram = { values: present.slice(1, -1), counts: histogram.counts.slice(1, -1) };
      const pixels = inBetween.counts.reduce((a, b) => a + b, 0);
      throw new PyocyteError(
        `${file} has ${between.size} gray value${between.size === 1 ? '' : 's'} between ${low} and ${high} along object edges ` +
          `(${describeValues(inBetween, 6)}; ${percent(pixels, values.length)} of pixels), as an anti-aliased or resized mask has${lossyHint(file)}; ` +
          `binarise it with --mask-threshold ${Math.round((low + high) / 2)}, or pass --value-map if the values are classes`,
        { file },
      );
    }
  }
  const chosen =
    options.background !== undefined ? { background: options.background, note: undefined } : chooseBackground(histogram, polarity);
  const labels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) labels[i] = values[i] !== chosen.background ? 1 : 0;
  const result: MaskLabels = { labels, classes: 2, note: chosen.note };
  if (low !== high || options.background !== undefined) result.polarity = chosen.background <= low ? 'white' : 'black';
  if (low === high && options.background === undefined) result.note = `mask has the single value ${low}: all background`;
  return result;
}

function classIndexLabels(values: MaskValues, histogram: ValueHistogram, file: string): MaskLabels {
  const high = histogram.values[histogram.values.length - 1];
  if (high > MAX_DIRECT_CLASS) {
    const example = histogram.values
      .slice(0, 6)
      .map((v, i) => `${v}:${i === 0 ? 'background' : `class${i}`}`)
      .join(',');
    throw new PyocyteError(
      `${file} has values ${describeValues(histogram, 6)}, which are not class indices 0, 1, 2, …; ` +
        `for a multiclass task give a value map, e.g. --value-map ${example}`,
      { file },
    );
  }
  const labels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) labels[i] = values[i];
  return { labels, classes: Math.max(2, high + 1) };
}

/**
 * Turns a mask file into class labels.
 * - binary, two values: `polarity` says which is foreground; 'auto' takes the less frequent one and
 *   says so in `note`. A single-valued mask is all background.
 * - binary, more values: a >8-bit mask (or a Cellpose `_masks` file) with background 0 is an instance
 *   label image (`instances`), unless `instances` is false;
 *   an 8-bit mask whose extra values fill regions (0/128/255 cytoplasm + nucleus) has its majority
 *   extreme as background and the rest as foreground; extra values only along edges (anti-aliasing)
 *   fail, suggesting `threshold` or `valueMap`.
 * - multiclass: `valueMap` (file value → class), or values that are class indices 0…31.
 * Values missing from `valueMap` fail listing them and their pixel counts (or snap, see `strayValues`).
 * @param mask a mask raster `[H, W, C]`; colour masks must be gray (R = G = B).
 */
export function maskToLabels(mask: RasterImage, options: MaskOptions = {}): MaskLabels {
  const file = options.file ?? 'the mask';
  const task = options.task ?? 'binary';
  const values = maskValues(mask, file);
  const histogram = valueHistogram(values);
  if (options.valueMap) {
    const mapped = mapValues(values, histogram, options.valueMap, options.strayValues ?? 'error', file);
    if (task === 'binary') {
      for (let i = 0; i < mapped.labels.length; i++) mapped.labels[i] = mapped.labels[i] > 0 ? 1 : 0;
      return { labels: mapped.labels, classes: 2, note: mapped.note };
    }
    return mapped;
  }
  if (options.threshold !== undefined) {
    if (task !== 'binary') throw new PyocyteError(`a mask threshold applies to binary tasks; for multiclass masks give a value map`);
    return thresholdLabels(values, histogram, options.threshold, options.polarity ?? 'auto');
  }
  if (task === 'multiclass') return classIndexLabels(values, histogram, file);
  if (isInstanceMask(histogram, mask.bitDepth, options)) return instanceLabels(values, histogram, options, file);
  if (options.instances === false && isInstanceMask(histogram, mask.bitDepth, { ...options, instances: undefined })) {
    // A label image read as binary (--mask-kind binary): every id is foreground, not gray edges.
    const { labels } = instanceLabels(values, histogram, options, file);
    return {
      labels,
      classes: 2,
      polarity: 'white',
      note: 'instance label image read as a binary mask (--mask-kind binary): every id is foreground',
    };
  }
  return binaryLabels(values, histogram, mask, options, file);
}

/** A mask's histogram and bit depth: what `resolveMaskOptions` needs from each file. */
export interface MaskSurvey {
  histogram: ValueHistogram;
  bitDepth: 8 | 16 | 32;
  /** Named as a label image (Cellpose's `_masks`). */
  labelImageName?: boolean;
}

/** Surveys a mask raster for {@link resolveMaskOptions}. */
export function surveyMask(mask: RasterImage, file?: string, labelImageName?: boolean): MaskSurvey {
  return { histogram: valueHistogram(maskValues(mask, file)), bitDepth: mask.bitDepth, labelImageName };
}

/**
 * Fixes the automatic choices once for a whole dataset, so every mask gets the same polarity: with
 * binary 'auto', the background is whichever extreme value covers more pixels over all masks.
 * @returns options to pass to `maskToLabels` for each mask, and a note saying what was chosen.
 */
export function resolveMaskOptions(surveys: readonly MaskSurvey[], options: MaskOptions): { options: MaskOptions; note?: string } {
  const task = options.task ?? 'binary';
  if (task !== 'binary' || options.valueMap || options.background !== undefined) return { options };
  const total: ValueHistogram = { values: [], counts: [] };
  for (const survey of surveys) {
    if (
      options.threshold !== undefined ||
      !isInstanceMask(survey.histogram, survey.bitDepth, { ...options, labelImageName: survey.labelImageName })
    )
      mergeHistograms(total, survey.histogram);
  }
  if (total.values.length === 0) return { options };
  if (options.threshold !== undefined) {
    if ((options.polarity ?? 'auto') !== 'auto') return { options };
    const threshold = options.threshold;
    let above = 0;
    let below = 0;
    total.values.forEach((v, i) => {
      if (v > threshold) above += total.counts[i];
      else if (v < threshold) below += total.counts[i];
    });
    const polarity = above <= below ? 'white' : 'black';
    return {
      options: { ...options, polarity },
      note: `foreground is ${polarity === 'white' ? 'above' : 'below'} the threshold ${threshold}, the minority side over all masks`,
    };
  }
  const chosen = chooseBackground(total, options.polarity ?? 'auto');
  const polarity =
    chosen.background === total.values[0] && total.values.length > 1 ? 'white' : total.values.length > 1 ? 'black' : options.polarity;
  return { options: { ...options, background: chosen.background, polarity }, note: chosen.note };
}
