/**
 * `pyocyte evaluate` on a dataset annotated with boxes and points (issue 11): per class, detection
 * precision, recall and F1 by centroid matching, count errors per image and semi-quantitative bin
 * agreement. Mask datasets go through workflows/evaluate.ts.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { typicalRadii } from '../data/annotations/rasterize.js';
import { findAnnotationFiles, readAnnotations } from '../data/annotations/read.js';
import { type AnnotationSplit, type ImageAnnotations, className, isIgnoreLabel } from '../data/annotations/types.js';
import { createEngine } from '../engine/index.js';
import { type ClassifiedCell, classifyCells } from '../infer/cells.js';
import { applyCountRule, type Frame } from '../infer/count-rule.js';
import { modelInput } from '../infer/model-input.js';
import { pixelSizeScale } from '../infer/predict.js';
import { pixelSizeWarning, predictAtObjectScale } from '../infer/rescale.js';
import { minSizeNote, type SegmentOptions, segment } from '../infer/segment.js';
import { type CountEvaluationReport, type ImageCountScores, writeCountReport } from '../io/count-report.js';
import { decodeImage } from '../io/image/image-io.js';
import { loadModel, resolveModelPath, runFolderOf } from '../io/model-file.js';
import {
  type PredictedPoint,
  type WeakMatch,
  centroidPoint,
  matchWeakTruth,
  summarizeWeakMatches,
  weakTruthOf,
} from '../metrics/counting.js';
import type { CountRule, Model } from '../nn/model.js';
import { fail } from '../util/errors.js';
import { createProgress } from '../util/progress.js';
import { checkName } from '../util/registry.js';
import type { EvaluateOptions } from './evaluate.js';
import { EVALUATE_DEFAULTS, SUBSETS } from './options.js';

/** Folders where the images of an annotated dataset are looked for, in order; else the dataset folder itself. */
const IMAGE_FOLDERS = ['images', 'JPEGImages', 'img'];

/** Folders of pixel masks (data/dataset.ts's layouts): a dataset with one is scored on its masks. */
const MASK_FOLDERS = ['masks', 'labels', 'labelsTr'];

/**
 * Whether `pyocyte evaluate` scores this dataset on boxes and points: it has annotation files
 * (`*.csv|json|xml` at its top level or in `annotations/`) and no mask folder.
 */
export async function hasWeakAnnotations(root: string): Promise<boolean> {
  if (!existsSync(root) || !statSync(root).isDirectory() || MASK_FOLDERS.some((f) => existsSync(join(root, f)))) return false;
  return (await findAnnotationFiles(root)).length > 0;
}

/** The annotated images of a subset: `test` falls back to `val`, then to all, when the split files name none. */
function subsetImages(
  byImage: Map<string, ImageAnnotations>,
  splits: Map<string, AnnotationSplit>,
  requested: string,
  log: (line: string) => void,
): { subset: string; images: ImageAnnotations[] } {
  const of = (subset: string) => [...byImage.values()].filter((a) => subset === 'all' || splits.get(a.image) === subset);
  let subset = requested;
  if (subset === 'test' && of('test').length === 0) {
    subset = of('val').length > 0 ? 'val' : 'all';
    log(`note: no annotation file names test images; evaluating the ${subset === 'val' ? 'val' : 'annotated'} images`);
  }
  const images = of(subset);
  if (images.length === 0) fail(`no annotated images in the ${subset} subset; name annotation files train.*, val.*, test.*`);
  return { subset, images };
}

/** What {@link countedCellPoints} needs beyond the evaluate options: the resolved rules. */
export interface CountedCellOptions extends Omit<EvaluateOptions, 'countRule'> {
  segmentOptions: SegmentOptions;
  /** The model's count rule, resolved (evaluate's `countRule: false` makes it undefined): undefined counts every segmented cell. */
  countRule: CountRule | undefined;
}

/**
 * One image's cells before any count rule, predicted as `pyocyte predict` predicts them
 * (workflows/predict-image.ts): at the model's object size (infer/rescale.ts) or pixel size, cut
 * into cells by `segmentOptions`, classified and scored. `toModelScale` takes the segmentation's
 * pixels to the model's (what a count rule's areas and distances are in), `frame` is its size and
 * `scale` the object-size rescale applied (1: none).
 */
export async function segmentedCells(
  model: Model,
  file: string,
  options: Omit<CountedCellOptions, 'countRule'>,
): Promise<{ cells: ClassifiedCell[]; toModelScale: number; frame: Frame; scale: number }> {
  const { segmentOptions } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { image: raster } = await decodeImage(file);
  const input = modelInput(raster, model, { file, channels: options.channels, onWarning: (w) => log(`warning: ${w}`) });
  const { map, scale } = await predictAtObjectScale(model, input, {
    ...options,
    instancesOf: (probabilities) => segment(probabilities, segmentOptions).instances,
  });
  const toModelScale = pixelSizeScale(model, options) * scale;
  const segmentation = segment(map, { ...segmentOptions, toModelScale });
  const cells = classifyCells(segmentation, map, model.metadata.classNames);
  return { cells, toModelScale, frame: segmentation.instances, scale };
}

