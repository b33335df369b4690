/**
 * Prediction at the model's object size, for images whose pixel size nobody knows. As Cellpose
 * estimates a new image's cell diameter and rescales it to its training diameter (Stringer et al.,
 * Nature Methods 18, 2021), the image's typical object diameter is estimated and compared with the
 * sizes the training images had (see {@link chooseScale}), and an image outside them is brought to
 * a typical training size. The estimate comes from the image's characteristic scale σ*
 * (image/scale-space.ts) when the model calibrated σ* against its training objects (models trained
 * at a working diameter, data/object-scale.ts): it needs no network pass and does not degrade far
 * from the training sizes, where a network splits large objects and finds specks. Otherwise a first
 * pass at native scale finds the objects and their median equivalent diameter is the estimate.
 * A σ* estimate is checked by the objects the network finds at the scale it gave, up to three
 * times, until they lie within 7 % of the training median. A first pass that finds no objects, or
 * objects far from the training sizes (a scale beyond ×1.5 either way), is not trusted: the
 * network is run at the octaves ×¼ … ×4 as well, and the least resampling that brings its objects
 * into the training sizes wins (on wbc-cellavision test images at ×0.5, a native pass finds nothing
 * in 2 of 20 and a 10-px speck in another). The probabilities are resampled back, so every output
 * has the image's own size.
 */
import { percentileOfSorted } from '../data/normalize.js';
import { SCALE_LIMITS } from '../data/object-scale.js';
import { objectDiameters, sizeDistribution } from '../data/object-sizes.js';
import { labelComponents } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import { resampleImage, scaledSize } from '../image/resample.js';
import { characteristicScale } from '../image/scale-space.js';
import type { FloatImage } from '../image/types.js';
import type { Model, ObjectSizeDistribution } from '../nn/model.js';
import { type PredictOptions, type ProbabilityMap, predictProbabilities, resampleProbabilities, ttaMode } from './predict.js';

export { SCALE_LIMITS } from '../data/object-scale.js';
/**
 * Upscaling stops where the resampled image would pass this many pixels (4096², or the image's
 * own size when larger): prediction memory grows with the image, and a poor first pass that finds
 * only specks must not turn a large slide into a 16× larger one.
 */
export const MAX_SCALED_PIXELS = 4096 * 4096;
/** Objects within this factor of the training median or per-image median range (or within the quartiles) stay at scale 1. */
export const SCALE_TOLERANCE = 1.15;
/** A first-pass scale beyond this factor (either way) is not trusted: a scale search decides (see {@link SEARCH_SCALES}). */
export const RECHECK_FACTOR = 1.5;
/**
 * The scales an untrusted first pass is checked at, besides its own and native: octaves, so that
 * objects the network sees well at some scale are found at one of them within ×√2.
 */
export const SEARCH_SCALES = [0.25, 0.5, 2, 4] as const;
/**
 * A σ* estimate (models trained at a working diameter) is checked by the objects found at its scale
 * up to this many times (each a network pass), until they lie within {@link SIZE_CHECK_TOLERANCE} of
 * the training median. On the 50 dsb2018 test images (2026-12-02, a 1794-step model trained at a
 * working diameter of 24 px, no TTA) one check at ±15 % scored AP@0.5 0.794 / 0.754 / 0.788 at
 * ×1 / ×0.5 / ×2, one at ±7 % 0.800 / 0.770 / 0.796, three at ±7 % 0.802 / 0.779 / 0.799; each
 * image brought to 24 px by its true objects, 0.820 at ×1.
 */
export const MAX_SIZE_CHECKS = 3;
export const SIZE_CHECK_TOLERANCE = 1.07;

/** The factor that brings objects measured at `measuredPx` to `medianPx`; 1 within {@link SIZE_CHECK_TOLERANCE} or without objects. */
export function towardsMedian(measuredPx: number | undefined, medianPx: number): number {
  if (measuredPx === undefined || !(measuredPx > 0)) return 1;
  const factor = medianPx / measuredPx;
  return Math.max(factor, 1 / factor) > SIZE_CHECK_TOLERANCE ? factor : 1;
}

