import { openDataset, type DatasetOptions } from '../data/prepare.js';
import { intensityScalingOf } from '../nn/types.js';
import type { Split } from '../data/split.js';
import { createEngine } from '../engine/index.js';
import { loadModel, resolveModelPath, runFolderOf } from '../io/model-file.js';
import { join } from 'node:path';
import { type EvaluationReport, type ImageScores, describeScales, writeEvaluationReport } from '../io/reports.js';
import { type InstanceMatch, matchInstances, objectSummary } from '../metrics/objects.js';
import { confusionMatrix, pixelMetrics, summarizeImages } from '../metrics/pixel.js';
import type { Model } from '../nn/model.js';
import { createProgress, type ProgressStream } from '../util/progress.js';
import { fail } from '../util/errors.js';
import { checkName } from '../util/registry.js';
import { type ProbabilityMap, pixelSizeScale, ttaMode } from '../infer/predict.js';
import { classifyCells } from '../infer/cells.js';
import { countCells } from '../infer/count-rule.js';
import { pixelSizeWarning, predictAtObjectScale, scaleSummary } from '../infer/rescale.js';
import type { EvaluateOptionFields } from './options.generated.js';
import { EVALUATE_DEFAULTS, SUBSETS } from './options.js';
import { minSizeNote, segment } from '../infer/segment.js';
import { type TrueInstances, trueInstances } from '../data/true-instances.js';
import { type EvaluationInstances, type ImageInstances, instanceSourceWarning } from '../io/instance-report.js';
import { imageInstanceCounts, imageInstanceScores, instanceScores } from '../metrics/instance-scores.js';
import type { MatchingCounts } from '../metrics/matching.js';

/** Options of {@link evaluate}; the docs and defaults of most are in EVALUATE_OPTIONS (./options.ts). */
export interface EvaluateOptions extends DatasetOptions, Omit<EvaluateOptionFields, 'model'> {
  /** A model folder or file, or a loaded model. */
  model: string | Model;
  /** Where notes and warnings go; default stderr. */
  log?: (line: string) => void;
  /** Where the progress display goes (default stderr); null shows none. */
  progressStream?: ProgressStream | null;
}

/** Image and mask rules of the training data, so evaluation reads files the way training did. */
function maskRulesOf(model: Model): DatasetOptions {
  const { task, mask, classNames, channels, normalization } = model.metadata;
  // `classes` draws an annotated dataset's (boxes, points) masks with the model's classes; mask datasets ignore it.
  const files = { channels, intensityScaling: intensityScalingOf(normalization), classes: classNames.slice(1) };
  if (task === 'multiclass' && mask?.valueMap) {
    const valueMap = Object.entries(mask.valueMap)
      .map(([value, c]) => `${value}:${classNames[c] ?? `class${c}`}`)
      .join(',');
    return { task, valueMap, ...files };
  }
  return { task, maskPolarity: mask?.polarity, ...files };
}

/**
 * Scores a model on a dataset's images: pixel metrics per class (accuracy, precision, recall,
 * Dice, IoU; pooled and per image), object metrics against the true instances (StarDist's
 * matching at IoU 0.1 … 0.9 summed over images, the DSB2018 score, count errors; the true
 * instances are label images when the dataset has them, else connected components of the masks,
 * and the report says which), written as report.json, report.md and per_image.csv. The predicted
 * cells are those `pyocyte predict` reports: at the model's object size, under its count rule.
 */
