import { splitTouching } from './instances.js';
import type { PredictOptionFields } from './options.generated.js';
import { PREDICT_DEFAULTS } from './options.js';
import { postprocess } from './postprocess.js';
import { type ProbabilityMap, probabilitiesToLabels } from './predict.js';

/** Options of {@link segment}; see PREDICT_OPTIONS (./options.ts) for `minSizePx` and `postprocessing`. */
export interface SegmentOptions extends Pick<PredictOptionFields, 'minSizePx' | 'postprocessing'> {
  /** Foreground probability threshold (binary models), normally the model's tuned one. */
  threshold: number;
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
  const { labels: instances, count } = splitTouching(foreground, map.width, map.height, { minSizePx: options.minSizePx ?? PREDICT_DEFAULTS.minSizePx });
  return { labels, instances, count };
}