/**
 * The typical object diameter of an instance image `[H, W]`: the median equivalent diameter, px,
 * of its objects (those cut by the border left out unless all are), or undefined without objects.
 */
export function estimateObjectDiameter(instances: Plane<Int32Array>): number | undefined {
  return sizeDistribution(objectDiameters(instances))?.medianPx;
}

/**
 * The factor to resample an image by so that objects of `diameterPx` come out at a size the
 * network was trained on. 1 when there is no estimate, or it lies within the sizes the training
 * images had: their object quartiles, and within {@link SCALE_TOLERANCE} of the median or (when
 * the model stores it) of the 5th–95th percentile of the training images' own medians, so that a
 * dataset of small and large nuclei alike leaves both at native scale. Otherwise the scale that brings it to
 * the nearest of the middle half of training images' medians (the pooled median for older
 * models), kept within {@link SCALE_LIMITS} and at most `maxScale` (default {@link SCALE_LIMITS}.max).
 */
export function chooseScale(diameterPx: number | undefined, training: ObjectSizeDistribution, maxScale: number = SCALE_LIMITS.max): number {
  if (diameterPx === undefined || !(diameterPx > 0)) return 1;
  const { low, high } = trainingSizeRange(training);
  if (diameterPx >= low && diameterPx <= high) return 1;
  const images = training.perImageMedianPx;
  const target = images ? Math.min(Math.max(diameterPx, images.p25), images.p75) : training.medianPx;
  return Math.max(SCALE_LIMITS.min, Math.min(SCALE_LIMITS.max, maxScale, target / diameterPx));
}

/** The object diameters, px, that {@link chooseScale} leaves at native scale. */
export function trainingSizeRange(training: ObjectSizeDistribution): { low: number; high: number } {
  const { medianPx, lowerQuartilePx, upperQuartilePx, perImageMedianPx: images } = training;
  return {
    low: Math.min(lowerQuartilePx, Math.min(medianPx, images?.p5 ?? medianPx) / SCALE_TOLERANCE),
    high: Math.max(upperQuartilePx, Math.max(medianPx, images?.p95 ?? medianPx) * SCALE_TOLERANCE),
  };
}

/** A network pass at one scale and the median diameter, px at that scale, of the objects it found (undefined: none). */
export interface ScaleProbe {
  scale: number;
  diameterPx: number | undefined;
}

/**
 * The probe of a scale search that brings the image's objects into the training size range
 * ({@link trainingSizeRange}) with the least resampling: among probes whose objects lie in the
 * range, the one with the scale nearest 1 (in log); without any, the one whose objects come
 * nearest the range. Nearest 1 rather than nearest the training median, because a network shown a
 * cell at twice a size it knows often finds only its nucleus, which can land nearer the median
 * than the whole cell at the right scale (wbc-cellavision test image 028 at ×0.5: 128 px at ×2,
 * the true size; 178 px at ×4, a part; training median 164 px). Undefined when no probe found objects.
 */
export function closestProbe(probes: readonly ScaleProbe[], training: ObjectSizeDistribution): ScaleProbe | undefined {
  const { low, high } = trainingSizeRange(training);
  const misfit = (diameterPx: number) => Math.max(0, Math.log(low / diameterPx), Math.log(diameterPx / high));
  let best: ScaleProbe | undefined;
  let bestKey = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (const probe of probes) {
    if (probe.diameterPx === undefined || !(probe.diameterPx > 0)) continue;
    const key = [misfit(probe.diameterPx), Math.abs(Math.log(probe.scale))];
    if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) [best, bestKey] = [probe, key];
  }
  return best;
}

