import { MASK_POLARITIES, type MaskPolarity } from '../data/masks.js';
import { patchifyDataset } from '../workflows/patchify.js';
import { fail } from '../util/errors.js';
import { defineCommand, type CommandSpec } from './args.js';

const spec: CommandSpec = {
  name: 'patchify',
  summary: 'Cut a dataset\'s images and masks into overlapping patches on disk (mirror-padded at borders). Masks keep their stored values; split.json is carried over patch by patch.',
  usage: 'pyocyte patchify --data DIR --out OUT (--size 256 [--stride 192] | --per-image 15) [--mask-polarity auto|white|black]',
  flags: {
    data: { type: 'string', short: 'd', description: 'dataset folder (images/ + masks/, nnU-Net, or <name>_mask files)' },
    out: { type: 'string', short: 'o', description: 'new folder for images/, masks/, patches.json' },
    size: { type: 'number', description: 'patch side in pixels', defaultText: '256' },
    stride: { type: 'number', description: 'pixels between patch origins', defaultText: '¾ of --size' },
    'per-image': { type: 'number', description: 'a fixed number of evenly spread patches per image instead of --stride' },
    'mask-polarity': { type: 'string', choices: Object.keys(MASK_POLARITIES), description: 'which colour the objects are in the masks (recorded in patches.json)' },
  },
};

/** `pyocyte patchify`: writes OUT/images, OUT/masks and OUT/patches.json. */
export const command = defineCommand(spec, async ({ flags }) => {
  const data = (flags.data as string | undefined) ?? fail(`'patchify' needs --data DIR; usage: ${spec.usage}`);
  const out = (flags.out as string | undefined) ?? fail(`'patchify' needs --out OUT; usage: ${spec.usage}`);
  const interactive = process.stdout.isTTY === true;
  const result = await patchifyDataset(data, out, {
    patchSize: flags.size as number | undefined,
    stride: flags.stride as number | undefined,
    perImage: flags.perImage as number | undefined,
    maskPolarity: flags.maskPolarity as MaskPolarity | undefined,
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
