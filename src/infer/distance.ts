/**
 * Exact Euclidean distance transform and masked Gaussian smoothing, on `[H, W]` row-major
 * typed arrays, linear time.
 */
import { fail } from '../util/errors.js';

/** Options of {@link distanceTransform}. */
export interface DistanceOptions {
  /**
   * Treat the pixels just outside the image as background, so objects cut by the border get
   * small distances there. Default false (like scipy's `distance_transform_edt`): a cell cut by
   * the border keeps its peak near the border and still gets its own watershed marker.
   */
  borderIsBackground?: boolean;
}

const FAR = 1 << 30;

/** Fails unless `length` pixels make a `width × height` image with positive integer sides. */
export function checkSize(length: number, width: number, height: number, what: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    fail(`${what}: width and height must be positive integers, got ${width}×${height}`);
  }
  if (length !== width * height) fail(`${what}: the array has ${length} pixels but the size is ${width}×${height} = ${width * height}`);
}

/**
 * Distance from each foreground pixel (mask ≠ 0) to the nearest background pixel, in pixels;
 * background pixels are 0. `[H, W]`. Exact: a vertical 1-D pass (two linear scans) then
 * Felzenszwalb–Huttenlocher's lower envelope of parabolas along each row. `Infinity` when the
 * image has no background at all (and `borderIsBackground` is false).
 */
export function distanceTransform(mask: Uint8Array, width: number, height: number, options: DistanceOptions = {}): Float32Array {
  checkSize(mask.length, width, height, 'distanceTransform');
  const border = options.borderIsBackground ?? false;
  // Vertical distances, computed row by row so memory is read contiguously.
  const column = new Int32Array(width * height);
  for (let x = 0; x < width; x++) column[x] = mask[x] === 0 ? 0 : border ? 1 : FAR;
  for (let y = 1; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (mask[row + x] === 0) continue;
      const above = column[row - width + x];
      column[row + x] = above >= FAR ? FAR : above + 1;
    }
  }
  const last = (height - 1) * width;
  if (border) for (let x = 0; x < width; x++) if (column[last + x] > 1) column[last + x] = 1;
  for (let y = height - 2; y >= 0; y--) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const below = column[row + width + x] + 1;
      if (below < column[row + x]) column[row + x] = below;
    }
  }
  const out = new Float32Array(width * height);
  const f = new Float64Array(width);
  const d = new Float64Array(width);
  const v = new Int32Array(width);
  const z = new Float64Array(width + 1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let any = false;
    for (let x = 0; x < width; x++) {
      const g = column[row + x];
      f[x] = g >= FAR ? 1e20 : g * g;
      if (g !== 0) any = true;
    }
    if (!any) continue;
    lowerEnvelope(f, d, v, z, width);
    for (let x = 0; x < width; x++) {
      if (mask[row + x] === 0) continue;
      let squared = d[x];
      if (border) squared = Math.min(squared, (x + 1) * (x + 1), (width - x) * (width - x));
      out[row + x] = squared >= 1e19 ? Infinity : Math.sqrt(squared);
    }
  }
  return out;
}

/** 1-D squared distance transform of sampled function f (Felzenszwalb & Huttenlocher 2012). */
function lowerEnvelope(f: Float64Array, d: Float64Array, v: Int32Array, z: Float64Array, n: number): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    const fq = f[q] + q * q;
    let s = (fq - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (fq - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const offset = q - v[k];
    d[q] = offset * offset + f[v[k]];
  }
}

/**
 * Separable Gaussian blur of `values` `[H, W]` (σ = `sigmaPx`, default 1; radius ⌈3σ⌉; edges clamped),
 * then zero outside the mask. Smoothing a distance map removes the one-pixel ridges and bumps of
 * digital boundaries that would otherwise become spurious watershed markers.
 */
export function smoothInsideMask(values: Float32Array, mask: Uint8Array, width: number, height: number, options: { sigmaPx?: number } = {}): Float32Array {
  const sigmaPx = options.sigmaPx ?? 1;
  checkSize(values.length, width, height, 'smoothInsideMask');
  if (!(sigmaPx > 0)) return Float32Array.from(values, (value, i) => (mask[i] === 0 ? 0 : value));
  const radius = Math.ceil(3 * sigmaPx);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigmaPx * sigmaPx));
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  // Rows without mask pixels need no output, and a vertical window only reads rows within radius.
  const needed = new Uint8Array(height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (mask[row + x] === 0) continue;
      for (let i = Math.max(0, y - radius); i <= Math.min(height - 1, y + radius); i++) needed[i] = 1;
      break;
    }
  }
  const horizontal = new Float32Array(values.length);
  const last = width - 1;
  for (let y = 0; y < height; y++) {
    if (needed[y] === 0) continue;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      if (x >= radius && x + radius <= last) {
        const base = row + x - radius;
        for (let i = 0; i < kernel.length; i++) acc += kernel[i] * values[base + i];
      } else {
        for (let i = -radius; i <= radius; i++) {
          const xi = x + i < 0 ? 0 : x + i > last ? last : x + i;
          acc += kernel[i + radius] * values[row + xi];
        }
      }
      horizontal[row + x] = acc;
    }
  }
  const out = new Float32Array(values.length);
  const accumulator = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let any = false;
    for (let x = 0; x < width && !any; x++) any = mask[row + x] !== 0;
    if (!any) continue;
    accumulator.fill(0);
    for (let i = -radius; i <= radius; i++) {
      const yi = y + i < 0 ? 0 : y + i >= height ? height - 1 : y + i;
      const weight = kernel[i + radius];
      const source = yi * width;
      for (let x = 0; x < width; x++) accumulator[x] += weight * horizontal[source + x];
    }
    for (let x = 0; x < width; x++) out[row + x] = mask[row + x] === 0 ? 0 : accumulator[x];
  }
  return out;
}
