/** `pyocyte synth`'s options: what {@link writeSyntheticDataset} makes. */
import { fail } from '../util/errors.js';
import { type Fits, type OptionValues, defineOptions } from '../util/options.js';
import { MASK_STYLES, type SyntheticDatasetOptions } from './dataset.js';
import { resolveSynthOptions } from './smear.js';

/** `512x384` (or `512×384`) → `{ width: 512, height: 384 }`. */
export function parseImageSize(text: string, flag = 'size'): { width: number; height: number } {
  const match = /^(\d+)\s*[x×X]\s*(\d+)$/.exec(text.trim());
  if (!match) fail(`--${flag} must be WIDTHxHEIGHT in pixels, e.g. 512x384; got '${text}'`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

// The smear generator's own defaults, so they are written in one place (synth/smear.ts).
const SMEAR = resolveSynthOptions();

export const SYNTH_OPTIONS = defineOptions({
  out: {
    type: 'string',
    required: true,
    short: 'o',
    placeholder: 'DIR',
    doc: 'folder to write images/, masks/, masks3/, instances/, split.json, dataset.json',
  },
  count: { type: 'number', defaultText: '40', doc: 'number of images' },
  size: {
    type: 'string',
    placeholder: 'WxH',
    parse: parseImageSize,
    tsType: '{ width: number; height: number }',
    defaultText: `${SMEAR.width}x${SMEAR.height}`,
    doc: 'image size WIDTHxHEIGHT in pixels',
  },
  seed: { type: 'number', defaultText: String(SMEAR.seed), doc: 'random seed; the same seed gives the same dataset' },
  pixelSizeUm: {
    type: 'number',
    flag: 'pixel-size',
    placeholder: 'UM',
    defaultText: String(SMEAR.pixelSizeUm),
    doc: 'micrometres per pixel (a pus cell is ≈ 12 µm across)',
  },
  maskStyle: { type: 'string', choices: MASK_STYLES, defaultText: 'black-on-white', doc: 'binary mask drawing' },
});

// SyntheticDatasetOptions is written by hand in dataset.ts; this fails to compile when the table stops matching it.
export type SynthOptionsFit = Fits<Omit<OptionValues<typeof SYNTH_OPTIONS>, 'out' | 'size'>, SyntheticDatasetOptions>;
