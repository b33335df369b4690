/**
 * Chooses how a model's outputs become cells, on the validation images, by object AP at IoU 0.5
 * (StarDist's `matching`: TP / (TP + FP + FN), summed over images): the decoder (the trained
 * method's seed regions, whole or split where they touch; the peaks of the foreground's distance
 * transform times the seed map; or the distance-transform watershed of the foreground), the seed
 * threshold or peak height, and the minimum cell size. Stored in the model as `metadata.instances`, like the decision rule.
 */
import type { Sample } from '../data/types.js';
import { labelComponents } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import { decodeInstances, methodHeads } from '../infer/instance-methods.js';
import { postprocess } from '../infer/postprocess.js';
import { removeSmallObjects } from '../image/small-objects.js';
import { type PredictOptions, type ProbabilityMap, predictProbabilities, probabilitiesToLabels } from '../infer/predict.js';
import { matchInstances } from '../metrics/objects.js';
import type { InstanceRule, Model } from '../nn/model.js';

/** Seed thresholds tried: interior probabilities and normalised distances both live in [0, 1]. */
export const SEED_THRESHOLDS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] as const;
/** starDist: polygon overlap thresholds tried (StarDist's NMS default is 0.4). */
export const OVERLAP_THRESHOLDS = [0.2, 0.4, 0.6] as const;
/**
 * Peak heights tried (px of distance × seed probability) when cells grow from peaks
 * (`peakSeededInstances`). On dsb2018-nuclei validation (2026-12-02, working diameter 24 px, min
 * size 50 px; bench/results/instance-separation-2026-12-02-experiments.json): AP@0.5 0.878 at
 * 1 and 1.5 px, 0.873 at 0.75 px, against 0.875 for the best seed regions.
 */
export const PEAK_HEIGHTS_PX = [1, 1.5, 2] as const;
/** Minimum cell sizes tried, pixels (at the working diameter of 24 px a nucleus is ~450 px). */
export const MIN_SIZES_PX = [5, 15, 30, 50] as const;

/**
 * The instance rule a model starts training with, before validation chooses its settings. A method
 * with the task's classes (`centres`) needs the task's class names (background first) for its heads.
 */
export function initialInstanceRule(method: string, classNames: readonly string[] = ['background', 'foreground']): InstanceRule {
  return { method, heads: methodHeads(method, classNames), decoder: method, seedThreshold: 0.5, minSizePx: 30 };
}

/** AP at IoU 0.5 pooled over images: Σ TP / Σ (TP + FP + FN); 1 when there is nothing to find or find. */
export function pooledAp50(predicted: readonly Int32Array[], truth: readonly Int32Array[]): number {
  let tp = 0;
  let errors = 0;
  predicted.forEach((p, i) => {
    const match = matchInstances(p, truth[i], { iouThreshold: 0.5 });
    tp += match.truePositives;
    errors += match.falsePositives + match.falseNegatives;
  });
  return tp + errors === 0 ? 1 : tp / (tp + errors);
}

/** A sample's instances as the rule is scored against them: its label image, else its mask's connected components. */
export function ruleTruth(sample: Sample): Int32Array {
  const { width, height } = sample.image;
  return sample.instances ?? labelComponents({ width, height, data: sample.labels }).data;
}

/** How cells are drawn from a foreground mask and seed map, short of the minimum size. */
export type DecoderSetting = Pick<InstanceRule, 'decoder' | 'seedThreshold' | 'splitSeeds' | 'overlapThreshold' | 'peakHeightPx'>;

/**
 * Pooled AP@0.5 ({@link pooledAp50}) of each setting at each minimum size, `[setting][size]`, for
 * foreground masks `[H, W]` with their maps' seeds and the true instances. Each setting is decoded
 * once at minimum size 0 and then each size applied: size filtering is the decoders' last step, so
 * every candidate costs one decode, not one per size.
 */
export function scoreDecoderSettings(
  masks: readonly Plane<Uint8Array>[],
  maps: readonly Pick<ProbabilityMap, 'seeds' | 'rays'>[],
  truth: readonly Int32Array[],
  settings: readonly DecoderSetting[],
  minSizesPx: readonly number[],
): number[][] {
  return settings.map((setting) => {
    const unfiltered = masks.map((mask, i) => decodeInstances(mask, maps[i], { ...setting, minSizePx: 0 }));
    return minSizesPx.map((minSizePx) =>
      pooledAp50(
        unfiltered.map((cells) => removeSmallObjects(cells, { minSizePx }).data),
        truth,
      ),
    );
  });
}

