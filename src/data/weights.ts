/**
 * The U-Net paper's loss weight map (Ronneberger et al. 2015, eq. 2), which makes the network
 * learn the thin background gaps between touching cells:
 *   w(x) = w_c(x) + w0 · exp(−(d1(x) + d2(x))² / (2σ²))
 * with d1, d2 the distances to the nearest and second-nearest cell. The border term is added on
 * background pixels only; cell pixels get w_c.
 */
import { fail } from '../util/errors.js';
import { INF, squaredDistanceTransform } from '../image/distance.js';
import { checkPlane, type Plane } from '../image/plane.js';

/** Options of {@link borderWeightMap}. */
export interface BorderWeightOptions {
  /** Peak border weight; default 10 (the paper's). */
  w0?: number;
  /** Width of the border term in pixels; default 5 (the paper's, at its resolution). */
  sigmaPx?: number;
  /**
   * Balance class frequencies: w_c = N / (K · n_c) for each of the K classes present, so w_c
   * averages to 1 over the image. Otherwise w_c = 1. Default true.
   */
  classBalance?: boolean;
  /** Class per pixel `[H, W]` for class balancing; default foreground (instance ≠ 0) vs background. */
  labels?: Uint8Array;
}

/** Bounding boxes of instance ids: `[x0, y0, x1, y1]` (inclusive) per id. */
function boundingBoxes(instances: Int32Array, width: number): Map<number, [number, number, number, number]> {
  const boxes = new Map<number, [number, number, number, number]>();
  for (let i = 0; i < instances.length; i++) {
    const id = instances[i];
    if (id === 0) continue;
    const x = i % width;
    const y = (i - x) / width;
    const box = boxes.get(id);
    if (!box) boxes.set(id, [x, y, x, y]);
    else {
      if (x < box[0]) box[0] = x;
      if (y < box[1]) box[1] = y;
      if (x > box[2]) box[2] = x;
      if (y > box[3]) box[3] = y;
    }
  }
  return boxes;
}

/**
 * The U-Net border weight map of an instance image.
 * @param plane object id per pixel, 0 = background.
 * @returns loss weights, the plane's size.
 *
 * Distances are exact Euclidean (pixel centre to pixel centre), computed per cell in a window
 * reaching 4σ beyond its bounding box; farther cells would add less than w0·e⁻⁸.
 */
export function borderWeightMap(plane: Plane<Int32Array>, options: BorderWeightOptions = {}): Plane<Float32Array> {
  const w0 = options.w0 ?? 10;
  const sigma = options.sigmaPx ?? 5;
  checkPlane(plane, 'borderWeightMap');
  const { width, height, data: instances } = plane;
  if (!(w0 >= 0 && sigma > 0)) fail(`border weights need w0 ≥ 0 and sigmaPx > 0, got w0=${w0}, sigmaPx=${sigma}`);
  const labels = options.labels;
  if (labels && labels.length !== instances.length)
    fail(`labels have ${labels.length} pixels but the instance image has ${instances.length}`);
  const weights = classWeights(instances, labels, options.classBalance ?? true);
  if (w0 === 0) return { width, height, data: weights };
  const reach = Math.ceil(4 * sigma);
  // Nearest and second-nearest cell distance per pixel (squared until the end).
  const d1 = new Float64Array(width * height).fill(INF);
  const d2 = new Float64Array(width * height).fill(INF);
  for (const [id, [bx0, by0, bx1, by1]] of boundingBoxes(instances, width)) {
    const x0 = Math.max(0, bx0 - reach);
    const y0 = Math.max(0, by0 - reach);
    const ww = Math.min(width - 1, bx1 + reach) - x0 + 1;
    const wh = Math.min(height - 1, by1 + reach) - y0 + 1;
    const mask = new Uint8Array(ww * wh);
    for (let y = 0; y < wh; y++) {
      for (let x = 0; x < ww; x++) mask[y * ww + x] = instances[(y0 + y) * width + x0 + x] === id ? 1 : 0;
    }
    const squared = squaredDistanceTransform({ width: ww, height: wh, data: mask }).data;
    for (let y = 0; y < wh; y++) {
      for (let x = 0; x < ww; x++) {
        const p = (y0 + y) * width + x0 + x;
        if (instances[p] !== 0) continue;
        const s = squared[y * ww + x];
        if (s < d1[p]) {
          d2[p] = d1[p];
          d1[p] = s;
        } else if (s < d2[p]) {
          d2[p] = s;
        }
      }
    }
  }
  const scale = 1 / (2 * sigma * sigma);
  for (let p = 0; p < weights.length; p++) {
    if (instances[p] !== 0 || d2[p] >= INF) continue;
    const sum = Math.sqrt(d1[p]) + Math.sqrt(d2[p]);
    weights[p] += w0 * Math.exp(-sum * sum * scale);
  }
  return { width, height, data: weights };
}

/** w_c per pixel: balanced over the classes present (mean 1), or 1 everywhere. */
function classWeights(instances: Int32Array, labels: Uint8Array | undefined, balance: boolean): Float32Array {
  const n = instances.length;
  const weights = new Float32Array(n).fill(1);
  if (!balance || n === 0) return weights;
  const classOf = labels ? (i: number) => labels[i] : (i: number) => (instances[i] !== 0 ? 1 : 0);
  const counts = new Float64Array(256);
  for (let i = 0; i < n; i++) counts[classOf(i)]++;
  const present = counts.filter((c) => c > 0).length;
  if (present < 2) return weights;
  const perClass = Float32Array.from(counts, (c) => (c > 0 ? n / (present * c) : 0));
  for (let i = 0; i < n; i++) weights[i] = perClass[classOf(i)];
  return weights;
}
