/** A sample's true instances, for object metrics: its label image, or connected components of its mask. */
import { labelEachClass } from '../image/components.js';
import { withoutIgnored } from '../image/ignore.js';
import type { InstanceSource, Sample } from './types.js';

/** True instances `[H, W]` (0 = background) and where they came from. */
export interface TrueInstances {
  instances: Int32Array;
  source: InstanceSource;
}

/**
 * The sample's instance label image when it has one; otherwise the 8-connected components of each
 * class of its mask (labels > 0, ignored pixels left out), in which touching cells of one class merge into one object. Each
 * class on its own because predicted cells never span two classes (infer/segment.ts): a nucleus in
 * its cytoplasm is two objects on both sides, and a pus cell touching a red cell stays two.
 */
export function trueInstances(sample: Sample): TrueInstances {
  if (sample.instances) return { instances: sample.instances, source: 'label images' };
  const { width, height } = sample.image;
  // Ignored pixels (a weak annotation's ring, a missedlabel box) are no object of any class.
  return { instances: labelEachClass({ width, height, data: withoutIgnored(sample.labels) }).data, source: 'connected components' };
}
