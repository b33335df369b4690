import type { InstanceLabels } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import { decodeInstances } from './instance-methods.js';
import type { PredictOptionFields } from './options.generated.js';
import { PREDICT_DEFAULTS } from './options.js';
import { postprocess } from './postprocess.js';
import { type ProbabilityMap, probabilitiesToLabels } from './predict.js';

/** Options of {@link segment}; see PREDICT_OPTIONS (./options.ts) for `minSizePx` and `postprocessing`. */
export interface SegmentOptions extends Pick<PredictOptionFields, 'minSizePx' | 'postprocessing'> {
  /** Foreground probability threshold (binary models), normally the model's tuned one. */
  threshold: number;
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
 * touching cells are split by the distance-transform watershed, or, for a model trained for
 * separation, grown from its seed map by the model's instance rule (whose `minSizePx` wins).
 */
export function segment(map: ProbabilityMap, options: SegmentOptions): Segmentation {
  const { width, height } = map;
  const labels = postprocess({ width, height, data: probabilitiesToLabels(map, options.threshold) }, options.postprocessing);
  const foreground = new Uint8Array(labels.data.length);
  for (let i = 0; i < foreground.length; i++) foreground[i] = labels.data[i] > 0 ? 1 : 0;
  const rule = map.instanceRule ?? { decoder: 'watershed', seedThreshold: 0, minSizePx: options.minSizePx ?? PREDICT_DEFAULTS.minSizePx };
  const instances = decodeInstances({ width, height, data: foreground }, map.seeds, rule);
  return { labels, instances };
}
