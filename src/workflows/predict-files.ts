import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { decodeImage, writeImage } from '../io/image/image-io.js';
import { readerNote } from '../data/samples.js';
import { previewImage, toFloatImage } from '../io/image/convert.js';
import { intensityScalingOf } from '../data/normalize.js';
import { isImageFile } from '../io/image/formats.js';
import { labelsToMask } from '../data/value-map.js';
import type { RasterImage } from '../image/types.js';
import { createEngine } from '../engine/index.js';
import { loadModel, resolveModelPath } from '../io/model-file.js';
import type { Model } from '../nn/model.js';
import { createProgress, type ProgressStream } from '../util/progress.js';
import { PyocyteError, PyocyteErrors, fail } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { cellsCsv, measureCells } from '../infer/cells.js';
import { csvField } from '../util/csv.js';
import { drawOverlay } from '../image/overlay.js';
import { type ProbabilityMap, predictProbabilities } from '../infer/predict.js';
import type { PredictFilesOptionFields } from './options.generated.js';
import { segment } from '../infer/segment.js';

/** Options of {@link predictFiles}; the docs and defaults of most are in PREDICT_FILES_OPTIONS (./options.ts). */
export interface PredictFilesOptions extends Omit<PredictFilesOptionFields, 'model'> {
  /** A model folder or file, or a loaded model. */
  model: string | Model;
  /** Image files and folders of images. */
  inputs: readonly string[];
  /** Where notes and warnings go; default stderr. */
  log?: (line: string) => void;
  /** Where the progress display goes (default stderr); null shows none. */
  progressStream?: ProgressStream | null;
}

export interface PredictFilesResult {
  images: { image: string; width: number; height: number; cells: number; foregroundFraction: number }[];
  failed: string[];
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

/** A probability map as a 16-bit gray PNG (0–65535 ↔ 0–1), one channel of a planar map. */
function probabilityRaster(map: ProbabilityMap, channel: number): RasterImage {
  const plane = map.width * map.height;
  const data = new Uint16Array(plane);
  for (let i = 0; i < plane; i++) data[i] = Math.round(Math.min(1, Math.max(0, map.data[channel * plane + i])) * 65535);
  return { width: map.width, height: map.height, channels: 1, bitDepth: 16, data };
}

/**
 * Segments image files of any size and writes, per image: the mask (drawn like the training
 * masks), the probability map, an overlay of cell contours, and an instance label image; plus
 * cells.csv (one row per cell) and summary.csv (cell counts). A bad image is reported and skipped;
 * the others are still written.
 */
export async function predictFiles(options: PredictFilesOptions): Promise<PredictFilesResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (typeof options.model === 'string') resolveModelPath(options.model);  // fail before any engine starts
  const files = await collectImages(options.inputs);
  const model = typeof options.model === 'string'
    ? await loadModel(options.model, { engine: createEngine({ backend: options.engine, threads: options.threads, precision: options.precision, warn: log }) })
    : options.model;
  const { metadata } = model;
  const threshold = options.threshold ?? metadata.threshold;
  const pixelSizeUm = options.pixelSizeUm ?? metadata.pixelSizeUm;
  const progress = options.progressStream === null ? undefined : createProgress({ total: files.length, label: 'predict', stream: options.progressStream });
  const used = new Set<string>();
  const cellRows: string[] = [];
  const result: PredictFilesResult = { images: [], failed: [], out: options.out };
  for (const [index, file] of files.entries()) {
    let stem = basename(file, extname(file));
    for (let k = 2; used.has(stem); k++) stem = `${basename(file, extname(file))}_${k}`;
    used.add(stem);
    try {
      const { image: raster, info } = await decodeImage(file);
      const readNote = readerNote(file, info);
      if (readNote) log(`note: ${readNote}`);
      const image = toFloatImage(raster, {
        file, channels: options.channels ?? metadata.channels, scaling: intensityScalingOf(metadata.normalization), nonFinite: 'fill', onWarning: (w) => log(`warning: ${w}`),
      });
      const map = await predictProbabilities(model, image, { ...options, pixelSizeUm: options.pixelSizeUm });
      const segmentation = segment(map, { threshold, minSizePx: options.minSizePx, postprocessing: options.postprocessing ?? metadata.postprocessing });
      const { labels: { data: labels }, instances: { data: instances, count } } = segmentation;
      const { width, height } = image;
      await writeImage(join(options.out, `${stem}_mask.png`), labelsToMask(segmentation.labels, metadata.mask ?? {}));
      for (let k = map.channels === 1 ? 0 : 1; k < map.channels; k++) {
        const suffix = map.channels === 1 ? '' : `_${metadata.classNames[k] ?? k}`;
        await writeImage(join(options.out, `${stem}_probability${suffix}.png`), probabilityRaster(map, k));
      }
      const overlayLabels = map.channels === 1 ? instances : labels;
      await writeImage(join(options.out, `${stem}_overlay.png`), drawOverlay(previewImage(image), overlayLabels, { thickness: Math.max(1, Math.round(Math.min(width, height) / 400)) }));
      const sixteenBit = count <= 65535;
      const instanceRaster: RasterImage = sixteenBit
        ? { width, height, channels: 1, bitDepth: 16, data: Uint16Array.from(instances) }
        : { width, height, channels: 1, bitDepth: 32, data: Float32Array.from(instances) };
      await writeImage(join(options.out, `${stem}_instances.${sixteenBit ? 'png' : 'tif'}`), instanceRaster);
      cellRows.push(cellsCsv(measureCells(segmentation.instances, { pixelSizeUm }), { pixelSizeUm, image: stem, header: false }));
      let foreground = 0;
      for (let i = 0; i < labels.length; i++) foreground += labels[i] > 0 ? 1 : 0;
      result.images.push({ image: stem, width, height, cells: count, foregroundFraction: foreground / labels.length });
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      result.failed.push(`${file}: ${error.message}`);
      progress?.log(`skipped ${file}: ${error.message}`);
    }
    progress?.update(index + 1, { image: stem });
  }
  progress?.done();
  const header = cellsCsv([], { image: '', pixelSizeUm }).trim();
  await writeFileAtomic(join(options.out, 'cells.csv'), `${header}\n${cellRows.join('')}`);
  const summary = ['image,width,height,cell_count,foreground_fraction',
    ...result.images.map((r) => `${csvField(r.image)},${r.width},${r.height},${r.cells},${r.foregroundFraction.toFixed(6)}`)];
  await writeFileAtomic(join(options.out, 'summary.csv'), `${summary.join('\n')}\n`);
  if (result.images.length === 0 && result.failed.length > 0) throw new PyocyteErrors('no image could be predicted', result.failed);
  return result;
}
