/**
 * Per-cell measurements from an instance map: centroid, area, equivalent diameter, perimeter,
 * circularity, and a CSV export.
 */
import { csvField } from '../util/csv.js';
import { fail } from '../util/errors.js';
import { checkPlane, type Plane } from '../image/plane.js';

/** Options of {@link measureCells} and {@link cellsCsv}. */
export interface MeasureOptions {
  /** Micrometres per pixel; when given, the µm columns are filled. */
  pixelSizeUm?: number;
}

/** Measurements of one cell. Coordinates are pixel indices (the top-left pixel's centre is (0, 0)). */
export interface CellMeasurement {
  id: number;
  centroidX: number;
  centroidY: number;
  areaPx: number;
  areaUm2?: number;
  /** Diameter of the disc with the same area, √(4A/π). */
  equivalentDiameterPx: number;
  equivalentDiameterUm?: number;
  /** Cauchy–Crofton estimate of the boundary length, in pixels. */
  perimeterPx: number;
  /** 4πA/P², clipped to ≤ 1: 1 for a disc, lower for elongated or ragged cells. */
  circularity: number;
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
    const perimeterPx = (Math.PI / 8) * (crossings[k * 4] + crossings[k * 4 + 1] + (crossings[k * 4 + 2] + crossings[k * 4 + 3]) / Math.SQRT2);
    const equivalentDiameterPx = Math.sqrt((4 * a) / Math.PI);
    const cell: CellMeasurement = {
      id: ids[k],
      centroidX: sumX[k] / a,
      centroidY: sumY[k] / a,
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

/** Six significant digits, no trailing zeros, '' for missing values. */
function format(value: number | undefined): string {
  return value === undefined ? '' : String(Number(value.toPrecision(6)));
}

const CELL_COLUMNS = 'id,centroid_x,centroid_y,area_px,area_um2,equivalent_diameter_px,equivalent_diameter_um,circularity';

/**
 * The cells as CSV, one row per cell:
 * `[image,]id,centroid_x,centroid_y,area_px,area_um2,equivalent_diameter_px,equivalent_diameter_um,circularity`.
 * The µm columns are empty when the pixel size is unknown (neither in the cells nor in `options`).
 * With `image`, every row starts with that name (the cells of many images in one file); with
 * `header: false` only the rows are returned, for appending.
 */
export function cellsCsv(cells: readonly CellMeasurement[], options: MeasureOptions & { image?: string; header?: boolean } = {}): string {
  const { pixelSizeUm, image } = options;
  if (pixelSizeUm !== undefined && !(pixelSizeUm > 0)) fail(`pixelSizeUm must be > 0, got ${pixelSizeUm}`);
  const lines = options.header === false ? [] : [image === undefined ? CELL_COLUMNS : `image,${CELL_COLUMNS}`];
  const prefix = image === undefined ? [] : [csvField(image)];
  for (const cell of cells) {
    const areaUm2 = cell.areaUm2 ?? (pixelSizeUm === undefined ? undefined : cell.areaPx * pixelSizeUm * pixelSizeUm);
    const diameterUm = cell.equivalentDiameterUm ?? (pixelSizeUm === undefined ? undefined : cell.equivalentDiameterPx * pixelSizeUm);
    lines.push([
      ...prefix, String(cell.id), format(cell.centroidX), format(cell.centroidY), String(cell.areaPx), format(areaUm2),
      format(cell.equivalentDiameterPx), format(diameterUm), format(cell.circularity),
    ].join(','));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
