import type { InstanceLabels } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import { decodeInstances } from './instance-methods.js';
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

/** A probability map turned into classes and cells, both the map's size. */
export interface Segmentation {
  /** Class per pixel. */
  labels: Plane<Uint8Array>;
  /**
   * Cell id per pixel (0 = none) and the number of cells: each class's pixels split into touching
   * cells by watershed, so a cell never spans two classes. Ids are 1..count in raster order.
   */
  instances: InstanceLabels;
}

/**
 * Classes by threshold/argmax, then instances. A model trained for separation (one foreground
 * class) grows its cells from its seed map by the model's instance rule, whose `minSizePx` wins.
 * Otherwise the pixels of each non-background class (of the argmax map, for multi-class models)
 * are split into touching cells by the distance-transform watershed on their own, so a pus cell
 * touching a red cell stays two cells of two classes.
 */
export function segment(map: ProbabilityMap, options: SegmentOptions): Segmentation {
  const { width, height } = map;
  const labels = postprocess({ width, height, data: probabilitiesToLabels(map, options.threshold) }, options.postprocessing);
  const minSizePx = options.minSizePx ?? PREDICT_DEFAULTS.minSizePx;
  if (!map.instanceRule) return { labels, instances: instancesPerClass(labels, Math.max(2, map.channels), minSizePx) };
  const foreground = new Uint8Array(labels.data.length);
  for (let i = 0; i < foreground.length; i++) foreground[i] = labels.data[i] > 0 ? 1 : 0;
  const instances = decodeInstances({ width, height, data: foreground }, map.seeds, map.instanceRule);
  return { labels, instances };
}

/**
 * Instances of a class map `[H, W]` (0 = background, classes 1…classes−1): each class's mask split
 * by {@link splitTouching}, ids then renumbered 1..count in raster order of each cell's first pixel
 * (for a binary map, exactly splitTouching's ids).
 */
export function instancesPerClass(labels: Plane<Uint8Array>, classes: number, minSizePx: number): InstanceLabels {
  const { width, height, data } = labels;
  const merged = new Int32Array(data.length);
  let offset = 0;
  for (let c = 1; c < classes; c++) {
    const mask = new Uint8Array(data.length);
    let any = false;
    for (let i = 0; i < data.length; i++) {
      if (data[i] === c) {
        mask[i] = 1;
        any = true;
      }
    }
    if (!any) continue;
    const split = splitTouching({ width, height, data: mask }, { minSizePx });
    for (let i = 0; i < data.length; i++) if (split.data[i] !== 0) merged[i] = split.data[i] + offset;
    offset += split.count;
  }
  if (classes === 2) return { width, height, data: merged, count: offset };
  const renumbered = new Int32Array(offset + 1);
  let count = 0;
  for (let i = 0; i < merged.length; i++) {
    const id = merged[i];
    if (id === 0) continue;
    if (renumbered[id] === 0) renumbered[id] = ++count;
    merged[i] = renumbered[id];
  }
  return { width, height, data: merged, count };
}
