/**
 * Geometric augmentation: flips, quarter turns, rotation, scaling and the U-Net paper's elastic
 * deformation, composed into one map of source coordinates and applied in one resampling pass
 * to the image (bilinear), the labels (nearest, so no new values appear) and the weight map
 * (bilinear). The source is the whole sample image, mirror-padded at its borders.
 */
import { fail } from '../util/errors.js';
import type { Random } from '../util/random.js';
import type { PlaneSize } from '../image/plane.js';

/** The drawn geometric transform of one patch; the identity is `IDENTITY_GEOMETRY`. */
export interface GeometryParams {
  /** Mirror left–right. */
  flipX: boolean;
  /** Mirror top–bottom. */
  flipY: boolean;
  /** Quarter turns: with only this set, the patch equals `numpy.rot90(source, k)`. */
  quarterTurns: 0 | 1 | 2 | 3;
  /** Rotation of the content about the patch centre, in radians. */
  angleRadians: number;
  /** Zoom of the content about the patch centre: 2 shows a region half as wide, twice as large. */
  scale: number;
  /**
   * Elastic deformation: displacement vectors on a coarse grid, `[gridSize, gridSize, 2]` as
   * (dx, dy) in output pixels, interpolated bicubically to every pixel; null for none.
   */
  elasticGrid: Float32Array | null;
  elasticGridSize: number;
}

/** No geometric change. */
export const IDENTITY_GEOMETRY: GeometryParams = Object.freeze({
  flipX: false,
  flipY: false,
  quarterTurns: 0,
  angleRadians: 0,
  scale: 1,
  elasticGrid: null,
  elasticGridSize: 0,
});

/** Random displacement vectors `[gridSize, gridSize, 2]`, each component N(0, sigmaPx²). */
export function elasticGrid(options: { gridSize: number; sigmaPx: number; rng: Random }): Float32Array {
  const { gridSize, sigmaPx, rng } = options;
  if (!(Number.isInteger(gridSize) && gridSize >= 2)) fail(`elastic grid size must be an integer ≥ 2, got ${gridSize}`);
  const grid = new Float32Array(gridSize * gridSize * 2);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.normal(0, sigmaPx);
  return grid;
}

/** Catmull–Rom (bicubic, a = −0.5) weights of a 1-D cubic kernel at fraction f for taps −1..2. */
function cubicKernel(f: number, out: Float64Array): void {
  const f2 = f * f;
  const f3 = f2 * f;
  out[0] = -0.5 * f3 + f2 - 0.5 * f;
  out[1] = 1.5 * f3 - 2.5 * f2 + 1;
  out[2] = -1.5 * f3 + 2 * f2 + 0.5 * f;
  out[3] = 0.5 * f3 - 0.5 * f2;
}

const weightCache = new Map<string, Float32Array>();

/**
 * Dense interpolation weights `[length, gridSize]`: the value at pixel i is Σ_j w[i, j]·grid[j].
 * Grid points sit at pixel centres 0 and length − 1 and evenly between; taps past the ends repeat
 * the end point, so the result is smooth (C¹) and passes through the grid values.
 */
export function cubicGridWeights(length: number, gridSize: number): Float32Array {
  const key = `${length}:${gridSize}`;
  const cached = weightCache.get(key);
  if (cached) return cached;
  const weights = new Float32Array(length * gridSize);
  const taps = new Float64Array(4);
  for (let i = 0; i < length; i++) {
    const t = length === 1 ? 0 : (i * (gridSize - 1)) / (length - 1);
    const j = Math.min(Math.floor(t), gridSize - 2);
    cubicKernel(t - j, taps);
    for (let k = 0; k < 4; k++) {
      const node = Math.min(Math.max(j - 1 + k, 0), gridSize - 1);
      weights[i * gridSize + node] += taps[k];
    }
  }
  if (weightCache.size > 64) weightCache.clear();
  weightCache.set(key, weights);
  return weights;
}

/**
 * The U-Net paper's elastic deformation field: random vectors on a coarse `gridSize`×`gridSize`
 * grid (N(0, σ²) per component, σ = `sigmaPx`, default 3×3 and 10 px) interpolated bicubically to
 * every pixel of a plane of `size`. Returns `dx`, `dy`, each `[H, W]`, in pixels.
 */
export function elasticField(
  size: PlaneSize,
  options: { gridSize?: number; sigmaPx?: number; rng: Random },
): { dx: Float32Array; dy: Float32Array } {
  const { width, height } = size;
  const gridSize = options.gridSize ?? 3;
  const grid = elasticGrid({ gridSize, sigmaPx: options.sigmaPx ?? 10, rng: options.rng });
  const dx = new Float32Array(width * height);
  const dy = new Float32Array(width * height);
  const wx = cubicGridWeights(width, gridSize);
  const wy = cubicGridWeights(height, gridSize);
  const rowX = new Float64Array(gridSize);
  const rowY = new Float64Array(gridSize);
  for (let v = 0; v < height; v++) {
    interpolateRow(grid, gridSize, wy, v, rowX, rowY);
    for (let u = 0; u < width; u++) {
      let sx = 0;
      let sy = 0;
      for (let j = 0; j < gridSize; j++) {
        sx += wx[u * gridSize + j] * rowX[j];
        sy += wx[u * gridSize + j] * rowY[j];
      }
      dx[v * width + u] = sx;
      dy[v * width + u] = sy;
    }
  }
  return { dx, dy };
}

