/**
 * Per-cell measurements from an instance map: centroid, bounding box, area, equivalent diameter,
 * perimeter, circularity; with the class map and probabilities, each cell's class and score.
 * cells.csv is written by io/prediction-outputs.ts's cellsCsv.
 */
import { fail } from '../util/errors.js';
import { checkPlane, type Plane } from '../image/plane.js';
import type { CellRow } from '../io/prediction-outputs.js';
import type { ProbabilityMap } from './predict.js';
import type { Segmentation } from './segment.js';

/** Options of {@link measureCells}. */
export interface MeasureOptions {
  /** Micrometres per pixel; when given, the µm columns are filled. */
  pixelSizeUm?: number;
}

/** Measurements of one cell: its geometric cells.csv columns and its perimeter. */
export interface CellMeasurement extends Omit<CellRow, 'className' | 'score'> {
  /** Cauchy–Crofton estimate of the boundary length, in pixels. */
  perimeterPx: number;
}

/** Neighbour steps (x, y) and their line direction: 0 = 0°, 1 = 90°, 2 = 45°, 3 = 135°. */
const STEP_X = Int8Array.of(-1, 1, 0, 0, -1, 1, 1, -1);
const STEP_Y = Int8Array.of(0, 0, -1, 1, -1, 1, -1, 1);
const STEP_DIRECTION = Uint8Array.of(0, 0, 1, 1, 2, 2, 3, 3);

/**
 * Measures every instance of `instances` (0 = background, ids > 0 in any order), sorted
 * by id. The perimeter counts, per direction (0°, 90°, 45°, 135°), the cell pixels whose
 * neighbour in that direction is not in the cell (image edges count), and applies the discrete
 * Cauchy–Crofton formula P ≈ π/8 · (n0 + n90 + (n45 + n135)/√2): within a few percent for discs
 * and any orientation, where counting boundary edges overestimates by up to 4/π.
 */
export function measureCells(instances: Plane<Int32Array>, options: MeasureOptions = {}): CellMeasurement[] {
  checkPlane(instances, 'measureCells');
  const { width, height, data: labels } = instances;
  const { pixelSizeUm } = options;
  if (pixelSizeUm !== undefined && !(pixelSizeUm > 0)) fail(`pixelSizeUm must be > 0, got ${pixelSizeUm}`);
  // Map ids to dense indices so that sparse or huge ids cost no memory.
  const index = new Map<number, number>();
  const dense = new Int32Array(labels.length);
  const ids: number[] = [];
  let lastId = 0;
  let lastIndex = -1;
  for (let i = 0; i < labels.length; i++) {
    const id = labels[i];
    if (id < 0) fail(`instance labels must be ≥ 0, found ${id}`);
    if (id === 0) {
      dense[i] = -1;
      continue;
    }
    if (id !== lastId) {
      let k = index.get(id);
      if (k === undefined) {
        k = ids.length;
        index.set(id, k);
        ids.push(id);
      }
      lastId = id;
      lastIndex = k;
    }
    dense[i] = lastIndex;
  }
  const count = ids.length;
  const area = new Float64Array(count);
  const sumX = new Float64Array(count);
  const sumY = new Float64Array(count);
  const box = new Int32Array(count * 4);
  for (let k = 0; k < count; k++) box.set([width, height, -1, -1], k * 4);
  const crossings = new Float64Array(count * 4);
  const offsets = Int32Array.from(STEP_X, (dx, s) => STEP_Y[s] * width + dx);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const k = dense[p];
      if (k < 0) continue;
      area[k]++;
      sumX[k] += x;
      sumY[k] += y;
      if (x < box[k * 4]) box[k * 4] = x;
      if (y < box[k * 4 + 1]) box[k * 4 + 1] = y;
      if (x > box[k * 4 + 2]) box[k * 4 + 2] = x;
      if (y > box[k * 4 + 3]) box[k * 4 + 3] = y;
      const interior = x > 0 && x < width - 1 && y > 0 && y < height - 1;
      for (let s = 0; s < 8; s++) {
        let inside: boolean;
        if (interior) inside = dense[p + offsets[s]] === k;
        else {
          const nx = x + STEP_X[s];
          const ny = y + STEP_Y[s];
          inside = nx >= 0 && nx < width && ny >= 0 && ny < height && dense[ny * width + nx] === k;
        }
        if (!inside) crossings[k * 4 + STEP_DIRECTION[s]]++;
      }
    }
  }
  const cells: CellMeasurement[] = [];
  for (let k = 0; k < count; k++) {
    const a = area[k];
    const perimeterPx =
      (Math.PI / 8) * (crossings[k * 4] + crossings[k * 4 + 1] + (crossings[k * 4 + 2] + crossings[k * 4 + 3]) / Math.SQRT2);
    const equivalentDiameterPx = Math.sqrt((4 * a) / Math.PI);
    const cell: CellMeasurement = {
      id: ids[k],
      centroidX: sumX[k] / a,
      centroidY: sumY[k] / a,
      bboxXmin: box[k * 4],
      bboxYmin: box[k * 4 + 1],
      bboxXmax: box[k * 4 + 2],
      bboxYmax: box[k * 4 + 3],
      areaPx: a,
      equivalentDiameterPx,
      perimeterPx,
      circularity: Math.min(1, (4 * Math.PI * a) / (perimeterPx * perimeterPx)),
    };
    if (pixelSizeUm !== undefined) {
      cell.areaUm2 = a * pixelSizeUm * pixelSizeUm;
      cell.equivalentDiameterUm = equivalentDiameterPx * pixelSizeUm;
    }
    cells.push(cell);
  }
  return cells.sort((a, b) => a.id - b.id);
}

