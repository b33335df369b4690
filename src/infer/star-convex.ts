/**
 * Cells from star-convex polygons (StarDist: Schmidt et al. 2018, "Cell detection with star-convex
 * polygons"): every pixel predicts its distance to its cell's boundary along R rays and how central
 * it is; the most central pixels' polygons are kept greedily unless they overlap cells already
 * kept (non-maximum suppression), and the foreground is split among the kept polygons.
 */
import type { InstanceLabels } from '../image/components.js';
import { labelComponents } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import { removeSmallObjects } from '../image/small-objects.js';
import { markerWatershed } from '../image/watershed.js';
import { rayAngles } from '../data/star-distances.js';
import { fail } from '../util/errors.js';
import type { Symmetry } from './symmetry.js';

/** StarDist's default NMS threshold: the IoU above which a later polygon is dropped. */
export const DEFAULT_OVERLAP_THRESHOLD = 0.4;

/** Options of {@link starConvexInstances}. */
export interface StarConvexOptions {
  /** Candidate centres are foreground pixels whose centre score (in [0, 1]) exceeds this. */
  seedThreshold: number;
  /**
   * A candidate polygon is dropped when its IoU with a polygon kept before it exceeds this
   * (StarDist's NMS threshold). Default {@link DEFAULT_OVERLAP_THRESHOLD}.
   */
  overlapThreshold?: number;
  /** Cells smaller than this (pixels) are dropped. */
  minSizePx: number;
}

/**
 * Instances of a foreground mask `[H, W]` from a centre score `[H, W]` (in [0, 1]) and ray lengths
 * `[R, H, W]` (pixels, ray k at angle 2πk/R, see `rayAngles`): candidates are the mask's local
 * maxima of the centre score above `seedThreshold` (StarDist takes every pixel; a polygon from
 * off its cell's centre is never the best one kept), in descending score; each draws its polygon,
 * kept unless its IoU with a polygon kept before exceeds `overlapThreshold` (each pixel is owned by
 * the first polygon kept over it, and overlaps are counted with owners). The kept polygons, cut to
 * the mask, mark the cells; mask pixels outside every polygon join the cell they touch by watershed
 * on the centre score, or form cells of their own. Ids 1..count.
 */
export function starConvexInstances(
  foreground: Plane<Uint8Array>,
  centre: Float32Array,
  rays: Float32Array,
  options: StarConvexOptions,
): InstanceLabels {
  const { width, height, data: mask } = foreground;
  const plane = width * height;
  if (centre.length !== plane || rays.length % plane !== 0)
    fail(`starConvexInstances: maps of ${centre.length} and ${rays.length} values for a ${width}×${height} mask`);
  const rayCount = rays.length / plane;
  const overlapThreshold = options.overlapThreshold ?? DEFAULT_OVERLAP_THRESHOLD;
  const candidates: number[] = [];
  for (let i = 0; i < plane; i++)
    if (mask[i] !== 0 && centre[i] > options.seedThreshold && isLocalMaximum(centre, i, width, height)) candidates.push(i);
  candidates.sort((a, b) => centre[b] - centre[a] || a - b);
  const kept = new Int32Array(plane);
  const angles = rayAngles(rayCount);
  const cos = angles.map(Math.cos);
  const sin = angles.map(Math.sin);
  const vx = new Float64Array(rayCount);
  const vy = new Float64Array(rayCount);
  const inside: number[] = [];
  const areas: number[] = [0];
  const shared = new Map<number, number>();
  let count = 0;
  for (const i of candidates) {
    const cx = i % width;
    const cy = (i - cx) / width;
    let x0 = cx;
    let x1 = cx;
    let y0 = cy;
    let y1 = cy;
    for (let k = 0; k < rayCount; k++) {
      const d = Math.max(0, rays[k * plane + i]);
      vx[k] = cx + d * cos[k];
      vy[k] = cy + d * sin[k];
      x0 = Math.min(x0, vx[k]);
      x1 = Math.max(x1, vx[k]);
      y0 = Math.min(y0, vy[k]);
      y1 = Math.max(y1, vy[k]);
    }
    polygonPixels(cx, cy, vx, vy, { x0, x1, y0, y1 }, { width, height }, inside);
    if (inside.length === 0) continue;
    shared.clear();
    for (const j of inside) if (kept[j] !== 0) shared.set(kept[j], (shared.get(kept[j]) ?? 0) + 1);
    let suppressed = false;
    for (const [owner, intersection] of shared) {
      if (intersection / (inside.length + areas[owner] - intersection) > overlapThreshold) suppressed = true;
    }
    if (suppressed) continue;
    count++;
    areas.push(inside.length);
    for (const j of inside) if (kept[j] === 0) kept[j] = count;
  }
  // Polygons cut to the mask are the markers; the rest of the mask joins them by the centre score.
  const markers = new Int32Array(plane);
  for (let i = 0; i < plane; i++) markers[i] = mask[i] !== 0 ? kept[i] : 0;
  const elevation = new Float32Array(plane);
  for (let i = 0; i < plane; i++) elevation[i] = Math.max(0, centre[i]);
  const grown = markerWatershed({ width, height, data: elevation }, { width, height, data: markers }, foreground).data;
  const unreached = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) unreached[i] = mask[i] !== 0 && grown[i] <= 0 ? 1 : 0;
  const rest = labelComponents({ width, height, data: unreached });
  const labels = new Int32Array(plane);
  for (let i = 0; i < plane; i++) labels[i] = grown[i] > 0 ? grown[i] : rest.data[i] > 0 ? count + rest.data[i] : 0;
  return removeSmallObjects({ width, height, data: labels }, { minSizePx: options.minSizePx, inPlace: true });
}

