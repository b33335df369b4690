/**
 * Star-convex targets (StarDist: Schmidt, Weigert, Broaddus & Myers 2018, "Cell detection with
 * star-convex polygons", MICCAI): for every cell pixel, its distance to the cell's boundary along
 * {@link RAY_COUNT} rays at equal angles. A cell is then the polygon its most central pixel's rays
 * draw. Ray directions are not invariant under rotation, so these targets are computed from the
 * instance labels after augmentation has warped them (see {@link colourInstances}).
 */
import { fail } from '../util/errors.js';
import type { Plane } from '../image/plane.js';
import { IGNORE_LABEL } from '../image/ignore.js';

/** Rays per pixel: StarDist's default for 2D nuclei. A multiple of 4, so the square's symmetries permute them. */
export const RAY_COUNT = 32;
/** Ray lengths are regressed in units of this many pixels, so a working-diameter cell's rays are near 1. */
export const RAY_UNIT_PX = 16;
/**
 * The centre channel's target is scaled by √R: the regression loss averages its squared error
 * over all 1 + R channels, and this gives the centre as much weight as the R rays together.
 */
export const CENTRE_TARGET_SCALE = Math.sqrt(RAY_COUNT);

/** Ray k points at angle 2πk/R, counted from +x towards +y (image coordinates, y down). */
export function rayAngles(rays = RAY_COUNT): Float64Array {
  return Float64Array.from({ length: rays }, (_, k) => (2 * Math.PI * k) / rays);
}

/**
 * Each pixel's distance (px) to the boundary of its own cell along each ray, as StarDist's
 * `star_dist`: march one unit at a time from the pixel until the rounded position leaves the image
 * or holds another label, then step back half a pixel. 0 on background (label 0 or
 * {@link IGNORE_LABEL}).
 * @param labels `[H, W]` cell ids (touching cells must differ; any values otherwise).
 * @param out optional `[R, H, W]` array to fill (every value is written), saving the allocation.
 * @returns `[R, H, W]` distances in pixels.
 */
export function starDistances(labels: Plane<Uint8Array | Int32Array>, rays = RAY_COUNT, out?: Float32Array): Float32Array {
  const { width, height, data } = labels;
  if (data.length !== width * height) fail(`starDistances: ${data.length} labels for a ${width}×${height} plane`);
  const plane = width * height;
  if (out && out.length !== rays * plane) fail(`starDistances: an output of ${out.length} values for ${rays} rays of ${width}×${height}`);
  const distances = out ?? new Float32Array(rays * plane);
  const angles = rayAngles(rays);
  // A ray moves at most one pixel per step in x and in y, so a one-pixel frame of background stops
  // every march: no bounds checks, and each step is one lookup at a precomputed offset.
  const stride = width + 2;
  const padded = new Int32Array(stride * (height + 2));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const id = data[y * width + x];
      padded[(y + 1) * stride + x + 1] = id === IGNORE_LABEL && data instanceof Uint8Array ? 0 : id;
    }
  }
  const steps = Math.ceil(Math.hypot(width, height)) + 2;
  const delta = new Int32Array(steps + 1);
  for (let k = 0; k < rays; k++) {
    const dx = Math.cos(angles[k]);
    const dy = Math.sin(angles[k]);
    for (let t = 1; t <= steps; t++) delta[t] = Math.round(t * dy) * stride + Math.round(t * dx);
    // The step that left the cell overshot its boundary: back off to half a pixel past the last inside one.
    const back = 1 - 0.5 / Math.max(Math.abs(dx), Math.abs(dy));
    const ray = distances.subarray(k * plane, (k + 1) * plane);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const j = (y + 1) * stride + x + 1;
        const id = padded[j];
        if (id === 0) {
          ray[y * width + x] = 0;
          continue;
        }
        let t = 1;
        while (padded[j + delta[t]] === id) t++;
        ray[y * width + x] = t - back;
      }
    }
  }
  return distances;
}