/** The largest scale an image of this size may be resampled by (see {@link MAX_SCALED_PIXELS}), at least 1. */
export function upscaleLimit(size: { width: number; height: number }): number {
  return Math.max(1, Math.sqrt(MAX_SCALED_PIXELS / (size.width * size.height)));
}

/** Options of {@link predictAtObjectScale}: those of `predictProbabilities`, and how to find objects. */
export interface RescaleOptions extends PredictOptions {
  /** False: predict at native scale (`--no-rescale`). Default: rescale when no pixel size resamples. */
  rescale?: boolean;
  /** The cells of a probability map (the caller's segmentation, with its threshold and minimum size). */
  instancesOf: (map: ProbabilityMap) => Plane<Int32Array>;
}

/** A probability map at the image's size and the scale it was predicted at. */
export interface RescaledPrediction {
  /** `[C, H, W]` at the image's own size. */
  map: ProbabilityMap;
  /** The image was resampled by this factor for the network (1: native). */
  scale: number;
  /** Whether the object size was estimated (false: rescaling was off, or the model has no training object size). */
  estimated: boolean;
  /** The median object diameter found in the image, in its own pixels (absent: not estimated or no objects). */
  objectDiameterPx?: number;
  /** How `objectDiameterPx` was estimated (absent: not estimated). */
  estimatedFrom?: SizeEstimateSource;
}

/** The ways an image's object size is estimated (see the module comment). */
export const SIZE_ESTIMATE_SOURCES = {
  'characteristic scale': "σ* of the image's Laplacian spectrum × the model's calibration",
  'first pass': 'median diameter of the objects a native-scale pass finds',
  'scale search': 'the octave nearest native at which the objects the network finds lie in the training sizes',
} as const;
export type SizeEstimateSource = keyof typeof SIZE_ESTIMATE_SOURCES;

/**
 * An image's object diameter, px, from its characteristic scale and the model's calibration;
 * undefined when the model has none or the image has no characteristic scale.
 * @param image `[H, W, C]` as given to the network.
 */
export function diameterFromCharacteristicScale(image: FloatImage, training: ObjectSizeDistribution): number | undefined {
  if (!training.diameterPerSigma) return undefined;
  const sigmaPx = characteristicScale(image);
  return sigmaPx === undefined ? undefined : sigmaPx * training.diameterPerSigma.median;
}

/** Whether images are resampled by pixel size (both known), which then takes precedence. */
export function resamplesByPixelSize(model: Model, options: Pick<PredictOptions, 'pixelSizeUm'>): boolean {
  return Boolean(options.pixelSizeUm && model.metadata.pixelSizeUm);
}

/**
 * The factor a model trained from boxes at a working scale resamples images by for these options
 * (its `imageScale`); undefined when it has none, it is 1, or pixel sizes resample instead.
 */
export function workingScale(model: Model, options: Pick<PredictOptions, 'pixelSizeUm'>): number | undefined {
  const { imageScale } = model.metadata;
  return imageScale !== undefined && imageScale !== 1 && !resamplesByPixelSize(model, options) ? imageScale : undefined;
}

/**
 * Class probabilities of an image predicted at the scale that brings its objects to the model's
 * training object size (see the module comment). A model with an `imageScale` (trained from boxes
 * at a working scale) predicts every image at that scale instead, unless `pixelSizeUm` resamples.
 * Without the model's `objectDiameterPx` (models trained before it was stored), with `rescale:
 * false`, or when `pixelSizeUm` resamples, this is `predictProbabilities` at native scale.
 * @param image `[H, W, C]` as for `predictProbabilities`.
 */
