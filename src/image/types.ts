/**
 * Image types shared by every layer: the interleaved multi-channel planes (image/plane.ts) that
 * files decode to, `[H, W, C]` row-major like sharp's raw output.
 */
import type { PixelGrid } from './plane.js';

/** A decoded image file, with its native bit depth. `data` is `[H, W, C]` interleaved. */
export interface RasterImage extends PixelGrid<Uint8Array | Uint16Array | Float32Array> {
  /** 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA). */
  channels: number;
  bitDepth: 8 | 16 | 32;
}

/** A float image `[H, W, C]`. Intensities are scaled to [0, 1] from the file's bit depth. */
export type FloatImage = PixelGrid<Float32Array>;
