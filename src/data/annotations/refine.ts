/**
 * Weak labels redrawn from a model's own predictions, once (issue 11): a box says where a cell is,
 * not its outline, so the first model trains on an ellipse core with an ignored ring
 * (rasterize.ts). Its segmentation of the training images, clipped to each box, is a better guess
 * of the outline; retraining on it is the box-supervised recipe of Khoreva et al., "Simple Does
 * It: Weakly Supervised Instance and Semantic Segmentation", CVPR 2017 (their "Box" baseline
 * iterated on its own outputs clipped to the boxes).
 */
import { IGNORE_LABEL } from '../../image/ignore.js';
import { paintBox, paintEllipse, paintPolygon, type RasterizeOptions, labelIndex, rasterizeAnnotations } from './rasterize.js';
import type { ImageAnnotations } from './types.js';

/** Options of {@link refineLabels}: those of rasterizeAnnotations, and when a prediction is trusted. */
export interface RefineOptions extends RasterizeOptions {
  /**
   * A predicted cell replaces the drawn core only if it covers at least this share of the core's
   * pixels; otherwise the model missed the cell and the drawn core stays. Default 0.5.
   */
  minCoverage?: number;
  /** A predicted cell filling more than this share of its box spills past it (clipped); the drawn core stays. Default 0.95. */
  maxBoxFill?: number;
  /** Pixels within this many pixels (chessboard distance) of a refined cell's edge stay ignored. Default 2. */
  edgeBandPx?: number;
}

/** What {@link refineLabels} did with the annotated cells of one image. */
export interface RefineCounts {
  /** Cells whose label is now the predicted outline. */
  refined: number;
  /** Cells that kept the drawn core (prediction missing, too small, or spilling out of the box). */
  kept: number;
}

/** A rectangle of whole pixels, inclusive. */
interface Window {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One annotated cell: its class value, its window, and its region and core as masks over the window. */
interface Cell {
  value: number;
  window: Window;
  /** Where its outline may lie: the box, or a point's ring disc. */
  region: Uint8Array;
  core: Uint8Array;
  isBox: boolean;
}

const windowWidth = (w: Window) => w.x1 - w.x0 + 1;
const windowHeight = (w: Window) => w.y1 - w.y0 + 1;

function clampedWindow(xmin: number, ymin: number, xmax: number, ymax: number, width: number, height: number): Window | undefined {
  const w = {
    x0: Math.max(0, Math.floor(xmin)),
    y0: Math.max(0, Math.floor(ymin)),
    x1: Math.min(width - 1, Math.ceil(xmax)),
    y1: Math.min(height - 1, Math.ceil(ymax)),
  };
  return w.x1 >= w.x0 && w.y1 >= w.y0 ? w : undefined;
}

/** The kept boxes and points of one image as {@link Cell}s (missedlabel and unkept labels left out). */
function cellsOf(annotations: ImageAnnotations, o: RefineOptions): Cell[] {
  const { width, height, classes } = o;
  const coreFraction = o.coreFraction ?? 0.8;
  const ringFactor = o.pointRingFactor ?? 1.25;
  const cells: Cell[] = [];
  const add = (value: number, window: Window | undefined, isBox: boolean, paint: (region: Uint8Array, core: Uint8Array) => void) => {
    if (!window || value === 0 || value === IGNORE_LABEL) return;
    const size = windowWidth(window) * windowHeight(window);
    const region = new Uint8Array(size);
    const core = new Uint8Array(size);
    paint(region, core);
    cells.push({ value, window, region, core, isBox });
  };
  for (const b of annotations.boxes) {
    const w = clampedWindow(b.xmin, b.ymin, b.xmax, b.ymax, width, height);
    add(labelIndex(b.label, classes), w, true, (region, core) => {
      if (!w) return;
      const [ww, wh, dx, dy] = [windowWidth(w), windowHeight(w), w.x0, w.y0];
      paintBox(region, ww, wh, { ...b, xmin: b.xmin - dx, xmax: b.xmax - dx, ymin: b.ymin - dy, ymax: b.ymax - dy }, 1);
      const [cx, cy, rx, ry] = [(b.xmin + b.xmax) / 2 - dx, (b.ymin + b.ymax) / 2 - dy, (b.xmax - b.xmin) / 2, (b.ymax - b.ymin) / 2];
      paintEllipse(core, ww, wh, [cx, cy, rx * coreFraction, ry * coreFraction], 1);
    });
  }
  for (const p of annotations.points) {
    const value = labelIndex(p.label, classes);
    const radius = value === 0 || value === IGNORE_LABEL ? 0 : (o.pointRadiusPx[classes[value - 1]] ?? 0);
    const outer = radius * ringFactor;
    const w = radius > 0 ? clampedWindow(p.x - outer, p.y - outer, p.x + outer, p.y + outer, width, height) : undefined;
    add(value, w, false, (region, core) => {
      if (!w) return;
      const [ww, wh, cx, cy] = [windowWidth(w), windowHeight(w), p.x - w.x0, p.y - w.y0];
      paintEllipse(region, ww, wh, [cx, cy, outer, outer], 1);
      paintEllipse(core, ww, wh, [cx, cy, radius * coreFraction, radius * coreFraction], 1);
    });
  }
  return cells;
}

/**
 * The predicted outline of one cell, as a mask over its window: the pixels of its region predicted
 * as its class and 4-connected, within the region, to a pixel of its core. Undefined when the
 * prediction is not trusted (see {@link RefineOptions}).
 */
function predictedOutline(cell: Cell, predicted: Uint8Array, imageWidth: number, o: RefineOptions): Uint8Array | undefined {
  const { window: w, region, core, value } = cell;
  const [ww, wh] = [windowWidth(w), windowHeight(w)];
  const candidate = (i: number) => region[i] === 1 && predicted[(w.y0 + Math.floor(i / ww)) * imageWidth + w.x0 + (i % ww)] === value;
  const outline = new Uint8Array(ww * wh);
  const stack: number[] = [];
  for (let i = 0; i < outline.length; i++) {
    if (core[i] === 1 && candidate(i)) {
      outline[i] = 1;
      stack.push(i);
    }
  }
  while (stack.length > 0) {
    const i = stack.pop()!;
    const [x, y] = [i % ww, Math.floor(i / ww)];
    for (const [nx, ny] of [
      [x - 1, y],
      [x + 1, y],
      [x, y - 1],
      [x, y + 1],
    ]) {
      if (nx < 0 || ny < 0 || nx >= ww || ny >= wh) continue;
      const j = ny * ww + nx;
      if (outline[j] === 0 && candidate(j)) {
        outline[j] = 1;
        stack.push(j);
      }
    }
  }
  const sum = (mask: Uint8Array) => mask.reduce((total, v) => total + v, 0);
  const [covered, coreArea, regionArea] = [sum(outline.map((v, i) => v & core[i])), sum(core), sum(region)];
  if (coreArea === 0 || covered < (o.minCoverage ?? 0.5) * coreArea) return undefined;
  if (cell.isBox && sum(outline) > (o.maxBoxFill ?? 0.95) * regionArea) return undefined;
  return outline;
}

/** Marks the pixels within `band` (chessboard distance) of the mask's pixels, the mask included. */
function dilate(mask: Uint8Array, width: number, height: number, band: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] === 0) continue;
      for (let yy = Math.max(0, y - band); yy <= Math.min(height - 1, y + band); yy++)
        out.fill(1, yy * width + Math.max(0, x - band), yy * width + Math.min(width - 1, x + band) + 1);
    }
  }
  return out;
}

