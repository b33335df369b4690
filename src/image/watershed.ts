/**
 * Marker extraction (h-maxima) and marker-controlled watershed on `[H, W]` elevation maps where
 * higher means "more inside a cell" (a distance map). 8-connectivity throughout, linear time.
 */

/** Steps to the 8 neighbours; the first four precede a pixel in raster order. */
const DX = Int8Array.of(-1, -1, 0, 1, 1, 1, 0, -1);
const DY = Int8Array.of(0, -1, -1, -1, 0, 1, 1, 1);

/** Index offsets of the 8 neighbours (same order as DX, DY) in an image `width` wide. */
function neighbourOffsets(width: number): Int32Array {
  return Int32Array.from(DX, (dx, k) => DY[k] * width + dx);
}

/**
 * Neighbour k of pixel p = (x, y), or -1 off the image. Callers use `p + offsets[k]` directly
 * when `interior` (not on the image border) and this slower path only on the border.
 */
function neighbourAt(x: number, y: number, k: number, width: number, height: number): number {
  const nx = x + DX[k];
  const ny = y + DY[k];
  return nx < 0 || nx >= width || ny < 0 || ny >= height ? -1 : ny * width + nx;
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
 * The h-maxima markers of `values` inside `mask`: the regional maxima of the morphological
 * reconstruction by dilation of `values − h` under `values` (Vincent's hybrid algorithm). Peaks
 * that rise less than `h` above the saddle joining them to a higher peak vanish, so a round cell
 * gives one marker and two touching cells, with a neck, give two. Returns `[H, W]` marker ids
 * 1..count (0 elsewhere), numbered in raster order. `hMaxima` is h, in the units of `values`
 * (pixels for a distance map); default 2.
 */
export function hMaximaMarkers(
  values: Float32Array,
  mask: Uint8Array,
  width: number,
  height: number,
  options: { hMaxima?: number } = {},
): { markers: Int32Array; count: number } {
  const h = options.hMaxima ?? 2;
  const n = width * height;
  const offsets = neighbourOffsets(width);
  // Off the mask both images are −∞, so they never raise or bound anything.
  const limit = new Float32Array(n);
  const level = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const inside = mask[i] !== 0;
    limit[i] = inside ? values[i] : -Infinity;
    level[i] = inside ? values[i] - h : -Infinity;
  }
  // Forward scan: raise each pixel to its preceding neighbours' level, bounded by the limit.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (mask[p] === 0) continue;
      let best = level[p];
      const interior = x > 0 && x < width - 1 && y > 0;
      for (let k = 0; k < 4; k++) {
        const q = interior ? p + offsets[k] : neighbourAt(x, y, k, width, height);
        if (q >= 0 && level[q] > best) best = level[q];
      }
      level[p] = best < limit[p] ? best : limit[p];
    }
  }
  // Backward scan, queueing pixels that can still raise a successor.
  const queue = new PixelQueue();
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const p = y * width + x;
      if (mask[p] === 0) continue;
      let best = level[p];
      const interior = x > 0 && x < width - 1 && y < height - 1;
      for (let k = 4; k < 8; k++) {
        const q = interior ? p + offsets[k] : neighbourAt(x, y, k, width, height);
        if (q >= 0 && level[q] > best) best = level[q];
      }
      const value = best < limit[p] ? best : limit[p];
      level[p] = value;
      for (let k = 4; k < 8; k++) {
        const q = interior ? p + offsets[k] : neighbourAt(x, y, k, width, height);
        if (q >= 0 && level[q] < value && level[q] < limit[q]) {
          queue.push(p);
          break;
        }
      }
    }
  }
  while (queue.length > 0) {
    const p = queue.shift();
    const x = p % width;
    const y = (p - x) / width;
    const interior = x > 0 && x < width - 1 && y > 0 && y < height - 1;
    const value = level[p];
    for (let k = 0; k < 8; k++) {
      const q = interior ? p + offsets[k] : neighbourAt(x, y, k, width, height);
      if (q >= 0 && level[q] < value && level[q] !== limit[q]) {
        level[q] = value < limit[q] ? value : limit[q];
        queue.push(q);
      }
    }
  }
  return regionalMaxima(level, mask, width, height);
}

/** Plateaus (8-connected, equal value) with no higher neighbour, numbered in raster order. */
function regionalMaxima(values: Float32Array, mask: Uint8Array, width: number, height: number): { markers: Int32Array; count: number } {
  const n = width * height;
  const offsets = neighbourOffsets(width);
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
      const x = p % width;
      const y = (p - x) / width;
      const interior = x > 0 && x < width - 1 && y > 0 && y < height - 1;
      for (let k = 0; k < 8; k++) {
        const q = interior ? p + offsets[k] : neighbourAt(x, y, k, width, height);
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
  return { markers, count };
}

/**
 * Marker-controlled watershed (Meyer's flooding) of `elevation` restricted to `mask`: basins grow
 * from the markers, highest elevation first, each pixel taking the label of the neighbour that
 * reached it. A bucket queue over elevation quantised to 1/16 px keeps it linear; ties are
 * first-in first-out from raster-ordered seeds, so the result is deterministic. Mask pixels no
 * marker can reach stay 0.
 */
export function markerWatershed(
  elevation: Float32Array,
  markers: Int32Array,
  mask: Uint8Array,
  width: number,
  height: number,
): Int32Array {
  const n = width * height;
  // -1 off the mask, 0 not reached yet, else the basin: one array read per neighbour.
  const labels = new Int32Array(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i] === 0) labels[i] = -1;
    else if (elevation[i] > top) top = elevation[i];
  }
  const scale = Math.min(16, 65535 / Math.max(top, 1e-6));
  const levels = Math.ceil(top * scale) + 1;
  const head = new Int32Array(levels).fill(-1);
  const tail = new Int32Array(levels).fill(-1);
  const next = new Int32Array(n);
  const offsets = neighbourOffsets(width);
  let current = 0;
  const push = (p: number): void => {
    let b = Math.floor((top - elevation[p]) * scale);
    if (b < current) b = current;
    else if (b >= levels) b = levels - 1;
    next[p] = -1;
    if (tail[b] < 0) head[b] = p;
    else next[tail[b]] = p;
    tail[b] = p;
  };
  for (let i = 0; i < n; i++) {
    if (labels[i] === 0 && markers[i] > 0) {
      labels[i] = markers[i];
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
    const x = p % width;
    const y = (p - x) / width;
    const interior = x > 0 && x < width - 1 && y > 0 && y < height - 1;
    for (let k = 0; k < 8; k++) {
      const q = interior ? p + offsets[k] : neighbourAt(x, y, k, width, height);
      if (q < 0 || labels[q] !== 0) continue;
      labels[q] = label;
      push(q);
    }
  }
  for (let i = 0; i < n; i++) if (labels[i] < 0) labels[i] = 0;
  return labels;
}
