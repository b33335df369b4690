/**
 * Image types shared by every layer. Images are row-major with interleaved channels, `[H, W, C]`,
 * like sharp's raw output.
 */

/** A decoded image file, with its native bit depth. `data` is `[H, W, C]` interleaved. */
export interface RasterImage {
  width: number;
  height: number;
  /** Any number: 1 gray, 3 RGB, or N channels of a multi-channel TIFF (stains, cameras). */
  channels: number;
  /** 8- or 16-bit unsigned integers, or 32-bit floats (signed and other integer files are read as floats). */
  bitDepth: 8 | 16 | 32;
  data: Uint8Array | Uint16Array | Float32Array;
  /**
   * The last channel is alpha (PNG/WebP alpha, TIFF ExtraSamples 1 or 2). When absent, a 2- or
   * 4-channel raster is taken to end in alpha; `readImage` always says.
   */
  alpha?: boolean;
}

/** A float image `[H, W, C]`. Intensities mostly in [0, 1] (see `toFloatImage` for the scaling). */
export interface FloatImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}
