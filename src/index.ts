/**
 * pyocyte's library API. Every function takes one options object with documented defaults.
 * The CLI (`pyocyte <command>`) is a thin layer over these.
 */
export { createEngine, nativeAvailability, BACKENDS, type BackendName, type EngineOptions } from './engine/index.js';
export type * from './engine/types.js';
export { unet, Model, type ModelMetadata, type TrainingOptions, type StepResult } from './nn/model.js';
export { UNet, unetOutputSize, validTileSizes, nextValidTileSize, type UNetConfig } from './nn/unet.js';
export { LOSSES, type LossName } from './nn/losses.js';
export { OPTIMIZERS, type OptimizerName } from './nn/optimizers.js';
export { train, resumeTraining, type TrainHooks, type TrainResult } from './workflows/train.js';
export { TRAIN_DEFAULTS, type TrainOptions } from './train/options.js';
export { SCHEDULES, type ScheduleName } from './train/schedules.js';
export { evaluate, type EvaluateOptions } from './workflows/evaluate.js';
export { predictProbabilities, probabilitiesToLabels, type PredictOptions, type ProbabilityMap } from './infer/predict.js';
export { PREDICT_DEFAULTS } from './infer/options.js';
export { exportModel, type ExportOptions } from './workflows/export.js';
export { predictFiles, type PredictFilesOptions } from './workflows/predict-files.js';
export { predictImageFile, assignStems, type PredictImageFileOptions, type ImagePrediction } from './workflows/predict-image.js';
export { predictOnQueue, type QueuePredictOptions } from './workflows/queue/submit.js';
export { runWorker, type QueueWorkerOptions } from './workflows/queue/worker.js';
export { queueStatus } from './workflows/queue/status.js';
export { modelSha256 } from './io/model-hash.js';
export { segment, type Segmentation } from './infer/segment.js';
export { splitTouching } from './infer/instances.js';
export { measureCells } from './infer/cells.js';
export { cellsCsv } from './io/prediction-outputs.js';
export { labelComponents } from './image/components.js';
export { distanceTransform } from './image/distance.js';
export { planTiles, blendWeights } from './infer/tiling.js';
export { saveModel, loadModel } from './io/model-file.js';
export { exportOnnx } from './io/onnx-export.js';
export { readImage, writeImage } from './io/image/image-io.js';
export { toFloatImage } from './io/image/convert.js';
export { discoverDataset } from './data/dataset.js';
export { loadSample, loadSamples } from './data/samples.js';
export { openDataset, type DatasetOptions } from './data/prepare.js';
export { splitStems, readSplitFile, type Split } from './data/split.js';
export { maskToLabels } from './data/masks.js';
export { labelsToMask, parseValueMap } from './data/value-map.js';
export { createLoader, type LoaderOptions } from './data/loader.js';
export { AUGMENT_PRESETS, augmentPatch, drawAugmentation } from './augment/pipeline.js';
export { computeNormalization, normalizeImage } from './data/normalize.js';
export { synthesizeSmear } from './synth/smear.js';
export { writeSyntheticDataset } from './synth/dataset.js';
export { checkDataset } from './data/check.js';
export { formatSummary } from './data/check-format.js';
export { confusionMatrix, pixelMetrics, summarizeImages, bestThreshold } from './metrics/pixel.js';
export { matchInstances, objectSummary } from './metrics/objects.js';
export {
  matchAtThresholds,
  matchingScores,
  sumCounts,
  dsb2018Score,
  countErrors,
  MATCHING_THRESHOLDS,
  DSB2018_THRESHOLDS,
} from './metrics/matching.js';
export { trueInstances } from './data/true-instances.js';
export { runDemo, type DemoOptions } from './workflows/demo.js';
export { PyocyteError } from './util/errors.js';
export type { Sample } from './data/types.js';
export type { Batch, Normalization, Task } from './nn/types.js';
export type { RasterImage, FloatImage } from './image/types.js';
export type { Plane, PlaneSize, PixelGrid, PlanarImage, PixelArray } from './image/plane.js';
export type { InstanceLabels } from './image/components.js';
