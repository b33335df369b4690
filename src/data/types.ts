import type { FloatImage } from '../image/types.js';

/**
 * The data types that flow through pyocyte: files → RasterImage → Sample → patches → Batch.
 * Images are row-major with interleaved channels, `[H, W, C]` (image/types.ts).
 */

/** One training/evaluation example, ready for patches and augmentation. */
export interface Sample {
  stem: string;
  /** The image, `[H, W, C]` in [0, 1]. */
  image: FloatImage;
  /** Class index per pixel, `[H, W]`; 0 is background. Binary tasks use 0/1. */
  labels: Uint8Array;
  /** Instance id per pixel, `[H, W]`, 0 = none; from an instance mask or connected components. */
  instances?: Int32Array;
  /** Micrometres per pixel after resampling, when known. */
  pixelSizeUm?: number;
}