/**
 * Instance ids recoloured into 1…254 so that cells within 2 px of each other get different
 * colours: the training loader's label slot is 8-bit and warped nearest-neighbour, and cells stay
 * apart through that warp as long as neighbours differ. Greedy colouring in id order.
 * {@link IGNORE_LABEL} stays ignored when `ignored` marks it.
 * @param ids `[H, W]` instance ids, 0 background.
 * @param ignored optional `[H, W]` mask of ignored pixels (non-zero = ignored).
 */
export function colourInstances(ids: Plane<Int32Array>, ignored?: Uint8Array): Uint8Array {
  const { width, height, data } = ids;
  const neighbours = new Map<number, Set<number>>();
  const reach = 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const id = data[y * width + x];
      if (id === 0) continue;
      for (let oy = -reach; oy <= reach; oy++) {
        const yy = y + oy;
        if (yy < 0 || yy >= height) continue;
        for (let ox = -reach; ox <= reach; ox++) {
          const xx = x + ox;
          if (xx < 0 || xx >= width) continue;
          const other = data[yy * width + xx];
          if (other === 0 || other === id) continue;
          let set = neighbours.get(id);
          if (!set) neighbours.set(id, (set = new Set()));
          set.add(other);
        }
      }
    }
  }
  const colour = new Map<number, number>();
  const ordered = [...new Set(data)].filter((id) => id !== 0).sort((a, b) => a - b);
  for (const id of ordered) {
    const taken = new Set<number>();
    for (const other of neighbours.get(id) ?? []) {
      const c = colour.get(other);
      if (c !== undefined) taken.add(c);
    }
    let c = 1;
    while (taken.has(c)) c++;
    if (c >= IGNORE_LABEL) fail('colourInstances: a cell has over 253 neighbours within 2 px');
    colour.set(id, c);
  }
  return Uint8Array.from(data, (id, i) => (ignored?.[i] ? IGNORE_LABEL : id === 0 ? 0 : colour.get(id)!));
}

/**
 * The star-convex method's regression targets from (augmented) cell labels `[H, W]`: channel 0
 * the centre score, each pixel's shortest ray divided by the longest shortest ray of its cell (the
 * normalised distance to the boundary, StarDist's object probability, from the rays rather than a
 * separate distance transform) × {@link CENTRE_TARGET_SCALE}; channels 1…R the ray lengths
 * ÷ {@link RAY_UNIT_PX}. {@link IGNORE_LABEL} counts as background in an 8-bit plane.
 * @param out optional `[1 + R, H, W]` array to fill (every value is written): a batch's slice, say.
 * @returns `[1 + R, H, W]`.
 */
export function starConvexTargets(labels: Plane<Uint8Array | Int32Array>, rays = RAY_COUNT, out?: Float32Array): Float32Array {
  const { width, height, data } = labels;
  const plane = width * height;
  const targets = out ?? new Float32Array((1 + rays) * plane);
  if (targets.length !== (1 + rays) * plane)
    fail(`starConvexTargets: an output of ${targets.length} values for ${1 + rays} channels of ${width}×${height}`);
  const distances = starDistances(labels, rays, targets.subarray(plane));
  const shortest = targets.subarray(0, plane).fill(Number.POSITIVE_INFINITY);
  for (let k = 0; k < rays; k++) {
    const ray = distances.subarray(k * plane, (k + 1) * plane);
    for (let i = 0; i < plane; i++) {
      const d = ray[i];
      if (d < shortest[i]) shortest[i] = d;
      ray[i] = d / RAY_UNIT_PX;
    }
  }
  const peak = new Map<number, number>();
  for (let i = 0; i < plane; i++) if (shortest[i] > 0) peak.set(data[i], Math.max(peak.get(data[i]) ?? 0, shortest[i]));
  // The centre score overwrites the shortest rays in place (channel 0).
  for (let i = 0; i < plane; i++) shortest[i] = shortest[i] > 0 ? (shortest[i] / peak.get(data[i])!) * CENTRE_TARGET_SCALE : 0;
  return targets;
}
