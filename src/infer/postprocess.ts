/**
 * Post-processing of class maps, chosen per model on its validation images (nnU-Net's rule):
 * a step is kept only if it raises the validation Dice. `largestComponent` keeps the largest
 * connected foreground region and clears the rest, which suits datasets annotated with one
 * object per image (a centred white cell) and never wins on images of many cells.
 */
import { labelComponents } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import type { Sample } from '../data/types.js';
import { confusionMatrix, summarizeImages } from '../metrics/pixel.js';
import { lookup } from '../util/registry.js';
import { type ProbabilityMap, probabilitiesToLabels } from './predict.js';

/** Class labels → foreground outside the largest 8-connected foreground region set to 0. */
export function keepLargestComponent(labels: Plane<Uint8Array>): Plane<Uint8Array> {
  // labelComponents takes every non-zero class as foreground.
  const { data: ids, count } = labelComponents(labels);
  if (count <= 1) return labels;
  const areas = new Float64Array(count + 1);
  for (let i = 0; i < ids.length; i++) areas[ids[i]]++;
  let largest = 1;
  for (let id = 2; id <= count; id++) if (areas[id] > areas[largest]) largest = id;
  return { ...labels, data: Uint8Array.from(labels.data, (v, i) => (ids[i] === largest ? v : 0)) };
}

export const POSTPROCESSING = {
  none: (labels: Plane<Uint8Array>) => labels,
  largestComponent: keepLargestComponent,
} as const;
export type PostprocessingName = keyof typeof POSTPROCESSING;

/** Applies a named post-processing step to class labels; `none` returns them unchanged. */
export function postprocess(labels: Plane<Uint8Array>, name: string = 'none'): Plane<Uint8Array> {
  return lookup(POSTPROCESSING, name, 'post-processing')(labels);
}

/**
 * The post-processing that scores best on validation images, with the Dice of each option.
 * `none` wins ties, so a step is only added when it helps.
 */
export function choosePostprocessing(
  maps: readonly ProbabilityMap[],
  samples: readonly Sample[],
  options: { threshold: number; classes: number },
): { name: PostprocessingName; dice: Record<PostprocessingName, number> } {
  const dice = {} as Record<PostprocessingName, number>;
  let best: PostprocessingName = 'none';
  const thresholded = maps.map((map) => probabilitiesToLabels(map, options.threshold));
  for (const name of Object.keys(POSTPROCESSING) as PostprocessingName[]) {
    const confusions = maps.map((map, i) => {
      const labels = postprocess({ width: map.width, height: map.height, data: thresholded[i] }, name);
      return confusionMatrix(labels.data, samples[i].labels, { classes: options.classes });
    });
    dice[name] = summarizeImages(confusions, { classes: options.classes }).global.meanDice;
    if (dice[name] > dice[best] + 1e-6) best = name;
  }
  return { name: best, dice };
}
