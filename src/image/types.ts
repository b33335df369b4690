/**
 * Image types shared by every layer: the interleaved multi-channel planes (image/plane.ts) that
 * files decode to, `[H, W, C]` row-major like sharp's raw output.
 */
import type { PixelGrid } from './plane.js';

/** A decoded image file, with its native bit depth. `data` is `[H, W, C]` interleaved. */
export interface RasterImage extends PixelGrid<Uint8Array | Uint16Array | Float32Array> {
  /** Any number: 1 gray, 3 RGB, or N channels of a multi-channel TIFF (stains, cameras). */
  channels: number;
  /** 8- or 16-bit unsigned integers, or 32-bit floats (signed and other integer files are read as floats). */
  bitDepth: 8 | 16 | 32;
  /**
   * The last channel is alpha (PNG/WebP alpha, TIFF ExtraSamples 1 or 2). When absent, a 2- or
   * 4-channel raster is taken to end in alpha; `readImage` always says.
   */
  alpha?: boolean;
}

/** A float image `[H, W, C]`. Intensities mostly in [0, 1] (see `toFloatImage` for the scaling). */
export type FloatImage = PixelGrid<Float32Array>;
