import { MASK_STYLES, writeSyntheticDataset, type MaskStyle } from '../synth/dataset.js';
import { resolveSynthOptions } from '../synth/smear.js';
import { fail } from '../util/errors.js';
import { defineCommand, type CommandSpec } from './args.js';

const spec: CommandSpec = {
  name: 'synth',
  summary: 'Generate a synthetic dataset of stained pus smears (pus cells, red cells, debris) with binary, three-class and instance masks',
  usage: 'pyocyte synth --out DIR [--count 40] [--size 512x384] [--seed 1] [--pixel-size UM] [--mask-style black-on-white|white-on-black]',
  flags: {
    out: { type: 'string', short: 'o', description: 'folder to write images/, masks/, masks3/, instances/, split.json, dataset.json' },
    count: { type: 'number', description: 'number of images', defaultText: '40' },
    size: { type: 'string', description: 'image size WIDTHxHEIGHT in pixels', defaultText: '512x384' },
    seed: { type: 'number', description: 'random seed; the same seed gives the same dataset', defaultText: '1' },
    'pixel-size': { type: 'number', description: 'micrometres per pixel (a pus cell is ≈ 12 µm across)', defaultText: '0.25' },
    'mask-style': { type: 'string', choices: Object.keys(MASK_STYLES), description: 'binary mask drawing', defaultText: 'black-on-white' },
  },
};

/** Parses `--size 512x384` (or `512×384`) into pixels. */
function parseSize(text: string): { width: number; height: number } {
  const match = /^(\d+)\s*[x×X]\s*(\d+)$/.exec(text.trim());
  if (!match) fail(`--size must be WIDTHxHEIGHT in pixels, e.g. 512x384; got '${text}'`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** `pyocyte synth`: writes a synthetic stained-smear dataset. */
export const command = defineCommand(spec, async ({ flags }) => {
  const outDir = (flags.out as string | undefined) ?? fail(`'synth' needs --out DIR; usage: ${spec.usage}`);
  const size = flags.size === undefined ? {} : parseSize(flags.size as string);
  const smear = { ...size, seed: flags.seed as number | undefined, pixelSizeUm: flags.pixelSize as number | undefined };
  const { width, height, pixelSizeUm } = resolveSynthOptions(smear);
  const interactive = process.stdout.isTTY === true;
  const started = performance.now();
  const result = await writeSyntheticDataset(outDir, {
    ...smear,
    count: flags.count as number | undefined,
    maskStyle: flags.maskStyle as MaskStyle | undefined,
    onProgress: (done, total) => {
      if (interactive) process.stdout.write(`\rsynth: ${done}/${total} images${done === total ? '\n' : ''}`);
      else console.log(`synth: ${done}/${total} images`);
    },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { train, val, test } = result.split;
  console.log(
    `wrote ${result.count} synthetic smears (${width}×${height} px, ${pixelSizeUm} µm/px) to ${result.outDir} in ${seconds} s ` +
      `(${train.length} train / ${val.length} val / ${test.length} test; see dataset.json)`,
  );
  return 0;
});
