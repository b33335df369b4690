/**
 * Exports a saved model for other programs, as `pyocyte export` does: a self-contained ONNX file
 * (raw pixels in, probabilities and mask out) and a bioimage.io model package around it.
 */
import { DEFAULT_OVERLAP_THRESHOLD } from '../infer/star-convex.js';
import { RAY_UNIT_PX } from '../data/star-distances.js';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { createEngine } from '../engine/index.js';
import { drawOverlay } from '../image/overlay.js';
import type { RasterImage } from '../image/types.js';
import { intensityScalingOf } from '../nn/types.js';
import { PREDICT_DEFAULTS } from '../infer/options.js';
import { modelInput } from '../infer/model-input.js';
import { planImageTiles, predictOutputs, probabilitiesOfOutputs, probabilitiesToLabels } from '../infer/predict.js';
import { bioimageioZip, type ImageTensor } from '../io/bioimageio.js';
import { readImage } from '../io/image/image-io.js';
import { loadModel, resolveModelPath, runFolderOf } from '../io/model-file.js';
import { exportOnnx, onnxIrVersion } from '../io/onnx-export.js';
import { outputHeadsOf } from '../io/onnx-metadata.js';
import type { OnnxInputType } from '../io/onnx-pipeline.js';
import type { Model } from '../nn/model.js';
import { synthesizeSmear } from '../synth/smear.js';
import { fail } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { checkName } from '../util/registry.js';
import type { ExportOptionFields } from './options.generated.js';
import { EXPORT_DEFAULTS, EXPORT_FORMATS } from './options.js';

/** Options of {@link exportModel}, documented in EXPORT_OPTIONS (./options.ts). */
export interface ExportOptions extends ExportOptionFields {}

/** One file {@link exportModel} wrote. */
export interface ExportedFile {
  format: 'onnx' | 'bioimageio';
  out: string;
  bytes: number;
}

/** What {@link exportModel} wrote. */
export interface ExportResult {
  files: ExportedFile[];
  opsetVersion: number;
  irVersion: number;
  /** `image: float32[N, 3, H, W]`. */
  input: string;
  /** `probabilities[N, 1, H, W], mask uint8[N, 1, H, W]`. */
  outputs: string;
}

/**
 * The mirrored context the self-contained graph reads around an image: the one pyocyte's tiling
 * reads around a one-tile image at the default tile size (the net's margin when unpadded).
 */
export function exportContextMargin(model: Model): number {
  return -planImageTiles(model, { width: 1, height: 1 }).tiles[0].x;
}

/** Where each instance method's seeds are among the graph's outputs (the `distance` head otherwise). */
const SEED_OUTPUTS = { threeClass: 'probabilities[:, 1] (interior)', starDist: 'centre', centres: 'centres' } as const;

/**
 * Facts about prediction that go into the ONNX metadata: the tiling, and how cells are drawn from
 * the outputs (the model's instance rule, else the distance-transform watershed of the mask).
 */
function predictionFacts(model: Model): Record<string, unknown> {
  const rule = model.metadata.instances;
  const cells =
    rule && rule.method !== 'watershed'
      ? {
          name: rule.method,
          decoder:
            rule.decoder === 'watershed' ? 'distanceWatershed' : rule.decoder === 'starDist' ? 'starConvexPolygons' : 'seededWatershed',
          seedThreshold: rule.seedThreshold,
          ...(rule.decoder === 'starDist'
            ? {
                overlapThreshold: rule.overlapThreshold ?? DEFAULT_OVERLAP_THRESHOLD,
                rays: `ray k at angle 2πk/R from +x towards +y, length in pixels = output × ${RAY_UNIT_PX}; centre score = output ÷ √R`,
              }
            : {}),
          splitSeeds: rule.splitSeeds ?? false,
          ...(rule.peakHeightPx !== undefined && rule.decoder !== 'watershed'
            ? {
                peakHeightPx: rule.peakHeightPx,
                peaks: "h-maxima of (Euclidean distance to background × seeds), Gaussian σ 1 px; lengths in the network's pixels",
              }
            : {}),
          minSizePx: rule.minSizePx,
          // centres splits each class of the mask on its own, from the same heatmap.
          input: rule.decoder === 'centres' ? 'mask == c, for each class c > 0' : 'mask > 0',
          ...(rule.decoder === 'watershed'
            ? {}
            : {
                seeds: SEED_OUTPUTS[rule.method as keyof typeof SEED_OUTPUTS] ?? 'distance',
              }),
        }
      : { name: 'distanceWatershed', minSizePx: PREDICT_DEFAULTS.minSizePx, input: 'mask > 0' };
  return {
    tiling: { tileSize: PREDICT_DEFAULTS.tileSize, overlapFraction: PREDICT_DEFAULTS.overlapFraction, blending: 'gaussian' },
    instanceMethod: cells,
  };
}

