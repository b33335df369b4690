/**
 * The options of the end-to-end jobs: evaluate, predict files, demo, patchify, export. Their
 * interfaces are generated from these tables into options.generated.ts (see src/util/options.ts).
 */
import { ENGINE_OPTIONS } from '../engine/options.js';
import { MASK_POLARITIES } from '../data/masks.js';
import { PREDICT_OPTIONS } from '../infer/options.js';
import { DEFAULT_ONNX_OPSET } from '../io/onnx-export.js';
import { ONNX_INPUT_TYPES } from '../io/onnx-pipeline.js';
import { defaultsOf, defineOptions, omitOptions } from '../util/options.js';

/** Which images of a dataset's split `evaluate` scores. */
export const SUBSETS = { train: 'train', val: 'val', test: 'test', all: 'all' } as const;
export type SubsetName = keyof typeof SUBSETS;

/** The formats `pyocyte export` writes. */
export const EXPORT_FORMATS = {
  all: 'both of the below',
  onnx: 'model.onnx, self-contained (raw pixels in, probabilities and mask out), for onnxruntime in Python, Node, the browser',
  bioimageio: 'NAME.zip, a bioimage.io model package (format 0.5) for deepImageJ/Fiji, ilastik, QuPath, BiaPy',
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
  images: { type: 'number', default: 40, doc: 'smears to synthesise (at least 8): ⅛ validation, ⅛ test, the rest training' },
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
  format: { type: 'string', short: 'f', choices: EXPORT_FORMATS, what: 'export format', default: 'all', doc: 'what to write' },
  out: { type: 'string', short: 'o', placeholder: 'DIR', defaultText: 'the run folder', doc: 'folder the files go to' },
  opsetVersion: { type: 'number', flag: 'opset', default: DEFAULT_ONNX_OPSET, doc: 'ONNX opset version (13 to 21)' },
  inputType: {
    type: 'string',
    choices: ONNX_INPUT_TYPES,
    what: 'ONNX input type',
    default: 'float32',
    doc: "element type of the graph's raw-pixel input",
  },
  networkOnly: {
    type: 'boolean',
    default: false,
    doc: 'ONNX of the network alone (normalised input of a valid size, as before the self-contained graph); not for bioimageio',
  },
  logits: { type: 'boolean', default: false, doc: 'with --network-only: output raw logits instead of probabilities' },
  name: {
    type: 'string',
    placeholder: 'NAME',
    defaultText: 'the run folder name',
    doc: 'bioimage.io: model name (also the zip file name)',
  },
  description: {
    type: 'string',
    placeholder: 'TEXT',
    defaultText: 'generated from the model',
    doc: 'bioimage.io: one-paragraph description',
  },
  authors: { type: 'string', placeholder: 'NAMES', default: 'pyocyte user', doc: 'bioimage.io: comma-separated author names' },
  license: { type: 'string', placeholder: 'SPDX', default: 'CC-BY-4.0', doc: 'bioimage.io: licence of the weights (SPDX identifier)' },
  sample: {
    type: 'string',
    placeholder: 'IMAGE',
    defaultText: 'a synthetic smear',
    doc: 'bioimage.io: image file for the test and sample tensors and the cover (at most 512 px a side is best: it is one tile)',
  },
});
export const EXPORT_DEFAULTS = defaultsOf(EXPORT_OPTIONS);
