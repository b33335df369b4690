/**
 * The size of the objects in label images: each object's equivalent diameter, and the distribution
 * a model stores at training time so that prediction can bring new images to the same object size
 * (infer/rescale.ts), as Cellpose rescales images to its training cell diameter (Stringer et al.,
 * *Cellpose: a generalist algorithm for cellular segmentation*, Nature Methods 18, 2021).
 */
import { equivalentDiameter, labelComponents } from '../image/components.js';
import { IGNORE_LABEL, withoutIgnored } from '../image/ignore.js';
import { checkPlane, type Plane } from '../image/plane.js';
import { characteristicScale } from '../image/scale-space.js';
import type { ObjectSizeDistribution } from '../nn/model.js';
import { percentileOfSorted } from './normalize.js';
import type { Sample } from './types.js';

/** Each object's pixel area in an instance image, and the ids of the objects that touch its border. */
interface ObjectAreas {
  areas: Map<number, number>;
  onBorder: Set<number>;
}

/** One scan of an instance image `[H, W]` (0 = background, ids > 0 in any order). */
function objectAreas(instances: Plane<Int32Array>, caller: string): ObjectAreas {
  checkPlane(instances, caller);
  const { width, height, data } = instances;
  const areas = new Map<number, number>();
  const onBorder = new Set<number>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const id = data[y * width + x];
      if (id === 0) continue;
      areas.set(id, (areas.get(id) ?? 0) + 1);
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) onBorder.add(id);
    }
  }
  return { areas, onBorder };
}

/**
 * The equivalent diameter (`2·sqrt(area/π)`, px) of every object of an instance image `[H, W]`
 * (0 = background, ids > 0 in any order). Objects cut by the image border look smaller than they
 * are, so they are left out, unless every object touches the border (a single large cell).
 */
export function objectDiameters(instances: Plane<Int32Array>): number[] {
  return diametersOf(objectAreas(instances, 'objectDiameters'));
}

function diametersOf({ areas, onBorder }: ObjectAreas): number[] {
  const inner = [...areas].filter(([id]) => !onBorder.has(id));
  return (inner.length > 0 ? inner : [...areas]).map(([, area]) => equivalentDiameter(area));
}

/**
 * Median and quartiles of object diameters, px, each object weighted by its area (`d²`): the
 * diameter of the object a typical foreground pixel lies in. Unlike Cellpose's plain median, specks
 * and fragments, which a first pass at the wrong scale finds by the dozen, then barely count.
 * Undefined when there are no objects.
 * @param diameters any order; not modified.
 */
export function sizeDistribution(diameters: readonly number[]): ObjectSizeDistribution | undefined {
  if (diameters.length === 0) return undefined;
  const sorted = Float64Array.from(diameters).sort();
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    medianPx: round(areaWeightedQuantile(sorted, 0.5)),
    lowerQuartilePx: round(areaWeightedQuantile(sorted, 0.25)),
    upperQuartilePx: round(areaWeightedQuantile(sorted, 0.75)),
    objects: diameters.length,
  };
}

/** The `q`-quantile of sorted diameters weighted by `d²`: the first whose cumulative weight reaches `q`. */
function areaWeightedQuantile(sorted: Float64Array, q: number): number {
  let total = 0;
  for (const d of sorted) total += d * d;
  let cumulative = 0;
  for (const d of sorted) {
    cumulative += d * d;
    if (cumulative >= q * total - 1e-9) return d;
  }
  return sorted[sorted.length - 1];
}

/**
 * The foreground pixels of an instance image `[H, W]`, and how many of them lie in objects that
 * touch the image border.
 */
export function borderArea(instances: Plane<Int32Array>): { foregroundPx: number; onBorderPx: number } {
  return borderAreaOf(objectAreas(instances, 'borderArea'));
}

function borderAreaOf({ areas, onBorder }: ObjectAreas): { foregroundPx: number; onBorderPx: number } {
  let foregroundPx = 0;
  let onBorderPx = 0;
  for (const [id, area] of areas) {
    foregroundPx += area;
    if (onBorder.has(id)) onBorderPx += area;
  }
  return { foregroundPx, onBorderPx };
}

/**
 * A sample's objects as an instance image `[H, W]`: its instance labels, else connected components
 * of its foreground (ignored pixels belong to no object).
 */
export function objectIdsOf({
  image: { width, height },
  labels,
  instances,
}: Pick<Sample, 'image' | 'labels' | 'instances'>): Plane<Int32Array> {
  return { width, height, data: instances ?? labelComponents({ width, height, data: withoutIgnored(labels) }).data };
}

/**
 * Above this fraction of the training foreground in objects that touch the image border, the
 * foreground is a network or a tissue (membranes, neuropil, confluent cells), not separate objects,
 * and has no object size to rescale by: an ISBI 2012 EM model that stored one saw a test image's
 * membrane fragments as 7-px objects and upscaled it 2.6×, its Dice falling from 0.83 to 0.51.
 */
export const MAX_BORDER_AREA_FRACTION = 0.5;

