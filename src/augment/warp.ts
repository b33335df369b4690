/**
 * The single resampling pass of geometric augmentation: one patch row of source coordinates at a
 * time (kept in L1 cache) feeds the image (bilinear), the labels (nearest: no new values) and the
 * weight map (bilinear). Sources are the whole sample, `[H, W, C]` interleaved, reflected at their
 * borders; outputs are channel-planar, `[C, P, P]` for the image and `[o, o]` for labels and weights.
 */
import { coordinateMapper, isPixelExact, type GeometryParams } from './geometry.js';
import { mirrorIndex } from '../image/plane.js';
import type { FloatImage } from '../image/types.js';

/** What is warped together. */
export interface WarpSource {
  /** `[H, W, C]`. */
  image: FloatImage;
  /** `[H, W]` class indices. */
  labels?: Uint8Array;
  /** `[H, W]` loss weights. */
  weights?: Float32Array;
}

/** Destinations: image `[C, P, P]`, labels and weights `[o, o]` (the centre crop). */
export interface WarpTarget {
  image: Float32Array;
  labels?: Uint8Array;
  weights?: Float32Array;
}

let rowX = new Float32Array(0);
let rowY = new Float32Array(0);

/**
 * Warps image, labels and weights through the geometry's coordinate map in one pass over the
 * patch rows. `patchSize` P is the image side, `outputSize` o (default P) the side of the centred
 * label/weight crop. Flips and quarter turns alone land on whole pixels and are copied exactly.
 */
export function warpPatch(
  source: WarpSource,
  params: GeometryParams,
  region: { x: number; y: number; patchSize: number; outputSize?: number },
  out: WarpTarget,
): void {
  const size = region.patchSize;
  const crop = region.outputSize ?? size;
  const margin = (size - crop) >> 1;
  if (rowX.length < size) {
    rowX = new Float32Array(size);
    rowY = new Float32Array(size);
  }
  const mapper = coordinateMapper(params, region);
  const exact = isPixelExact(params);
  const { image, labels, weights } = source;
  const plane = size * size;
  const { width: W, height: H, channels: C } = image;
  const linear = params.elasticGrid === null;
  for (let v = 0; v < size; v++) {
    mapper.row(v, rowX, rowY);
    const inCrop = v >= margin && v < margin + crop;
    const o = (v - margin) * crop;
    if (exact && inside(0, size, W, H)) {
      // A whole row of whole pixels inside the image: a strided copy.
      const start = rowY[0] * W + rowX[0];
      const step = size > 1 ? (rowY[1] - rowY[0]) * W + (rowX[1] - rowX[0]) : 0;
      stridedRow(image.data, C, start, step, size, out.image, v * size, plane);
      if (!inCrop) continue;
      if (labels && out.labels) stridedLabels(labels, start + margin * step, step, crop, out.labels, o);
      if (weights && out.weights) stridedRow(weights, 1, start + margin * step, step, crop, out.weights, o, 0);
      continue;
    }
    const rowInside = !exact && interior(size, W, H, linear);
    if (exact) nearestRow(image.data, W, H, C, 0, size, out.image, v * size, plane);
    else if (rowInside && C === 3) bilinearInteriorRow(image.data, W, 3, 0, size, out.image, v * size, plane);
    else bilinearRow(image.data, W, H, C, 0, size, out.image, v * size, plane);
    if (!inCrop) continue;
    if (labels && out.labels) {
      if (rowInside) nearestInteriorRow(labels, W, margin, crop, out.labels, o);
      else nearestLabels(labels, W, H, margin, crop, out.labels, o);
    }
    if (weights && out.weights) {
      if (exact) nearestRow(weights, W, H, 1, margin, crop, out.weights, o, 0);
      else if (rowInside) bilinearInteriorRow(weights, W, 1, margin, crop, out.weights, o, 0);
      else bilinearRow(weights, W, H, 1, margin, crop, out.weights, o, 0);
    }
  }
}

/** {@link nearestRow} for one channel of a row known to lie inside the image. */
function nearestInteriorRow(data: Uint8Array, W: number, first: number, count: number, out: Uint8Array, o: number): void {
  for (let u = first; u < first + count; u++, o++) out[o] = data[((rowY[u] + 0.5) | 0) * W + ((rowX[u] + 0.5) | 0)];
}

