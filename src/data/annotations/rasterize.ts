import { IGNORE_LABEL } from '../../image/ignore.js';
import { fail } from '../../util/errors.js';
import type { CellCentre } from '../types.js';
import { type BoxAnnotation, className, type ImageAnnotations, isIgnoreLabel } from './types.js';

/** Options of {@link rasterizeAnnotations}. */
export interface RasterizeOptions {
  width: number;
  height: number;
  /** The object classes in label order: `classes[i]` is label i + 1 (0 is background). Others become background. */
  classes: readonly string[];
  /** Per class, the radius in pixels of a cell marked by a point (see {@link typicalRadii}). */
  pointRadiusPx: Readonly<Record<string, number>>;
  /** The core's size as a fraction of the box's (or the point radius); the rest up to the edge is ignored. Default 0.8. */
  coreFraction?: number;
  /** A point's ignore ring reaches this multiple of its radius (clicks are rarely centred). Default 1.25. */
  pointRingFactor?: number;
}

/** The class index (1-based) of a label, 0 for labels not kept as objects, or IGNORE_LABEL for `missedlabel`. */
export function labelIndex(label: string, classes: readonly string[]): number {
  if (isIgnoreLabel(label)) return IGNORE_LABEL;
  return classes.indexOf(className(label)) + 1;
}

/** Paints `value` on the pixels whose centres lie in the ellipse centred at (cx, cy) with semi-axes (rx, ry). */
export function paintEllipse(labels: Uint8Array, width: number, height: number, [cx, cy, rx, ry]: number[], value: number): void {
  if (!(rx > 0 && ry > 0)) return;
  const y0 = Math.max(0, Math.floor(cy - ry));
  const y1 = Math.min(height - 1, Math.ceil(cy + ry));
  const x0 = Math.max(0, Math.floor(cx - rx));
  const x1 = Math.min(width - 1, Math.ceil(cx + rx));
  for (let y = y0; y <= y1; y++) {
    const dy = (y + 0.5 - cy) / ry;
    for (let x = x0; x <= x1; x++) {
      const dx = (x + 0.5 - cx) / rx;
      if (dx * dx + dy * dy <= 1) labels[y * width + x] = value;
    }
  }
}

/** Paints `value` on the pixels whose centres lie inside the box. */
export function paintBox(labels: Uint8Array, width: number, height: number, box: BoxAnnotation, value: number): void {
  const x0 = Math.max(0, Math.ceil(box.xmin - 0.5));
  const x1 = Math.min(width - 1, Math.floor(box.xmax - 0.5));
  const y0 = Math.max(0, Math.ceil(box.ymin - 0.5));
  const y1 = Math.min(height - 1, Math.floor(box.ymax - 0.5));
  for (let y = y0; y <= y1; y++) labels.fill(value, y * width + x0, y * width + x1 + 1);
}

/** Paints `value` on the pixels whose centres lie inside the polygon `[x0, y0, x1, y1, …]` (even-odd rule). */
export function paintPolygon(labels: Uint8Array, width: number, height: number, points: readonly number[], value: number): void {
  const n = points.length >> 1;
  for (let y = 0; y < height; y++) {
    const py = y + 0.5;
    const crossings: number[] = [];
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [xi, yi, xj, yj] = [points[2 * i], points[2 * i + 1], points[2 * j], points[2 * j + 1]];
      if (yi > py !== yj > py) crossings.push(xi + ((py - yi) / (yj - yi)) * (xj - xi));
    }
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const x0 = Math.max(0, Math.ceil(crossings[k] - 0.5));
      const x1 = Math.min(width - 1, Math.floor(crossings[k + 1] - 0.5));
      if (x1 >= x0) labels.fill(value, y * width + x0, y * width + x1 + 1);
    }
  }
}

/**
 * Turns one image's weak annotations into a class label per pixel, `[H, W]`, with
 * {@link IGNORE_LABEL} where the truth is unknown:
 * - a box → an ellipse core of its class (`coreFraction` of the box) and ignore up to the box edge;
 * - a point → a disc of its class's radius × `coreFraction`, ignore out to radius × `pointRingFactor`;
 * - a polygon → its class, exactly (a drawn outline is a mask);
 * - a `missedlabel` box → ignore; labels not in `classes` → background; pixels outside all boxes → background.
 * Ignore areas are painted first and cores on top, so a core is never hidden by a neighbour's ring;
 * cores are painted largest first, so where two overlap the smaller (the cell lying on the other) shows.
 */