/**
 * The object diameter distribution of training samples, in their (possibly resampled) pixels: from
 * each sample's instance labels, else from connected components of its foreground, where touching
 * objects merge and the diameters run large. Ignored pixels ({@link IGNORE_LABEL}: the ring around a
 * weak annotation's core, a `missedlabel` box) belong to no object, so boxes and points are measured
 * by their cores, which do not merge as their rings do. Undefined without objects, or when more than
 * {@link MAX_BORDER_AREA_FRACTION} of the foreground lies in objects cut by the image border:
 * prediction then stays at native scale.
 * @param options.calibrateSpectrum also store {@link spectrumCalibration} (default false: training
 *   stores it only at a working diameter, data/object-scale.ts; at native resolution, on 25 dsb2018
 *   test images, it gained AP@0.5 at ×0.5 and ×2, +0.012 / +0.019, but rescaled 4 native images
 *   and lost 0.013 at ×1, bench/size-estimate.ts).
 */
export function trainingObjectSizes(
  samples: readonly Sample[],
  options: { calibrateSpectrum?: boolean } = {},
): ObjectSizeDistribution | undefined {
  const diameters: number[] = [];
  const imageMedians: number[] = [];
  let foregroundPx = 0;
  let onBorderPx = 0;
  // As the instance methods decide (hasInstances): one instance image makes it an instance dataset,
  // and its two-valued masks are label images of a single object, which components measure exactly.
  const from = samples.some((s) => s.instances) ? 'instances' : 'components';
  const scaleRatios: number[] = [];
  let measured = 0;
  const measuredEvery = Math.max(1, Math.ceil(samples.length / SPECTRUM_IMAGES));
  for (const [index, { image, labels, instances }] of samples.entries()) {
    const objects = objectAreas(objectIdsOf({ image, labels, instances }), 'trainingObjectSizes');
    const area = borderAreaOf(objects);
    foregroundPx += area.foregroundPx;
    onBorderPx += area.onBorderPx;
    const ofImage = diametersOf(objects);
    for (const d of ofImage) diameters.push(d);
    const median = sizeDistribution(ofImage)?.medianPx;
    if (median !== undefined) imageMedians.push(median);
    if (options.calibrateSpectrum && median !== undefined && index % measuredEvery === 0) {
      measured++;
      const sigmaPx = characteristicScale(image);
      if (sigmaPx !== undefined) scaleRatios.push(median / sigmaPx);
    }
  }
  if (onBorderPx > MAX_BORDER_AREA_FRACTION * foregroundPx) return undefined;
  const distribution = sizeDistribution(diameters);
  const diameterPerSigma = spectrumCalibration(scaleRatios, measured);
  return (
    distribution && {
      ...distribution,
      from,
      perImageMedianPx: perImageMedianPercentiles(imageMedians),
      ...(diameterPerSigma ? { diameterPerSigma } : {}),
    }
  );
}

/** At most this many training images (evenly spaced) are measured for {@link spectrumCalibration}. */
export const SPECTRUM_IMAGES = 64;

/**
 * How a new image's characteristic scale σ* (image/scale-space.ts) turns into an object diameter:
 * the median over training images of (median object diameter ÷ σ*), with its 10th and 90th
 * percentiles. Undefined when fewer than half the measured images have a σ* (objects as large as
 * the images) or when the ratio varies by more than {@link MAX_SPECTRUM_SPREAD} between them: the
 * image's Laplacian then says little about its objects, and prediction measures objects with a
 * first network pass instead.
 * @param ratios one per training image that had both a median object diameter and a σ*.
 * @param measured how many images were measured.
 */
export function spectrumCalibration(ratios: readonly number[], measured: number): ObjectSizeDistribution['diameterPerSigma'] {
  if (ratios.length === 0 || ratios.length < measured / 2) return undefined;
  const sorted = Float64Array.from(ratios).sort();
  const at = (rank: number) => Math.round(percentileOfSorted(sorted, rank) * 1000) / 1000;
  const calibration = { median: at(50), p10: at(10), p90: at(90), images: ratios.length };
  return calibration.p90 / calibration.p10 <= MAX_SPECTRUM_SPREAD ? calibration : undefined;
}

/**
 * The largest p90/p10 ratio of training images' diameter ÷ σ* at which σ* is trusted (an estimate
 * then lies within about ±30 % of the true median diameter for 80 % of images). Measured on the
 * training splits: dsb2018 nuclei 1.57 (diameter ≈ 2.4 σ*, near a disc's 2√2), trusted;
 * wbc-cellavision 2.04 (one white cell filling most of a 300-px crop, red cells around it), not.
 */
export const MAX_SPECTRUM_SPREAD = 1.8;

/** The 5th, 25th, 75th and 95th percentiles of per-image median diameters, px (2 decimals). */
export function perImageMedianPercentiles(medians: readonly number[]): ObjectSizeDistribution['perImageMedianPx'] {
  if (medians.length === 0) return undefined;
  const sorted = Float64Array.from(medians).sort();
  const at = (rank: number) => Math.round(percentileOfSorted(sorted, rank) * 100) / 100;
  return { p5: at(5), p25: at(25), p75: at(75), p95: at(95) };
}
