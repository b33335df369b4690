/**
 * Image types shared by every layer. Images are row-major with interleaved channels, `[H, W, C]`,
 * like sharp's raw output.
 */

/** A decoded image file, with its native bit depth. `data` is `[H, W, C]` interleaved. */
export interface RasterImage {
  width: number;
  height: number;
  /** 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA). */
  channels: number;
  bitDepth: 8 | 16 | 32;
  data: Uint8Array | Uint16Array | Float32Array;
}

/** A float image `[H, W, C]`. Intensities are scaled to [0, 1] from the file's bit depth. */
export interface FloatImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}
