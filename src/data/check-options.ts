/** `pyocyte data check`'s options: how {@link checkDataset} reads the dataset it checks. */
import { fail } from '../util/errors.js';
import { type Fits, type OptionValues, defineOptions } from '../util/options.js';
import type { CheckOptions } from './check.js';
import { CHANNELS_OPTION, DATASET_OPTIONS, TASKS } from './dataset-options.js';
import { MASK_POLARITIES, STRAY_VALUE_POLICIES } from './masks.js';
import { parseValueMap } from './value-map.js';

/** `--max-megapixels 100` → 100e6 pixels. */
function megapixels(text: string, flag: string): number {
  const value = Number(text);
  if (!(value > 0)) fail(`option --${flag} needs a positive number of megapixels, got '${text}'`);
  return value * 1e6;
}

export const CHECK_OPTIONS = defineOptions({
  task: { type: 'string', choices: TASKS, defaultText: 'binary', doc: 'binary (objects vs background) or multiclass' },
  polarity: {
    type: 'string',
    flag: 'mask-polarity',
    choices: MASK_POLARITIES,
    defaultText: 'auto',
    doc: 'which colour the objects are in two-valued masks',
  },
  valueMap: {
    type: 'string',
    placeholder: 'MAP',
    parse: parseValueMap,
    tsType: 'ReturnType<typeof parseValueMap>',
    doc: 'mask value → class, e.g. 0:background,128:cytoplasm,255:nucleus',
  },
  threshold: {
    type: 'number',
    flag: 'mask-threshold',
    doc: 'binarise gray masks: foreground above this value (or below, with --mask-polarity black)',
  },
  strayValues: { type: 'string', choices: STRAY_VALUE_POLICIES, defaultText: 'error', doc: 'mask values missing from --value-map' },
  pixelSizeUm: { type: 'number', flag: 'pixel-size', placeholder: 'UM', doc: 'micrometres per pixel of the images' },
  targetPixelSizeUm: { type: 'number', flag: 'target-pixel-size', placeholder: 'UM', doc: 'resample to this many micrometres per pixel' },
  scale: { type: 'number', doc: 'resample by this factor (0.5 halves each side)' },
  maxPixels: { type: 'number', flag: 'max-megapixels', parse: megapixels, defaultText: '100', doc: 'refuse larger images' },
  instances: { type: 'boolean', flag: 'instance-masks', doc: 'read masks as instance label images (0 = background, one value per object)' },
  allowMissingMasks: { type: 'boolean', doc: 'accept images without masks (e.g. for prediction only)' },
  channels: CHANNELS_OPTION,
  classes: DATASET_OPTIONS.classes,
  ranges: { type: 'boolean', doc: "list every image's value range (by default up to 30 are listed)" },
});

// CheckOptions is written by hand in check.ts; this fails to compile when the table stops matching it.
// `classes` is for annotated datasets (src/data/annotations/check.ts).
export type CheckOptionsFit = Fits<Omit<OptionValues<typeof CHECK_OPTIONS>, 'valueMap' | 'ranges' | 'classes'>, CheckOptions>;
