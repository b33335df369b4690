/**
 * Overlap-tile inference (the U-Net paper's overlap-tile strategy with nnU-Net's Gaussian
 * blending), as pure functions: plan the tiles, read each (mirror-padded) input tile, accumulate
 * the weighted tile outputs, divide by the summed weights.
 *
 * Coordinates are image coordinates: column x, row y, (0, 0) the top-left pixel. An input tile
 * may start at a negative coordinate or reach past the far edge; those pixels are read mirrored
 * (numpy 'reflect', edge pixel not repeated). Tiles are square.
 */
import { fail } from '../util/errors.js';
import { gaussianProfile } from '../image/gaussian.js';
import { checkPlane, mirrorIndex, type PlaneSize } from '../image/plane.js';
import type { FloatImage } from '../image/types.js';

/** Options of {@link planTiles}. */
export interface TileOptions {
  /** Image size in pixels. */
  width: number;
  height: number;
  /**
   * Input tile side, as the network sees it. The caller guarantees the network accepts it
   * (e.g. a multiple of 16 for a depth-4 padded U-Net; 572, 476, … for the unpadded one).
   */
  tileSize: number;
  /** Fraction of the output tile shared with its neighbour; 0 = seamless U-Net-paper tiling. Default 0.25. */
  overlapFraction?: number;
  /**
   * Pixels the network loses on each side (unpadded "valid" U-Net: (input − output) / 2, e.g.
   * 92 for 572 → 388). 0 for the padded "same" U-Net. Default 0.
   */
  outputMargin?: number;
  /**
   * When > 1, output tiles start at multiples of this (2^depth for a U-Net) and the first starts
   * at 0, so every tile sees the image on the same pooling grid as a single whole-image pass; the
   * last tile may reach past the far edge (mirrored). Default 1: tiles evenly spread, last flush.
   */
  alignment?: number;
}

/** One tile of a {@link TilePlan}. */
export interface Tile {
  /** Top-left of the input tile (`inputSize` square), image coordinates; may be < 0 or past the edge. */
  x: number;
  y: number;
  /** The image region this tile's output writes, always inside the image. */
  outX: number;
  outY: number;
  outWidth: number;
  outHeight: number;
  /** Where that region starts inside the tile's output: `outX = x + outputMargin + offsetX`. */
  offsetX: number;
  offsetY: number;
}

/** A tiling of one image. */
export interface TilePlan {
  width: number;
  height: number;
  /** Input tile side (= `tileSize`). */
  inputSize: number;
  /** Output tile side, `inputSize − 2·outputMargin`. */
  outputSize: number;
  outputMargin: number;
  /** Row-major (top row of tiles first). */
  tiles: Tile[];
  /** The mirror padding all input tiles fit in: they lie within `[−pad.left, width + pad.right)`. */
  pad: { left: number; top: number; right: number; bottom: number };
  paddedWidth: number;
  paddedHeight: number;
}

/**
 * Start positions of the output tiles along one axis: evenly spread, the first at 0 and the last
 * flush with the far border, neighbours overlapping by at least `overlapFraction` (nnU-Net's
 * rule). An axis shorter than a tile gets one tile centred on it.
 */
function axisPositions(length: number, outputSize: number, overlapFraction: number): number[] {
  if (length <= outputSize) return [-Math.floor((outputSize - length) / 2)];
  const step = Math.max(1, outputSize * (1 - overlapFraction));
  const count = Math.ceil((length - outputSize) / step - 1e-9) + 1;
  return Array.from({ length: count }, (_, i) => Math.round((i * (length - outputSize)) / (count - 1)));
}

/** Aligned start positions: 0, step, 2·step, … (multiples of `alignment`) until the axis is covered. */
function alignedPositions(length: number, outputSize: number, overlapFraction: number, alignment: number): number[] {
  const step = Math.max(alignment, Math.floor((outputSize * (1 - overlapFraction)) / alignment) * alignment);
  const positions = [0];
  while (positions[positions.length - 1] + outputSize < length) positions.push(positions[positions.length - 1] + step);
  return positions;
}

function checkInteger(value: number, name: string, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) fail(`${name} must be an integer ≥ ${minimum}, got ${value}`);
}

