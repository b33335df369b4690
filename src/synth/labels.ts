import { renumberInRasterOrder } from '../image/components.js';
import type { Plane, PlaneSize } from '../image/plane.js';
import type { Scene } from './scene.js';
import { blobBox, blobSignedDistance, capsuleSignedDistance, coverage, forEachBlobPixel, type PixelBox } from './shapes.js';

/**
 * Rasterises the pus cells of a scene into hard labels (instances, three classes) and the soft
 * coverage maps the image renderer paints from. The labels come first and the nuclei are only
 * painted inside their own cell's label, so image and masks cannot disagree about nuclei.
 */

/** Labels and soft coverage of the pus cells, all `[H, W]` of the layers' size. */
export interface CellLayers extends PlaneSize {
  /** Pus cell id per pixel (1…n), 0 elsewhere. */
  instances: Uint16Array;
  /** 0 background, 1 cytoplasm, 2 nucleus. */
  threeClass: Uint8Array;
  /** Antialiased cytoplasm coverage times the cell's stain density, with a paler seam where cells touch. */
  cytoplasm: Float32Array;
  /** Antialiased nucleus coverage. */
  nucleus: Float32Array;
}

/**
 * Draws the pus cells. Where two outlines overlap, a pixel goes to the cell in whose outline
 * it lies relatively deeper (smaller r / radius(θ)), which flattens the contact like two cells
 * pressed together.
 */
export function renderCellLayers(scene: Scene, size: PlaneSize): CellLayers {
  const { width, height } = size;
  const pixels = width * height;
  const instances = new Uint16Array(pixels);
  const depth = new Float32Array(pixels);
  const cytoplasm = new Float32Array(pixels);
  scene.cells.forEach((cell, index) => {
    const id = index + 1;
    forEachBlobPixel(cell.outline, size, (p, distance, radius) => {
      const signed = distance - radius;
      if (signed >= 0.5) return;
      const cover = coverage(signed) * cell.cytoplasmDensity;
      if (cover > cytoplasm[p]) cytoplasm[p] = cover;
      if (signed >= 0) return;
      const relative = distance / radius;
      if (instances[p] === 0 || relative < depth[p]) {
        instances[p] = id;
        depth[p] = relative;
      }
    });
  });
  const instancePlane = { width, height, data: instances };
  for (let pass = 0; pass < 3 && keepLargestComponents(instancePlane) > 0; pass++);
  const threeClass = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) threeClass[p] = instances[p] > 0 ? 1 : 0;
  const nucleus = new Float32Array(pixels);
  scene.cells.forEach((cell, index) => {
    const id = index + 1;
    const box = unionBox(cell.lobes.map((lobe) => blobBox(lobe, 1, size)));
    if (!box) return;
    for (let y = box.y0; y <= box.y1; y++) {
      for (let x = box.x0; x <= box.x1; x++) {
        const p = y * width + x;
        if (instances[p] !== id) continue;
        let signed = Infinity;
        for (const lobe of cell.lobes) signed = Math.min(signed, blobSignedDistance(lobe, x + 0.5, y + 0.5));
        for (const strand of cell.strands) signed = Math.min(signed, capsuleSignedDistance(strand, x + 0.5, y + 0.5));
        const cover = coverage(signed);
        if (cover > nucleus[p]) nucleus[p] = cover;
        if (signed < 0) threeClass[p] = 2;
      }
    }
  });
  paleSeams(instancePlane, cytoplasm, scene.stain.seamFactor);
  return { width, height, instances, threeClass, cytoplasm, nucleus };
}

function unionBox(boxes: (PixelBox | null)[]): PixelBox | null {
  let union: PixelBox | null = null;
  for (const box of boxes) {
    if (!box) continue;
    union = union
      ? { x0: Math.min(union.x0, box.x0), y0: Math.min(union.y0, box.y0), x1: Math.max(union.x1, box.x1), y1: Math.max(union.y1, box.y1) }
      : { ...box };
  }
  return union;
}