/**
 * One image's counted cells as centroids: its {@link segmentedCells} filtered by `countRule`, so
 * the counts scored are the counts predict reports. `scale` is the object-size rescale applied.
 */
export async function countedCellPoints(
  model: Model,
  file: string,
  options: CountedCellOptions,
): Promise<{ predicted: PredictedPoint[]; scale: number }> {
  const { cells, toModelScale, frame, scale } = await segmentedCells(model, file, options);
  const counted = applyCountRule(cells, options.countRule, toModelScale, frame);
  return { predicted: counted.map(centroidPoint), scale };
}

/**
 * Scores a model on a dataset of images plus box/point annotations (UMID's train.csv/val.csv,
 * COCO, VOC): each image is predicted as `pyocyte predict` does, its cells matched to the true
 * boxes and points of the model's classes (metrics/counting.ts's matchWeakTruth; point radius per
 * class from the boxes, see data/annotations/rasterize.ts's typicalRadii), and report.json,
 * report.md and per_image.csv are written to `out` (default `<run>/eval-<subset>`). Labels of
 * classes the model lacks are left out (with a note); images missing from the folder are skipped
 * with a warning.
 * @throws PyocyteError when the annotations are unreadable, no image of the subset exists, or a
 *   class is marked by points only (no radius).
 */
export async function evaluateCounts(options: EvaluateOptions): Promise<CountEvaluationReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const modelPath = typeof options.model === 'string' ? options.model : undefined;
  if (modelPath) resolveModelPath(modelPath);
  const annotations = await readAnnotations(options.data);
  const requested = options.subset ?? EVALUATE_DEFAULTS.subset;
  checkName(SUBSETS, requested, 'subset');
  const { subset, images } = subsetImages(annotations.byImage, annotations.splits, requested, log);
  const model: Model =
    typeof options.model === 'string'
      ? await loadModel(options.model, {
          engine: createEngine({ backend: options.engine, threads: options.threads, precision: options.precision, warn: log }),
        })
      : options.model;
  const { classNames: allNames, threshold: modelThreshold, postprocessing } = model.metadata;
  const classNames = allNames.slice(1);
  const labelled = new Set(images.flatMap((a) => [...a.boxes, ...a.points].map((o) => o.label)).filter((l) => !isIgnoreLabel(l)));
  const dropped = [...labelled].filter((l) => !classNames.includes(className(l)));
  if (dropped.length > 0) log(`note: the model has no class for ${dropped.join(', ')}; those annotations are left out`);
  // As training drew them: --cell-diameter, when given, is every class's cell size.
  const pointRadiusPx = typicalRadii(annotations.byImage.values(), classNames, options.cellDiameterPx);
  const folder = IMAGE_FOLDERS.map((f) => join(options.data, f)).find((f) => existsSync(f)) ?? options.data;
  const present = images.filter((a) => existsSync(join(folder, a.image)));
  if (present.length < images.length)
    log(
      `warning: ${images.length - present.length} annotated images are not in ${folder} and are skipped (first: ${images.find((a) => !present.includes(a))?.image})`,
    );
  if (present.length === 0) fail(`none of the ${images.length} annotated ${subset} images is in ${folder}`);
  const threshold = options.threshold ?? modelThreshold;
  const segmentOptions = { threshold, minSizePx: options.minSizePx, postprocessing: options.postprocessing ?? postprocessing };
  // As predict does: the model's count rule, its areas in the model's pixels.
  const countRule = options.countRule === false ? undefined : model.metadata.countRule;
  const warning = pixelSizeWarning(model, options);
  if (warning) log(`warning: ${warning}`);
  const sizeNote = minSizeNote(model, options);
  if (sizeNote) log(`note: ${sizeNote}`);
  const progress =
    options.progressStream === null
      ? undefined
      : createProgress({ total: present.length, label: 'evaluate', stream: options.progressStream });
  const matches: WeakMatch[] = [];
  const perImage: ImageCountScores[] = [];
  const scales: number[] = [];
  for (const [i, truth] of present.entries()) {
    const { predicted, scale } = await countedCellPoints(model, join(folder, truth.image), { ...options, log, segmentOptions, countRule });
    if (scale !== 1) scales.push(scale);
    const match = matchWeakTruth(predicted, weakTruthOf(truth, classNames), { pointRadiusPx });
    matches.push(match);
    perImage.push({ image: truth.image, perClass: match.perClass, ignored: match.ignored.length });
    progress?.update(i + 1, { image: truth.image });
  }
  progress?.done();
  if (scales.length > 0)
    log(
      `rescale: ${scales.length} of ${present.length} images predicted at their object size (scales ${Math.min(...scales).toFixed(2)}–${Math.max(...scales).toFixed(2)})`,
    );
  const report: CountEvaluationReport = {
    kind: 'counts',
    model: modelPath ?? '(in memory)',
    data: options.data,
    subset,
    images: present.length,
    threshold,
    classNames,
    pointRadiusPx,
    ...(countRule ? { countRule } : {}),
    perClass: summarizeWeakMatches(matches, classNames),
    perImage,
  };
  const out = options.out ?? (modelPath ? join(runFolderOf(modelPath), `eval-${subset}`) : undefined);
  if (out) await writeCountReport(out, report);
  return report;
}
