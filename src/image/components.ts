/**
 * Connected components of label maps (two-pass union–find over a flat parent array: linear in the
 * number of pixels, no recursion), and object sizes. Dataset statistics, border weights, instance
 * segmentation and object metrics all label components with this one function.
 * Instance ids are 1..count in raster order of each instance's first pixel.
 */
import { fail } from '../util/errors.js';
import { checkPlane, type Plane, type PixelArray } from './plane.js';

/** Options of {@link labelComponents}. */
export interface ComponentOptions {
  /** 4 (edges) or 8 (edges and corners) neighbours connect pixels. Default 8. */
  connectivity?: 4 | 8;
}

/** Instance ids per pixel (`data` is `[H, W]`, 0 = background) and their number. */
export interface InstanceLabels extends Plane<Int32Array> {
  /** Ids run 1..count. */
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

/** Connected components of `mask ≠ 0` (two-pass union-find); any non-zero class is foreground. */
export function labelComponents(plane: Plane<PixelArray>, options: ComponentOptions = {}): InstanceLabels {
  const connectivity = options.connectivity ?? 8;
  if (connectivity !== 4 && connectivity !== 8) fail(`connectivity must be 4 or 8, got ${connectivity}`);
  checkPlane(plane, 'labelComponents');
  const { width, height, data: mask } = plane;
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
  return { width, height, data: labels, count };
}

/** The pixel area of each object id in an instance image (0 = background is skipped). */
export function instanceAreas(instances: Int32Array): number[] {
  const areas = new Map<number, number>();
  for (let i = 0; i < instances.length; i++) {
    const id = instances[i];
    if (id !== 0) areas.set(id, (areas.get(id) ?? 0) + 1);
  }
  return [...areas.values()];
}

/** The diameter of a disc with the same area: `2·sqrt(area/π)`, in pixels. */
export function equivalentDiameter(area: number): number {
  return 2 * Math.sqrt(area / Math.PI);
}

/**
 * Instances of a class map `[H, W]` (0 = background, any other value a class): the pixels of each
 * class labelled on their own by `instancesOf` (connected components by default), so no instance
 * spans two classes. Ids are 1..count in raster order of each instance's first pixel.
 */
export function labelEachClass(
  plane: Plane<PixelArray>,
  instancesOf: (mask: Plane<Uint8Array>) => InstanceLabels = labelComponents,
): InstanceLabels {
  const { width, height, data } = plane;
  const classes = new Set<number>();
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) classes.add(data[i]);
  const merged = new Int32Array(data.length);
  let offset = 0;
  for (const c of [...classes].sort((a, b) => a - b)) {
    const mask = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) mask[i] = data[i] === c ? 1 : 0;
    const instances = instancesOf({ width, height, data: mask });
    for (let i = 0; i < data.length; i++) if (instances.data[i] !== 0) merged[i] = instances.data[i] + offset;
    offset += instances.count;
  }
  return { width, height, data: merged, count: renumberInRasterOrder(merged, offset) };
}

/** Renumbers the non-zero ids (at most `maxId`) to 1…n in raster order of their first pixel, in place; returns n. */
export function renumberInRasterOrder(ids: Int32Array | Uint16Array, maxId: number): number {
  const mapping = new Int32Array(maxId + 1);
  let count = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === 0) continue;
    if (mapping[id] === 0) mapping[id] = ++count;
    ids[i] = mapping[id];
  }
  return count;
}
