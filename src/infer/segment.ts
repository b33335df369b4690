import { splitTouching } from './instances.js';
import { postprocess } from './postprocess.js';
import { type ProbabilityMap, probabilitiesToLabels } from './predict.js';

export interface SegmentOptions {
  /** Foreground probability threshold (binary); default the model's tuned threshold. */
  threshold: number;
  /** Objects smaller than this many pixels are merged into a neighbour or dropped. Default 30. */
  minSizePx?: number;
  /** A step from POSTPROCESSING, normally the one the model chose on its validation images. */
  postprocessing?: string;
}

/** A probability map turned into classes and cells. */
export interface Segmentation {
  /** `[H, W]` class per pixel. */
  labels: Uint8Array;
  /** `[H, W]` cell id per pixel (0 = none): foreground split into touching cells by watershed. */
  instances: Int32Array;
  count: number;
}

/**
 * Classes by threshold/argmax, then instances: every non-background pixel is foreground, and
 * touching cells are split by the distance-transform watershed.
 */
export function segment(map: ProbabilityMap, options: SegmentOptions): Segmentation {
  const labels = postprocess(probabilitiesToLabels(map, options.threshold), map.width, map.height, options.postprocessing);
  const foreground = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) foreground[i] = labels[i] > 0 ? 1 : 0;
  const { labels: instances, count } = splitTouching(foreground, map.width, map.height, { minSizePx: options.minSizePx ?? 30 });
  return { labels, instances, count };
}
