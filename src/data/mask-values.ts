import { extname } from 'node:path';
import { PyocyteError } from '../util/errors.js';
import type { Plane } from '../image/plane.js';
import type { RasterImage } from '../image/types.js';

/** The distinct values of a mask and how many pixels have each, ascending by value. */
export interface ValueHistogram {
  values: number[];
  counts: number[];
}

/** One channel of mask values `[H, W]`. */
export type MaskValues = Uint8Array | Uint16Array | Float32Array;

/**
 * The single channel of label values in a mask file. Gray masks pass through; an all-opaque alpha
 * is dropped; RGB masks whose three channels are equal become gray. Colour masks, other channel
 * counts, transparent pixels and values that are not whole numbers ≥ 0 fail, naming `file`.
 */
export function maskValues(mask: RasterImage, file = 'the mask'): MaskValues {
  const { channels, data, bitDepth } = mask;
  const pixels = mask.width * mask.height;
  const alpha = mask.alpha ?? (channels === 2 || channels === 4);
  const colours = alpha ? channels - 1 : channels;
  if (colours !== 1 && colours !== 3) {
    throw new PyocyteError(
      `${file} has ${colours} channels${alpha ? ' besides alpha' : ''}; masks must be gray label images (one channel)`,
      { file },
    );
  }
  if (colours !== channels) {
    const opaque = bitDepth === 8 ? 255 : bitDepth === 16 ? 65535 : 1;
    for (let i = 0; i < pixels; i++) {
      if (data[i * channels + colours] < opaque) {
        throw new PyocyteError(
          `${file} has transparent pixels (alpha < ${opaque} at x=${i % mask.width}, y=${Math.floor(i / mask.width)}); ` +
            `masks must be gray label images: save it without an alpha channel`,
          { file },
        );
      }
    }
  }
  let values: MaskValues;
  if (channels === 1) {
    values = data;
  } else {
    values = new (data.constructor as Uint8ArrayConstructor)(pixels) as MaskValues;
    for (let i = 0; i < pixels; i++) {
      const o = i * channels;
      if (colours === 3 && (data[o] !== data[o + 1] || data[o] !== data[o + 2])) {
        throw new PyocyteError(
          `${file} is a colour image (pixel x=${i % mask.width}, y=${Math.floor(i / mask.width)} is RGB ${data[o]},${data[o + 1]},${data[o + 2]}); ` +
            `masks must be gray label images: save each class or object as a gray value (e.g. 0 background, 255 cells)`,
          { file },
        );
      }
      values[i] = data[o];
    }
  }
  if (values instanceof Float32Array) {
    for (let i = 0; i < pixels; i++) {
      const v = values[i];
      if (!(v >= 0 && Number.isInteger(v))) {
        throw new PyocyteError(
          `${file} has value ${v} at x=${i % mask.width}, y=${Math.floor(i / mask.width)}; float masks must hold whole, non-negative label values`,
          { file },
        );
      }
    }
  }
  return values;
}

/** The distinct values of a mask channel and their pixel counts. */
export function valueHistogram(values: MaskValues): ValueHistogram {
  if (values instanceof Float32Array) {
    const counts = new Map<number, number>();
    for (let i = 0; i < values.length; i++) counts.set(values[i], (counts.get(values[i]) ?? 0) + 1);
    const sorted = [...counts.keys()].sort((a, b) => a - b);
    return { values: sorted, counts: sorted.map((v) => counts.get(v)!) };
  }
  const table = new Uint32Array(values instanceof Uint8Array ? 256 : 65536);
  for (let i = 0; i < values.length; i++) table[values[i]]++;
  const result: ValueHistogram = { values: [], counts: [] };
  for (let v = 0; v < table.length; v++) {
    if (table[v] > 0) {
      result.values.push(v);
      result.counts.push(table[v]);
    }
  }
  return result;
}

/** Adds `other` into `total` (both ascending); returns `total`. */
export function mergeHistograms(total: ValueHistogram, other: ValueHistogram): ValueHistogram {
  const counts = new Map<number, number>();
  total.values.forEach((v, i) => counts.set(v, total.counts[i]));
  other.values.forEach((v, i) => counts.set(v, (counts.get(v) ?? 0) + other.counts[i]));
  total.values = [...counts.keys()].sort((a, b) => a - b);
  total.counts = total.values.map((v) => counts.get(v)!);
  return total;
}

/** The pixel count of `value` in a histogram (0 when absent). */
export function countOf(histogram: ValueHistogram, value: number): number {
  const i = histogram.values.indexOf(value);
  return i < 0 ? 0 : histogram.counts[i];
}

/**
 * The fraction of pixels with one of `values` whose four neighbours all share their value. Class
 * regions (a cytoplasm ring, a nucleus) are mostly interior; the in-between grays of an
 * anti-aliased or resized binary mask form one- or two-pixel seams along edges and are not.
 */
export function interiorFraction(plane: Plane<MaskValues>, selected: ReadonlySet<number>): number {
  const { width, height, data: values } = plane;
  let total = 0;
  let interior = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = values[i];
      if (!selected.has(v)) continue;
      total++;
      if (
        (x === 0 || values[i - 1] === v) &&
        (x === width - 1 || values[i + 1] === v) &&
        (y === 0 || values[i - width] === v) &&
        (y === height - 1 || values[i + width] === v)
      )
        interior++;
    }
  }
  return total === 0 ? 1 : interior / total;
}

/** `"25 (52 px), 7 (38 px), … and 3 more"`: the listed values, most frequent first. */
export function describeValues(histogram: ValueHistogram, limit = 8): string {
  const order = histogram.values.map((v, i) => [v, histogram.counts[i]] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const shown = order.slice(0, limit).map(([v, n]) => `${v} (${n} px)`);
  if (order.length > limit) shown.push(`… and ${order.length - limit} more`);
  return shown.join(', ');
}

/** `"1, 2, 3"`, or for many values `"1, 2, …, 300 (300 values)"`: readable however many there are. */
export function listValues(values: readonly number[], limit = 12): string {
  if (values.length <= limit) return values.join(', ');
  return `${values.slice(0, limit - 1).join(', ')}, …, ${values[values.length - 1]} (${values.length} values)`;
}

/** A hint for masks saved in a lossy format, whose edges get spurious values. */
export function lossyHint(file: string | undefined): string {
  const extension = file ? extname(file).toLowerCase() : '';
  return extension === '.jpg' || extension === '.jpeg' || extension === '.webp'
    ? ` (${file} is ${extension === '.webp' ? 'a WebP' : 'a JPEG'}; lossy compression blurs mask edges: save masks as PNG or TIFF)`
    : '';
}

/** A percentage with one decimal, e.g. `"18.2%"`. */
export const percent = (part: number, total: number) => `${((100 * part) / Math.max(total, 1)).toFixed(1)}%`;
