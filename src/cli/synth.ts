import { writeSyntheticDataset } from '../synth/dataset.js';
import { SYNTH_OPTIONS } from '../synth/options.js';
import { resolveSynthOptions } from '../synth/smear.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'synth',
  summary: 'Generate a synthetic dataset of stained pus smears (pus cells, red cells, debris) with binary, three-class and instance masks',
  usage: 'pyocyte synth --out DIR [--count 40] [--size 512x384] [--seed 1] [--pixel-size UM] [--mask-style black-on-white|white-on-black]',
  options: SYNTH_OPTIONS,
} as const;

/** `pyocyte synth`: writes a synthetic stained-smear dataset. */
export const command = defineCommand(spec, async ({ options: { out, size, ...options } }) => {
  const smear = { ...size, ...options };
  const { width, height, pixelSizeUm } = resolveSynthOptions(smear);
  const interactive = process.stdout.isTTY === true;
  const started = performance.now();
  const result = await writeSyntheticDataset(out, {
    ...smear,
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
