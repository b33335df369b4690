import { PREDICT_FILES_OPTIONS } from '../workflows/options.js';
import { predictFiles } from '../workflows/predict-files.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'predict',
  summary:
    'Segment images of any size. Per image: <name>_mask.png (drawn like the training masks), <name>_probability.png, <name>_overlay.png, <name>_instances.png (touching cells split); plus cells.csv and summary.csv.',
  usage: 'pyocyte predict --model RUN IMAGES_OR_FOLDERS... --out DIR [options]',
  positionals: { min: 1, max: Infinity, name: 'images or folders of images' },
  options: PREDICT_FILES_OPTIONS,
} as const;

/** `pyocyte predict`: writes the outputs and prints a JSON summary line. */
export const command = defineCommand(spec, async ({ options, positionals }) => {
  const result = await predictFiles({ ...options, inputs: positionals });
  for (const failure of result.failed) console.error(`pyocyte: ${failure}`);
  const cells = result.images.reduce((n, r) => n + r.cells, 0);
  console.log(`${result.images.length} image${result.images.length === 1 ? '' : 's'} segmented, ${cells} cells; results in ${result.out}`);
  console.log(JSON.stringify({ images: result.images.length, failed: result.failed.length, cells, out: result.out }));
  return result.failed.length > 0 ? 1 : 0;
});
