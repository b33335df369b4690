import { type InstanceLabels, labelEachClass } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import type { InstanceRule } from '../nn/model.js';
import { fail } from '../util/errors.js';
import { centreSeededInstances, decodeInstances } from './instance-methods.js';
import { splitTouching } from './instances.js';
import type { PredictOptionFields } from './options.generated.js';
import { PREDICT_DEFAULTS } from './options.js';
import { postprocess } from './postprocess.js';
import { type ProbabilityMap, probabilitiesToLabels } from './predict.js';

/** Options of {@link segment}; see PREDICT_OPTIONS (./options.ts) for `minSizePx` and `postprocessing`. */
export interface SegmentOptions extends Pick<PredictOptionFields, 'minSizePx' | 'postprocessing'> {
  /** Foreground probability threshold (binary models), normally the model's tuned one. */
  threshold: number;
  /**
   * The factor that resamples the map's pixels to those the network saw (an image upscaled 2× for
   * the network, its map resampled back: 2). The instance rule's `minSizePx` was chosen in the
   * network's pixels, so it shrinks by this factor squared here, and its lengths (peak height,
   * watershed smoothing) by this factor. Default 1.
   */
  toModelScale?: number;
  /**
   * Replaces the instance rule's `minSizePx` (the network's pixels, like it) for a model trained for
   * separation: a choice made while looking at the cells (serve's min-size slider). Default: the rule's.
   */
  instanceMinSizePx?: number;
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
 * class) grows its cells from its seed map by the model's instance rule, with the rule's `minSizePx`
 * (in the network's pixels, see {@link SegmentOptions.toModelScale}) unless the caller gives one.
 * A `centres` model grows each class's cells from where its centre heatmap exceeds the rule's seed
 * threshold (`centreSeededInstances`). Otherwise the pixels of each non-background class (of the argmax
 * map, for multi-class models) are split into touching cells by the distance-transform watershed
 * on their own, so a pus cell touching a red cell stays two cells of two classes.
 */
export function segment(map: ProbabilityMap, options: SegmentOptions): Segmentation {
  const { width, height } = map;
  const labels = postprocess({ width, height, data: probabilitiesToLabels(map, options.threshold) }, options.postprocessing);
  if (!map.instanceRule) {
    return { labels, instances: instancesPerClass(labels, Math.max(2, map.channels), options.minSizePx ?? PREDICT_DEFAULTS.minSizePx) };
  }
  const scale = options.toModelScale ?? 1;
  if (!(scale > 0)) fail(`segment: toModelScale must be > 0, got ${scale}`);
  // A size the caller chose wins over the rule's: in the network's pixels (instanceMinSizePx, like
  // the rule's) or in the map's own (minSizePx, as `--min-size` gives it).
  const minSizePx =
    options.instanceMinSizePx !== undefined
      ? options.instanceMinSizePx / (scale * scale)
      : (options.minSizePx ?? map.instanceRule.minSizePx / (scale * scale));
  const rule = { ...map.instanceRule, minSizePx };
  if (rule.decoder === 'centres') {
    if (!map.seeds) fail('the centres decoder needs the centre heatmap of a centres model');
    return { labels, instances: centreSeededInstances(labels, map.seeds, rule) };
  }
  const foreground = new Uint8Array(labels.data.length);
  for (let i = 0; i < foreground.length; i++) foreground[i] = labels.data[i] > 0 ? 1 : 0;
  const instances = decodeInstances({ width, height, data: foreground }, map, rule, 1 / scale);
  return { labels, instances };
}

/**
 * Instances of a class map `[H, W]` (0 = background, classes 1…classes−1): each class's mask split
 * into touching cells by {@link splitTouching}; ids 1..count in raster order of each cell's first pixel.
 */
export function instancesPerClass(labels: Plane<Uint8Array>, classes: number, minSizePx: number): InstanceLabels {
  if (labels.data.some((c) => c >= classes)) fail(`instancesPerClass: a class id is ≥ ${classes}`);
  return labelEachClass(labels, (mask) => splitTouching(mask, { minSizePx }));
}

/**
 * The note for a `--min-size` that replaces a separation model's own minimum cell size (its
 * instance rule's, chosen on the validation images), or undefined when there is nothing to say.
 */
export function minSizeNote(
  model: { metadata: { instances?: Pick<InstanceRule, 'minSizePx'> } },
  options: { minSizePx?: number },
): string | undefined {
  const rule = model.metadata.instances;
  if (options.minSizePx === undefined || !rule || options.minSizePx === rule.minSizePx) return undefined;
  return `--min-size ${options.minSizePx} px replaces the ${rule.minSizePx} px the model's instance rule chose on its validation images (in the network's pixels)`;
}