export async function evaluate(options: EvaluateOptions): Promise<EvaluationReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const modelPath = typeof options.model === 'string' ? options.model : undefined;
  if (modelPath) resolveModelPath(modelPath); // a missing model fails before any engine starts
  const model =
    typeof options.model === 'string'
      ? await loadModel(options.model, {
          engine: createEngine({ backend: options.engine, threads: options.threads, precision: options.precision, warn: log }),
        })
      : options.model;
  // Masks are read as in training unless the user says otherwise.
  const rules = { ...stripUndefined(maskRulesOf(model)), ...stripUndefined(options) };
  if (rules.task !== model.metadata.task) fail(`the model is ${model.metadata.task} but --task ${rules.task} was given`);
  const dataset = await openDataset(options.data, { ...rules, onNote: (n) => log(`note: ${n}`) });
  let subset = options.subset ?? EVALUATE_DEFAULTS.subset;
  checkName(SUBSETS, subset, 'subset');
  if (subset === 'test' && dataset.split.test.length === 0) {
    log(`note: ${options.data} has no test images in its split; evaluating all images`);
    subset = 'all';
  }
  const sets: (keyof Split)[] = subset === 'all' ? ['train', 'val', 'test'] : [subset];
  const samples = (await Promise.all(sets.filter((s) => dataset.split[s].length > 0).map((s) => dataset.load(s)))).flat();
  const classes = Math.max(2, model.taskClasses);
  const threshold = options.threshold ?? model.metadata.threshold;
  const postprocessing = options.postprocessing ?? model.metadata.postprocessing ?? 'none';
  const progress =
    options.progressStream === null
      ? undefined
      : createProgress({ total: samples.length, label: 'evaluate', stream: options.progressStream });
  const confusions: Float64Array[] = [];
  const matches: InstanceMatch[] = [];
  const perImage: ImageScores[] = [];
  const instanceCounts: ImageInstanceCounts[] = [];
  const segmentOptions = { threshold, minSizePx: options.minSizePx, postprocessing };
  // Object-size rescaling (infer/rescale.ts): one warning for a pixel size that cannot resample, one line on the scales chosen.
  const warning = pixelSizeWarning(model, options);
  if (warning) log(`warning: ${warning}`);
  const sizeNote = minSizeNote(model, options);
  if (sizeNote) log(`note: ${sizeNote}`);
  const scales: number[] = [];
  let fromCharacteristicScale = 0;
  let fromScaleSearch = 0;
  const countRule = options.countRule === false ? undefined : model.metadata.countRule;
  const toModelScale = pixelSizeScale(model, options);
  for (const [i, sample] of samples.entries()) {
    const instancesOf = (probabilities: ProbabilityMap) => segment(probabilities, segmentOptions).instances;
    const rescaled = await predictAtObjectScale(model, sample.image, { ...options, instancesOf });
    if (rescaled.estimated) scales.push(rescaled.scale);
    if (rescaled.estimatedFrom === 'characteristic scale') fromCharacteristicScale++;
    if (rescaled.estimatedFrom === 'scale search') fromScaleSearch++;
    const map = rescaled.map;
    // As predict segments and counts (workflows/predict-image.ts): rules in the model's pixels; the
    // model's count rule erases the cells it does not count from both maps, as in predict's outputs.
    const scale = toModelScale * rescaled.scale;
    const segmentation = segment(map, { ...segmentOptions, toModelScale: scale });
    if (countRule) countCells(classifyCells(segmentation, map, model.metadata.classNames), segmentation, countRule, scale);
    const { labels, instances } = segmentation;
    const confusion = confusionMatrix(labels.data, sample.labels, { classes });
    confusions.push(confusion);
    const truth = trueInstances(sample);
    const match = matchInstances(instances.data, truth.instances, { iouThreshold: options.iouThreshold ?? EVALUATE_DEFAULTS.iouThreshold });
    matches.push(match);
    const objectCounts = scoreInstances(instances.data, truth);
    instanceCounts.push(objectCounts);
    const metrics = pixelMetrics(confusion, { classes, classNames: model.metadata.classNames });
    perImage.push({ image: sample.stem, metrics, objects: match, instances: objectCounts.scores });
    progress?.update(i + 1, { image: sample.stem, dice: metrics.meanDice });
  }
  progress?.done();
  const objectScores = summarizeInstances(instanceCounts);
  const sourceWarning = instanceSourceWarning(objectScores.sources);
  if (sourceWarning) log(sourceWarning);
  const { global, meanImage } = summarizeImages(confusions, { classes, classNames: model.metadata.classNames });
  const report: EvaluationReport = {
    model: modelPath ?? '(in memory)',
    data: options.data,
    subset,
    images: samples.length,
    threshold,
    postprocessing,
    task: model.metadata.task,
    classNames: model.metadata.classNames,
    pixelSizeUm: options.pixelSizeUm,
    modelPixelSizeUm: model.metadata.pixelSizeUm,
    tta: ttaMode(options.tta ?? model.metadata.tta),
    ...(scales.length > 0 ? { rescale: { ...scaleSummary(scales), fromCharacteristicScale, fromScaleSearch } } : {}),
    pixels: global,
    meanImage,
    objects: objectSummary(matches),
    instances: objectScores,
    perImage,
  };
  if (report.rescale) log(`rescale: ${describeScales(report.rescale)}`);
  const out = options.out ?? (modelPath ? join(runFolderOf(modelPath), `eval-${subset}`) : undefined);
  if (out) await writeEvaluationReport(out, report);
  return report;
}

/** One image's matching counts at every report threshold, and its scores. */
interface ImageInstanceCounts {
  counts: MatchingCounts[];
  scores: ImageInstances;
}

/** Matches one image's predicted instances `[H, W]` to its true instances (see `trueInstances`). */
function scoreInstances(predicted: Int32Array, truth: TrueInstances): ImageInstanceCounts {
  const counts = imageInstanceCounts(predicted, truth.instances);
  return { counts, scores: { ...imageInstanceScores(counts), source: truth.source } };
}

/** Instance scores summed over images, and how many images' true instances came from where. */
function summarizeInstances(images: readonly ImageInstanceCounts[]): EvaluationInstances {
  const sources = { 'label images': 0, 'connected components': 0 };
  for (const image of images) sources[image.scores.source]++;
  return { ...instanceScores(images.map((image) => image.counts)), sources };
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
