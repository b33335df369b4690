/**
 * Corrections of a label map, as small pure functions on `[H, W]` planes: paint a brush stroke,
 * erase, flood-fill a closed outline, delete a cell, draw a new cell as a polygon, change a cell's
 * class. Each returns a {@link Patch} (the changed rectangle before and after), which undo and redo
 * write back.
 */
import { PyocyteError } from '../../util/errors.js';

/** What a user corrects: a class per pixel and a cell id per pixel (0 = background). */
export interface LabelState {
  width: number;
  height: number;
  /** `[H, W]` class index per pixel. */
  labels: Uint8Array;
  /** `[H, W]` cell id per pixel. */
  instances: Int32Array;
}

/** A rectangle of a label state before and after one edit. */
export interface Patch {
  x: number;
  y: number;
  width: number;
  height: number;
  before: { labels: Uint8Array; instances: Int32Array };
  after: { labels: Uint8Array; instances: Int32Array };
}

/** An image point in pixels (x right, y down; pixel (0, 0)'s centre is (0, 0)). */
export type Point = readonly [number, number];

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function crop(state: LabelState, box: Box): { labels: Uint8Array; instances: Int32Array } {
  const w = box.x1 - box.x0;
  const h = box.y1 - box.y0;
  const labels = new Uint8Array(w * h);
  const instances = new Int32Array(w * h);
  for (let y = 0; y < h; y++) {
    const from = (box.y0 + y) * state.width + box.x0;
    labels.set(state.labels.subarray(from, from + w), y * w);
    instances.set(state.instances.subarray(from, from + w), y * w);
  }
  return { labels, instances };
}

/** Writes one side of a patch into the state. */
export function applyPatch(state: LabelState, patch: Patch, side: 'before' | 'after'): void {
  const data = patch[side];
  for (let y = 0; y < patch.height; y++) {
    const to = (patch.y + y) * state.width + patch.x;
    state.labels.set(data.labels.subarray(y * patch.width, (y + 1) * patch.width), to);
    state.instances.set(data.instances.subarray(y * patch.width, (y + 1) * patch.width), to);
  }
}

/**
 * Runs `change` on the pixels of `box` (clipped to the image) and records the patch; undefined
 * when the box is empty or nothing changed.
 */
function edit(state: LabelState, box: Box, change: (index: number, x: number, y: number) => void): Patch | undefined {
  const clipped = {
    x0: Math.max(0, box.x0),
    y0: Math.max(0, box.y0),
    x1: Math.min(state.width, box.x1),
    y1: Math.min(state.height, box.y1),
  };
  if (clipped.x1 <= clipped.x0 || clipped.y1 <= clipped.y0) return undefined;
  const before = crop(state, clipped);
  for (let y = clipped.y0; y < clipped.y1; y++) for (let x = clipped.x0; x < clipped.x1; x++) change(y * state.width + x, x, y);
  const after = crop(state, clipped);
  let changed = false;
  for (let i = 0; i < before.labels.length && !changed; i++)
    changed = before.labels[i] !== after.labels[i] || before.instances[i] !== after.instances[i];
  if (!changed) return undefined;
  return { x: clipped.x0, y: clipped.y0, width: clipped.x1 - clipped.x0, height: clipped.y1 - clipped.y0, before, after };
}

function checkPoint(state: LabelState, [x, y]: Point): number {
  const px = Math.round(x);
  const py = Math.round(y);
  if (!(px >= 0 && px < state.width && py >= 0 && py < state.height)) {
    throw new PyocyteError(`the point (${x}, ${y}) is outside the ${state.width}×${state.height} image`);
  }
  return py * state.width + px;
}

/** Squared distance from (px, py) to the segment a–b. */
function segmentDistance2(px: number, py: number, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / length2));
  const ex = a[0] + t * dx - px;
  const ey = a[1] + t * dy - py;
  return ex * ex + ey * ey;
}

/**
 * Paints every pixel within `radiusPx` of the polyline `points` with class `classIndex` and cell
 * `cellId` (both 0 erase). A single point paints a disc.
 */
export function paintStroke(
  state: LabelState,
  points: readonly Point[],
  radiusPx: number,
  classIndex: number,
  cellId: number,
): Patch | undefined {
  if (points.length === 0) return undefined;
  if (!(radiusPx >= 0.5)) throw new PyocyteError(`the brush radius must be at least 0.5 px, got ${radiusPx}`);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const box = {
    x0: Math.floor(Math.min(...xs) - radiusPx),
    y0: Math.floor(Math.min(...ys) - radiusPx),
    x1: Math.ceil(Math.max(...xs) + radiusPx) + 1,
    y1: Math.ceil(Math.max(...ys) + radiusPx) + 1,
  };
  const r2 = radiusPx * radiusPx;
  const segments = points.length === 1 ? [[points[0], points[0]] as const] : points.slice(1).map((p, i) => [points[i], p] as const);
  const erase = classIndex === 0 || cellId === 0;
  return edit(state, box, (i, x, y) => {
    if (segments.some(([a, b]) => segmentDistance2(x, y, a, b) <= r2)) {
      state.labels[i] = erase ? 0 : classIndex;
      state.instances[i] = erase ? 0 : cellId;
    }
  });
}

