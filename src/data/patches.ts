/**
 * Patches: grid layouts that cover an image with overlap, mirror-padded extraction, and the
 * random patch origins used in training (with foreground oversampling, as in nnU-Net).
 */
import { IGNORE_LABEL } from '../image/ignore.js';
import { fail } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { Sample } from './types.js';
import { checkPlane, mirrorIndex, type PixelArray, type PixelGrid, type PlaneSize } from '../image/plane.js';

/** The top-left corner of a patch in image pixels; may be negative (the patch is mirror-padded). */
export interface PatchOrigin {
  x: number;
  y: number;
}

/** How {@link gridPatches} spaces patches: a fixed stride, or a fixed number per image. */
export type GridOptions =
  | { /** Patch side in pixels. */ patchSize: number /** Pixels between patch origins. */; stride: number }
  | { patchSize: number /** Patches per image (the seed project used 15). */; count: number };

/** Origins along one axis from 0 to `length − patchSize` with at most `stride` between them. */
function axisByStride(length: number, patchSize: number, stride: number): number[] {
  if (length <= patchSize) return [Math.floor((length - patchSize) / 2)];
  const positions: number[] = [];
  for (let p = 0; p + patchSize < length; p += stride) positions.push(p);
  const last = length - patchSize;
  if (positions[positions.length - 1] !== last) positions.push(last);
  return positions;
}

/** `parts` evenly spaced origins along one axis, the first and last flush with the borders. */
function axisByParts(length: number, patchSize: number, parts: number): number[] {
  if (length <= patchSize || parts === 1) return Array(parts).fill(Math.floor((length - patchSize) / 2));
  return Array.from({ length: parts }, (_, i) => Math.round((i * (length - patchSize)) / (parts - 1)));
}

/** The rows×cols grid with rows·cols ≥ count whose shape is closest to the image's aspect ratio. */
export function gridShape(size: PlaneSize, count: number): { rows: number; cols: number } {
  const { width, height } = size;
  let best = { rows: 1, cols: count, score: Infinity };
  for (let rows = 1; rows <= count; rows++) {
    const cols = Math.ceil(count / rows);
    const score = Math.abs(Math.log(cols / rows / (width / height)));
    // Ties go to the grid with fewer spare cells.
    if (score < best.score - 1e-9 || (Math.abs(score - best.score) <= 1e-9 && rows * cols < best.rows * best.cols)) {
      best = { rows, cols, score };
    }
  }
  return { rows: best.rows, cols: best.cols };
}

/**
 * Patch origins that cover an image of `size` with overlapping `patchSize` patches, in
 * row-major order. With `stride`, origins step by `stride` and the last patch is flush with the
 * border. With `count`, a rows×cols grid shaped like the image (see {@link gridShape}) is spread
 * evenly over it and exactly `count` cells are taken, spread over the grid so the corners are
 * kept. An image smaller than a patch gets centred origins (negative: the patch is mirror-padded).
 */
export function gridPatches(size: PlaneSize, options: GridOptions): PatchOrigin[] {
  const { width, height } = size;
  const { patchSize } = options;
  if (!(Number.isInteger(patchSize) && patchSize >= 1)) fail(`patch size must be a positive integer, got ${patchSize}`);
  if ('stride' in options) {
    const { stride } = options;
    if (!(Number.isInteger(stride) && stride >= 1)) fail(`patch stride must be a positive integer, got ${stride}`);
    const xs = axisByStride(width, patchSize, stride);
    const ys = axisByStride(height, patchSize, stride);
    return ys.flatMap((y) => xs.map((x) => ({ x, y })));
  }
  const { count } = options;
  if (!(Number.isInteger(count) && count >= 1)) fail(`patches per image must be a positive integer, got ${count}`);
  const { rows, cols } = gridShape(size, count);
  const xs = axisByParts(width, patchSize, cols);
  const ys = axisByParts(height, patchSize, rows);
  const cells = ys.flatMap((y) => xs.map((x) => ({ x, y })));
  return Array.from({ length: count }, (_, k) => cells[Math.floor(((k + 0.5) * cells.length) / count)]);
}

/** The region {@link extractPatch} cuts: top-left corner and side. */
export interface PatchRegion {
  x: number;
  y: number;
  /** Side of the square patch in pixels. */
  size: number;
}

/**
 * Copies the `size`×`size` patch at (x, y) out of `image`, reflecting (numpy `'reflect'`) where
 * it extends beyond the image. Works for any pixel type and channel count; the result has the
 * same array type, `[size, size, C]`.
 */
export function extractPatch<T extends PixelArray>(image: PixelGrid<T>, region: PatchRegion): PixelGrid<T> {
  const { width, height, channels, data } = image;
  const { x, y, size } = region;
  checkPlane(image, 'extractPatch', { channels });
  const out = new (data.constructor as new (length: number) => T)(size * size * channels);
  const columns = new Int32Array(size);
  for (let u = 0; u < size; u++) columns[u] = mirrorIndex(x + u, width) * channels;
  for (let v = 0; v < size; v++) {
    const rowStart = mirrorIndex(y + v, height) * width * channels;
    let o = v * size * channels;
    if (x >= 0 && x + size <= width) {
      out.set(data.subarray(rowStart + x * channels, rowStart + (x + size) * channels) as never, o);
      continue;
    }
    for (let u = 0; u < size; u++) {
      const s = rowStart + columns[u];
      for (let c = 0; c < channels; c++) out[o++] = data[s + c];
    }
  }
  return { data: out, width: size, height: size, channels };
}

