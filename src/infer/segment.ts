import type { InstanceLabels } from '../image/components.js';
import type { Plane } from '../image/plane.js';
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

/** A probability map turned into classes and cells, both the map's size. */
export interface Segmentation {
  /** Class per pixel. */
  labels: Plane<Uint8Array>;
  /** Cell id per pixel (0 = none) and the number of cells: foreground split into touching cells by watershed. */
  instances: InstanceLabels;
}

/**
 * Classes by threshold/argmax, then instances: every non-background pixel is foreground, and
 * touching cells are split by the distance-transform watershed.
 */
export function segment(map: ProbabilityMap, options: SegmentOptions): Segmentation {
  const { width, height } = map;
  const labels = postprocess({ width, height, data: probabilitiesToLabels(map, options.threshold) }, options.postprocessing);
  const foreground = new Uint8Array(labels.data.length);
  for (let i = 0; i < foreground.length; i++) foreground[i] = labels.data[i] > 0 ? 1 : 0;
  const instances = splitTouching({ width, height, data: foreground }, { minSizePx: options.minSizePx ?? 30 });
  return { labels, instances };
}
