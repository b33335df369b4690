import { predictFiles } from '../workflows/predict-files.js';
import { predictOnQueue } from '../workflows/queue/submit.js';
import { fail } from '../util/errors.js';
import { type CommandSpec, defineCommand } from './args.js';
import { ENGINE_FLAGS, interruptSignal } from './common.js';
import { PREDICT_FLAGS, predictOptions } from './predict-flags.js';

const spec: CommandSpec = {
  name: 'predict',
  summary: 'Segment images of any size. Per image: <name>_mask.png (drawn like the training masks), <name>_probability.png, <name>_overlay.png, <name>_instances.png (touching cells split), <name>_manifest.json (written last; a re-run skips finished images); plus cells.csv and summary.csv. With --queue the images are predicted by `pyocyte worker`s on other machines.',
  usage: 'pyocyte predict --model RUN IMAGES_OR_FOLDERS... --out DIR [--queue redis://HOST:6379] [options]',
  positionals: { min: 1, max: Infinity, name: 'images or folders of images' },
  flags: {
    model: { type: 'string', short: 'm', description: 'a training run folder (or its model.json)' },
    out: { type: 'string', short: 'o', description: 'output folder' },
    queue: { type: 'string', short: 'q', description: 'a Redis URL: one job per image for `pyocyte worker`s; the model, images and --out must be at the same paths on every worker' },
    ...PREDICT_FLAGS,
    ...ENGINE_FLAGS,
  },
};

/** `pyocyte predict`: writes the outputs and prints a JSON summary line; exit 1 when an image failed, 130 when interrupted. */
export const command = defineCommand(spec, async ({ flags: f, positionals }) => {
  if (typeof f.model !== 'string') fail(`predict needs --model RUN; usage: ${spec.usage}`);
  if (typeof f.out !== 'string') fail(`predict needs --out DIR for the results; usage: ${spec.usage}`);
  if (typeof f.queue === 'string' && (f.threads !== undefined || f.engine !== undefined || f.precision !== undefined)) {
    fail('with --queue the workers compute: give --threads and --engine to `pyocyte worker` on each machine, not to predict');
  }
  const common = { ...predictOptions(f), model: f.model, inputs: positionals, out: f.out, signal: interruptSignal('predict') };
  const result = typeof f.queue === 'string'
    ? await predictOnQueue({ ...common, queue: f.queue })
    : await predictFiles({ ...common, threads: f.threads as number | undefined, engine: f.engine as 'auto' | undefined });
  for (const failure of result.failed) console.error(`pyocyte: ${failure}`);
  const cells = result.images.reduce((n, r) => n + r.cells, 0);
  console.log(`${result.images.length} image${result.images.length === 1 ? '' : 's'} segmented, ${cells} cells; results in ${result.out}`);
  const batch = 'batch' in result ? { batch: result.batch } : {};
  console.log(JSON.stringify({ images: result.images.length, failed: result.failed.length, reused: result.reused, cells, out: result.out, ...batch }));
  return result.interrupted ? 130 : result.failed.length > 0 ? 1 : 0;
});