export async function predictAtObjectScale(model: Model, image: FloatImage, options: RescaleOptions): Promise<RescaledPrediction> {
  const { instancesOf, rescale, ...predictOptions } = options;
  const imageScale = workingScale(model, options);
  // A model of boxes and points trained at a working scale takes new images to be like its own.
  if (imageScale !== undefined)
    return {
      map: resampleProbabilities(await predictScaled(model, image, imageScale, predictOptions), image),
      scale: imageScale,
      estimated: false,
    };
  const training = model.metadata.objectDiameterPx;
  if (rescale === false || !training || resamplesByPixelSize(model, options))
    return { map: await predictProbabilities(model, image, predictOptions), scale: 1, estimated: false };
  // Measured like the training objects: a model trained on binary masks knew only their components,
  // and a watershed that splits one large cell in three would make it look a third of its size.
  const objectsOf = (map: ProbabilityMap) => (training.from === 'components' ? labelComponents(instancesOf(map)) : instancesOf(map));
  const fromImage = diameterFromCharacteristicScale(image, training);
  // Without σ*, a first pass at native scale is both the size estimate and, trusted at scale 1, the prediction.
  const native = fromImage === undefined ? await predictProbabilities(model, image, predictOptions) : undefined;
  const maxScale = upscaleLimit(image);
  const withOptions = (options: PredictOptions) => (factor: number) =>
    factor === 1 ? predictProbabilities(model, image, options) : predictScaled(model, image, factor, options);
  const atScale = withOptions(predictOptions);
  // Size probes run without TTA: a rough segmentation measures objects well enough, at an eighth of the cost.
  const probesWithoutTta = ttaMode(predictOptions.tta ?? model.metadata.tta) !== 'none';
  const probeAt = probesWithoutTta ? withOptions({ ...predictOptions, tta: 'none' }) : atScale;
  const back = (map: ProbabilityMap, scale: number) => (scale === 1 ? map : resampleProbabilities(map, image));
  if (native) {
    const objectDiameterPx = estimateObjectDiameter(objectsOf(native));
    const scale = chooseScale(objectDiameterPx, training, maxScale);
    if (objectDiameterPx !== undefined && Math.max(scale, 1 / scale) <= RECHECK_FACTOR) {
      const map = scale === 1 ? native : await atScale(scale);
      return { map: back(map, scale), scale, estimated: true, objectDiameterPx, estimatedFrom: 'first pass' };
    }
    // Untrusted: no objects, or a scale far from 1 (a speck, or a large cell broken into pieces).
    const probes: ScaleProbe[] = [{ scale: 1, diameterPx: objectDiameterPx }];
    // Only the leading probe's map is kept (a ×4 map of a large image is large), and only when it
    // is what the final pass would compute again (no TTA).
    let leadingMap: ProbabilityMap | undefined;
    const limit = Math.min(SCALE_LIMITS.max, maxScale);
    for (const factor of new Set<number>([...SEARCH_SCALES, scale])) {
      if (factor === 1 || factor < SCALE_LIMITS.min || factor > limit) continue;
      const map = await probeAt(factor);
      probes.push({ scale: factor, diameterPx: estimateObjectDiameter(objectsOf(map)) });
      if (!probesWithoutTta && closestProbe(probes, training) === probes.at(-1)) leadingMap = map;
    }
    const best = closestProbe(probes, training);
    // The winner is refined into the training size range; a native winner stays (its refinement was probed and lost).
    const chosen =
      !best || best.scale === 1 ? 1 : Math.min(limit, Math.max(SCALE_LIMITS.min, best.scale * chooseScale(best.diameterPx, training)));
    const map = chosen === 1 ? native : chosen === best?.scale && leadingMap ? leadingMap : await atScale(chosen);
    const found = best?.diameterPx === undefined ? {} : { objectDiameterPx: best.diameterPx / best.scale };
    return { map: back(map, chosen), scale: chosen, estimated: true, ...found, estimatedFrom: 'scale search' };
  }
  let scale = chooseScale(fromImage, training, maxScale);
  // The network measures objects near its training size well, so σ*'s estimate is checked by the
  // objects it finds at that scale: σ* strays ±25 % from an image's median object for one dsb2018
  // image in five.
  let probe = await probeAt(scale);
  for (let check = 0; check < MAX_SIZE_CHECKS; check++) {
    const correction = towardsMedian(estimateObjectDiameter(objectsOf(probe)), training.medianPx);
    const refined = Math.min(SCALE_LIMITS.max, maxScale, Math.max(SCALE_LIMITS.min, scale * correction));
    if (correction === 1 || Math.abs(refined - scale) < 1e-6) break;
    scale = refined;
    probe = await probeAt(scale);
  }
  const map = probesWithoutTta ? await atScale(scale) : probe;
  return { map: back(map, scale), scale, estimated: true, objectDiameterPx: fromImage, estimatedFrom: 'characteristic scale' };
}

