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
export { train, resumeTraining, type TrainHooks, type TrainResult } from './train/fit.js';
export { TRAIN_DEFAULTS, type TrainOptions } from './train/options.js';
export { SCHEDULES, type ScheduleName } from './train/schedules.js';
export { evaluate, type EvaluateOptions } from './infer/evaluate.js';
export { predictProbabilities, probabilitiesToLabels, type PredictOptions, type ProbabilityMap } from './infer/predict.js';
export { predictFiles, type PredictFilesOptions } from './infer/predict-files.js';
export { segment, type Segmentation } from './infer/segment.js';
export { splitTouching, measureCells, cellsCsv, labelComponents, distanceTransform } from './infer/instances.js';
export { planTiles, blendWeights } from './infer/tiling.js';
export { saveModel, loadModel } from './io/model-file.js';
export { exportOnnx } from './io/onnx-export.js';
export { readImage, writeImage, toFloatImage } from './data/image-io.js';
export { discoverDataset, loadSample, loadSamples } from './data/dataset.js';
export { openDataset, type DatasetOptions } from './data/prepare.js';
export { splitStems, readSplitFile, type Split } from './data/split.js';
export { maskToLabels, labelsToMask, parseValueMap } from './data/masks.js';
export { createLoader, type LoaderOptions } from './data/loader.js';
export { AUGMENT_PRESETS, augmentPatch, drawAugmentation } from './data/augment.js';
export { computeNormalization, normalizeImage } from './data/normalize.js';
export { synthesizeSmear, writeSyntheticDataset } from './data/synth.js';
export { checkDataset, formatSummary } from './data/check.js';
export { confusionMatrix, pixelMetrics, summarizeImages, bestThreshold } from './metrics/pixel.js';
export { matchInstances, objectSummary } from './metrics/objects.js';
export { runDemo, type DemoOptions } from './demo.js';
export { PyocyteError } from './util/errors.js';
export type { RasterImage, FloatImage, Sample, Batch, Normalization, Task } from './data/types.js';
