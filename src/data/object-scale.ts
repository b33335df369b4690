/**
 * Training at one object size: every training and validation image of an instance dataset is
 * resampled so that its median object is {@link WORKING_DIAMETER_PX} across, as Cellpose trains
 * at one cell diameter (`diam_mean`, 17 px for its nuclei model; Stringer et al., *Cellpose: a
 * generalist algorithm for cellular segmentation*, Nature Methods 18, 2021) and StarDist's users
 * are told to rescale their images to the training objects' size. Prediction then estimates a new
 * image's object size from its characteristic scale σ* and brings it to the same diameter
 * (infer/rescale.ts), so an image taken at another magnification lands where the network learnt.
 *
 * Why 24 px on dsb2018-nuclei (train median 20 px, per-image medians 9.5–50 px at the 5th and
 * 95th percentiles): nuclei of 10 px leave the three-class boundary ring little room, and those of
 * 50 px outgrow what a 16-filter U-Net sees; see the README's dsb2018 rows for the figures.
 */
import { resampleImage, resampleLabels, scaledSize } from '../image/resample.js';
import type { ObjectSizeDistribution } from '../nn/model.js';
import { fail } from '../util/errors.js';
import { objectDiameters, objectIdsOf, sizeDistribution, trainingObjectSizes } from './object-sizes.js';
import type { Sample } from './types.js';

/** Scales are kept within [1/4, 4]: past that an estimate is more likely wrong than the image. */
export const SCALE_LIMITS = { min: 0.25, max: 4 } as const;

/** The median object diameter, px, instance datasets are trained at by default. */
export const WORKING_DIAMETER_PX = 24;

/**
 * A sample resampled by `scale` (0.5 halves each side): the image by `resampleImage`, class and
 * instance labels by nearest neighbour, annotated cell centres with them; a known pixel size grows by 1/scale.
 */
export function resampleSample(sample: Sample, scale: number): Sample {
  if (scale === 1) return sample;
  const { image, labels, instances } = sample;
  const original = { width: image.width, height: image.height };
  const [width, height] = scaledSize(image.width, image.height, scale);
  return {
    ...sample,
    image: resampleImage(image, { width, height }),
    labels: resampleLabels({ ...original, data: labels }, { width, height }).data,
    ...(instances ? { instances: resampleLabels({ ...original, data: instances }, { width, height }).data } : {}),
    ...(sample.pixelSizeUm !== undefined ? { pixelSizeUm: sample.pixelSizeUm / scale } : {}),
    ...(sample.cellCentres
      ? {
          cellCentres: sample.cellCentres.map((c) => ({
            x: (c.x * width) / image.width,
            y: (c.y * height) / image.height,
            radiusXPx: (c.radiusXPx * width) / image.width,
            radiusYPx: (c.radiusYPx * height) / image.height,
          })),
        }
      : {}),
  };
}

/**
 * The median object diameter of a sample, px (area-weighted, as `sizeDistribution` takes it):
 * from its instance labels, else from connected components of its foreground; undefined without
 * objects.
 */
export function sampleObjectDiameter(sample: Sample): number | undefined {
  return sizeDistribution(objectDiameters(objectIdsOf(sample)))?.medianPx;
}

/**
 * The factor that brings a sample's median object to `diameterPx`, kept within
 * {@link SCALE_LIMITS}; 1 for a sample without objects.
 */
export function objectScaleOf(sample: Sample, diameterPx: number): number {
  const median = sampleObjectDiameter(sample);
  if (median === undefined) return 1;
  return Math.max(SCALE_LIMITS.min, Math.min(SCALE_LIMITS.max, diameterPx / median));
}

/**
 * Samples each resampled so that its median object is `diameterPx` across (see the module
 * comment), and the factors used, in order.
 * @throws nothing; samples without objects stay as they are.
 */
export function normalizeObjectSizes(samples: readonly Sample[], diameterPx: number): { samples: Sample[]; scales: number[] } {
  const scales = samples.map((s) => objectScaleOf(s, diameterPx));
  return { samples: samples.map((s, i) => resampleSample(s, scales[i])), scales };
}

/** What {@link chooseWorkingDiameter} settles for a training run. */
export interface WorkingDiameter {
  /** The median object diameter, px, every training and validation image is brought to. */
  diameterPx: number;
  /** σ*'s calibration on the training images as given, for prediction's size estimate; absent: a first pass estimates. */
  diameterPerSigma?: ObjectSizeDistribution['diameterPerSigma'];
}

/**
 * Whether and at what diameter a run trains at one object size (see the module comment), from
 * `--working-diameter` (0: native resolution) or by default: on when the masks carry instance
 * labels, no pixel size is known (resampling by µm then does the job) and σ* predicts the training
 * images' object sizes (`spectrumCalibration`), so that prediction can estimate them without the
 * network; otherwise native resolution. `note` is told the outcome.
 * @param samples the training samples as loaded.
 * @throws PyocyteError for a diameter given with a pixel size.
 */
export function chooseWorkingDiameter(
  samples: readonly Sample[],
  options: { workingDiameterPx?: number },
  note: (text: string) => void,
): WorkingDiameter | undefined {
  const given = options.workingDiameterPx;
  if (given === 0 || samples.length === 0) return undefined;
  if (samples[0].pixelSizeUm !== undefined) {
    if (given !== undefined)
      fail(
        `--working-diameter resamples each image by its own objects, but the images have a pixel size (--pixel-size or the dataset's metadata), which resamples them all alike: give one of the two`,
      );
    return undefined;
  }
  if (given === undefined && !samples.some((s) => s.instances)) return undefined;
  const diameterPerSigma = trainingObjectSizes(samples, { calibrateSpectrum: true })?.diameterPerSigma;
  if (given === undefined && !diameterPerSigma) {
    note(
      `training at native resolution: the images' characteristic scale does not tell their object sizes, so new images' sizes could not be estimated without the network (--working-diameter ${WORKING_DIAMETER_PX} trains at one size anyway)`,
    );
    return undefined;
  }
  if (!diameterPerSigma)
    note("the images' characteristic scale does not tell their object sizes: predict will estimate them with a first network pass");
  return { diameterPx: given ?? WORKING_DIAMETER_PX, ...(diameterPerSigma ? { diameterPerSigma } : {}) };
}
