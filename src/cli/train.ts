import { DATASET_OPTIONS } from '../data/dataset-options.js';
import { TRAIN_OPTIONS, type TrainOptions } from '../train/options.js';
import { fail } from '../util/errors.js';
import { defineOptions, flagOf } from '../util/options.js';
import { resumeTraining, train } from '../workflows/train.js';
import { defineCommand } from './args.js';
import { interruptSignal, readJsonOptions } from './common.js';

const { data, out, ...training } = TRAIN_OPTIONS;
const spec = {
  name: 'train',
  summary:
    'Train a U-Net on a folder of images and masks. Writes RUN/model.json + model.safetensors, checkpoints (best, last), log.jsonl and curves.png.',
  usage: 'pyocyte train --data DIR --out RUN [options] | pyocyte train --resume RUN',
  options: defineOptions({
    data,
    out,
    resume: { type: 'string', placeholder: 'RUN', doc: 'continue an interrupted run exactly where it stopped' },
    config: { type: 'string', placeholder: 'FILE', doc: 'JSON file of options (camelCase keys, as in config.json); flags override it' },
    ...DATASET_OPTIONS,
    ...training,
  }),
  // Neither --data nor --out is needed with --resume.
  required: [],
} as const;

/** What a resumed run may change: where it computes, not what it learns. */
const RESUME_OVERRIDES = ['threads', 'engine', 'precision'] as const;

/** `pyocyte train`: trains and prints a JSON summary as the last line. */
export const command = defineCommand(spec, async ({ options: { resume, config, ...given } }) => {
  const signal = interruptSignal('train');
  let result;
  if (resume !== undefined) {
    const other = Object.keys(given).filter((key) => !(RESUME_OVERRIDES as readonly string[]).includes(key));
    if (other.length > 0)
      fail(
        `--resume continues a run with its own options; only --threads, --engine and --precision may change (got ${other.map((k) => `--${flagOf(k, spec.options[k as keyof typeof spec.options])}`).join(', ')})`,
      );
    result = await resumeTraining(resume, given, { signal });
  } else {
    const options = { ...(config === undefined ? {} : readJsonOptions(config)), ...given } as TrainOptions;
    if (!options.data) fail(`train needs --data DIR (or --resume RUN); usage: ${spec.usage}`);
    if (!options.out) fail(`train needs --out RUN, the folder for the model and logs; usage: ${spec.usage}`);
    result = await train(options, { signal });
  }
  console.log(
    JSON.stringify({
      run: result.runDir,
      interrupted: result.interrupted,
      epochs: result.epochs,
      steps: result.steps,
      seconds: Math.round(result.seconds),
      best_epoch: result.bestEpoch,
      val_dice: result.valDice ?? null,
      threshold: result.threshold,
    }),
  );
  return result.interrupted ? 130 : 0;
});
