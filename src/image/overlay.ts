/**
 * Draws segmentation contours over an image for visual checking (the `--overlay` output).
 */
import { fail } from '../util/errors.js';
import { checkPlane } from './plane.js';
import { innerBoundaries } from './boundaries.js';
import type { FloatImage, RasterImage } from './types.js';

/** An 8-bit RGB colour. */
export type Rgb = readonly [number, number, number];

/** Colours of classes 2, 3, … in class maps (class 1 uses `color`), chosen to stand out on stained tissue. */
export const DEFAULT_PALETTE: readonly Rgb[] = [
  [0, 255, 255],
  [255, 0, 255],
  [0, 255, 0],
  [255, 128, 0],
  [0, 128, 255],
  [255, 0, 0],
  [128, 255, 0],
];

/** Options of {@link drawOverlay}. */
export interface OverlayOptions {
  /** Contour colour of instances and of class 1. Default yellow [255, 255, 0]. */
  color?: Rgb;
  /** Contour width in pixels, drawn inside the objects. Default 1. */
  thickness?: number;
  /** Opacity (0–1) of a fill of the objects' interiors in their colour. Default 0 (contours only). */
  fillAlpha?: number;
  /** Colours of classes 2, 3, … of a class map (cycled). Default {@link DEFAULT_PALETTE}. */
  palette?: readonly Rgb[];
  /**
   * The class map `[H, W]` (0 = background) of an instance map: each instance's contour is then
   * drawn in its class's colour (class 1 `color`, 2, 3, … `palette`) rather than all in `color`.
   */
  classes?: Uint8Array;
}

/**
 * The image as 8-bit RGB `[H, W, 3]`. Float images are clamped to [0, 1]; 8-bit rasters are
 * copied; 16- and 32-bit rasters (often 12-bit camera data or raw floats) are stretched from
 * their min to their max. Gray is replicated, alpha ignored.
 */
function toRgb8(image: FloatImage | RasterImage): Uint8Array {
  const { width, height, channels, data } = image;
  if (channels < 1 || channels > 4) fail(`cannot draw an overlay on a ${channels}-channel image; use 1 to 4 channels`);
  checkPlane(image, 'drawOverlay (image)', { channels });
  const colourChannels = channels <= 2 ? 1 : 3;
  const bitDepth = 'bitDepth' in image ? image.bitDepth : undefined;
  let scale = 255;
  let offset = 0;
  if (bitDepth === 8) scale = 1;
  else if (bitDepth !== undefined) {
    let low = Infinity;
    let high = -Infinity;
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < colourChannels; c++) {
        const v = data[i * channels + c];
        if (v < low) low = v;
        if (v > high) high = v;
      }
    }
    offset = low;
    scale = high > low ? 255 / (high - low) : 0;
  }
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) {
      const v = (data[i * channels + (colourChannels === 1 ? 0 : c)] - offset) * scale;
      out[i * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return out;
}

/**
 * Draws the contours of `labels` (`[H, W]`) over `image`, returning a new 8-bit RGB raster.
 * A `Uint8Array` is a class map: class 1 in `color`, classes 2, 3, … in `palette` colours. An
 * `Int32Array` is an instance map: every instance in `color`, or in its class's colour when
 * `options.classes` gives the class map. Contour pixels are the object
 * pixels with a 4-neighbour of another label (image edges are not contours), thickened inwards.
 */
export function drawOverlay(image: FloatImage | RasterImage, labels: Int32Array | Uint8Array, options: OverlayOptions = {}): RasterImage {
  const { width, height } = image;
  const color = options.color ?? [255, 255, 0];
  const thickness = options.thickness ?? 1;
  const fillAlpha = options.fillAlpha ?? 0;
  const palette = options.palette ?? DEFAULT_PALETTE;
  checkPlane({ width, height, data: labels }, 'drawOverlay (label map)');
  if (!Number.isInteger(thickness) || thickness < 1) fail(`thickness must be an integer ≥ 1, got ${thickness}`);
  if (!(fillAlpha >= 0 && fillAlpha <= 1)) fail(`fillAlpha must be in [0, 1], got ${fillAlpha}`);
  if (palette.length === 0) fail('palette must hold at least one colour');
  const isClassMap = labels instanceof Uint8Array;
  const classes = isClassMap ? labels : options.classes;
  if (classes) checkPlane({ width, height, data: classes }, 'drawOverlay (class map)');
  const colourOf = (p: number): Rgb => {
    const c = classes ? classes[p] : 1;
    return c <= 1 ? color : palette[(c - 2) % palette.length];
  };

  const contour = innerBoundaries({ width, height, data: labels });
  // Thicken inwards: each round adds object pixels 4-adjacent to the previous round's contour.
  for (let round = 2; round <= thickness; round++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        if (labels[p] === 0 || contour[p] !== 0) continue;
        const previous = round - 1;
        if (
          (x > 0 && contour[p - 1] === previous) ||
          (x < width - 1 && contour[p + 1] === previous) ||
          (y > 0 && contour[p - width] === previous) ||
          (y < height - 1 && contour[p + width] === previous)
        )
          contour[p] = round;
      }
    }
  }

  const data = toRgb8(image);
  for (let p = 0; p < width * height; p++) {
    const l = labels[p];
    if (l === 0) continue;
    const rgb = colourOf(p);
    const alpha = contour[p] !== 0 ? 1 : fillAlpha;
    if (alpha === 0) continue;
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round((1 - alpha) * data[p * 3 + c] + alpha * rgb[c]);
  }
  return { width, height, channels: 3, bitDepth: 8, data };
}