/** The self-contained ONNX bytes of a model, as `pyocyte export` writes them. */
export async function exportImageOnnx(
  model: Model,
  options: { opsetVersion?: number; inputType?: OnnxInputType } = {},
): Promise<Uint8Array> {
  return exportOnnx(model, { ...options, contextMargin: exportContextMargin(model), metadata: predictionFacts(model) });
}

/** The test image: the sample file, or a synthetic smear with the model's channel count. */
async function sampleImage(model: Model, sample: string | undefined): Promise<RasterImage> {
  if (sample) return readImage(sample);
  const { image } = synthesizeSmear({ width: 256, height: 192, seed: 7 });
  const channels = model.metadata.channels ? Math.max(...model.metadata.channels) + 1 : model.config.inChannels;
  const pixels = image.width * image.height;
  const data = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) for (let c = 0; c < channels; c++) data[p * channels + c] = image.data[p * 3 + (c % 3)];
  return { width: image.width, height: image.height, channels, bitDepth: 8, data };
}

/**
 * The graph input `[1, C, H, W]` of a raster: the model's channels, planar, in the input type. A
 * model that scales by bit depth (trained before the range rule) has a float32 graph that takes its
 * input as 16-bit values (io/onnx-pipeline.ts), so an 8-bit image goes in as its 16-bit equivalent
 * (v × 257, which ÷ 65535 is v ÷ 255, as pyocyte scales the 8-bit file).
 */
function rawTensor(model: Model, raster: RasterImage, inputType: OnnxInputType, file: string): ImageTensor {
  if (inputType === 'uint8' && raster.bitDepth !== 8)
    fail(`${file} is ${raster.bitDepth}-bit but the export's input type is uint8; use --input-type float32`);
  const byBitDepth = inputType === 'float32' && intensityScalingOf(model.metadata.normalization) === 'bitDepth';
  if (byBitDepth && raster.bitDepth === 32)
    fail(
      `${file} holds floats, which this model (trained before per-image value ranges) takes as stored while its float32 ONNX input is taken as 16-bit; give an 8- or 16-bit test image with --sample`,
      { file },
    );
  const factor = byBitDepth && raster.bitDepth === 8 ? 257 : 1;
  const chosen = model.metadata.channels ?? Array.from({ length: model.config.inChannels }, (_, c) => c);
  if (chosen.some((c) => c >= raster.channels))
    fail(`${file} has ${raster.channels} channels but the model reads channels ${chosen.join(', ')}`);
  const plane = raster.width * raster.height;
  const data = inputType === 'uint8' ? new Uint8Array(chosen.length * plane) : new Float32Array(chosen.length * plane);
  chosen.forEach((c, k) => {
    for (let p = 0; p < plane; p++) data[k * plane + p] = raster.data[p * raster.channels + c] * factor;
  });
  return { data, shape: [1, chosen.length, raster.height, raster.width] };
}

