import { AUGMENT_PRESETS } from '../augment/pipeline.js';
import { SAMPLINGS } from '../data/loader.js';
import { NORMALIZATIONS } from '../data/normalize.js';
import { LOSSES } from '../nn/losses.js';
import { OPTIMIZERS } from '../nn/optimizers.js';
import { NORMS, PADDINGS } from '../nn/unet.js';
import { resumeTraining, train } from '../workflows/train.js';
import { TRAIN_DEFAULTS, type TrainOptions } from '../train/options.js';
import { SCHEDULES } from '../train/schedules.js';
import { fail } from '../util/errors.js';
import { type CommandSpec, defineCommand } from './args.js';
import { DATASET_FLAGS, ENGINE_FLAGS, datasetOptions, defined, interruptSignal, readJsonOptions } from './common.js';

const d = TRAIN_DEFAULTS;
const spec: CommandSpec = {
  name: 'train',
  summary: 'Train a U-Net on a folder of images and masks. Writes RUN/model.json + model.safetensors, checkpoints (best, last), log.jsonl and curves.png.',
  usage: 'pyocyte train --data DIR --out RUN [options] | pyocyte train --resume RUN',
  flags: {
    data: { type: 'string', description: 'dataset folder (images/ + masks/, <name>_mask files, or nnU-Net imagesTr/labelsTr)' },
    out: { type: 'string', short: 'o', description: 'run folder to create' },
    resume: { type: 'string', description: 'continue an interrupted run exactly where it stopped' },
    config: { type: 'string', description: 'JSON file of options (camelCase keys); flags override it' },
    ...DATASET_FLAGS,
    padding: { type: 'string', choices: Object.keys(PADDINGS), description: "same (padded) or valid (the paper's unpadded U-Net)", defaultText: d.padding },
    depth: { type: 'number', description: 'pooling levels', defaultText: String(d.depth) },
    filters: { type: 'number', description: 'filters in the first level (doubling per level)', defaultText: String(d.filters) },
    norm: { type: 'string', choices: Object.keys(NORMS), description: 'normalisation layers', defaultText: d.norm },
    dropout: { type: 'number', description: 'dropout rate at the bottleneck', defaultText: String(d.dropout) },
    'patch-size': { type: 'number', description: 'training patch side in pixels (rounded up to a size the net takes)', defaultText: String(d.patchSize) },
    batch: { type: 'number', description: 'patches per step', defaultText: String(d.batchSize) },
    epochs: { type: 'number', description: 'train for this many epochs' },
    minutes: { type: 'number', description: 'training time budget; the schedule is planned to fit', defaultText: '10 (when --epochs is not given)' },
    'patches-per-image': { type: 'number', description: 'patches per training image per epoch', defaultText: String(d.patchesPerImage) },
    sampling: { type: 'string', choices: Object.keys(SAMPLINGS), description: 'random patches or a fixed grid', defaultText: d.sampling },
    schedule: { type: 'string', choices: Object.keys(SCHEDULES), description: 'learning-rate schedule', defaultText: d.schedule },
    lr: { type: 'number', description: 'peak learning rate', defaultText: String(d.learningRate) },
    optimizer: { type: 'string', choices: Object.keys(OPTIMIZERS), description: 'optimizer', defaultText: d.optimizer },
    'weight-decay': { type: 'number', description: 'weight decay (not applied to biases and norms)', defaultText: String(d.weightDecay) },
    loss: { type: 'string', description: `loss: ${Object.keys(LOSSES).join(' | ')}`, defaultText: d.loss },
    augment: { type: 'string', choices: Object.keys(AUGMENT_PRESETS), description: 'augmentation preset', defaultText: d.augment },
    'foreground-fraction': { type: 'number', description: 'share of patches centred on foreground', defaultText: String(d.foregroundFraction) },
    normalization: { type: 'string', choices: Object.keys(NORMALIZATIONS), description: 'intensity normalisation', defaultText: d.normalization },
    patience: { type: 'number', description: 'stop after this many epochs without a better validation Dice (0 = never)', defaultText: '0' },
    seed: { type: 'number', description: 'random seed (same seed, same run)', defaultText: '0' },
    'target-pixel-size': { type: 'number', description: 'resample the data to this many µm per pixel for training' },
    ...ENGINE_FLAGS,
  },
};

/** `pyocyte train`: trains and prints a JSON summary as the last line. */
export const command = defineCommand(spec, async ({ flags: f }) => {
  const signal = interruptSignal('train');
  const engineFlags = defined({ threads: f.threads as number | undefined, engine: f.engine as TrainOptions['engine'], precision: f.precision as TrainOptions['precision'] });
  let result;
  if (typeof f.resume === 'string') {
    result = await resumeTraining(f.resume, engineFlags, { signal });
  } else {
    const fromFile = typeof f.config === 'string' ? readJsonOptions(f.config) : {};
    const options = {
      ...fromFile,
      ...defined({
        data: f.data, out: f.out, ...datasetOptions(f), padding: f.padding, depth: f.depth, filters: f.filters, norm: f.norm,
        dropout: f.dropout, patchSize: f.patchSize, batchSize: f.batch, epochs: f.epochs, minutes: f.minutes,
        patchesPerImage: f.patchesPerImage, sampling: f.sampling, schedule: f.schedule, learningRate: f.lr, optimizer: f.optimizer,
        weightDecay: f.weightDecay, loss: f.loss, augment: f.augment, foregroundFraction: f.foregroundFraction,
        normalization: f.normalization, patience: f.patience, seed: f.seed, targetPixelSizeUm: f.targetPixelSize,
      }),
      ...engineFlags,
    } as TrainOptions;
    if (!options.data) fail(`train needs --data DIR (or --resume RUN); usage: ${spec.usage}`);
    if (!options.out) fail(`train needs --out RUN, the folder for the model and logs; usage: ${spec.usage}`);
    result = await train(options, { signal });
  }
  console.log(JSON.stringify({
    run: result.runDir, interrupted: result.interrupted, epochs: result.epochs, steps: result.steps,
    seconds: Math.round(result.seconds), best_epoch: result.bestEpoch, val_dice: result.valDice ?? null, threshold: result.threshold,
  }));
  return result.interrupted ? 130 : 0;
});
