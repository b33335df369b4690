/** A sample's true instances, for object metrics: its label image, or connected components of its mask. */
import { labelComponents } from '../image/components.js';
import type { InstanceSource, Sample } from './types.js';

/** True instances `[H, W]` (0 = background) and where they came from. */
export interface TrueInstances {
  instances: Int32Array;
  source: InstanceSource;
}

/**
 * The sample's instance label image when it has one; otherwise the 8-connected components of its
 * foreground (labels > 0), in which touching cells merge into one object.
 */
export function trueInstances(sample: Sample): TrueInstances {
  if (sample.instances) return { instances: sample.instances, source: 'label images' };
  const { labels } = sample;
  const foreground = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) foreground[i] = labels[i] > 0 ? 1 : 0;
  const { width, height } = sample.image;
  return { instances: labelComponents({ width, height, data: foreground }).data, source: 'connected components' };
}