/**
 * One image's training labels, `[H, W]`, redrawn from a model's class prediction `predicted`
 * (`[H, W]`, class per pixel as probabilitiesToLabels gives it, in the same pixels as the
 * annotations):
 * - a box or point whose predicted outline is trusted gets that outline as its class; for a box,
 *   the rest of the box that the model calls background becomes background, except its drawn core
 *   and an `edgeBandPx` band around the outline, which stay ignored; a point's ring stays ignored;
 * - any other box or point keeps the drawn core and ignored ring of {@link rasterizeAnnotations};
 * - background outside all annotations, `missedlabel` boxes (ignored) and polygons (exact) as drawn.
 * A pixel in a box with a kept core, or in a missedlabel box, is never turned into background.
 */
export function refineLabels(
  annotations: ImageAnnotations,
  predicted: Uint8Array,
  options: RefineOptions,
): { labels: Uint8Array; counts: RefineCounts } {
  const { width, height } = options;
  if (predicted.length !== width * height)
    throw new Error(`refineLabels: the prediction has ${predicted.length} pixels, not ${width}×${height}`);
  const drawn = rasterizeAnnotations(annotations, options);
  const cells = cellsOf(annotations, options);
  const outlines = cells.map((cell) => predictedOutline(cell, predicted, width, options));
  // Pixels no refined box may turn into background: regions of cells that keep their drawn core, and missedlabel boxes.
  const protectedPixels = new Uint8Array(width * height);
  for (const box of annotations.boxes)
    if (labelIndex(box.label, options.classes) === IGNORE_LABEL) paintBox(protectedPixels, width, height, box, 1);
  const eachPixel = (cell: Cell, mask: Uint8Array, visit: (imageIndex: number, i: number) => void) => {
    const ww = windowWidth(cell.window);
    for (let i = 0; i < mask.length; i++)
      if (mask[i] === 1) visit((cell.window.y0 + Math.floor(i / ww)) * width + cell.window.x0 + (i % ww), i);
  };
  cells.forEach((cell, k) => {
    if (!outlines[k]) eachPixel(cell, cell.region, (p) => (protectedPixels[p] = 1));
  });
  const labels = drawn.slice();
  const band = options.edgeBandPx ?? 2;
  // Drawn cores of refined cells are undone first (ignore), so an outline smaller than its core leaves no stale class.
  cells.forEach((cell, k) => {
    if (outlines[k]) eachPixel(cell, cell.core, (p) => (labels[p] = labels[p] === cell.value ? IGNORE_LABEL : labels[p]));
  });
  cells.forEach((cell, k) => {
    const outline = outlines[k];
    if (!outline || !cell.isBox) return;
    const near = dilate(outline, windowWidth(cell.window), windowHeight(cell.window), band);
    eachPixel(cell, cell.region, (p, i) => {
      if (near[i] === 0 && cell.core[i] === 0 && predicted[p] === 0 && protectedPixels[p] === 0 && labels[p] === IGNORE_LABEL)
        labels[p] = 0;
    });
  });
  // Every kept core and outline is painted last, so no neighbour's background or ignore hides a cell.
  cells.forEach((cell, k) => {
    if (!outlines[k]) eachPixel(cell, cell.core, (p) => (labels[p] = cell.value));
  });
  cells.forEach((cell, k) => {
    const outline = outlines[k];
    if (outline) eachPixel(cell, outline, (p) => (labels[p] = cell.value));
  });
  for (const polygon of annotations.polygons) {
    const value = labelIndex(polygon.label, options.classes);
    if (value !== 0) paintPolygon(labels, width, height, polygon.points, value);
  }
  const refined = outlines.filter(Boolean).length;
  return { labels, counts: { refined, kept: cells.length - refined } };
}
