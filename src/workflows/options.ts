/**
 * The options of the end-to-end jobs: evaluate, predict files, demo, patchify, export. Their
 * interfaces are generated from these tables into options.generated.ts (see src/util/options.ts).
 */
import { ENGINE_OPTIONS } from '../engine/options.js';
import { MASK_POLARITIES } from '../data/masks.js';
import { PREDICT_OPTIONS } from '../infer/options.js';
import { DEFAULT_ONNX_OPSET } from '../io/onnx-export.js';
import { defaultsOf, defineOptions, omitOptions } from '../util/options.js';

/** Which images of a dataset's split `evaluate` scores. */
export const SUBSETS = { train: 'train', val: 'val', test: 'test', all: 'all' } as const;
export type SubsetName = keyof typeof SUBSETS;

/** The formats `pyocyte export` writes. */
export const EXPORT_FORMATS = {
  onnx: 'ONNX opset 13–21, for onnxruntime (Python, Node, web), OpenCV DNN, TensorRT',
} as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;

const MODEL = {
  type: 'string',
  required: true,
  short: 'm',
  placeholder: 'RUN',
  doc: "a training run's folder, a checkpoint folder, or its model.json",
} as const;

export const EVALUATE_OPTIONS = defineOptions({
  model: MODEL,
  data: { type: 'string', required: true, placeholder: 'DIR', doc: 'dataset folder with images and masks' },
  subset: {
    type: 'string',
    choices: SUBSETS,
    default: 'test',
    doc: 'which images of the split to score (all of them when the split has no test images)',
  },
  out: {
    type: 'string',
    short: 'o',
    placeholder: 'DIR',
    defaultText: "the model's folder /eval-<subset>",
    doc: 'where report.json, report.md and per_image.csv go',
  },
  iouThreshold: { type: 'number', default: 0.5, doc: 'IoU for a predicted cell to match a true one (object detection scores)' },
  ...PREDICT_OPTIONS,
  ...ENGINE_OPTIONS,
});
export const EVALUATE_DEFAULTS = defaultsOf(EVALUATE_OPTIONS);

export const PREDICT_FILES_OPTIONS = defineOptions({
  model: MODEL,
  out: { type: 'string', required: true, short: 'o', placeholder: 'DIR', doc: 'output folder' },
  ...PREDICT_OPTIONS,
  ...ENGINE_OPTIONS,
});

export const DEMO_OPTIONS = defineOptions({
  out: { type: 'string', short: 'o', placeholder: 'DIR', default: 'pyocyte-demo', doc: 'working folder: data, run, predictions' },
  minutes: { type: 'number', default: 3, doc: 'training budget in minutes' },
  seed: { type: 'number', default: 1, doc: 'random seed of the data and the training' },
  ...omitOptions(ENGINE_OPTIONS, 'precision'),
});
export const DEMO_DEFAULTS = defaultsOf(DEMO_OPTIONS);

export const PATCHIFY_OPTIONS = defineOptions({
  patchSize: { type: 'number', flag: 'size', default: 256, doc: 'patch side in pixels' },
  stride: { type: 'number', defaultText: '¾ of the patch size (192 for 256)', doc: 'pixels between patch origins' },
  perImage: { type: 'number', doc: 'a fixed number of evenly spread patches per image instead of a stride (the seed project used 15)' },
  maskPolarity: {
    type: 'string',
    choices: MASK_POLARITIES,
    defaultText: "the dataset's",
    doc: 'which colour the objects are in the masks; recorded in patches.json for training on the patches',
  },
});
export const PATCHIFY_DEFAULTS = defaultsOf(PATCHIFY_OPTIONS);

export const EXPORT_OPTIONS = defineOptions({
  model: MODEL,
  format: { type: 'string', short: 'f', choices: EXPORT_FORMATS, what: 'export format', default: 'onnx', doc: 'output format' },
  out: { type: 'string', short: 'o', placeholder: 'FILE', defaultText: 'RUN/model.onnx', doc: 'file to write' },
  opsetVersion: { type: 'number', flag: 'opset', default: DEFAULT_ONNX_OPSET, doc: 'ONNX opset version (13 to 21)' },
  logits: { type: 'boolean', default: false, doc: 'output raw logits instead of probabilities (no sigmoid/softmax)' },
});
export const EXPORT_DEFAULTS = defaultsOf(EXPORT_OPTIONS);