/**
 * True when every bilinear footprint of the row lies inside the image (0 ≤ x < W − 1, same in y),
 * so no pixel needs reflecting. Affine rows are straight lines: their ends decide.
 */
function interior(count: number, W: number, H: number, linear: boolean): boolean {
  let minX = Math.min(rowX[0], rowX[count - 1]);
  let maxX = Math.max(rowX[0], rowX[count - 1]);
  let minY = Math.min(rowY[0], rowY[count - 1]);
  let maxY = Math.max(rowY[0], rowY[count - 1]);
  if (!linear) {
    for (let u = 1; u < count - 1; u++) {
      const x = rowX[u];
      const y = rowY[u];
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  return minX >= 0 && maxX < W - 1 && minY >= 0 && maxY < H - 1;
}

/**
 * {@link bilinearRow} for a row known to lie inside the image, with no bounds checks: 3-channel
 * images, and 1-channel weight maps (interpolated along x, then y).
 */
function bilinearInteriorRow(
  data: Float32Array,
  W: number,
  C: 1 | 3,
  first: number,
  count: number,
  out: Float32Array,
  o: number,
  plane: number,
): void {
  const rowStride = W * C;
  for (let u = first; u < first + count; u++, o++) {
    const sx = rowX[u];
    const sy = rowY[u];
    // Coordinates are ≥ 0 here, so truncation is floor.
    const x0 = sx | 0;
    const y0 = sy | 0;
    const fx = sx - x0;
    const fy = sy - y0;
    const i00 = y0 * rowStride + x0 * C;
    const i10 = i00 + rowStride;
    if (C === 1) {
      const top = data[i00] + fx * (data[i00 + 1] - data[i00]);
      const bottom = data[i10] + fx * (data[i10 + 1] - data[i10]);
      out[o] = top + fy * (bottom - top);
      continue;
    }
    const w11 = fx * fy;
    const w10 = fy - w11;
    const w01 = fx - w11;
    const w00 = 1 - fx - fy + w11;
    out[o] = w00 * data[i00] + w01 * data[i00 + 3] + w10 * data[i10] + w11 * data[i10 + 3];
    out[o + plane] = w00 * data[i00 + 1] + w01 * data[i00 + 4] + w10 * data[i10 + 1] + w11 * data[i10 + 4];
    out[o + 2 * plane] = w00 * data[i00 + 2] + w01 * data[i00 + 5] + w10 * data[i10 + 2] + w11 * data[i10 + 5];
  }
}

/** True when the row's first and last source pixels (hence all, the map being affine) lie inside. */
function inside(first: number, count: number, W: number, H: number): boolean {
  const last = first + count - 1;
  return (
    rowX[first] >= 0 &&
    rowX[first] <= W - 1 &&
    rowY[first] >= 0 &&
    rowY[first] <= H - 1 &&
    rowX[last] >= 0 &&
    rowX[last] <= W - 1 &&
    rowY[last] >= 0 &&
    rowY[last] <= H - 1
  );
}

/** Copies `count` pixels starting at pixel `start` and `step` pixels apart; channel k to offset k·plane. */
function stridedRow(
  data: Float32Array,
  C: number,
  start: number,
  step: number,
  count: number,
  out: Float32Array,
  o: number,
  plane: number,
): void {
  let s = start * C;
  const stride = step * C;
  if (C === 3) {
    for (let u = 0; u < count; u++, o++, s += stride) {
      out[o] = data[s];
      out[o + plane] = data[s + 1];
      out[o + 2 * plane] = data[s + 2];
    }
  } else if (C === 1) {
    for (let u = 0; u < count; u++, o++, s += stride) out[o] = data[s];
  } else {
    for (let u = 0; u < count; u++, o++, s += stride) for (let k = 0; k < C; k++) out[o + k * plane] = data[s + k];
  }
}

/**
 * Bilinear samples at `rowX/rowY[first … first+count)` written to `out[o …]`, channel k at
 * offset k·plane. Specialised for 1 and 3 channels: this is the hottest loop of augmentation.
 */
function bilinearRow(
  data: Float32Array,
  W: number,
  H: number,
  C: number,
  first: number,
  count: number,
  out: Float32Array,
  o: number,
  plane: number,
): void {
  const rowStride = W * C;
  for (let u = first; u < first + count; u++, o++) {
    const sx = rowX[u];
    const sy = rowY[u];
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const fx = sx - x0;
    const fy = sy - y0;
    let i00: number;
    let i01: number;
    let i10: number;
    let i11: number;
    if (x0 >= 0 && y0 >= 0 && x0 < W - 1 && y0 < H - 1) {
      i00 = y0 * rowStride + x0 * C;
      i01 = i00 + C;
      i10 = i00 + rowStride;
      i11 = i10 + C;
    } else {
      const xa = mirrorIndex(x0, W) * C;
      const xb = mirrorIndex(x0 + 1, W) * C;
      const ya = mirrorIndex(y0, H) * rowStride;
      const yb = mirrorIndex(y0 + 1, H) * rowStride;
      i00 = ya + xa;
      i01 = ya + xb;
      i10 = yb + xa;
      i11 = yb + xb;
    }
    const w11 = fx * fy;
    const w10 = fy - w11;
    const w01 = fx - w11;
    const w00 = 1 - fx - fy + w11;
    if (C === 3) {
      out[o] = w00 * data[i00] + w01 * data[i01] + w10 * data[i10] + w11 * data[i11];
      out[o + plane] = w00 * data[i00 + 1] + w01 * data[i01 + 1] + w10 * data[i10 + 1] + w11 * data[i11 + 1];
      out[o + 2 * plane] = w00 * data[i00 + 2] + w01 * data[i01 + 2] + w10 * data[i10 + 2] + w11 * data[i11 + 2];
    } else if (C === 1) {
      out[o] = w00 * data[i00] + w01 * data[i01] + w10 * data[i10] + w11 * data[i11];
    } else {
      for (let k = 0; k < C; k++) {
        out[o + k * plane] = w00 * data[i00 + k] + w01 * data[i01 + k] + w10 * data[i10 + k] + w11 * data[i11 + k];
      }
    }
  }
}

/** Nearest-neighbour samples, as {@link bilinearRow}; copies values exactly (labels, exact turns). */
function nearestRow(
  data: Float32Array,
  W: number,
  H: number,
  C: number,
  first: number,
  count: number,
  out: Float32Array,
  o: number,
  plane: number,
): void {
  for (let u = first; u < first + count; u++, o++) {
    let x = Math.floor(rowX[u] + 0.5);
    let y = Math.floor(rowY[u] + 0.5);
    if (x < 0 || x >= W) x = mirrorIndex(x, W);
    if (y < 0 || y >= H) y = mirrorIndex(y, H);
    const s = (y * W + x) * C;
    if (C === 1) {
      out[o] = data[s];
    } else if (C === 3) {
      out[o] = data[s];
      out[o + plane] = data[s + 1];
      out[o + 2 * plane] = data[s + 2];
    } else {
      for (let k = 0; k < C; k++) out[o + k * plane] = data[s + k];
    }
  }
}

// Labels get their own copies of the copy loops: sharing one function between Uint8Array and
// Float32Array makes V8's element access polymorphic, which measurably slows every call.

/** {@link stridedRow} for labels. */
function stridedLabels(data: Uint8Array, start: number, step: number, count: number, out: Uint8Array, o: number): void {
  for (let u = 0, s = start; u < count; u++, o++, s += step) out[o] = data[s];
}

/** {@link nearestRow} for labels. */
function nearestLabels(data: Uint8Array, W: number, H: number, first: number, count: number, out: Uint8Array, o: number): void {
  for (let u = first; u < first + count; u++, o++) {
    let x = Math.floor(rowX[u] + 0.5);
    let y = Math.floor(rowY[u] + 0.5);
    if (x < 0 || x >= W) x = mirrorIndex(x, W);
    if (y < 0 || y >= H) y = mirrorIndex(y, H);
    out[o] = data[y * W + x];
  }
}