/** Whether no 8-neighbour of pixel i has a higher score (plateaus give every pixel on them). */
function isLocalMaximum(score: Float32Array, i: number, width: number, height: number): boolean {
  const x = i % width;
  const y = (i - x) / width;
  const v = score[i];
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= height) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if (xx >= 0 && xx < width && score[yy * width + xx] > v) return false;
    }
  }
  return true;
}

/**
 * The pixels (row-major indices, into `out`) whose centres lie inside the star-convex polygon with
 * vertices (vx, vy) around its centre (cx, cy): a pixel is inside when it lies on the centre's side
 * of the edge of the sector its direction falls in.
 */
function polygonPixels(
  cx: number,
  cy: number,
  vx: Float64Array,
  vy: Float64Array,
  box: { x0: number; x1: number; y0: number; y1: number },
  size: { width: number; height: number },
  out: number[],
): void {
  out.length = 0;
  const rayCount = vx.length;
  const sector = (2 * Math.PI) / rayCount;
  const xStart = Math.max(0, Math.ceil(box.x0));
  const xEnd = Math.min(size.width - 1, Math.floor(box.x1));
  const yStart = Math.max(0, Math.ceil(box.y0));
  const yEnd = Math.min(size.height - 1, Math.floor(box.y1));
  for (let y = yStart; y <= yEnd; y++) {
    for (let x = xStart; x <= xEnd; x++) {
      const dx = x - cx;
      const dy = y - cy;
      if (dx === 0 && dy === 0) {
        out.push(y * size.width + x);
        continue;
      }
      let angle = Math.atan2(dy, dx);
      if (angle < 0) angle += 2 * Math.PI;
      const k = Math.min(rayCount - 1, Math.floor(angle / sector));
      const next = (k + 1) % rayCount;
      // Edge from vertex k to k+1; the pixel is inside when it and the centre are on the same side.
      const ex = vx[next] - vx[k];
      const ey = vy[next] - vy[k];
      const pixelSide = ex * (y - vy[k]) - ey * (x - vx[k]);
      const centreSide = ex * (cy - vy[k]) - ey * (cx - vx[k]);
      if (pixelSide === 0 || pixelSide * centreSide > 0) out.push(y * size.width + x);
    }
  }
}

/**
 * The ray channel that holds direction j after a symmetry has been undone spatially: the network
 * saw the turned image, where the direction j of the original points along the symmetry's image
 * of it (`applySymmetry`: transpose, then flips). `[R]` channel indices.
 */
export function rayPermutation(symmetry: Symmetry, rays: number): Int32Array {
  if (rays % 4 !== 0) fail(`rayPermutation: ${rays} rays is not a multiple of 4`);
  const mod = (k: number) => ((k % rays) + rays) % rays;
  return Int32Array.from({ length: rays }, (_, j) => {
    let k = j;
    if (symmetry.transpose) k = mod(rays / 4 - k);
    if (symmetry.horizontal) k = mod(rays / 2 - k);
    if (symmetry.vertical) k = mod(-k);
    return k;
  });
}

/**
 * Reorders the ray channels of a planar `[C, H, W]` output in place after `invertSymmetry`, so ray
 * k points at angle 2πk/R in the original image again. Channels `offset … offset + rays − 1`.
 */
export function unturnRays(data: Float32Array, plane: number, offset: number, rays: number, symmetry: Symmetry): void {
  if (!symmetry.transpose && !symmetry.horizontal && !symmetry.vertical) return;
  const permutation = rayPermutation(symmetry, rays);
  const copy = data.slice(offset * plane, (offset + rays) * plane);
  for (let j = 0; j < rays; j++) data.set(copy.subarray(permutation[j] * plane, (permutation[j] + 1) * plane), (offset + j) * plane);
}
