import { PyocyteError } from '../util/errors.js';
import { describeValues, listValues, lossyHint, type MaskValues, type ValueHistogram } from './mask-values.js';
import { checkPlane, type Plane } from '../image/plane.js';
import type { RasterImage } from '../image/types.js';

/**
 * Parses a value map such as `"0:background,128:cytoplasm,255:nucleus"`: file value → class name.
 * Classes are numbered in the order they are first named, so the first is background (index 0);
 * several values may name the same class (`"0:background,1:background,255:cell"`).
 * @returns `valueMap` (file value → class index) and `classNames` (index → name).
 */
export function parseValueMap(text: string): { valueMap: Record<number, number>; classNames: string[] } {
  const valueMap: Record<number, number> = {};
  const classNames: string[] = [];
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const usage = `expected value:class pairs such as "0:background,128:cytoplasm,255:nucleus"`;
  if (entries.length === 0) throw new PyocyteError(`the value map is empty; ${usage}`);
  for (const entry of entries) {
    const match = /^(\d+)\s*:\s*([^:]+)$/.exec(entry);
    if (!match) throw new PyocyteError(`cannot read '${entry}' in the value map; ${usage}`);
    const value = Number(match[1]);
    const name = match[2].trim();
    if (value > 0xffffffff) throw new PyocyteError(`value ${value} in the value map is too large for a mask`);
    if (Object.hasOwn(valueMap, value)) {
      throw new PyocyteError(`value ${value} appears twice in the value map '${text}'`);
    }
    let index = classNames.indexOf(name);
    if (index < 0) {
      index = classNames.push(name) - 1;
      if (index > 255) throw new PyocyteError(`the value map names more than 256 classes`);
    }
    valueMap[value] = index;
  }
  if (classNames.length < 2) {
    throw new PyocyteError(`the value map '${text}' names a single class; give at least background and one object class`);
  }
  return { valueMap, classNames };
}

/** The mapped value nearest to `value` (ties go to the lower one). */
function nearestKey(keys: readonly number[], value: number): number {
  let best = keys[0];
  for (const key of keys) {
    const d = Math.abs(key - value);
    const bestD = Math.abs(best - value);
    if (d < bestD || (d === bestD && key < best)) best = key;
  }
  return best;
}

/**
 * Maps mask values to class indices through `valueMap`. Values the map lacks fail (listing each
 * with its pixel count) or, with policy 'nearest', snap to the nearest mapped value with a note.
 */
export function mapValues(
  values: MaskValues,
  histogram: ValueHistogram,
  valueMap: Record<number, number>,
  strayValues: 'error' | 'nearest',
  file: string,
): { labels: Uint8Array; classes: number; note?: string } {
  const keys = Object.keys(valueMap)
    .map(Number)
    .sort((a, b) => a - b);
  const classes = Math.max(2, ...Object.values(valueMap).map((c) => c + 1));
  const lookup = new Map<number, number>();
  for (const key of keys) lookup.set(key, valueMap[key]);
  const stray: ValueHistogram = { values: [], counts: [] };
  histogram.values.forEach((v, i) => {
    if (!lookup.has(v)) {
      stray.values.push(v);
      stray.counts.push(histogram.counts[i]);
    }
  });
  let note: string | undefined;
  if (stray.values.length > 0) {
    const pixels = stray.counts.reduce((a, b) => a + b, 0);
    if (strayValues === 'error') {
      throw new PyocyteError(
        `${file} has ${stray.values.length} value${stray.values.length === 1 ? '' : 's'} not in the value map (${keys.join(', ')}): ` +
          `${describeValues(stray)}, ${pixels} pixel${pixels === 1 ? '' : 's'} in all${lossyHint(file)}; ` +
          `fix the mask, add them to --value-map, or pass --stray-values nearest to snap them to the nearest mapped value`,
        { file },
      );
    }
    for (const v of stray.values) lookup.set(v, valueMap[nearestKey(keys, v)]);
    note = `${file}: snapped ${pixels} pixel${pixels === 1 ? '' : 's'} with unmapped values ${listValues(stray.values)} to the nearest mapped value`;
  }
  const labels = new Uint8Array(values.length);
  if (values instanceof Uint8Array) {
    const table = new Uint8Array(256);
    for (const [v, c] of lookup) if (v < 256) table[v] = c;
    for (let i = 0; i < values.length; i++) labels[i] = table[values[i]];
  } else {
    for (let i = 0; i < values.length; i++) labels[i] = lookup.get(values[i])!;
  }
  return { labels, classes, note };
}

/**
 * Turns class labels back into a mask that looks like the input masks did: through the inverse of
 * `valueMap` (each class gets its lowest mapped value), or for binary labels white objects on black
 * (`polarity` 'white', the default) or black on white. Without either, multiclass labels are written
 * as class indices: with `task` 'multiclass' even on an image where only class 1 occurs, which would
 * otherwise look binary and be drawn 0/255.
 * @param plane class indices.
 * @returns a one-channel raster, 8-bit (16-bit when a mapped value exceeds 255).
 */
export function labelsToMask(
  plane: Plane<Uint8Array>,
  options: { polarity?: 'white' | 'black'; valueMap?: Record<number, number>; task?: 'binary' | 'multiclass' } = {},
): RasterImage {
  checkPlane(plane, 'labelsToMask');
  const { width, height, data: labels } = plane;
  let maxLabel = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] > maxLabel) maxLabel = labels[i];
  const table: number[] = [];
  if (options.valueMap) {
    for (const key of Object.keys(options.valueMap)
      .map(Number)
      .sort((a, b) => a - b)) {
      const c = options.valueMap[key];
      if (table[c] === undefined) table[c] = key;
    }
    for (let c = 0; c <= maxLabel; c++) {
      if (table[c] === undefined) throw new PyocyteError(`labelsToMask: class ${c} has no value in the value map`);
    }
  } else if (maxLabel <= 1 && options.task !== 'multiclass') {
    const black = options.polarity === 'black';
    table.push(black ? 255 : 0, black ? 0 : 255);
  } else {
    for (let c = 0; c <= maxLabel; c++) table.push(c);
  }
  const sixteen = table.some((v) => v > 255);
  const data = sixteen ? new Uint16Array(labels.length) : new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) data[i] = table[labels[i]];
  return { width, height, channels: 1, bitDepth: sixteen ? 16 : 8, data };
}
