/** How a dataset folder is read: the options train, evaluate and `data check` share. */
import type { Task } from '../nn/types.js';
import { fail } from '../util/errors.js';
import { type Fits, type OptionValues, defineOptions } from '../util/options.js';
import { MASK_KINDS, MASK_POLARITIES, STRAY_VALUE_POLICIES } from './masks.js';
import type { DatasetOptions } from './prepare.js';

/** The segmentation tasks. */
export const TASKS = { binary: 'objects vs background (sigmoid)', multiclass: 'several classes (softmax)' } as const satisfies Record<
  Task,
  string
>;

/** `30,5,5` (or `30/5/5`) → `[30, 5, 5]`. */
export function parseSplitCounts(text: string, flag = 'split-counts'): [number, number, number] {
  const parts = text.split(/[,/]/).map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 0))
    fail(`--${flag} must be three whole numbers like 30,5,5; got '${text}'`);
  return parts as [number, number, number];
}

/** `0,2` → `[0, 2]`: channel numbers from 0, in the order given. */
export function parseChannels(text: string, flag = 'channels'): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) fail(`--${flag} must list channel numbers from 0, like 0,2; got '${text}'`);
  return parts.map(Number);
}

/** The `--channels` option: which of the image files' channels the model sees. */
export const CHANNELS_OPTION = {
  type: 'string',
  placeholder: 'LIST',
  parse: parseChannels,
  tsType: 'number[]',
  defaultText: 'all but alpha',
  doc: "the image files' channels to use, 0-based, in order (e.g. 0,2); stored in the model",
} as const;

/** The {@link DatasetOptions} a command line can set. */
export const DATASET_OPTIONS = defineOptions({
  task: {
    type: 'string',
    choices: TASKS,
    defaultText: 'binary, or multiclass with --value-map',
    doc: 'binary (objects vs background) or multiclass',
  },
  maskPolarity: {
    type: 'string',
    choices: MASK_POLARITIES,
    defaultText: 'auto (the minority)',
    doc: 'which colour the objects are in two-valued masks',
  },
  maskKind: {
    type: 'string',
    choices: MASK_KINDS,
    defaultText: 'auto',
    doc: 'whether masks are binary or instance label images (a two-valued mask is binary unless this says instances)',
  },
  valueMap: { type: 'string', placeholder: 'MAP', doc: 'mask value → class, e.g. 0:background,128:cytoplasm,255:nucleus' },
  strayValues: { type: 'string', choices: STRAY_VALUE_POLICIES, defaultText: 'error', doc: 'mask values missing from --value-map' },
  maskThreshold: { type: 'number', doc: 'binarise gray masks at this value' },
  splitFile: {
    type: 'string',
    flag: 'split',
    placeholder: 'FILE',
    defaultText: 'DIR/split.json if present',
    doc: 'a split.json of {train, val, test} image names',
  },
  splitCounts: {
    type: 'string',
    placeholder: 'N,N,N',
    parse: parseSplitCounts,
    tsType: '[number, number, number]',
    defaultText: '70/15/15 %',
    doc: 'train,val,test image counts when there is no split.json, e.g. 30,5,5',
  },
  pixelSizeUm: { type: 'number', flag: 'pixel-size', placeholder: 'UM', doc: 'micrometres per pixel of the images' },
  targetPixelSizeUm: {
    type: 'number',
    flag: 'target-pixel-size',
    placeholder: 'UM',
    doc: 'resample the images to this many micrometres per pixel on load',
  },
  imageScale: {
    type: 'number',
    placeholder: 'FACTOR',
    defaultText: 'the median box brought to 22 px across',
    doc: 'box/point annotations without a pixel size: resample the images by this factor for the network (1: full resolution); the model records it and predict resamples new images the same way',
  },
  channels: CHANNELS_OPTION,
  classes: {
    type: 'string',
    placeholder: 'LIST',
    parse: (text: string) =>
      text
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
    tsType: 'string[]',
    defaultText: "every annotation label's class",
    doc: 'box/point annotations: the classes to keep as objects, e.g. pus (others become background)',
  },
  cellDiameterPx: {
    type: 'number',
    flag: 'cell-diameter',
    placeholder: 'PX',
    defaultText: "from the class's boxes",
    doc: 'box/point annotations: diameter in pixels of a cell marked by a point',
  },
});

// DatasetOptions is written by hand in prepare.ts; this fails to compile when the table stops matching it.
export type DatasetOptionsFit = Fits<OptionValues<typeof DATASET_OPTIONS>, DatasetOptions>;