/** Thins the cytoplasm stain on both sides of every contact between two cells, as a pressed membrane looks. */
function paleSeams(instances: Plane<Uint16Array>, cytoplasm: Float32Array, factor: number): void {
  const { width, data: ids } = instances;
  const seam = new Uint8Array(ids.length);
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p];
    if (id === 0) continue;
    const right = (p + 1) % width !== 0 ? ids[p + 1] : 0;
    const below = p + width < ids.length ? ids[p + width] : 0;
    if (right !== 0 && right !== id) seam[p] = seam[p + 1] = 1;
    if (below !== 0 && below !== id) seam[p] = seam[p + width] = 1;
  }
  for (let p = 0; p < seam.length; p++) if (seam[p]) cytoplasm[p] *= factor;
}

/**
 * Makes every instance one 4-connected region: each id keeps its largest component and each
 * smaller piece goes to the neighbouring id it shares most border with (or to background when
 * isolated). Returns how many pixels changed; call again until 0 if pieces moved between ids.
 * `plane`'s ids are modified in place.
 */
export function keepLargestComponents(plane: Plane<Uint16Array>): number {
  const { width, data: instances } = plane;
  const size = instances.length;
  const component = new Int32Array(size).fill(-1);
  const order = new Int32Array(size);
  const starts: number[] = [];
  const owners: number[] = [];
  let tail = 0;
  for (let seed = 0; seed < size; seed++) {
    const id = instances[seed];
    if (id === 0 || component[seed] >= 0) continue;
    const index = starts.length;
    starts.push(tail);
    owners.push(id);
    component[seed] = index;
    order[tail++] = seed;
    for (let head = starts[index]; head < tail; head++) {
      const p = order[head];
      const x = p % width;
      let q = p - 1;
      if (x > 0 && component[q] < 0 && instances[q] === id) {
        component[q] = index;
        order[tail++] = q;
      }
      q = p + 1;
      if (x + 1 < width && component[q] < 0 && instances[q] === id) {
        component[q] = index;
        order[tail++] = q;
      }
      q = p - width;
      if (q >= 0 && component[q] < 0 && instances[q] === id) {
        component[q] = index;
        order[tail++] = q;
      }
      q = p + width;
      if (q < size && component[q] < 0 && instances[q] === id) {
        component[q] = index;
        order[tail++] = q;
      }
    }
  }
  starts.push(tail);
  const largest = new Map<number, number>();
  for (let c = 0; c < owners.length; c++) {
    const best = largest.get(owners[c]);
    if (best === undefined || starts[c + 1] - starts[c] > starts[best + 1] - starts[best]) largest.set(owners[c], c);
  }
  let changed = 0;
  for (let c = 0; c < owners.length; c++) {
    if (largest.get(owners[c]) === c) continue;
    const shared = new Map<number, number>();
    for (let i = starts[c]; i < starts[c + 1]; i++) {
      const p = order[i];
      const x = p % width;
      const neighbours = [x > 0 ? p - 1 : -1, x + 1 < width ? p + 1 : -1, p - width, p + width < size ? p + width : -1];
      for (const q of neighbours) {
        if (q < 0 || instances[q] === 0 || instances[q] === owners[c]) continue;
        shared.set(instances[q], (shared.get(instances[q]) ?? 0) + 1);
      }
    }
    let target = 0;
    let most = 0;
    for (const [id, count] of shared) if (count > most || (count === most && id < target)) [target, most] = [id, count];
    for (let i = starts[c]; i < starts[c + 1]; i++) instances[order[i]] = target;
    changed += starts[c + 1] - starts[c];
  }
  return changed;
}

/** Renumbers instance ids to 1…n in order of first appearance and returns n. `[H, W]`, in place. */
export function compactInstanceIds(instances: Uint16Array): number {
  return renumberInRasterOrder(instances, 65535);
}