/** The grid interpolated down the columns at row v: one (dx, dy) per grid column. */
function interpolateRow(grid: Float32Array, g: number, wy: Float32Array, v: number, rowX: Float64Array, rowY: Float64Array): void {
  for (let j = 0; j < g; j++) {
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < g; i++) {
      const w = wy[v * g + i];
      sx += w * grid[(i * g + j) * 2];
      sy += w * grid[(i * g + j) * 2 + 1];
    }
    rowX[j] = sx;
    rowY[j] = sy;
  }
}

/** The 2×2 matrix taking centred output coordinates to centred source coordinates. */
export function geometryMatrix(params: GeometryParams): [number, number, number, number] {
  // Quarter turn k maps output (px, py) to source (−py, px) k times, as numpy.rot90 does.
  const quarter = [
    [1, 0, 0, 1],
    [0, -1, 1, 0],
    [-1, 0, 0, -1],
    [0, 1, -1, 0],
  ][params.quarterTurns];
  const fx = params.flipX ? -1 : 1;
  const fy = params.flipY ? -1 : 1;
  // Flip first (on output coordinates), then the quarter turn, rotation and zoom.
  const q = [quarter[0] * fx, quarter[1] * fy, quarter[2] * fx, quarter[3] * fy];
  const c = Math.cos(params.angleRadians) / params.scale;
  const s = Math.sin(params.angleRadians) / params.scale;
  return [c * q[0] - s * q[2], c * q[1] - s * q[3], s * q[0] + c * q[2], s * q[1] + c * q[3]];
}

/** True when every source coordinate is a whole pixel (only flips and quarter turns). */
export function isPixelExact(params: GeometryParams): boolean {
  return params.angleRadians === 0 && params.scale === 1 && params.elasticGrid === null;
}

/** Source coordinates per output pixel, each `[P, P]`, in pixel indices of the source image. */
export interface CoordinateMap {
  sourceX: Float32Array;
  sourceY: Float32Array;
}

/** Computes the source coordinates of one patch row at a time (rows stay in L1 cache). */
export interface CoordinateMapper {
  /** Writes the source x and y of the `size` pixels of patch row v. */
  row(v: number, sourceX: Float32Array, sourceY: Float32Array): void;
}

/**
 * The coordinate map of a `patchSize` patch whose untransformed top-left corner is (x, y):
 * output pixel (u, v) is moved by the elastic field, then mapped by {@link geometryMatrix} about
 * the patch centre into source pixel indices.
 */
export function coordinateMapper(params: GeometryParams, region: { x: number; y: number; patchSize: number }): CoordinateMapper {
  const { x, y, patchSize: size } = region;
  const [a, b, c, d] = geometryMatrix(params);
  // Pixel centres are at index + 0.5; the −0.5 turns continuous coordinates back into indices.
  const centreX = x + size / 2 - 0.5;
  const centreY = y + size / 2 - 0.5;
  const half = size / 2 - 0.5;
  const grid = params.elasticGrid;
  const g = params.elasticGridSize;
  const weights = grid ? cubicGridWeights(size, g) : new Float32Array(0);
  const nodeX = new Float64Array(Math.max(g, 1));
  const nodeY = new Float64Array(Math.max(g, 1));
  return {
    row(v, sourceX, sourceY) {
      const py = v - half;
      if (!grid) {
        // Affine only: coordinates step by a constant per pixel.
        let sx = centreX + a * -half + b * py;
        let sy = centreY + c * -half + d * py;
        for (let u = 0; u < size; u++, sx += a, sy += c) {
          sourceX[u] = sx;
          sourceY[u] = sy;
        }
        return;
      }
      interpolateRow(grid, g, weights, v, nodeX, nodeY);
      if (g === 3) {
        // The paper's 3×3 grid, unrolled: this runs for every pixel of every elastic patch.
        const x0 = nodeX[0],
          x1 = nodeX[1],
          x2 = nodeX[2];
        const y0 = nodeY[0],
          y1 = nodeY[1],
          y2 = nodeY[2];
        for (let u = 0, k = 0; u < size; u++, k += 3) {
          const w0 = weights[k],
            w1 = weights[k + 1],
            w2 = weights[k + 2];
          const qx = u - half + w0 * x0 + w1 * x1 + w2 * x2;
          const qy = py + w0 * y0 + w1 * y1 + w2 * y2;
          sourceX[u] = centreX + a * qx + b * qy;
          sourceY[u] = centreY + c * qx + d * qy;
        }
        return;
      }
      for (let u = 0; u < size; u++) {
        let qx = u - half;
        let qy = py;
        for (let j = 0; j < g; j++) {
          const w = weights[u * g + j];
          qx += w * nodeX[j];
          qy += w * nodeY[j];
        }
        sourceX[u] = centreX + a * qx + b * qy;
        sourceY[u] = centreY + c * qx + d * qy;
      }
    },
  };
}

/** The whole coordinate map of a patch, `[P, P]` each (see {@link coordinateMapper}). */
export function coordinateMap(params: GeometryParams, region: { x: number; y: number; patchSize: number }): CoordinateMap {
  const size = region.patchSize;
  const map = { sourceX: new Float32Array(size * size), sourceY: new Float32Array(size * size) };
  const mapper = coordinateMapper(params, region);
  for (let v = 0; v < size; v++) {
    mapper.row(v, map.sourceX.subarray(v * size, (v + 1) * size), map.sourceY.subarray(v * size, (v + 1) * size));
  }
  return map;
}