/** The bioimage.io package of a model around its ONNX bytes, with pyocyte's own predictions as test outputs. */
async function bioimageioPackage(model: Model, onnx: Uint8Array, options: ExportOptions, name: string): Promise<Uint8Array> {
  const inputType = checkName({ uint8: 1, float32: 1 }, options.inputType ?? EXPORT_DEFAULTS.inputType, 'ONNX input type');
  const file = options.sample ?? 'the synthetic sample';
  const raster = await sampleImage(model, options.sample);
  const tiles = planImageTiles(model, raster).tiles.length;
  // pyocyte tiles a larger image while the ONNX graph takes it whole: the test outputs would differ.
  if (tiles > 1)
    fail(
      `${file} is ${raster.width}×${raster.height}, which predict splits into ${tiles} tiles; crop it to at most ${PREDICT_DEFAULTS.tileSize - 64} px a side for the test tensors`,
      { file },
    );
  const testInput = rawTensor(model, raster, inputType, file);
  const image = modelInput(raster, model, { file });
  const outputs = await predictOutputs(model, image, { tta: false });
  const map = probabilitiesOfOutputs(model, outputs);
  const heads = outputHeadsOf(model);
  // pyocyte's mask (the union of cells for a model trained for separation), as the graph decides it.
  const labels = probabilitiesToLabels(map, model.metadata.threshold);
  const plane = raster.width * raster.height;
  const headTensor = (head: (typeof heads)[number]) => ({
    data: outputs.data.slice(head.first * plane, head.end * plane),
    shape: [1, head.end - head.first, raster.height, raster.width] as [number, number, number, number],
  });
  const { width, height } = raster;
  const overlay = drawOverlay(image, labels);
  // bioimage.io recommends 2:1 covers: the centre of the overlay at that aspect ratio.
  const coverWidth = Math.min(width, 2 * height);
  const coverHeight = Math.max(1, Math.floor(coverWidth / 2));
  const cover = await sharp(overlay.data, { raw: { width, height, channels: overlay.channels as 3 } })
    .extract({ left: (width - coverWidth) >> 1, top: (height - coverHeight) >> 1, width: coverWidth, height: coverHeight })
    .png()
    .toBuffer();
  return bioimageioZip(model, {
    onnx,
    opsetVersion: options.opsetVersion ?? EXPORT_DEFAULTS.opsetVersion,
    inputType,
    heads,
    testInput,
    testOutputs: {
      probabilities: headTensor(heads[0]),
      mask: { data: labels, shape: [1, 1, height, width] },
      heads: Object.fromEntries(heads.slice(1).map((head) => [head.name, headTensor(head)])),
    },
    cover: new Uint8Array(cover),
    name,
    description:
      options.description ??
      `U-Net for ${model.metadata.task} segmentation of ${model.metadata.classNames.slice(1).join(', ')} in microscopy images, trained with pyocyte.`,
    authors: (options.authors ?? EXPORT_DEFAULTS.authors)
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean),
    license: options.license ?? EXPORT_DEFAULTS.license,
    tags: ['pyocyte', 'unet', 'segmentation', '2d', 'onnx', 'microscopy', 'cells'],
  });
}

/**
 * Writes a model as a self-contained ONNX file and/or a bioimage.io package, atomically, in the
 * run's folder by default (beside its model folder, which saving a model replaces whole).
 */
export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  const format = checkName(EXPORT_FORMATS, options.format ?? EXPORT_DEFAULTS.format, 'export format');
  const opsetVersion = options.opsetVersion ?? EXPORT_DEFAULTS.opsetVersion;
  const inputType = checkName({ uint8: 1, float32: 1 }, options.inputType ?? EXPORT_DEFAULTS.inputType, 'ONNX input type');
  const networkOnly = options.networkOnly ?? EXPORT_DEFAULTS.networkOnly;
  const logits = options.logits ?? EXPORT_DEFAULTS.logits;
  if (logits && !networkOnly) fail('--logits needs --network-only: the self-contained graph always outputs probabilities');
  if (networkOnly && format !== 'onnx') fail('--network-only exports the ONNX of the network alone: add --format onnx');
  const irVersion = onnxIrVersion(opsetVersion);
  const modelFile = resolveModelPath(options.model);
  // Export reads weights and predicts one small test image: the native engine when built (fast),
  // else the reference one without a warning (nothing here is slow enough to need the addon).
  const model = await loadModel(modelFile, { engine: createEngine({ backend: 'auto', warn: () => {} }) });
  const onnx = networkOnly
    ? await exportOnnx(model, { opsetVersion, networkOnly, includeActivation: !logits })
    : await exportImageOnnx(model, { opsetVersion, inputType });
  const folder = options.out ?? runFolderOf(modelFile);
  const name = options.name ?? basename(runFolderOf(modelFile));
  const files: ExportedFile[] = [];
  if (format !== 'bioimageio') {
    await writeFileAtomic(join(folder, 'model.onnx'), onnx);
    files.push({ format: 'onnx', out: join(folder, 'model.onnx'), bytes: onnx.length });
  }
  if (format !== 'onnx') {
    const zip = await bioimageioPackage(model, onnx, options, name);
    const out = join(folder, `${name.replace(/[^\w.-]+/g, '-')}.zip`);
    await writeFileAtomic(out, zip);
    files.push({ format: 'bioimageio', out, bytes: zip.length });
  }
  const { inChannels, classes } = model.config;
  const heads = networkOnly ? [] : outputHeadsOf(model).slice(1);
  return {
    files,
    opsetVersion,
    irVersion,
    input: networkOnly
      ? `input: float32[N, ${inChannels}, H, W] normalised, valid sizes only`
      : `image: ${inputType}[N, ${inChannels}, H, W], any H and W`,
    outputs: networkOnly
      ? `${logits ? 'logits' : 'probabilities'}[N, ${classes}, h, w]`
      : [
          `probabilities[N, ${classes}, H, W]`,
          'mask uint8[N, 1, H, W]',
          ...heads.map((h) => `${h.name}[N, ${h.end - h.first}, H, W]`),
        ].join(', '),
  };
}