async function predictScaled(model: Model, image: FloatImage, scale: number, options: PredictOptions): Promise<ProbabilityMap> {
  const [width, height] = scaledSize(image.width, image.height, scale);
  return predictProbabilities(model, resampleImage(image, { width, height }), { ...options, pixelSizeUm: undefined });
}

/** One line on the scale chosen for an image, e.g. `objects ≈ 21.0 px across, model trained on 42.0 px: predicted at 2.00×`. */
export function describeScale(model: Model, prediction: RescaledPrediction): string {
  const training = model.metadata.objectDiameterPx;
  if (!training) return 'predicted at native scale (the model has no training object size)';
  const search = prediction.estimatedFrom === 'scale search';
  const from = {
    'characteristic scale': " (from the image's characteristic scale)",
    'first pass': '',
    'scale search': ' (by a scale search: a native pass saw none, or objects far from the training sizes)',
  }[prediction.estimatedFrom ?? 'first pass'];
  const found =
    prediction.objectDiameterPx === undefined
      ? `no objects found${search ? ' at any scale tried (×0.25–×4)' : ''}`
      : `objects ≈ ${prediction.objectDiameterPx.toFixed(1)} px across${from}`;
  const images = training.perImageMedianPx;
  const range = images
    ? `training images' medians ${images.p5.toFixed(1)}–${images.p95.toFixed(1)}`
    : `quartiles ${training.lowerQuartilePx.toFixed(1)}–${training.upperQuartilePx.toFixed(1)}`;
  const trained = `model trained on ${training.medianPx.toFixed(1)} px (${range})`;
  const at = prediction.scale === 1 ? 'predicted at native scale' : `predicted at ${prediction.scale.toFixed(2)}×`;
  return `${found}, ${trained}: ${at}`;
}

/**
 * The warning for a `--pixel-size` that cannot resample because the model was trained without one
 * (undefined when there is nothing to say): it then only fills the µm columns of cells.csv.
 */
export function pixelSizeWarning(model: Model, options: Pick<RescaleOptions, 'pixelSizeUm' | 'rescale'>): string | undefined {
  if (!options.pixelSizeUm || model.metadata.pixelSizeUm) return undefined;
  const imageScale = workingScale(model, options);
  const instead =
    imageScale !== undefined
      ? `images are resampled by ×${imageScale} as its training images were`
      : model.metadata.objectDiameterPx && options.rescale !== false
        ? 'images are rescaled to its training object size instead'
        : 'images are predicted at their own scale';
  return `the model was trained without a pixel size, so --pixel-size ${options.pixelSizeUm} cannot resample the images (it only gives cells.csv its µm columns); ${instead}`;
}

/** The scales of a set of images, for a report: how many were rescaled, and the least, median and largest scale (2 decimals). */
export function scaleSummary(scales: readonly number[]): {
  images: number;
  rescaled: number;
  minScale: number;
  medianScale: number;
  maxScale: number;
} {
  const sorted = Float64Array.from(scales).sort();
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    images: scales.length,
    rescaled: scales.filter((s) => s !== 1).length,
    minScale: round(sorted[0] ?? 1),
    medianScale: round(sorted.length > 0 ? percentileOfSorted(sorted, 50) : 1),
    maxScale: round(sorted[sorted.length - 1] ?? 1),
  };
}
