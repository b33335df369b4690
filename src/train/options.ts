/**
 * `pyocyte train`'s options: the table (doc, flag, default, valid values of each), the defaults
 * derived from it, and the check that resolves them. The {@link TrainOptions} interface is
 * generated from the table into options.generated.ts (`npm run options`; see src/util/options.ts).
 */
import { AUGMENT_PRESETS } from '../augment/pipeline.js';
import { SAMPLINGS } from '../data/loader.js';
import { WORKING_DIAMETER_PX } from '../data/object-scale.js';
import { NORMALIZATIONS } from '../data/normalize.js';
import type { DatasetOptions } from '../data/prepare.js';
import { BACKENDS, PRECISIONS } from '../engine/index.js';
import { ENGINE_OPTIONS } from '../engine/options.js';
import { INSTANCE_METHOD_CHOICES } from '../infer/instance-methods.js';
import { PREDICT_DEFAULTS } from '../infer/options.js';
import { LOSSES } from '../nn/losses.js';
import { OPTIMIZERS } from '../nn/optimizers.js';
import { NORMS, PADDINGS, UNET_DEFAULTS, nextValidTileSize } from '../nn/unet.js';
import { fail } from '../util/errors.js';
import { type Fits, type OptionValues, defaultsOf, defineOptions } from '../util/options.js';
import { checkName } from '../util/registry.js';
import type { TrainOptionFields } from './options.generated.js';
import { SCHEDULES } from './schedules.js';

/** Default budget when neither epochs nor minutes are given. */
export const DEFAULT_MINUTES = 10;

/**
 * The default recipe, chosen so a user who passes only `--data` gets a strong model on a laptop:
 * the padded U-Net with BatchNorm and 16 base filters, 256-px patches in batches of 4, BCE + Dice,
 * AdamW with one-cycle, light augmentation, bf16 where the CPU has it, and a 10-minute budget.
 * Chosen on the bench:quality runs: in a fixed budget 16 filters see several times more patches
 * than 32 and end higher, and the `default` preset's elastic/scale/stain jitter cost Dice there.
 * Batches of 4 see as many patches per minute as batches of 8 in twice the steps, and a 10-minute
 * run gains from the extra updates (2026-12-01, AVX2, fp32: dsb2018 test AP@0.5 0.775 against
 * 0.752, count MAE 3.86 against 4.66; wbc binary test Dice 0.9869; umid pus F1 0.642 against 0.637;
 * bench/results/quality-2026-12-01-*-batch-4.json).
 */
export const TRAIN_OPTIONS = defineOptions({
  data: {
    type: 'string',
    required: true,
    placeholder: 'DIR',
    doc: 'the dataset folder: images/ + masks/, <name>_mask files, or nnU-Net imagesTr/labelsTr, or images/ + box/point annotation files (CSV, COCO, VOC)',
  },
  out: {
    type: 'string',
    required: true,
    short: 'o',
    placeholder: 'RUN',
    doc: 'the run folder to create: model, checkpoints, log.jsonl, curves.png',
  },
  padding: {
    type: 'string',
    choices: PADDINGS,
    default: UNET_DEFAULTS.padding,
    doc: "same (padded 3×3 convolutions) or valid (the paper's unpadded U-Net)",
  },
  depth: { type: 'number', default: UNET_DEFAULTS.depth, doc: 'pooling levels of the U-Net' },
  filters: { type: 'number', default: UNET_DEFAULTS.filters, doc: 'filters in the first level (doubling per level)' },
  norm: { type: 'string', choices: NORMS, default: UNET_DEFAULTS.norm, doc: 'normalisation layers' },
  dropout: { type: 'number', default: UNET_DEFAULTS.dropout, doc: 'dropout rate at the bottleneck' },
  patchSize: { type: 'number', default: 256, doc: 'training patch side in pixels (the network input), rounded up to a size the net takes' },
  batchSize: { type: 'number', flag: 'batch', default: 4, doc: 'patches per step' },
  epochs: { type: 'number', doc: 'train for this many epochs; otherwise for --minutes' },
  minutes: {
    type: 'number',
    defaultText: `${DEFAULT_MINUTES} when --epochs is not given`,
    doc: 'wall-clock training budget; the schedule is planned to end within it',
  },
  patchesPerImage: {
    type: 'number',
    default: 4,
    doc: 'random patches per training image per epoch; grid sampling takes this many fixed patches',
  },
  sampling: { type: 'string', choices: SAMPLINGS, default: 'random', doc: 'random patches or a fixed grid' },
  schedule: { type: 'string', choices: SCHEDULES, default: 'onecycle', doc: 'learning-rate schedule' },
  learningRate: { type: 'number', flag: 'lr', default: 1e-3, doc: 'peak learning rate' },
  optimizer: { type: 'string', choices: OPTIMIZERS, default: 'adamw', doc: 'optimizer' },
  weightDecay: { type: 'number', default: 1e-4, doc: 'weight decay (not applied to biases and norms)' },
  emaDecay: {
    type: 'number',
    default: 0,
    doc: 'keep an exponential moving average of the weights with this decay (e.g. 0.999, about 1000 steps remembered) and validate, checkpoint and save the average; 0 keeps none',
  },
  loss: { type: 'string', choices: LOSSES, what: 'loss', default: 'bce+dice', doc: 'training loss' },
  instanceMethod: {
    type: 'string',
    choices: INSTANCE_METHOD_CHOICES,
    what: 'instance method',
    default: 'auto',
    doc: 'what the network learns so touching cells separate; auto: the best measured method when the masks carry instances, else watershed',
  },
  workingDiameterPx: {
    type: 'number',
    flag: 'working-diameter',
    placeholder: 'PX',
    defaultText: `${WORKING_DIAMETER_PX} when the masks carry instance labels, no pixel size is known and the images' characteristic scale tells their object sizes; else 0`,
    doc: 'resample each training image so its median object is this many pixels across, as Cellpose trains at one diameter; predict brings new images to it by their estimated object size; 0 trains at native resolution',
  },
  augment: { type: 'string', choices: AUGMENT_PRESETS, default: 'light', doc: 'augmentation preset' },
  foregroundFraction: { type: 'number', default: 0.33, doc: 'share of patches centred on a foreground pixel' },
  normalization: { type: 'string', choices: NORMALIZATIONS, default: 'percentile', doc: 'intensity normalisation' },
  patience: { type: 'number', default: 0, doc: 'stop when validation Dice has not improved for this many epochs; 0 never stops early' },
  seed: { type: 'number', default: 0, doc: 'random seed: the same seed gives the same run' },
  validationTileSize: { type: 'number', flag: false, default: PREDICT_DEFAULTS.tileSize, doc: 'tile side for whole-image validation' },
  initialWeights: {
    type: 'string',
    placeholder: 'RUN',
    defaultText: 'the shipped nuclei model for box and point annotations at the default architecture; else none',
    doc: "start from this model's weights (a run folder, a model.json or a shipped model's name: nuclei): fine-tuning; depth, filters, padding and norm must match, a head for other classes starts fresh and a first convolution for other channels is adapted; none starts from scratch",
  },
  refineLabelsWith: {
    type: 'string',
    placeholder: 'MODEL',
    doc: "boxes and points only: train on labels redrawn from this model's segmentation of the training images (each cell's predicted outline within its box), usually with --initial-weights MODEL",
  },
  ...ENGINE_OPTIONS,
  precision: { ...ENGINE_OPTIONS.precision, default: 'auto' },
});