/** A measured cell with its class: one row of cells.csv. */
export interface ClassifiedCell extends CellMeasurement, CellRow {
  /** Index of the cell's class in the model's class names (≥ 1). */
  classIndex: number;
}

/**
 * The cells of a segmentation, measured ({@link measureCells}) and classified: a cell's class is
 * the class of most of its pixels in `segmentation.labels` (all of them, as segment() splits each
 * class on its own), its score the mean probability of that class over its pixels (of foreground
 * for a binary map). `map` is `[channels, H, W]` the segmentation's size; `classNames[0]` is
 * background. Sorted by id.
 */
export function classifyCells(
  segmentation: Segmentation,
  map: ProbabilityMap,
  classNames: readonly string[],
  options: MeasureOptions = {},
): ClassifiedCell[] {
  const { labels, instances } = segmentation;
  const { width, height } = instances;
  if (map.width !== width || map.height !== height || labels.width !== width || labels.height !== height)
    fail(
      `classifyCells: the probability map is ${map.width}×${map.height}, the instances ${width}×${height}, the labels ${labels.width}×${labels.height}`,
    );
  const measured = measureCells(instances, options);
  const row = new Map(measured.map((cell, k) => [cell.id, k]));
  const classes = Math.max(2, map.channels);
  const plane = width * height;
  const votes = new Float64Array(measured.length * classes);
  for (let i = 0; i < plane; i++) {
    if (instances.data[i] === 0) continue;
    votes[row.get(instances.data[i])! * classes + Math.min(classes - 1, labels.data[i])]++;
  }
  const classOf = measured.map((_, k) => {
    let best = 1;
    for (let c = 2; c < classes; c++) if (votes[k * classes + c] > votes[k * classes + best]) best = c;
    return best;
  });
  const sums = new Float64Array(measured.length);
  for (let i = 0; i < plane; i++) {
    if (instances.data[i] === 0) continue;
    const k = row.get(instances.data[i])!;
    sums[k] += map.data[(map.channels === 1 ? 0 : classOf[k]) * plane + i];
  }
  return measured.map((cell, k) => ({
    ...cell,
    classIndex: classOf[k],
    className: classNames[classOf[k]] ?? `class${classOf[k]}`,
    score: sums[k] / cell.areaPx,
  }));
}

/** Cells per foreground class name, every class of `classNames` (after background) present, in their order. */
export function countByClass(cells: readonly { className: string }[], classNames: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of classNames.slice(1)) counts[name] = 0;
  for (const cell of cells) counts[cell.className] = (counts[cell.className] ?? 0) + 1;
  return counts;
}
