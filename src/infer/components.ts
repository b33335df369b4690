/**
 * Connected components and small-object removal on `[H, W]` label maps (union-find, linear time).
 * Instance ids are 1..count in raster order of each instance's first pixel.
 */
import { fail } from '../util/errors.js';
import { checkSize } from './distance.js';

/** Options of {@link labelComponents}. */
export interface ComponentOptions {
  /** 4 (edges) or 8 (edges and corners) neighbours connect pixels. Default 8. */
  connectivity?: 4 | 8;
}

/** Instance ids per pixel (`[H, W]`, 0 = background) and their number. */
export interface InstanceLabels {
  labels: Int32Array;
  count: number;
}

/** The root of `a`'s set (union-find with path halving). */
export function find(parent: Int32Array, a: number): number {
  while (parent[a] !== a) {
    parent[a] = parent[parent[a]];
    a = parent[a];
  }
  return a;
}

/** Joins two sets, keeping the smaller root so that roots stay in raster order. */
export function union(parent: Int32Array, a: number, b: number): number {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra < rb) parent[rb] = ra;
  else parent[ra] = rb;
  return ra < rb ? ra : rb;
}

/** The label of a pixel that touches `label` and `other` (either may be 0 = none yet). */
function join(parent: Int32Array, label: number, other: number): number {
  if (other === 0 || other === label) return label;
  return label === 0 ? other : union(parent, label, other);
}

/** Connected components of `mask ≠ 0` (two-pass union-find). */
export function labelComponents(mask: Uint8Array, width: number, height: number, options: ComponentOptions = {}): InstanceLabels {
  const connectivity = options.connectivity ?? 8;
  if (connectivity !== 4 && connectivity !== 8) fail(`connectivity must be 4 or 8, got ${connectivity}`);
  checkSize(mask.length, width, height, 'labelComponents');
  const n = width * height;
  let foreground = 0;
  for (let i = 0; i < n; i++) if (mask[i] !== 0) foreground++;
  const parent = new Int32Array(foreground + 1);
  const labels = new Int32Array(n);
  const diagonal = connectivity === 8;
  let next = 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (mask[p] === 0) continue;
      // Neighbours already visited: left, up, and with 8-connectivity up-left and up-right.
      let label = x > 0 ? labels[p - 1] : 0;
      if (y > 0) {
        label = join(parent, label, labels[p - width]);
        if (diagonal && x > 0) label = join(parent, label, labels[p - width - 1]);
        if (diagonal && x < width - 1) label = join(parent, label, labels[p - width + 1]);
      }
      if (label === 0) {
        label = next++;
        parent[label] = label;
      }
      labels[p] = label;
    }
  }
  // A set's root is its smallest provisional label, i.e. its first pixel in raster order.
  const final = new Int32Array(next);
  let count = 0;
  for (let l = 1; l < next; l++) final[l] = parent[l] === l ? ++count : final[find(parent, l)];
  for (let i = 0; i < n; i++) if (labels[i] !== 0) labels[i] = final[labels[i]];
  return { labels, count };
}

/** Options of {@link removeSmallObjects}. */
export interface SmallObjectOptions {
  /** Objects with fewer pixels are merged or dropped. Default 30. */
  minSizePx?: number;
  /** Merge small objects into the neighbour they touch most (true) or always drop them (false). Default true. */
  mergeIntoNeighbours?: boolean;
  /** Overwrite `labels` instead of returning a new array (saves memory on large images). Default false. */
  inPlace?: boolean;
}

/**
 * Merges objects smaller than `minSizePx` into the neighbour they share the most 4-adjacent
 * pixel pairs with (chains of small fragments merge together); groups still smaller, such as
 * isolated specks, are dropped. Then renumbers 1..count in raster order. `labels` is `[H, W]`.
 */
export function removeSmallObjects(labels: Int32Array, width: number, height: number, options: SmallObjectOptions = {}): InstanceLabels {
  const minSizePx = options.minSizePx ?? 30;
  checkSize(labels.length, width, height, 'removeSmallObjects');
  let top = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) fail(`instance labels must be ≥ 0, found ${labels[i]}`);
    if (labels[i] > top) top = labels[i];
  }
  const area = new Float64Array(top + 1);
  for (let i = 0; i < labels.length; i++) area[labels[i]]++;
  const parent = Int32Array.from({ length: top + 1 }, (_, i) => i);
  let anySmall = false;
  for (let l = 1; l <= top; l++) if (area[l] > 0 && area[l] < minSizePx) anySmall = true;
  if (anySmall && (options.mergeIntoNeighbours ?? true)) {
    // Contact counts between a small object and each neighbour: key = small·(top+1) + other.
    const contact = new Map<number, number>();
    const note = (a: number, b: number): void => {
      if (a === b || a === 0 || b === 0) return;
      if (area[a] < minSizePx) contact.set(a * (top + 1) + b, (contact.get(a * (top + 1) + b) ?? 0) + 1);
      if (area[b] < minSizePx) contact.set(b * (top + 1) + a, (contact.get(b * (top + 1) + a) ?? 0) + 1);
    };
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (l === 0) continue;
      if ((i + 1) % width !== 0) note(l, labels[i + 1]);
      if (i + width < labels.length) note(l, labels[i + width]);
    }
    const best = new Int32Array(top + 1);
    const bestContact = new Float64Array(top + 1);
    for (const [key, value] of contact) {
      const small = Math.floor(key / (top + 1));
      const other = key - small * (top + 1);
      if (value > bestContact[small] || (value === bestContact[small] && other < best[small])) {
        best[small] = other;
        bestContact[small] = value;
      }
    }
    for (let l = 1; l <= top; l++) if (best[l] > 0) union(parent, l, best[l]);
  }
  const groupArea = new Float64Array(top + 1);
  for (let l = 1; l <= top; l++) groupArea[find(parent, l)] += area[l];
  // Number groups by their first pixel in raster order; 0 for dropped groups.
  const finalOfRoot = new Int32Array(top + 1).fill(-1);
  const finalOf = new Int32Array(top + 1).fill(-1);
  const out = options.inPlace ? labels : new Int32Array(labels.length);
  let count = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === 0) continue;
    let final = finalOf[l];
    if (final < 0) {
      const root = find(parent, l);
      if (groupArea[root] < minSizePx) final = 0;
      else {
        if (finalOfRoot[root] < 0) finalOfRoot[root] = ++count;
        final = finalOfRoot[root];
      }
      finalOf[l] = final;
    }
    out[i] = final;
  }
  return { labels: out, count };
}
