/**
 * `pyocyte train --refine-labels-with MODEL` (issue 11): the training images' labels drawn from
 * boxes and points are redrawn from MODEL's segmentation of them (data/annotations/refine.ts), so
 * a second run, usually fine-tuning MODEL (`--initial-weights`), learns cell outlines instead of
 * ellipses. Validation and test labels are never refined: scores stay against the annotations.
 */
import type { OpenDataset } from '../data/prepare.js';
import type { Sample } from '../data/types.js';
import { type RefineCounts, refineLabels } from '../data/annotations/refine.js';
import { type PredictOptions, predictProbabilities, probabilitiesToLabels } from '../infer/predict.js';
import type { Model } from '../nn/model.js';
import { fail } from '../util/errors.js';
import { type ProgressStream, createProgress } from '../util/progress.js';

/** Options of {@link refineTrainingLabels}. */
export interface RefineTrainingOptions {
  /** How the model predicts (tile size); TTA is not used, as the labels need outlines, not the last 0.1 % of Dice. */
  predict?: Omit<PredictOptions, 'tta'>;
  /** Where the progress bar goes; null for none. Default stderr. */
  progressStream?: ProgressStream | null;
  /** The model's path, for messages. */
  modelName: string;
}

/**
 * Each training sample with its labels redrawn from `model`'s prediction (class per pixel at the
 * model's threshold, without TTA). The samples' images are shared, their labels replaced.
 * @throws PyocyteError when the dataset has no weak annotations, the model's classes are not the dataset's,
 *   or it was trained at another image scale than the samples are loaded at.
 */
export async function refineTrainingLabels(
  model: Model,
  samples: readonly Sample[],
  dataset: Pick<OpenDataset, 'weak' | 'scheme' | 'imageScale'>,
  options: RefineTrainingOptions,
): Promise<{ samples: Sample[]; counts: RefineCounts }> {
  const { weak, scheme } = dataset;
  if (!weak) fail(`--refine-labels-with ${options.modelName}: the dataset has masks; refining is for boxes and points`);
  const classes = scheme.classNames.slice(1);
  const modelClasses = model.metadata.classNames.slice(1);
  if (modelClasses.join(',') !== classes.join(','))
    fail(
      `--refine-labels-with ${options.modelName}: its classes (${modelClasses.join(', ')}) are not the dataset's (${classes.join(', ')})`,
    );
  // The samples are at the dataset's working scale; a teacher trained at another sees other sizes.
  const [teacherScale, dataScale] = [model.metadata.imageScale ?? 1, dataset.imageScale ?? 1];
  if (!model.metadata.pixelSizeUm && teacherScale !== dataScale)
    fail(
      `--refine-labels-with ${options.modelName}: it was trained at image scale ×${teacherScale}, these images are loaded at ×${dataScale}; pass --image-scale ${teacherScale}`,
    );
  const progress =
    options.progressStream === null
      ? undefined
      : createProgress({ total: samples.length, label: 'refine', stream: options.progressStream });
  const counts: RefineCounts = { refined: 0, kept: 0 };
  const refined: Sample[] = [];
  for (const sample of samples) {
    // At the model's own pixel size when both are known (the teacher may have trained at another scale).
    const map = await predictProbabilities(model, sample.image, { ...options.predict, tta: 'none', pixelSizeUm: sample.pixelSizeUm });
    const predicted = probabilitiesToLabels(map, model.metadata.threshold);
    const { width, height } = sample.image;
    const result = refineLabels(weak.annotationsOf(sample.stem), predicted, { width, height, classes, pointRadiusPx: weak.pointRadiusPx });
    counts.refined += result.counts.refined;
    counts.kept += result.counts.kept;
    refined.push({ ...sample, labels: result.labels });
    progress?.update(refined.length);
  }
  progress?.done();
  return { samples: refined, counts };
}
