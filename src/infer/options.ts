/**
 * The options of prediction: overlap-tile inference ({@link predictProbabilities}) and turning the
 * probabilities into classes and cells ({@link segment}). `pyocyte predict` and `evaluate` take
 * them all; their interface is generated into options.generated.ts (see src/util/options.ts).
 */
import { CHANNELS_OPTION } from '../data/dataset-options.js';
import { defaultsOf, defineOptions, unionOf } from '../util/options.js';
import type { PostprocessingName } from './postprocess.js';
import { TTA_MODES } from './symmetry.js';

// The post-processing names, type-checked against POSTPROCESSING: importing that registry here would
// close the cycle postprocess.ts → predict.ts → options.ts → postprocess.ts.
const POSTPROCESSING_STEPS = {
  none: 'the class map as predicted',
  largestComponent: 'only the largest connected component',
} as const satisfies Record<PostprocessingName, string>;

export const PREDICT_OPTIONS = defineOptions({
  tta: {
    type: 'boolean',
    tsType: `boolean | ${unionOf(TTA_MODES)}`,
    defaultText: 'as the model chose on its validation images, else none',
    doc: `test-time augmentation: average the eight quarter turns and reflections of every tile (8× slower; the library also takes a mode name: ${Object.keys(TTA_MODES).join(', ')}); --no-tta turns it off`,
  },
  tileSize: { type: 'number', default: 512, doc: 'input tile side in pixels for large images, rounded up to a size the network takes' },
  overlapFraction: { type: 'number', flag: 'overlap', default: 0.25, doc: 'fraction of each output tile shared with its neighbour' },
  contextMargin: {
    type: 'number',
    flag: false,
    defaultText: '32 px, at most an eighth of the tile',
    doc: "padded net only: mirrored context read around each output tile and thrown away, so tile borders never see the convolutions' zero padding",
  },
  batchSize: {
    type: 'number',
    flag: false,
    defaultText: 'as many tiles as make 512² input pixels (one 512-px tile, four 256-px ones)',
    doc:
      'tiles per engine call; the engine keeps every activation of a call, so this bounds its memory: about 450 MB for the ' +
      '16-filter net at the default, and `pyocyte predict` on a 4096² image peaks near 1.25 GB RSS',
  },
  pixelSizeUm: {
    type: 'number',
    flag: 'pixel-size',
    placeholder: 'UM',
    doc: "micrometres per pixel of the images; with the model's own pixel size known, images are resampled to it and the results back",
  },
  rescale: {
    type: 'boolean',
    defaultText:
      'on when the model stores its training object size and no pixel size resamples; a model trained from boxes at a working scale resamples by that instead',
    doc: "estimate the image's object diameter (from its characteristic scale when the model trained at a working diameter, else a first pass at native scale, and passes at ×0.25–×4 when that finds no objects or ones far from the training sizes; checked by the objects found) and resample the image to the model's training object size, the results back; --no-rescale predicts at native scale",
  },
  countRule: {
    type: 'boolean',
    defaultText: 'on when the model has one (models trained from boxes and points)',
    doc: "count only the cells that pass the model's per-class minimum score, area and distance from the image edge, chosen on its validation annotations (masks and overlays show those); --no-count-rule counts every segmented cell",
  },
  threshold: { type: 'number', defaultText: "the model's tuned threshold", doc: 'foreground probability threshold (binary models)' },
  minSizePx: {
    type: 'number',
    flag: 'min-size',
    default: 30,
    defaultText: "the model's instance rule (models trained to separate touching cells), else 30",
    doc: 'smallest cell kept, in pixels: smaller objects are merged into the neighbour they touch most, or dropped',
  },
  postprocessing: {
    type: 'string',
    choices: POSTPROCESSING_STEPS,
    defaultText: 'the one the model chose on its validation images',
    doc: 'clean-up of the class map',
  },
  channels: { ...CHANNELS_OPTION, defaultText: 'the channels the model was trained on' },
});

/** `{ tileSize: 512, overlapFraction: 0.25, minSizePx: 30 }`. */
export const PREDICT_DEFAULTS = defaultsOf(PREDICT_OPTIONS);