/** The bounding box of a cell's pixels, or undefined when the cell has none. */
function cellBox(state: LabelState, cellId: number): Box | undefined {
  let box: Box | undefined;
  for (let y = 0; y < state.height; y++) {
    for (let x = 0; x < state.width; x++) {
      if (state.instances[y * state.width + x] !== cellId) continue;
      if (!box) box = { x0: x, y0: y, x1: x + 1, y1: y + 1 };
      else {
        box.x0 = Math.min(box.x0, x);
        box.x1 = Math.max(box.x1, x + 1);
        box.y1 = y + 1;
      }
    }
  }
  return box;
}

/** The cell id at a point (0 on background). */
export function cellAt(state: LabelState, point: Point): number {
  return state.instances[checkPoint(state, point)];
}

/** Removes the cell under `point`: its pixels become background. */
export function deleteCell(state: LabelState, point: Point): Patch | undefined {
  const id = cellAt(state, point);
  if (id === 0) return undefined;
  return edit(state, cellBox(state, id)!, (i) => {
    if (state.instances[i] === id) {
      state.instances[i] = 0;
      state.labels[i] = 0;
    }
  });
}

/** Gives every pixel of the cell under `point` the class `classIndex` (≥ 1). */
export function setCellClass(state: LabelState, point: Point, classIndex: number): Patch | undefined {
  if (classIndex < 1) throw new PyocyteError('a cell needs an object class (1 or more); use delete to remove it');
  const id = cellAt(state, point);
  if (id === 0) return undefined;
  return edit(state, cellBox(state, id)!, (i) => {
    if (state.instances[i] === id) state.labels[i] = classIndex;
  });
}

/**
 * Fills the 4-connected region of background pixels around `point` (the inside of an outline)
 * with class `classIndex` and cell `cellId`. A region that reaches the image border is refused:
 * that is the open background, not the inside of a cell.
 */
export function fillRegion(state: LabelState, point: Point, classIndex: number, cellId: number): Patch | undefined {
  const start = checkPoint(state, point);
  if (state.instances[start] !== 0 || state.labels[start] !== 0) return undefined;
  const { width, height } = state;
  const inRegion = new Uint8Array(width * height);
  const stack = [start];
  inRegion[start] = 1;
  const box = { x0: width, y0: height, x1: 0, y1: 0 };
  while (stack.length > 0) {
    const p = stack.pop()!;
    const x = p % width;
    const y = (p - x) / width;
    if (x === 0 || y === 0 || x === width - 1 || y === height - 1) {
      throw new PyocyteError(
        'this region reaches the image border, so it is background, not the inside of a cell: close its outline with the brush first',
      );
    }
    box.x0 = Math.min(box.x0, x);
    box.y0 = Math.min(box.y0, y);
    box.x1 = Math.max(box.x1, x + 1);
    box.y1 = Math.max(box.y1, y + 1);
    for (const q of [p - 1, p + 1, p - width, p + width]) {
      if (inRegion[q] === 0 && state.instances[q] === 0 && state.labels[q] === 0) {
        inRegion[q] = 1;
        stack.push(q);
      }
    }
  }
  return edit(state, box, (i) => {
    if (inRegion[i] === 1) {
      state.labels[i] = classIndex;
      state.instances[i] = cellId;
    }
  });
}

/**
 * Draws a new cell: the background pixels whose centres lie inside the polygon `points` (even–odd
 * rule) get class `classIndex` and cell `cellId`; pixels of other cells keep their cell.
 */
export function fillPolygon(state: LabelState, points: readonly Point[], classIndex: number, cellId: number): Patch | undefined {
  if (points.length < 3) throw new PyocyteError(`a new cell's outline needs at least 3 points, got ${points.length}`);
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const box = {
    x0: Math.floor(Math.min(...xs)),
    y0: Math.floor(Math.min(...ys)),
    x1: Math.ceil(Math.max(...xs)) + 1,
    y1: Math.ceil(Math.max(...ys)) + 1,
  };
  return edit(state, box, (i, x, y) => {
    if (state.instances[i] !== 0 || state.labels[i] !== 0) return;
    let inside = false;
    for (let k = 0, j = points.length - 1; k < points.length; j = k++) {
      const [xk, yk] = points[k];
      const [xj, yj] = points[j];
      if (yk > y !== yj > y && x < ((xj - xk) * (y - yk)) / (yj - yk) + xk) inside = !inside;
    }
    if (inside) {
      state.labels[i] = classIndex;
      state.instances[i] = cellId;
    }
  });
}

/** Replaces the whole state with another of the same size (e.g. "start from the prediction"). */
export function replaceAll(state: LabelState, labels: Uint8Array, instances: Int32Array): Patch | undefined {
  if (labels.length !== state.labels.length || instances.length !== state.instances.length) {
    throw new PyocyteError(`the replacement is not ${state.width}×${state.height}`);
  }
  return edit(state, { x0: 0, y0: 0, x1: state.width, y1: state.height }, (i) => {
    state.labels[i] = labels[i];
    state.instances[i] = instances[i];
  });
}

/** One more than the largest cell id, for a new cell. */
export function nextCellId(instances: Int32Array): number {
  let max = 0;
  for (let i = 0; i < instances.length; i++) if (instances[i] > max) max = instances[i];
  return max + 1;
}