/**
 * Plans overlap-tile inference for a `width × height` image. Padded net (`outputMargin` 0): input
 * tile = output tile. Unpadded net: the input tile extends the output tile by `outputMargin` on
 * every side, so border tiles read mirrored context, as in the U-Net paper.
 */
export function planTiles(options: TileOptions): TilePlan {
  const { width, height, tileSize } = options;
  const overlapFraction = options.overlapFraction ?? 0.25;
  const outputMargin = options.outputMargin ?? 0;
  checkInteger(width, 'width', 1);
  checkInteger(height, 'height', 1);
  checkInteger(tileSize, 'tileSize', 1);
  checkInteger(outputMargin, 'outputMargin', 0);
  if (!(overlapFraction >= 0 && overlapFraction < 1)) fail(`overlapFraction must be in [0, 1), got ${overlapFraction}`);
  const outputSize = tileSize - 2 * outputMargin;
  if (outputSize < 1)
    fail(`tileSize ${tileSize} leaves no output with outputMargin ${outputMargin}; use a tile larger than ${2 * outputMargin}`);
  const alignment = options.alignment ?? 1;
  checkInteger(alignment, 'alignment', 1);
  const positions = (length: number) =>
    alignment > 1 ? alignedPositions(length, outputSize, overlapFraction, alignment) : axisPositions(length, outputSize, overlapFraction);
  const xs = positions(width);
  const ys = positions(height);
  const tiles: Tile[] = [];
  for (const oy of ys) {
    for (const ox of xs) {
      const outX = Math.max(0, ox);
      const outY = Math.max(0, oy);
      tiles.push({
        x: ox - outputMargin,
        y: oy - outputMargin,
        outX,
        outY,
        outWidth: Math.min(width, ox + outputSize) - outX,
        outHeight: Math.min(height, oy + outputSize) - outY,
        offsetX: outX - ox,
        offsetY: outY - oy,
      });
    }
  }
  const pad = {
    left: outputMargin + Math.max(0, -xs[0]),
    top: outputMargin + Math.max(0, -ys[0]),
    right: outputMargin + Math.max(0, xs[xs.length - 1] + outputSize - width),
    bottom: outputMargin + Math.max(0, ys[ys.length - 1] + outputSize - height),
  };
  return {
    width,
    height,
    inputSize: tileSize,
    outputSize,
    outputMargin,
    tiles,
    pad,
    paddedWidth: width + pad.left + pad.right,
    paddedHeight: height + pad.top + pad.bottom,
  };
}

/** Options of {@link blendWeights}. */
export interface BlendOptions {
  /** Gaussian σ as a fraction of the tile side (nnU-Net: 1/8). Default 0.125. */
  sigmaFraction?: number;
  /** Floor of the weights, so that tile corners still count. Default 1e-3. */
  minimum?: number;
}

/**
 * A Gaussian importance map `[H, W]` centred on the tile, 1 at the centre and never below
 * `minimum`: tile centres, where the network saw the most context, dominate the blend.
 */
export function blendWeights(tileWidth: number, tileHeight: number, options: BlendOptions = {}): Float32Array {
  const sigmaFraction = options.sigmaFraction ?? 0.125;
  const minimum = options.minimum ?? 1e-3;
  checkInteger(tileWidth, 'tileWidth', 1);
  checkInteger(tileHeight, 'tileHeight', 1);
  if (!(sigmaFraction > 0)) fail(`sigmaFraction must be > 0, got ${sigmaFraction}`);
  if (!(minimum > 0 && minimum <= 1)) fail(`minimum must be in (0, 1], got ${minimum}`);
  const profile = (size: number): Float64Array => {
    const values = gaussianProfile(new Float64Array(size), sigmaFraction * size, (size - 1) / 2);
    let peak = 0;
    for (let i = 0; i < size; i++) peak = Math.max(peak, values[i]);
    for (let i = 0; i < size; i++) values[i] /= peak;
    return values;
  };
  const gx = profile(tileWidth);
  const gy = profile(tileHeight);
  const weights = new Float32Array(tileWidth * tileHeight);
  for (let y = 0; y < tileHeight; y++) {
    for (let x = 0; x < tileWidth; x++) weights[y * tileWidth + x] = Math.max(minimum, gy[y] * gx[x]);
  }
  return weights;
}

