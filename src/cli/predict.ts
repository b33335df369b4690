import { countTable, countedClasses } from '../io/prediction-outputs.js';
import { fail } from '../util/errors.js';
import { defineOptions } from '../util/options.js';
import { PREDICT_FILES_OPTIONS } from '../workflows/options.js';
import { predictFiles } from '../workflows/predict-files.js';
import { predictOnQueue } from '../workflows/queue/submit.js';
import { defineCommand } from './args.js';
import { interruptSignal } from './common.js';

const spec = {
  name: 'predict',
  summary:
    'Segment images of any size. Per image: <name>_mask.png (drawn like the training masks), <name>_probability.png, <name>_overlay.png, <name>_instances.png (touching cells split), <name>_manifest.json (written last; a re-run skips finished images); plus cells.csv (class, centroid, box, area, score per cell) and summary.csv (cells per class per image), and prints the counts. With --queue the images are predicted by `pyocyte worker`s on other machines.',
  usage: 'pyocyte predict --model RUN IMAGES_OR_FOLDERS... --out DIR [--queue redis://HOST:6379] [options]',
  positionals: { min: 1, max: Infinity, name: 'images or folders of images' },
  options: defineOptions({
    ...PREDICT_FILES_OPTIONS,
    queue: {
      type: 'string',
      short: 'q',
      placeholder: 'URL',
      doc: 'a Redis URL: one job per image for `pyocyte worker`s; the model, images and --out must be at the same paths on every worker',
    },
  }),
} as const;

/** `pyocyte predict`: writes the outputs, prints the count table (cells per class per image) and a JSON summary line; exit 1 when an image failed, 130 when interrupted. */
export const command = defineCommand(spec, async ({ options: { queue, ...options }, positionals }) => {
  if (queue !== undefined && (options.threads !== undefined || options.engine !== undefined || options.precision !== undefined)) {
    fail('with --queue the workers compute: give --threads and --engine to `pyocyte worker` on each machine, not to predict');
  }
  const common = { ...options, inputs: positionals, signal: interruptSignal('predict') };
  const result = queue !== undefined ? await predictOnQueue({ ...common, queue }) : await predictFiles(common);
  for (const failure of result.failed) console.error(`pyocyte: ${failure}`);
  const cells = result.images.reduce((n, r) => n + r.cells, 0);
  const counts = Object.fromEntries(
    countedClasses(result.images).map((c) => [c, result.images.reduce((n, r) => n + (r.counts?.[c] ?? 0), 0)]),
  );
  if (result.images.length > 0) process.stdout.write(countTable(result.images));
  console.log(`${result.images.length} image${result.images.length === 1 ? '' : 's'} segmented, ${cells} cells; results in ${result.out}`);
  const batch = 'batch' in result ? { batch: result.batch } : {};
  console.log(
    JSON.stringify({
      images: result.images.length,
      failed: result.failed.length,
      reused: result.reused,
      cells,
      counts,
      out: result.out,
      ...batch,
    }),
  );
  return result.interrupted ? 130 : result.failed.length > 0 ? 1 : 0;
});