/** Everything `pyocyte train` can be told; every field but `data` and `out` has a default. */
export interface TrainOptions extends DatasetOptions, TrainOptionFields {}

/** The defaults of {@link TRAIN_OPTIONS}. */
export const TRAIN_DEFAULTS = defaultsOf(TRAIN_OPTIONS);

export type ResolvedTrainOptions = Required<
  Omit<TrainOptions, keyof DatasetOptions | 'epochs' | 'minutes' | 'threads' | 'initialWeights' | 'refineLabelsWith' | 'workingDiameterPx'>
> &
  DatasetOptions & {
    epochs?: number;
    minutes?: number;
    threads?: number;
    initialWeights?: string;
    refineLabelsWith?: string;
    workingDiameterPx?: number;
  };

/** Applies defaults and checks every option, so a run never fails late on a typo. */
export function resolveTrainOptions(options: TrainOptions): ResolvedTrainOptions {
  const o = {
    ...TRAIN_DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as ResolvedTrainOptions;
  if (!o.data) fail('train needs --data DIR, a folder of images and masks');
  if (!o.out) fail('train needs --out DIR, where the model and logs go');
  checkName(PADDINGS, o.padding, 'padding');
  checkName(NORMS, o.norm, 'norm');
  checkName(LOSSES, o.loss, 'loss');
  checkName(INSTANCE_METHOD_CHOICES, o.instanceMethod, 'instance method');
  checkName(OPTIMIZERS, o.optimizer, 'optimizer');
  checkName(SCHEDULES, o.schedule, 'schedule');
  checkName(AUGMENT_PRESETS, o.augment, 'augmentation preset');
  checkName(SAMPLINGS, o.sampling, 'patch sampling');
  checkName(NORMALIZATIONS, o.normalization, 'normalization');
  checkName(BACKENDS, o.engine, 'engine');
  checkName(PRECISIONS, o.precision, 'precision');
  const positiveInteger = (value: number | undefined, name: string) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) fail(`--${name} must be a positive whole number, got ${value}`);
  };
  positiveInteger(o.depth, 'depth');
  positiveInteger(o.filters, 'filters');
  positiveInteger(o.patchSize, 'patch-size');
  positiveInteger(o.batchSize, 'batch');
  positiveInteger(o.epochs, 'epochs');
  positiveInteger(o.patchesPerImage, 'patches-per-image');
  positiveInteger(o.threads, 'threads');
  if (o.minutes !== undefined && !(o.minutes > 0)) fail(`--minutes must be a positive number, got ${o.minutes}`);
  if (!(o.learningRate > 0 && o.learningRate < 1)) fail(`--lr must be in (0, 1), got ${o.learningRate}`);
  if (!(o.weightDecay >= 0)) fail(`--weight-decay must be ≥ 0, got ${o.weightDecay}`);
  if (!(o.emaDecay >= 0 && o.emaDecay < 1)) fail(`--ema-decay must be 0 (no average) or a decay in (0, 1), got ${o.emaDecay}`);
  if (o.workingDiameterPx !== undefined && !(o.workingDiameterPx >= 0))
    fail(`--working-diameter must be 0 (native resolution) or a diameter in pixels, got ${o.workingDiameterPx}`);
  if (!(o.patience >= 0 && Number.isInteger(o.patience))) fail(`--patience must be a whole number ≥ 0, got ${o.patience}`);
  // Round the patch up to a size the network takes, so users need not know the rule.
  o.patchSize = nextValidTileSize(o.patchSize, { depth: o.depth, padding: o.padding });
  if (o.epochs === undefined && o.minutes === undefined) o.minutes = DEFAULT_MINUTES;
  return o;
}

// The generated interface must take what the table parses; this fails to compile when it is stale.
export type TrainOptionsFit = Fits<OptionValues<typeof TRAIN_OPTIONS>, TrainOptionFields>;
