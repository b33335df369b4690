/**
 * Predicts one image file and writes its outputs: the unit of work of `pyocyte predict`, of a
 * queued job (workflows/queue/) and of the web app. Every caller writes the same bytes for the
 * same image, model and settings.
 */
import { existsSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { readerNote } from '../data/samples.js';
import { labelsToMask } from '../data/value-map.js';
import { classifyCells, countByClass } from '../infer/cells.js';
import { modelInput } from '../infer/model-input.js';
import { type PredictOptions, pixelSizeScale } from '../infer/predict.js';
import { countCells } from '../infer/count-rule.js';
import { describeScale, pixelSizeWarning, predictAtObjectScale } from '../infer/rescale.js';
import type { PredictOptionFields } from '../infer/options.generated.js';
import { minSizeNote, segment } from '../infer/segment.js';
import { previewImage } from '../io/image/convert.js';
import { decodeImage } from '../io/image/image-io.js';
import {
  type PredictionKey,
  fileSha256,
  finishedManifest,
  manifestFileName,
  removeStaleTemporaries,
  writeManifest,
} from '../io/prediction-manifest.js';
import {
  type ImageSummary,
  cellsCsv,
  instanceFileName,
  probabilityFileNames,
  writeInstanceImage,
  writeMaskImage,
  writeOverlayImage,
  writeProbabilityMaps,
} from '../io/prediction-outputs.js';
import type { Model } from '../nn/model.js';
import { fail } from '../util/errors.js';

/**
 * The options that change what is predicted, recorded in each image's manifest; their docs and
 * defaults are in PREDICT_OPTIONS (infer/options.ts).
 */
export interface PredictionSettings
  extends Omit<PredictOptions, 'onProgress'>,
    Pick<PredictOptionFields, 'threshold' | 'minSizePx' | 'postprocessing' | 'channels' | 'rescale' | 'countRule'> {}

const SETTING_KEYS = [
  'threshold',
  'minSizePx',
  'postprocessing',
  'tta',
  'tileSize',
  'overlapFraction',
  'contextMargin',
  'batchSize',
  'pixelSizeUm',
  'rescale',
  'channels',
  'countRule',
] as const satisfies readonly (keyof PredictionSettings)[];

/** The prediction settings of an options object, unset ones left out: what a manifest records. */
export function predictionSettings(options: PredictionSettings): PredictionSettings {
  const settings: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) if (options[key] !== undefined) settings[key] = options[key];
  return settings as PredictionSettings;
}

/** Options of {@link predictImageFile}. */
export interface PredictImageFileOptions extends PredictionSettings {
  /** The model, loaded with `loadModel`. */
  model: Model;
  /**
   * sha256 of the model's files (`modelSha256` in io/model-hash.ts), recorded in the manifest.
   * Without it a finished image is never recognised: it is computed again every time.
   */
  modelSha256?: string | null;
  /** The image file (PNG, JPEG, TIFF, WebP, BMP). */
  image: string;
  /** Output folder; created when missing. */
  out: string;
  /**
   * Names the outputs `<stem>_mask.png`, …. Default: the image's file name without extension.
   * Images of one batch need distinct stems ({@link assignStems}).
   */
  stem?: string;
  /** Return the outputs already there when the manifest matches this image, model and settings. Default true. */
  reuse?: boolean;
  /** Called after each batch of tiles of the network pass. */
  onProgress?: (done: number, total: number) => void;
  /** Where notes (an EXIF rotation applied, a CMYK conversion) and warnings (NaN pixels filled) go; default stderr. */
  log?: (line: string) => void;
}

/** What {@link predictImageFile} wrote (or found already written). */
export interface ImagePrediction {
  /** The image's row of summary.csv. */
  summary: ImageSummary & {
    width: number;
    height: number;
    cells: number;
    counts: Record<string, number>;
    foregroundFraction: number;
    /** The image was resampled by this factor for the network (infer/rescale.ts); 1: native. */
    scale?: number;
  };
  /** The image's rows of cells.csv, without header (`cellsCsv(cells, { image: stem, header: false })`). */
  cellsCsv: string;
  /** The files written in `out`, the manifest last. */
  outputs: string[];
  /** True when a matching manifest was found and nothing was computed. */
  reused: boolean;
}

/**
 * Distinct stems for a batch of image files, in order: the file name without extension, then
 * `<name>_2`, `<name>_3`, … for later files of the same name (from different folders).
 */
export function assignStems(files: readonly string[]): string[] {
  const used = new Set<string>();
  return files.map((file) => {
    const base = basename(file, extname(file));
    let stem = base;
    for (let k = 2; used.has(stem); k++) stem = `${base}_${k}`;
    used.add(stem);
    return stem;
  });
}