export function rasterizeAnnotations(annotations: ImageAnnotations, options: RasterizeOptions): Uint8Array {
  const { width, height, classes } = options;
  const core = options.coreFraction ?? 0.8;
  const ring = options.pointRingFactor ?? 1.25;
  if (!(core > 0 && core <= 1)) fail(`the core fraction must be in (0, 1], got ${core}`);
  const labels = new Uint8Array(width * height);
  const radius = (label: string) => options.pointRadiusPx[className(label)] ?? fail(`no point radius for class ${className(label)}`);
  const pointCircle = (p: { x: number; y: number; label: string }, scale: number) => [
    p.x,
    p.y,
    radius(p.label) * scale,
    radius(p.label) * scale,
  ];
  const kept = (label: string) => labelIndex(label, classes);
  for (const box of annotations.boxes) if (kept(box.label) !== 0) paintBox(labels, width, height, box, IGNORE_LABEL);
  for (const point of annotations.points) {
    if (kept(point.label) !== 0 && kept(point.label) !== IGNORE_LABEL)
      paintEllipse(labels, width, height, pointCircle(point, ring), IGNORE_LABEL);
  }
  // Cores largest first, so a small cell lying on a large one (a pus cell on an epithelial cell, or
  // inside an epithelial cell's point disc) keeps its class where it shows: drawn in file order, 18
  // of UMID's 859 training pus cells were painted over as epithelial.
  const cores = annotatedCores(annotations, options);
  cores.sort((a, b) => b.radiusXPx * b.radiusYPx - a.radiusXPx * a.radiusYPx);
  for (const c of cores) paintEllipse(labels, width, height, [c.x, c.y, c.radiusXPx, c.radiusYPx], c.value);
  for (const polygon of annotations.polygons) {
    const value = kept(polygon.label);
    if (value !== 0) paintPolygon(labels, width, height, polygon.points, value);
  }
  return labels;
}

/**
 * The drawn cores of one image's kept boxes and points, in annotation order: a box's ellipse
 * (`coreFraction` of its half sizes), a point's disc (`coreFraction` of its class's radius), with
 * the class value. Polygons and `missedlabel` boxes have none.
 */
export function annotatedCores(annotations: ImageAnnotations, options: RasterizeOptions): (CellCentre & { value: number })[] {
  const { classes } = options;
  const core = options.coreFraction ?? 0.8;
  const cores: (CellCentre & { value: number })[] = [];
  for (const box of annotations.boxes) {
    const value = labelIndex(box.label, classes);
    if (value === 0 || value === IGNORE_LABEL) continue;
    const [radiusXPx, radiusYPx] = [((box.xmax - box.xmin) / 2) * core, ((box.ymax - box.ymin) / 2) * core];
    cores.push({ x: (box.xmin + box.xmax) / 2, y: (box.ymin + box.ymax) / 2, radiusXPx, radiusYPx, value });
  }
  for (const point of annotations.points) {
    const value = labelIndex(point.label, classes);
    if (value === 0 || value === IGNORE_LABEL) continue;
    const radius = options.pointRadiusPx[className(point.label)] ?? fail(`no point radius for class ${className(point.label)}`);
    cores.push({ x: point.x, y: point.y, radiusXPx: radius * core, radiusYPx: radius * core, value });
  }
  return cores;
}

/**
 * Each class's typical cell radius in pixels: the median over its boxes of (width + height) / 4,
 * or `cellDiameterPx / 2` for every class when given, or for classes that have points but no boxes.
 * @throws PyocyteError when a class has points, no boxes and no `cellDiameterPx`.
 */
export function typicalRadii(
  images: Iterable<ImageAnnotations>,
  classes: readonly string[],
  cellDiameterPx?: number,
): Record<string, number> {
  const sizes = new Map<string, number[]>(classes.map((c) => [c, []]));
  const pointed = new Set<string>();
  for (const image of images) {
    for (const box of image.boxes) sizes.get(className(box.label))?.push((box.xmax - box.xmin + box.ymax - box.ymin) / 4);
    for (const point of image.points) if (sizes.has(className(point.label))) pointed.add(className(point.label));
  }
  const radii: Record<string, number> = {};
  for (const [name, values] of sizes) {
    if (cellDiameterPx !== undefined) radii[name] = cellDiameterPx / 2;
    else if (values.length > 0) radii[name] = median(values);
    else if (pointed.has(name))
      fail(`class ${name} is marked by points only: pass --cell-diameter (in pixels) so pyocyte knows how large its cells are`);
  }
  return radii;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The object classes of a dataset's labels, in alphabetical order (`point-pus` merged into `pus`, `missedlabel` left out). */
export function classesOf(images: Iterable<ImageAnnotations>): string[] {
  const names = new Set<string>();
  for (const image of images) {
    for (const object of [...image.boxes, ...image.points, ...image.polygons])
      if (!isIgnoreLabel(object.label)) names.add(className(object.label));
  }
  return [...names].sort();
}
