/**
 * Marker extraction (h-maxima) and marker-controlled watershed on planes of elevation where
 * higher means "more inside a cell" (a distance map). 8-connectivity throughout, linear time.
 */
import type { InstanceLabels } from './components.js';
import { checkPlane, type Plane, type PlaneSize } from './plane.js';

/** Steps to the 8 neighbours; the first four precede a pixel in raster order. */
const DX = Int8Array.of(-1, -1, 0, 1, 1, 1, 0, -1);
const DY = Int8Array.of(0, -1, -1, -1, 0, 1, 1, 1);

/** The 8-neighbourhood of the pixels of one plane. */
class Neighbours {
  /** Index offsets of the 8 neighbours (same order as DX, DY). */
  private readonly offsets: Int32Array;
  constructor(
    private readonly width: number,
    private readonly height: number,
  ) {
    this.offsets = Int32Array.from(DX, (dx, k) => DY[k] * width + dx);
  }

  /** True when all 8 neighbours of pixel p lie on the plane. */
  interior(p: number): boolean {
    const x = p % this.width;
    const y = (p - x) / this.width;
    return x > 0 && x < this.width - 1 && y > 0 && y < this.height - 1;
  }

  /**
   * Neighbour k of pixel p, or -1 off the plane. `inside` says neighbour k is known to be on the
   * plane (p is not on the border it faces): then it is one addition, the common case.
   */
  at(p: number, k: number, inside: boolean): number {
    if (inside) return p + this.offsets[k];
    const x = p % this.width;
    const nx = x + DX[k];
    const ny = (p - x) / this.width + DY[k];
    return nx < 0 || nx >= this.width || ny < 0 || ny >= this.height ? -1 : ny * this.width + nx;
  }
}

/** A FIFO of pixel indices on a growable ring buffer. */
class PixelQueue {
  private items = new Int32Array(1024);
  private head = 0;
  private size = 0;
  get length(): number {
    return this.size;
  }
  push(value: number): void {
    if (this.size === this.items.length) {
      const grown = new Int32Array(this.items.length * 2);
      for (let i = 0; i < this.size; i++) grown[i] = this.items[(this.head + i) % this.items.length];
      this.items = grown;
      this.head = 0;
    }
    this.items[(this.head + this.size) % this.items.length] = value;
    this.size++;
  }
  shift(): number {
    const value = this.items[this.head];
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return value;
  }
}

/**
 * The h-maxima markers of `values` inside `mask` (same size): the regional maxima of the
 * morphological reconstruction by dilation of `values − h` under `values` (Vincent's hybrid
 * algorithm). Peaks that rise less than `h` above the saddle joining them to a higher peak vanish,
 * so a round cell gives one marker and two touching cells, with a neck, give two. Returns marker
 * ids 1..count (0 elsewhere), numbered in raster order. `hMaxima` is h, in the units of `values`
 * (pixels for a distance map); default 2.
 */
export function hMaximaMarkers(values: Plane<Float32Array>, mask: Plane<Uint8Array>, options: { hMaxima?: number } = {}): InstanceLabels {
  const h = options.hMaxima ?? 2;
  checkPlane(values, 'hMaximaMarkers');
  checkPlane(mask, 'hMaximaMarkers', { reference: values });
  const { width, height } = values;
  const n = width * height;
  const inMask = mask.data;
  const grid = new Neighbours(width, height);
  // Off the mask both images are −∞, so they never raise or bound anything.
  const limit = new Float32Array(n);
  const level = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const inside = inMask[i] !== 0;
    limit[i] = inside ? values.data[i] : -Infinity;
    level[i] = inside ? values.data[i] - h : -Infinity;
  }
  // Forward scan: raise each pixel to its preceding neighbours' level, bounded by the limit.
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      if (inMask[p] === 0) continue;
      let best = level[p];
      const inside = x > 0 && x < width - 1 && y > 0;
      for (let k = 0; k < 4; k++) {
        const q = grid.at(p, k, inside);
        if (q >= 0 && level[q] > best) best = level[q];
      }
      level[p] = best < limit[p] ? best : limit[p];
    }
  }
  // Backward scan, queueing pixels that can still raise a successor.
  const queue = new PixelQueue();
  for (let y = height - 1, p = n - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--, p--) {
      if (inMask[p] === 0) continue;
      let best = level[p];
      const inside = x > 0 && x < width - 1 && y < height - 1;
      for (let k = 4; k < 8; k++) {
        const q = grid.at(p, k, inside);
        if (q >= 0 && level[q] > best) best = level[q];
      }
      const value = best < limit[p] ? best : limit[p];
      level[p] = value;
      for (let k = 4; k < 8; k++) {
        const q = grid.at(p, k, inside);
        if (q >= 0 && level[q] < value && level[q] < limit[q]) {
          queue.push(p);
          break;
        }
      }
    }
  }
  while (queue.length > 0) {
    const p = queue.shift();
    const inside = grid.interior(p);
    const value = level[p];
    for (let k = 0; k < 8; k++) {
      const q = grid.at(p, k, inside);
      if (q >= 0 && level[q] < value && level[q] !== limit[q]) {
        level[q] = value < limit[q] ? value : limit[q];
        queue.push(q);
      }
    }
  }
  return regionalMaxima(level, inMask, grid, values);
}