/**
 * Pixel indices (`y·W + x`) of each class, `[class][k]`; index 0 (background) is left empty.
 * Cached per label array, since training draws many patches from each sample.
 */
const foregroundCache = new WeakMap<Uint8Array, Int32Array[]>();

/** The pixel indices of every non-background class in `labels` (cached; see {@link samplePatchOrigin}). */
export function foregroundPixels(labels: Uint8Array): Int32Array[] {
  const cached = foregroundCache.get(labels);
  if (cached) return cached;
  const counts = new Int32Array(256);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  let classes = 1;
  // Ignored pixels (IGNORE_LABEL, the top value) are no class to centre patches on.
  for (let k = 1; k < IGNORE_LABEL; k++) if (counts[k] > 0) classes = k + 1;
  const lists = Array.from({ length: classes }, (_, k) => new Int32Array(k === 0 ? 0 : counts[k]));
  const fill = new Int32Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const k = labels[i];
    if (k >= classes) continue;
    if (k !== 0) lists[k][fill[k]++] = i;
  }
  foregroundCache.set(labels, lists);
  return lists;
}

/** Options of {@link samplePatchOrigin}. */
export interface PatchSamplingOptions {
  /** Side of the input patch in pixels. */
  patchSize: number;
  /** Side of the target (the centre crop the network predicts); default `patchSize` (padded U-Net). */
  outputSize?: number;
  /** Probability that the patch is centred on a random foreground pixel; default 0.33 (nnU-Net's). */
  foregroundFraction?: number;
  rng: Random;
}

/** Origin of a target region along one axis: clamped inside the image when it fits, else centred. */
function clampOutputOrigin(origin: number, length: number, outputSize: number): number {
  if (length <= outputSize) return Math.floor((length - outputSize) / 2);
  return Math.min(Math.max(origin, 0), length - outputSize);
}

/**
 * A random training patch origin. With probability `foregroundFraction` the target region is
 * centred on a random pixel of a random foreground class present in the sample (then nudged to
 * lie inside the image, which keeps that pixel inside it); otherwise it is uniform. The target
 * (`outputSize`) always lies inside the image when it fits; the input patch around it may extend
 * past the border by the valid U-Net's margin, where it is mirror-padded.
 */
export function samplePatchOrigin(sample: Sample, options: PatchSamplingOptions): PatchOrigin {
  const { patchSize, rng } = options;
  const outputSize = options.outputSize ?? patchSize;
  const foregroundFraction = options.foregroundFraction ?? 0.33;
  const { width, height } = sample.image;
  const margin = Math.floor((patchSize - outputSize) / 2);
  let ox = rng.int(0, Math.max(1, width - outputSize + 1));
  let oy = rng.int(0, Math.max(1, height - outputSize + 1));
  if (foregroundFraction > 0 && rng.chance(foregroundFraction)) {
    const lists = foregroundPixels(sample.labels);
    const present: number[] = [];
    for (let k = 1; k < lists.length; k++) if (lists[k].length > 0) present.push(k);
    if (present.length > 0) {
      const list = lists[rng.pick(present)];
      const pixel = list[rng.int(0, list.length)];
      ox = (pixel % width) - Math.floor(outputSize / 2);
      oy = Math.floor(pixel / width) - Math.floor(outputSize / 2);
    }
  }
  return {
    x: clampOutputOrigin(ox, width, outputSize) - margin,
    y: clampOutputOrigin(oy, height, outputSize) - margin,
  };
}

/** One patch of a fixed patch set: which sample, and where. */
export interface FixedPatch extends PatchOrigin {
  sampleIndex: number;
}

/** Options of {@link fixedPatches}: the grid is laid over the target region, see {@link gridPatches}. */
export type FixedPatchOptions = GridOptions & { outputSize?: number };

/**
 * The seed project's fixed patch set: a grid of patches over every sample (e.g. 15 per image),
 * the pool from which `sampling: 'grid'` training batches are drawn. For the valid U-Net the grid
 * covers the target regions and each input patch extends `(patchSize − outputSize)/2` beyond.
 */
export function fixedPatches(samples: readonly Sample[], options: FixedPatchOptions): FixedPatch[] {
  const outputSize = options.outputSize ?? options.patchSize;
  const margin = Math.floor((options.patchSize - outputSize) / 2);
  const grid: GridOptions =
    'stride' in options ? { patchSize: outputSize, stride: options.stride } : { patchSize: outputSize, count: options.count };
  return samples.flatMap((sample, sampleIndex) =>
    gridPatches(sample.image, grid).map(({ x, y }) => ({ sampleIndex, x: x - margin, y: y - margin })),
  );
}
