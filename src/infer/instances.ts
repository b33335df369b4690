/**
 * Instance segmentation of a binary mask: touching cells split by a distance-transform watershed
 * (the classic nuclei/pus-cell recipe), built from the primitives of image/. All maps are planes;
 * instance ids are 1..count in raster order of each instance's first pixel.
 */
import { fail } from '../util/errors.js';
import { removeSmallObjects } from '../image/small-objects.js';
import { find, labelComponents, union, type InstanceLabels } from '../image/components.js';
import { smoothInsideMask } from '../image/smooth.js';
import { distanceTransform } from '../image/distance.js';
import { checkPlane, type Plane } from '../image/plane.js';
import { hMaximaMarkers, markerWatershed } from '../image/watershed.js';

/** {@link splitTouching}'s lengths when none are given, pixels (decoders scale them to the network's pixels). */
export const SPLIT_DEFAULTS = { hMaxima: 2, smoothingSigmaPx: 1 } as const;

/** Options of {@link splitTouching}. */
export interface SplitOptions {
  /** Objects smaller than this (pixels) are merged into the neighbour they touch most, or dropped when isolated. Default 30. */
  minSizePx?: number;
  /** A distance-map peak must rise this many pixels above the saddle to a higher peak to seed its own cell. Default 2. */
  hMaxima?: number;
  /** Seeds of one object closer than this (centroid distance, pixels) are merged. Default: no merging. */
  minSeedDistancePx?: number;
  /** Gaussian σ (pixels) applied to the distance map before finding seeds; 0 disables. Default 1. */
  smoothingSigmaPx?: number;
}

/**
 * An object enclosing a hole of at least this fraction of its own area is kept whole: it is a ring
 * (a cytoplasm around its nucleus, a hollow cell), which the watershed would cut at its narrow
 * points into pieces that are not cells. The gap between three round cells that touch is under 2 %
 * of their area, so clumps are still split.
 */
export const RING_HOLE_FRACTION = 0.1;

/**
 * Instances from a binary mask (`≠ 0` = foreground), splitting touching cells: seeds are the
 * h-maxima of the (lightly smoothed) Euclidean distance map, basins grow by marker-controlled
 * watershed inside the mask (an object around a hole, a ring, is kept whole: see
 * {@link RING_HOLE_FRACTION}), then objects under `minSizePx` are merged into the neighbour they
 * share the longest border with (over-split fragments) or dropped when they touch nothing
 * (specks). Ids are consecutive in raster order.
 *
 * Each connected object is processed in its own bounding box (plus a 1-pixel background
 * margin), so the cost follows the foreground area rather than the image size. Pixels of other
 * objects count as background there, which changes distances by less than a pixel at most.
 */
export function splitTouching(mask: Plane<Uint8Array>, options: SplitOptions = {}): InstanceLabels {
  const minSizePx = options.minSizePx ?? 30;
  const hMaxima = options.hMaxima ?? SPLIT_DEFAULTS.hMaxima;
  const smoothingSigmaPx = options.smoothingSigmaPx ?? SPLIT_DEFAULTS.smoothingSigmaPx;
  const minSeedDistancePx = options.minSeedDistancePx ?? 0;
  if (!(minSizePx >= 0)) fail(`minSizePx must be ≥ 0, got ${minSizePx}`);
  if (!(hMaxima >= 0)) fail(`hMaxima must be ≥ 0, got ${hMaxima}`);
  if (!(smoothingSigmaPx >= 0)) fail(`smoothingSigmaPx must be ≥ 0, got ${smoothingSigmaPx}`);
  if (!(minSeedDistancePx >= 0)) fail(`minSeedDistancePx must be ≥ 0, got ${minSeedDistancePx}`);
  checkPlane(mask, 'splitTouching');
  const { width, height } = mask;
  const components = labelComponents(mask);
  const count = components.count;
  const minX = new Int32Array(count + 1).fill(width);
  const minY = new Int32Array(count + 1).fill(height);
  const maxX = new Int32Array(count + 1).fill(-1);
  const maxY = new Int32Array(count + 1).fill(-1);
  const area = new Float64Array(count + 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = components.data[y * width + x];
      if (c === 0) continue;
      area[c]++;
      if (x < minX[c]) minX[c] = x;
      if (x > maxX[c]) maxX[c] = x;
      if (y < minY[c]) minY[c] = y;
      if (y > maxY[c]) maxY[c] = y;
    }
  }
  const labels = new Int32Array(width * height);
  let next = 0;
  for (let c = 1; c <= count; c++) {
    if (area[c] < minSizePx) continue; // an isolated speck: nothing to merge it into
    const x0 = Math.max(0, minX[c] - 1);
    const y0 = Math.max(0, minY[c] - 1);
    const cropWidth = Math.min(width - 1, maxX[c] + 1) - x0 + 1;
    const cropHeight = Math.min(height - 1, maxY[c] + 1) - y0 + 1;
    const crop = new Uint8Array(cropWidth * cropHeight);
    for (let y = 0; y < cropHeight; y++) {
      const source = (y0 + y) * width + x0;
      for (let x = 0; x < cropWidth; x++) if (components.data[source + x] === c) crop[y * cropWidth + x] = 1;
    }
    const pieces = splitObject({ width: cropWidth, height: cropHeight, data: crop }, hMaxima, smoothingSigmaPx, minSeedDistancePx);
    for (let y = 0; y < cropHeight; y++) {
      const target = (y0 + y) * width + x0;
      for (let x = 0; x < cropWidth; x++) {
        const piece = pieces.data[y * cropWidth + x];
        if (piece !== 0) labels[target + x] = next + piece;
      }
    }
    next += pieces.count;
  }
  return removeSmallObjects({ width, height, data: labels }, { minSizePx, inPlace: true });
}