/** Plateaus (8-connected, equal value) with no higher neighbour, numbered in raster order. */
function regionalMaxima(values: Float32Array, mask: Uint8Array, grid: Neighbours, shape: PlaneSize): InstanceLabels {
  const n = values.length;
  const markers = new Int32Array(n);
  const visited = new Uint8Array(n);
  const plateau = new Int32Array(n);
  let count = 0;
  for (let start = 0; start < n; start++) {
    if (mask[start] === 0 || visited[start] !== 0) continue;
    const value = values[start];
    let size = 0;
    let isMaximum = true;
    plateau[size++] = start;
    visited[start] = 1;
    for (let read = 0; read < size; read++) {
      const p = plateau[read];
      const inside = grid.interior(p);
      for (let k = 0; k < 8; k++) {
        const q = grid.at(p, k, inside);
        if (q < 0 || mask[q] === 0) continue;
        if (values[q] > value) isMaximum = false;
        else if (values[q] === value && visited[q] === 0) {
          visited[q] = 1;
          plateau[size++] = q;
        }
      }
    }
    if (!isMaximum) continue;
    count++;
    for (let i = 0; i < size; i++) markers[plateau[i]] = count;
  }
  return { width: shape.width, height: shape.height, data: markers, count };
}

/**
 * Marker-controlled watershed (Meyer's flooding) of `elevation` restricted to `mask`: basins grow
 * from the markers, highest elevation first, each pixel taking the label of the neighbour that
 * reached it. A bucket queue over elevation quantised to 1/16 px keeps it linear; ties are
 * first-in first-out from raster-ordered seeds, so the result is deterministic. Mask pixels no
 * marker can reach stay 0.
 */
export function markerWatershed(elevation: Plane<Float32Array>, markers: Plane<Int32Array>, mask: Plane<Uint8Array>): Plane<Int32Array> {
  checkPlane(elevation, 'markerWatershed');
  checkPlane(markers, 'markerWatershed', { reference: elevation });
  checkPlane(mask, 'markerWatershed', { reference: elevation });
  const { width, height, data: heights } = elevation;
  const inMask = mask.data;
  const seeds = markers.data;
  const n = width * height;
  // -1 off the mask, 0 not reached yet, else the basin: one array read per neighbour.
  const labels = new Int32Array(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    if (inMask[i] === 0) labels[i] = -1;
    else if (heights[i] > top) top = heights[i];
  }
  const scale = Math.min(16, 65535 / Math.max(top, 1e-6));
  const levels = Math.ceil(top * scale) + 1;
  const head = new Int32Array(levels).fill(-1);
  const tail = new Int32Array(levels).fill(-1);
  const next = new Int32Array(n);
  const grid = new Neighbours(width, height);
  let current = 0;
  const push = (p: number): void => {
    let b = Math.floor((top - heights[p]) * scale);
    if (b < current) b = current;
    else if (b >= levels) b = levels - 1;
    next[p] = -1;
    if (tail[b] < 0) head[b] = p;
    else next[tail[b]] = p;
    tail[b] = p;
  };
  for (let i = 0; i < n; i++) {
    if (labels[i] === 0 && seeds[i] > 0) {
      labels[i] = seeds[i];
      push(i);
    }
  }
  while (current < levels) {
    const p = head[current];
    if (p < 0) {
      current++;
      continue;
    }
    head[current] = next[p];
    if (head[current] < 0) tail[current] = -1;
    const label = labels[p];
    const inside = grid.interior(p);
    for (let k = 0; k < 8; k++) {
      const q = grid.at(p, k, inside);
      if (q < 0 || labels[q] !== 0) continue;
      labels[q] = label;
      push(q);
    }
  }
  for (let i = 0; i < n; i++) if (labels[i] < 0) labels[i] = 0;
  return { width, height, data: labels };
}
