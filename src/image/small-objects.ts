/**
 * Small-object removal on `[H, W]` instance maps. Connected components are labelled by
 * image/components.ts.
 */
import { find, union, type InstanceLabels } from './components.js';
import { fail } from '../util/errors.js';
import { checkPlane, type Plane } from './plane.js';

/** Options of {@link removeSmallObjects}. */
export interface SmallObjectOptions {
  /** Objects with fewer pixels are merged or dropped. Default 30. */
  minSizePx?: number;
  /** Merge small objects into the neighbour they touch most (true) or always drop them (false). Default true. */
  mergeIntoNeighbours?: boolean;
  /** Overwrite the input's ids instead of writing a new array (saves memory on large images). Default false. */
  inPlace?: boolean;
}

/**
 * Merges objects smaller than `minSizePx` into the neighbour they share the most 4-adjacent
 * pixel pairs with (chains of small fragments merge together); groups still smaller, such as
 * isolated specks, are dropped. Then renumbers 1..count in raster order.
 */
export function removeSmallObjects(instances: Plane<Int32Array>, options: SmallObjectOptions = {}): InstanceLabels {
  const minSizePx = options.minSizePx ?? 30;
  checkPlane(instances, 'removeSmallObjects');
  const { width, height, data: labels } = instances;
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
  return { width, height, data: out, count };
}