/** A window of an image: its top-left corner (may lie outside the image) and size. */
export interface TileWindow extends PlaneSize {
  x: number;
  y: number;
}

/**
 * Reads `window` of an `[H, W, C]` image into a planar `[C, h, w]` array (one NCHW sample),
 * mirroring outside the image. Reuses `out` when given.
 */
export function readTile(image: FloatImage, window: TileWindow, out?: Float32Array): Float32Array {
  const { channels, data } = image;
  const { x, y, width, height } = window;
  checkPlane(image, 'readTile', { channels });
  const plane = width * height;
  const result = out ?? new Float32Array(channels * plane);
  if (result.length !== channels * plane) fail(`readTile: out has ${result.length} values, expected ${channels}×${height}×${width}`);
  const columns = new Int32Array(width);
  for (let j = 0; j < width; j++) columns[j] = mirrorIndex(x + j, image.width) * channels;
  for (let i = 0; i < height; i++) {
    const rowStart = mirrorIndex(y + i, image.height) * image.width * channels;
    for (let c = 0; c < channels; c++) {
      const target = c * plane + i * width;
      for (let j = 0; j < width; j++) result[target + j] = data[rowStart + columns[j] + c];
    }
  }
  return result;
}

/**
 * Adds one tile's output, weighted, into the image-sized accumulators.
 * `accumulator` is `[K, H, W]`, `weightSum` `[H, W]`, `tileProbabilities` `[K, o, o]` and
 * `weights` `[o, o]` with `o = plan.outputSize`.
 */
export function accumulateTile(
  accumulator: Float32Array,
  weightSum: Float32Array,
  tileProbabilities: Float32Array,
  weights: Float32Array,
  tile: Tile,
  plan: TilePlan,
): void {
  const { width, height, outputSize } = plan;
  const imagePlane = width * height;
  const tilePlane = outputSize * outputSize;
  const classes = tileProbabilities.length / tilePlane;
  if (!Number.isInteger(classes) || classes < 1)
    fail(`accumulateTile: tile output has ${tileProbabilities.length} values, not a multiple of ${outputSize}×${outputSize}`);
  if (accumulator.length !== classes * imagePlane)
    fail(`accumulateTile: accumulator has ${accumulator.length} values, expected ${classes}×${height}×${width}`);
  if (weightSum.length !== imagePlane) fail(`accumulateTile: weightSum has ${weightSum.length} values, expected ${height}×${width}`);
  if (weights.length !== tilePlane) fail(`accumulateTile: weights have ${weights.length} values, expected ${outputSize}×${outputSize}`);
  for (let r = 0; r < tile.outHeight; r++) {
    const source = (tile.offsetY + r) * outputSize + tile.offsetX;
    const target = (tile.outY + r) * width + tile.outX;
    for (let c = 0; c < tile.outWidth; c++) weightSum[target + c] += weights[source + c];
    for (let k = 0; k < classes; k++) {
      const s = k * tilePlane + source;
      const t = k * imagePlane + target;
      for (let c = 0; c < tile.outWidth; c++) accumulator[t + c] += weights[source + c] * tileProbabilities[s + c];
    }
  }
}

/** Divides the `[K, H, W]` accumulator by the `[H, W]` weight sum in place and returns it. */
export function finishBlend(accumulator: Float32Array, weightSum: Float32Array): Float32Array {
  const plane = weightSum.length;
  const classes = accumulator.length / plane;
  if (!Number.isInteger(classes)) fail(`finishBlend: accumulator (${accumulator.length}) is not a multiple of weightSum (${plane})`);
  for (let i = 0; i < plane; i++) {
    const w = weightSum[i];
    // Every pixel lies in some tile when the plan was followed; 0 means a tile was skipped.
    if (!(w > 0)) throw new Error(`finishBlend: pixel ${i} received no tile output`);
    const inverse = 1 / w;
    for (let k = 0; k < classes; k++) accumulator[k * plane + i] *= inverse;
  }
  return accumulator;
}
