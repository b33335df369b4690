/**
 * Exact Euclidean distance transforms (Felzenszwalb & Huttenlocher 2012) on planes, in linear
 * time. The U-Net border weights measure distances to cells with them; the watershed that splits
 * touching cells measures distances to the background.
 */
import { checkPlane, type PixelArray, type Plane } from './plane.js';

/** Options of {@link distanceTransform}. */
export interface DistanceOptions {
  /**
   * Treat the pixels just outside the image as background, so objects cut by the border get
   * small distances there. Default false (like scipy's `distance_transform_edt`): a cell cut by
   * the border keeps its peak near the border and still gets its own watershed marker.
   */
  borderIsBackground?: boolean;
}

/** Squared distances at or above this mean "no feature pixel on this line". */
export const INF = 1e20;

/**
 * Squared Euclidean distance transform of one line (Felzenszwalb & Huttenlocher 2012): the lower
 * envelope of parabolas rooted at the finite entries of `f` (0 at object pixels, or squared
 * distances from the previous pass). Lines without any finite entry stay INF.
 */
function distanceLine(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] >= INF) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -INF;
      z[1] = INF;
      continue;
    }
    let s: number;
    // z[0] = −INF, so this stops at k = 0 at the latest.
    for (;;) {
      const p = v[k];
      s = (f[q] + q * q - (f[p] + p * p)) / (2 * (q - p));
      if (s > z[k]) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  if (k < 0) {
    d.fill(INF, 0, n);
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const p = v[k];
    d[q] = (q - p) * (q - p) + f[p];
  }
}

/**
 * Exact squared Euclidean distance from every pixel to the nearest non-zero pixel of `plane`.
 * Returns the squared distances, 1e20 everywhere when the plane has no non-zero pixel.
 */
export function squaredDistanceTransform(plane: Plane<PixelArray>): Plane<Float64Array> {
  checkPlane(plane, 'squaredDistanceTransform');
  const { width, height, data: mask } = plane;
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const out = new Float64Array(width * height);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = mask[y * width + x] !== 0 ? 0 : INF;
    distanceLine(f, height, d, v, z);
    for (let y = 0; y < height; y++) out[y * width + x] = d[y];
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) f[x] = out[y * width + x];
    distanceLine(f, width, d, v, z);
    for (let x = 0; x < width; x++) out[y * width + x] = d[x];
  }
  return { width, height, data: out };
}

const FAR = 1 << 30;

/**
 * Distance from each foreground pixel (mask ≠ 0) to the nearest background pixel, in pixels;
 * background pixels are 0. Exact: a vertical 1-D pass (two linear scans) then
 * Felzenszwalb–Huttenlocher's lower envelope of parabolas along each row. `Infinity` when the
 * image has no background at all (and `borderIsBackground` is false).
 */
export function distanceTransform(plane: Plane<Uint8Array>, options: DistanceOptions = {}): Plane<Float32Array> {
  checkPlane(plane, 'distanceTransform');
  const { width, height, data: mask } = plane;
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
  const z = new Float64Array(width + 2);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let any = false;
    for (let x = 0; x < width; x++) {
      const g = column[row + x];
      f[x] = g >= FAR ? INF : g * g;
      if (g !== 0) any = true;
    }
    if (!any) continue;
    distanceLine(f, width, d, v, z);
    for (let x = 0; x < width; x++) {
      if (mask[row + x] === 0) continue;
      let squared = d[x];
      if (border) squared = Math.min(squared, (x + 1) * (x + 1), (width - x) * (width - x));
      out[row + x] = squared >= INF ? Infinity : Math.sqrt(squared);
    }
  }
  return { width, height, data: out };
}
