import type { RasterImage } from '../image/types.js';
import { DEFAULT_PERCENTILES, percentileOfSorted } from './normalize.js';

/**
 * Stored value ranges of images, for `data check`: what each image holds, and which images are
 * far from the rest (a 12-bit image among 8-bit ones, a float image in 0–1 among 16-bit ones).
 */

/** The stored values of one image, over its colour channels (alpha excluded), NaN and ∞ ignored. */
export interface ValueRange {
  min: number;
  max: number;
  /** The 1st and 99.8th percentiles: the range the default normalisation maps to 0–1. */
  low: number;
  high: number;
}

/** Percentiles come from at most this many values (an even stride): enough for a survey. */
const SURVEY_SAMPLE = 1 << 16;
/** An image is far from the rest when its robust span differs from the median span by this factor or more. */
const FAR_FACTOR = 4;

/** The value range of a raster's colour channels (or of `channels` among them). */
export function valueRange(raster: RasterImage, channels?: readonly number[]): ValueRange {
  const alpha = raster.alpha ?? (raster.channels === 2 || raster.channels === 4);
  const used = channels ?? Array.from({ length: raster.channels - (alpha ? 1 : 0) }, (_, c) => c);
  const pixels = raster.width * raster.height;
  const stride = Math.max(1, Math.ceil((pixels * used.length) / SURVEY_SAMPLE));
  const sample: number[] = [];
  let min = Infinity;
  let max = -Infinity;
  for (let p = 0, k = 0; p < pixels; p++) {
    for (const c of used) {
      const v = raster.data[p * raster.channels + c];
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
      if (k++ % stride === 0) sample.push(v);
    }
  }
  if (sample.length === 0) return { min: NaN, max: NaN, low: NaN, high: NaN };
  const sorted = Float64Array.from(sample).sort();
  return { min, max, low: percentileOfSorted(sorted, DEFAULT_PERCENTILES.low), high: percentileOfSorted(sorted, DEFAULT_PERCENTILES.high) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * The images whose values lie far from the others': a robust span (99.8th − 1st percentile)
 * at least 4× larger or smaller than the median span, or a middle more than two median spans
 * from the median middle. Needs three images or more.
 * @returns the indices of the far images and the median robust range they are far from.
 */
export function farRanges(ranges: readonly ValueRange[]): { far: number[]; typical: { low: number; high: number } } {
  const finite = ranges.filter((r) => Number.isFinite(r.low));
  const typical = { low: median(finite.map((r) => r.low)), high: median(finite.map((r) => r.high)) };
  if (finite.length < 3) return { far: [], typical };
  const span = Math.max(median(finite.map((r) => r.high - r.low)), Number.EPSILON);
  const middle = median(finite.map((r) => (r.high + r.low) / 2));
  const far: number[] = [];
  ranges.forEach((r, i) => {
    if (!Number.isFinite(r.low)) return;
    const ratio = Math.max(r.high - r.low, Number.EPSILON) / span;
    if (ratio >= FAR_FACTOR || ratio <= 1 / FAR_FACTOR || Math.abs((r.high + r.low) / 2 - middle) > 2 * span) far.push(i);
  });
  return { far, typical };
}

/** A value for messages: whole numbers as such, others with 3 significant digits. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(+v.toPrecision(3));
}
