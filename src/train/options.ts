import type { AugmentPresetName } from '../augment/pipeline.js';
import { AUGMENT_PRESETS } from '../augment/pipeline.js';
import type { SamplingName } from '../data/loader.js';
import { SAMPLINGS } from '../data/loader.js';
import type { DatasetOptions } from '../data/prepare.js';
import { NORMALIZATIONS, type NormalizationKind } from '../data/normalize.js';
import { BACKENDS, PRECISIONS, type BackendName, type PrecisionName } from '../engine/index.js';
import { LOSSES, type LossName } from '../nn/losses.js';
import { OPTIMIZERS, type OptimizerName } from '../nn/optimizers.js';
import { NORMS, PADDINGS, type NormName, type PaddingMode, nextValidTileSize } from '../nn/unet.js';
import { fail } from '../util/errors.js';
import { checkName } from '../util/registry.js';
import { SCHEDULES, type ScheduleName } from './schedules.js';

/** Everything `pyocyte train` can be told; every field but `data` and `out` has a default. */
export interface TrainOptions extends DatasetOptions {
  /** The dataset folder (images/ + masks/, `_mask` files, or nnU-Net imagesTr/labelsTr). */
  data: string;
  /** The run folder: model, checkpoints, log.jsonl, curves.png. */
  out: string;
  padding?: PaddingMode;
  depth?: number;
  filters?: number;
  norm?: NormName;
  dropout?: number;
  /** Training patch side (input of the network). */
  patchSize?: number;
  batchSize?: number;
  /** Train for this many epochs; otherwise for `minutes`. */
  epochs?: number;
  /** Wall-clock training budget; the schedule is planned to end within it. */
  minutes?: number;
  /** Random patches per training image per epoch; grid sampling takes this many fixed patches. */
  patchesPerImage?: number;
  sampling?: SamplingName;
  schedule?: ScheduleName;
  /** Peak learning rate. */
  learningRate?: number;
  optimizer?: OptimizerName;
  weightDecay?: number;
  loss?: LossName;
  augment?: AugmentPresetName;
  foregroundFraction?: number;
  normalization?: NormalizationKind;
  /** Stop when validation Dice has not improved for this many epochs; 0 never stops early. */
  patience?: number;
  seed?: number;
  threads?: number;
  engine?: BackendName;
  /** Arithmetic of the native engine: fp32, bf16 (about twice as fast where the CPU has it), or auto. */
  precision?: PrecisionName;
  /** Tile side for whole-image validation. */
  validationTileSize?: number;
  /** Start from this model's weights and normalisation (a run folder or model.json; fine-tuning). Its architecture must match. */
  initialWeights?: string;
}

export type ResolvedTrainOptions = Required<Omit<TrainOptions, keyof DatasetOptions | 'epochs' | 'minutes' | 'threads' | 'initialWeights'>> &
  DatasetOptions & { epochs?: number; minutes?: number; threads?: number; initialWeights?: string };

/**
 * The default recipe, chosen so a user who passes only `--data` gets a strong model on a laptop:
 * the padded U-Net with BatchNorm and 16 base filters, 256-px patches in batches of 8, BCE + Dice,
 * AdamW with one-cycle, light augmentation, bf16 where the CPU has it, and a 10-minute budget.
 * Chosen on the bench:quality runs: in a fixed budget 16 filters see several times more patches
 * than 32 and end higher, and the `default` preset's elastic/scale/stain jitter cost Dice there.
 */
export const TRAIN_DEFAULTS = {
  padding: 'same',
  depth: 4,
  filters: 16,
  norm: 'batch',
  dropout: 0,
  patchSize: 256,
  batchSize: 8,
  patchesPerImage: 4,
  sampling: 'random',
  schedule: 'onecycle',
  learningRate: 1e-3,
  optimizer: 'adamw',
  weightDecay: 1e-4,
  loss: 'bce+dice',
  augment: 'light',
  foregroundFraction: 0.33,
  normalization: 'meanStd',
  patience: 0,
  seed: 0,
  engine: 'auto',
  precision: 'auto',
  validationTileSize: 512,
} as const satisfies Partial<TrainOptions>;

/** Default budget when neither epochs nor minutes are given. */
export const DEFAULT_MINUTES = 10;

/** Applies defaults and checks every option, so a run never fails late on a typo. */
export function resolveTrainOptions(options: TrainOptions): ResolvedTrainOptions {
  const o = { ...TRAIN_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedTrainOptions;
  if (!o.data) fail('train needs --data DIR, a folder of images and masks');
  if (!o.out) fail('train needs --out DIR, where the model and logs go');
  checkName(PADDINGS, o.padding, 'padding');
  checkName(NORMS, o.norm, 'norm');
  checkName(LOSSES, o.loss, 'loss');
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
  if (!(o.patience >= 0 && Number.isInteger(o.patience))) fail(`--patience must be a whole number ≥ 0, got ${o.patience}`);
  // Round the patch up to a size the network takes, so users need not know the rule.
  o.patchSize = nextValidTileSize(o.patchSize, { depth: o.depth, padding: o.padding });
  if (o.epochs === undefined && o.minutes === undefined) o.minutes = DEFAULT_MINUTES;
  return o;
}
