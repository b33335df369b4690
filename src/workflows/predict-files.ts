import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine } from '../engine/index.js';
import { isImageFile } from '../io/image/formats.js';
import { loadModel, resolveModelPath } from '../io/model-file.js';
import { modelSha256 } from '../io/model-hash.js';
import { type ImageSummary, writeCellsCsv, writeSummaryCsv } from '../io/prediction-outputs.js';
import type { Model } from '../nn/model.js';
import { PyocyteError, PyocyteErrors, fail } from '../util/errors.js';
import { createProgress, type ProgressStream } from '../util/progress.js';
import type { PredictFilesOptionFields } from './options.generated.js';
import { assignStems, predictImageFile } from './predict-image.js';
import { workingScale } from '../infer/rescale.js';

/** Options of {@link predictFiles}; the docs and defaults of most are in PREDICT_FILES_OPTIONS (./options.ts). */
export interface PredictFilesOptions extends Omit<PredictFilesOptionFields, 'model'> {
  /** A model folder or file, or a loaded model. */
  model: string | Model;
  /** Image files and folders of images. */
  inputs: readonly string[];
  /**
   * Skip images whose outputs are already in `out`, computed from the same image bytes, model
   * files and settings (their `<stem>_manifest.json` says so). Default true; a loaded model
   * (not a path) has no file hash, so its images are always computed.
   */
  reuse?: boolean;
  /** Stops after the current image; summary.csv and cells.csv then cover the images done. */
  signal?: AbortSignal;
  /** Where notes and warnings go; default stderr. */
  log?: (line: string) => void;
  /** Where the progress display goes (default stderr); null shows none. */
  progressStream?: ProgressStream | null;
}

/** One predicted image of a batch: its summary.csv row. */
export type PredictedImage = Required<Pick<ImageSummary, 'image' | 'width' | 'height' | 'cells' | 'counts' | 'foregroundFraction'>>;

export interface PredictFilesResult {
  images: PredictedImage[];
  /** `<file>: <why>` for each image that could not be predicted. */
  failed: string[];
  /** How many images were already done (their manifest matched) and were not computed again. */
  reused: number;
  /** True when `signal` stopped the run before every image was done. */
  interrupted: boolean;
  out: string;
}

/** Image files named by the inputs: files as given, folders' images (not recursing; sorted). */
export async function collectImages(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) fail(`${input} does not exist`);
    if (statSync(input).isDirectory()) {
      const names = (await readdir(input)).filter((n) => !n.startsWith('.') && isImageFile(n)).sort();
      if (names.length === 0) fail(`${input} holds no images (${['.png', '.jpg', '.tif', '.bmp', '.webp'].join(', ')}, …)`);
      files.push(...names.map((n) => join(input, n)));
    } else {
      files.push(input);
    }
  }
  if (files.length === 0) fail('no images to predict; give image files or folders');
  return files;
}

/**
 * Writes a batch's summary.csv (one row per image in input order; failed images with their error)
 * and cells.csv (the cells of every predicted image). Local and queued prediction both end here.
 */
export async function writeBatchCsvs(out: string, rows: readonly ImageSummary[], cellsRows: readonly string[]): Promise<void> {
  await writeCellsCsv(out, cellsRows);
  await writeSummaryCsv(out, rows);
}

/**
 * Segments image files of any size and writes, per image: the mask (drawn like the training
 * masks), the probability map, an overlay of cell contours, an instance label image and a
 * manifest (see {@link predictImageFile}); plus cells.csv (one row per cell) and summary.csv (one
 * row per image: cell count, or the error of an image that failed). A bad image is reported and
 * skipped; the others are still written.
 * @throws PyocyteErrors when no image could be predicted (listing each file's problem).
 */
export async function predictFiles(options: PredictFilesOptions): Promise<PredictFilesResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (typeof options.model === 'string') resolveModelPath(options.model); // fail before any engine starts
  const files = await collectImages(options.inputs);
  const stems = assignStems(files);
  const hash = typeof options.model === 'string' ? (await modelSha256(options.model)).sha256 : null;
  const model =
    typeof options.model === 'string'
      ? await loadModel(options.model, {
          engine: createEngine({ backend: options.engine, threads: options.threads, precision: options.precision, warn: log }),
        })
      : options.model;
  const imageScale = workingScale(model, options);
  if (imageScale !== undefined)
    log(`note: images are resampled by ×${imageScale} for the network, as the model's training images were (its working scale)`);
  const progress =
    options.progressStream === null ? undefined : createProgress({ total: files.length, label: 'predict', stream: options.progressStream });
  const rows: ImageSummary[] = [];
  const cellsRows: string[] = [];
  const result: PredictFilesResult = { images: [], failed: [], reused: 0, interrupted: false, out: options.out };
  for (const [index, file] of files.entries()) {
    if (options.signal?.aborted) {
      result.interrupted = true;
      break;
    }
    const stem = stems[index];
    try {
      const prediction = await predictImageFile({ ...options, model, modelSha256: hash, image: file, stem, log });
      rows.push(prediction.summary);
      cellsRows.push(prediction.cellsCsv);
      result.images.push(prediction.summary);
      if (prediction.reused) result.reused++;
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      rows.push({ image: stem, error: error.message });
      result.failed.push(`${file}: ${error.message}`);
      progress?.log(`skipped ${file}: ${error.message}`);
    }
    progress?.update(index + 1, { image: stem });
  }
  progress?.done(
    result.reused > 0
      ? `${result.reused} image${result.reused === 1 ? ' was' : 's were'} already predicted in ${options.out} and kept`
      : undefined,
  );
  await writeBatchCsvs(options.out, rows, cellsRows);
  if (result.images.length === 0 && result.failed.length > 0) throw new PyocyteErrors('no image could be predicted', result.failed);
  return result;
}