/** Splits one connected object (`mask` = its bounding-box crop) into watershed basins. */
function splitObject(mask: Plane<Uint8Array>, hMaxima: number, smoothingSigmaPx: number, minSeedDistancePx: number): InstanceLabels {
  const { width, height } = mask;
  // An object filling the whole image has no background to measure distances from: keep it whole.
  if (mask.data.every((v) => v !== 0) || enclosesHole(mask)) {
    return { width, height, data: Int32Array.from(mask.data, (v) => (v !== 0 ? 1 : 0)), count: 1 };
  }
  const elevation = smoothInsideMask(distanceTransform(mask), mask, { sigmaPx: smoothingSigmaPx });
  const seeds = hMaximaMarkers(elevation, mask, { hMaxima });
  const markers = minSeedDistancePx > 0 ? mergeCloseSeeds(seeds, minSeedDistancePx) : seeds;
  const { data: labels } = markerWatershed(elevation, markers, mask);
  // Every object has a distance maximum, so the flood reaches all of it; guard anyway.
  let count = 0;
  let unreached = false;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > count) count = labels[i];
    if (mask.data[i] !== 0 && labels[i] === 0) unreached = true;
  }
  if (unreached) {
    for (let i = 0; i < labels.length; i++) if (mask.data[i] !== 0 && labels[i] === 0) labels[i] = count + 1;
    count++;
  }
  return { width, height, data: labels, count };
}

/**
 * Whether one object (its crop, with background at the crop's edge wherever the object does not
 * reach it) encloses background of at least {@link RING_HOLE_FRACTION} of its area: background
 * (4-connected) that does not reach the crop's edge.
 */
export function enclosesHole(mask: Plane<Uint8Array>): boolean {
  const { width, height, data } = mask;
  let area = 0;
  for (const v of data) if (v !== 0) area++;
  const background = labelComponents({ width, height, data: Uint8Array.from(data, (v) => (v === 0 ? 1 : 0)) }, { connectivity: 4 });
  const holeArea = new Float64Array(background.count + 1);
  for (let i = 0; i < data.length; i++) holeArea[background.data[i]]++;
  const edge = (i: number) => background.data[i];
  for (let x = 0; x < width; x++) holeArea[edge(x)] = holeArea[edge((height - 1) * width + x)] = 0;
  for (let y = 0; y < height; y++) holeArea[edge(y * width)] = holeArea[edge(y * width + width - 1)] = 0;
  let largest = 0;
  for (let id = 1; id <= background.count; id++) largest = Math.max(largest, holeArea[id]);
  return largest > 0 && largest >= RING_HOLE_FRACTION * area;
}

/**
 * Merges seeds whose centroids are closer than `distancePx` (all seeds belong to one object
 * here, so merging never joins separate objects). Returns markers with gaps in the ids allowed.
 */
function mergeCloseSeeds(seeds: InstanceLabels, distancePx: number): Plane<Int32Array> {
  const { width, height, data: markers, count } = seeds;
  const sumX = new Float64Array(count + 1);
  const sumY = new Float64Array(count + 1);
  const area = new Float64Array(count + 1);
  for (let i = 0; i < markers.length; i++) {
    const m = markers[i];
    if (m === 0) continue;
    sumX[m] += i % width;
    sumY[m] += Math.floor(i / width);
    area[m]++;
  }
  // Bucket seeds on a grid of cell size distancePx, so only neighbouring cells are compared.
  const cell = (m: number): [number, number] => [Math.floor(sumX[m] / area[m] / distancePx), Math.floor(sumY[m] / area[m] / distancePx)];
  const grid = new Map<string, number[]>();
  for (let m = 1; m <= count; m++) {
    const key = cell(m).join(',');
    const members = grid.get(key);
    if (members) members.push(m);
    else grid.set(key, [m]);
  }
  const parent = Int32Array.from({ length: count + 1 }, (_, i) => i);
  for (let m = 1; m <= count; m++) {
    const [gx, gy] = cell(m);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        for (const other of grid.get(`${gx + dx},${gy + dy}`) ?? []) {
          if (other <= m) continue;
          const distance = Math.hypot(sumX[m] / area[m] - sumX[other] / area[other], sumY[m] / area[m] - sumY[other] / area[other]);
          if (distance < distancePx) union(parent, m, other);
        }
      }
    }
  }
  return { width, height, data: Int32Array.from(markers, (m) => (m === 0 ? 0 : find(parent, m))) };
}