/**
 * The best rule for the model's method on the validation samples (their instance planes, else
 * the connected components of their masks), given its decision rule (threshold, post-processing,
 * TTA). Ties keep the earlier candidate: the trained decoder before the watershed, whole seed
 * regions before split ones before peaks, lower seed thresholds, heights and sizes first.
 */
export async function chooseInstanceRule(
  model: Model,
  samples: readonly Sample[],
  options: { predict?: PredictOptions; threshold: number; postprocessing?: string },
): Promise<{ rule: InstanceRule; summary: string }> {
  const current = model.metadata.instances;
  if (!current) throw new Error('chooseInstanceRule needs a model trained with an instance method');
  const maps: ProbabilityMap[] = [];
  for (const sample of samples) maps.push(await predictProbabilities(model, sample.image, options.predict));
  const masks = maps.map((map) =>
    postprocess({ width: map.width, height: map.height, data: probabilitiesToLabels(map, options.threshold) }, options.postprocessing),
  );
  const truth = samples.map(ruleTruth);
  const settings: DecoderSetting[] = [];
  if (current.method === 'starDist') {
    for (const overlapThreshold of OVERLAP_THRESHOLDS) {
      for (const seedThreshold of SEED_THRESHOLDS) settings.push({ decoder: current.method, seedThreshold, overlapThreshold });
    }
  } else if (current.method !== 'watershed') {
    for (const splitSeeds of [false, true]) {
      for (const seedThreshold of SEED_THRESHOLDS) settings.push({ decoder: current.method, seedThreshold, splitSeeds });
    }
    for (const peakHeightPx of PEAK_HEIGHTS_PX) settings.push({ decoder: current.method, seedThreshold: 0, peakHeightPx });
  }
  settings.push({ decoder: 'watershed', seedThreshold: 0, splitSeeds: false });
  const scores = scoreDecoderSettings(masks, maps, truth, settings, MIN_SIZES_PX);
  // Ties keep the earlier candidate: sizes outermost, then the settings in order.
  let best = { ...settings[0], minSizePx: MIN_SIZES_PX[0] as number, ap: -1 };
  MIN_SIZES_PX.forEach((minSizePx, sizeIndex) => {
    settings.forEach((setting, settingIndex) => {
      const ap = scores[settingIndex][sizeIndex];
      if (ap > best.ap + 1e-9) best = { ...setting, minSizePx, ap };
    });
  });
  const bestWatershed = Math.max(...scores[settings.length - 1]);
  // The settings chosen now replace any the model carried (a rule re-chosen on a trained model).
  const { peakHeightPx: _peak, overlapThreshold: _overlap, ...kept } = current;
  const rule: InstanceRule = {
    ...kept,
    decoder: best.decoder,
    seedThreshold: best.seedThreshold,
    minSizePx: best.minSizePx,
    splitSeeds: best.decoder !== 'watershed' && best.splitSeeds === true,
    ...(best.peakHeightPx !== undefined && best.decoder !== 'watershed' ? { peakHeightPx: best.peakHeightPx } : {}),
    ...(best.overlapThreshold !== undefined && best.decoder === 'starDist' ? { overlapThreshold: best.overlapThreshold } : {}),
    validationAp50: best.ap,
  };
  const f = (v: number) => v.toFixed(4);
  const seeds =
    best.decoder === 'watershed'
      ? ''
      : best.peakHeightPx !== undefined
        ? `, seeds at peaks of distance × seed map (h ${best.peakHeightPx} px)`
        : `, seed threshold ${best.seedThreshold}${best.splitSeeds ? ', touching seeds split' : ''}${best.decoder === 'starDist' ? `, polygon overlap ≤ ${best.overlapThreshold}` : ''}`;
  const summary =
    `instance rule: ${current.method} model, cells by ${best.decoder}${seeds}, min size ${best.minSizePx} px ` +
    `(validation AP@0.5 ${f(best.ap)}; distance-transform watershed of its foreground ${f(bestWatershed)})`;
  return { rule, summary };
}