/**
 * Segments one image file of any size and writes, each atomically under a name fixed by the stem:
 * `<stem>_mask.png` (drawn like the training masks), `<stem>_probability[_<class>].png` (16-bit,
 * 0–65535 ↔ 0–1), `<stem>_overlay.png` (cell contours, coloured by class), `<stem>_instances.png` (16-bit cell ids;
 * `.tif` past 65 535 cells), and last `<stem>_manifest.json`, which marks the image finished and
 * holds its summary.csv and cells.csv rows. Temporary files a killed writer left for these names
 * are removed first. Running it twice writes the same bytes; with `reuse` the second run reads the
 * manifest instead of predicting.
 * @throws PyocyteError when the image is missing, unreadable or does not fit the model (its
 *   channel count): the message names the file or says what is wrong.
 */
export async function predictImageFile(options: PredictImageFileOptions): Promise<ImagePrediction> {
  const { model, image: file, out } = options;
  if (!existsSync(file)) fail(`${file} does not exist`, { file });
  const stem = options.stem ?? basename(file, extname(file));
  const settings = predictionSettings(options);
  const key: PredictionKey = { imageSha256: await fileSha256(file), modelSha256: options.modelSha256 ?? null, settings: { ...settings } };
  if (options.reuse !== false) {
    const done = await finishedManifest(out, stem, key);
    if (done)
      return {
        summary: done.summary as ImagePrediction['summary'],
        cellsCsv: done.cellsCsv,
        outputs: [...done.outputs, manifestFileName(stem)],
        reused: true,
      };
  }
  const { metadata, config } = model;
  const channels = model.taskClasses === 1 ? 1 : config.classes;
  await removeStaleTemporaries(out, [
    `${stem}_mask.png`,
    ...probabilityFileNames(stem, channels, metadata.classNames),
    `${stem}_overlay.png`,
    instanceFileName(stem, 0),
    instanceFileName(stem, Infinity),
    manifestFileName(stem),
  ]);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { image: raster, info } = await decodeImage(file);
  const note = readerNote(file, info);
  if (note) log(`note: ${note}`);
  const floatImage = modelInput(raster, model, { file, channels: options.channels, onWarning: (warning) => log(`warning: ${warning}`) });
  const segmentOptions = {
    threshold: options.threshold ?? metadata.threshold,
    minSizePx: options.minSizePx,
    postprocessing: options.postprocessing ?? metadata.postprocessing,
  };
  // Object-size rescaling (infer/rescale.ts) when no pixel size resamples; says what it chose.
  const warning = pixelSizeWarning(model, options);
  if (warning) log(`warning: ${warning}`);
  const sizeNote = minSizeNote(model, options);
  if (sizeNote) log(`note: ${sizeNote}`);
  const rescaled = await predictAtObjectScale(model, floatImage, {
    ...settings,
    onProgress: options.onProgress,
    instancesOf: (probabilities) => segment(probabilities, segmentOptions).instances,
  });
  if (rescaled.estimated) log(`${stem}: ${describeScale(model, rescaled)}`);
  const { map, scale } = rescaled;
  // The instance and count rules' areas are in the model's pixels (the image was resampled by its
  // pixel size or, without one, by the model's working scale or its object size: one factor is 1).
  const toModelScale = pixelSizeScale(model, options) * scale;
  const { labels, instances } = segment(map, { ...segmentOptions, toModelScale });
  const { width, height } = floatImage;
  const pixelSizeUm = options.pixelSizeUm ?? metadata.pixelSizeUm;
  // Masks and overlays show only the counted cells.
  const rule = options.countRule === false ? undefined : metadata.countRule;
  const cells = countCells(
    classifyCells({ labels, instances }, map, metadata.classNames, { pixelSizeUm }),
    { instances, labels },
    rule,
    toModelScale,
  );
  const outputs = [
    await writeMaskImage(out, stem, labelsToMask(labels, { ...metadata.mask, task: metadata.task })),
    ...(await writeProbabilityMaps(out, stem, map, metadata.classNames)),
    await writeOverlayImage(out, stem, previewImage(floatImage), instances.data, map.channels === 1 ? undefined : labels.data),
    await writeInstanceImage(out, stem, instances),
  ];
  const rows = cellsCsv(cells, { pixelSizeUm, image: stem, header: false });
  let foreground = 0;
  for (let i = 0; i < labels.data.length; i++) foreground += labels.data[i] > 0 ? 1 : 0;
  const counts = countByClass(cells, metadata.classNames);
  const summary = {
    image: stem,
    width,
    height,
    cells: instances.count,
    counts,
    foregroundFraction: foreground / labels.data.length,
    scale,
  };
  await writeManifest(out, stem, { ...key, source: resolve(file), summary, cellsCsv: rows, outputs });
  return { summary, cellsCsv: rows, outputs: [...outputs, manifestFileName(stem)], reused: false };
}
