/**
 * The data types that flow through pyocyte: files → RasterImage → Sample → patches → Batch.
 * All images are row-major with interleaved channels, `[H, W, C]`, like sharp's raw output.
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

/** The segmentation task: one foreground class (sigmoid head) or several classes (softmax head). */
export type Task = 'binary' | 'multiclass';

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

/** How image intensities are normalised before the network sees them; stored in the model file. */
export type Normalization =
  | { kind: 'meanStd'; mean: number[]; std: number[] }
  | { kind: 'percentile'; low: number; high: number };

/**
 * A training batch in the engine's layout.
 * `x` is `[N, C, H, W]`, normalised. `y` is `[N, h, w]` class indices as floats; `h, w` equal
 * `H, W` for the padded U-Net and are smaller (centre crop) for the unpadded one.
 * `weights`, when present, is `[N, h, w]` per-pixel loss weights (the U-Net paper's border map).
 */
export interface Batch {
  x: Float32Array;
  y: Float32Array;
  weights?: Float32Array;
  /** `[N, C, H, W]` of `x`. */
  inputShape: [number, number, number, number];
  /** `[N, h, w]` of `y`. */
  targetShape: [number, number, number];
}
