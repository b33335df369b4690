import { defineOptions } from '../util/options.js';
import { PATCHIFY_OPTIONS } from '../workflows/options.js';
import { patchifyDataset } from '../workflows/patchify.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'patchify',
  summary:
    "Cut a dataset's images and masks into overlapping patches on disk (mirror-padded at borders). Masks keep their stored values; split.json is carried over patch by patch.",
  usage: 'pyocyte patchify --data DIR --out OUT (--size 256 [--stride 192] | --per-image 15) [--mask-polarity auto|white|black]',
  options: defineOptions({
    data: {
      type: 'string',
      required: true,
      short: 'd',
      placeholder: 'DIR',
      doc: 'dataset folder (images/ + masks/, nnU-Net, or <name>_mask files)',
    },
    out: { type: 'string', required: true, short: 'o', placeholder: 'OUT', doc: 'new folder for images/, masks/, patches.json' },
    ...PATCHIFY_OPTIONS,
  }),
} as const;

/** `pyocyte patchify`: writes OUT/images, OUT/masks and OUT/patches.json. */
export const command = defineCommand(spec, async ({ options: { data, out, ...options } }) => {
  const interactive = process.stdout.isTTY === true;
  const result = await patchifyDataset(data, out, {
    ...options,
    onProgress: (done, total, stem) => {
      const line = `patchify: ${done}/${total} images (${stem})`;
      if (interactive) process.stdout.write(`\r${line.padEnd(60)}${done === total ? '\n' : ''}`);
      else console.log(line);
    },
  });
  for (const note of result.notes) console.log(note);
  console.log(`wrote ${result.patches} patches from ${result.images} images to ${result.outDir} (see patches.json)`);
  return 0;
});
