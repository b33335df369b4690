import type { FloatImage } from '../image/types.js';

/**
 * The data types that flow through pyocyte: files → RasterImage → Sample → patches → Batch.
 * Images are row-major with interleaved channels, `[H, W, C]` (image/types.ts).
 */

import type { InstanceSource } from '../metrics/instance-scores.js';

export type { InstanceSource };

/** One training/evaluation example, ready for patches and augmentation. */
export interface Sample {
  stem: string;
  /** The image, `[H, W, C]` in [0, 1]. */
  image: FloatImage;
  /** Class index per pixel, `[H, W]`; 0 is background. Binary tasks use 0/1. */
  labels: Uint8Array;
  /**
   * Instance id per pixel, `[H, W]`, 0 = none, when the dataset has instance label images (the mask
   * itself, `instances/<name>`, or Cellpose's `<name>_masks`). Absent for binary masks: see
   * `trueInstances` (data/true-instances.ts), which falls back to connected components.
   */
  instances?: Int32Array;
  /** Set with `instances`: always 'label images'. */
  instanceSource?: InstanceSource;
  /** Micrometres per pixel after resampling, when known. */
  pixelSizeUm?: number;
  /**
   * Datasets of boxes and points: each kept annotated cell's centre and core radii (pixels of
   * `image`), the `centres` instance method's target (data/instance-targets.ts's centreHeatmap).
   */
  cellCentres?: CellCentre[];
}

/** An annotated cell's centre and the radii of its drawn core, pixels. */
export interface CellCentre {
  x: number;
  y: number;
  radiusXPx: number;
  radiusYPx: number;
}
