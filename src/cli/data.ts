import { defineCommand, type CommandSpec, type ParsedArgs } from './args.js';
import { checkDataset } from '../data/check.js';
import { formatSummary } from '../data/check-format.js';
import { MASK_POLARITIES, STRAY_VALUE_POLICIES, type MaskPolarity, type StrayValuePolicy } from '../data/masks.js';
import { parseValueMap } from '../data/value-map.js';
import type { Task } from '../nn/types.js';
import { lookup } from '../util/registry.js';
import { parseChannels } from './common.js';

const spec: CommandSpec = {
  name: 'data',
  summary: 'Dataset tools. `data check DIR` pairs images with masks, decodes every file, and summarises sizes, mask values, foreground share, object sizes and the split; it exits 1 when it finds problems.',
  usage: 'pyocyte data check DIR [options]',
  positionals: { min: 2, max: 2, name: 'a subcommand (check) and a dataset folder' },
  flags: {
    task: { type: 'string', choices: ['binary', 'multiclass'], description: 'binary (objects vs background) or multiclass', defaultText: 'binary' },
    'mask-polarity': { type: 'string', choices: Object.keys(MASK_POLARITIES), description: 'which colour the objects are in two-valued masks', defaultText: 'auto' },
    'value-map': { type: 'string', description: 'mask value → class, e.g. 0:background,128:cytoplasm,255:nucleus' },
    'mask-threshold': { type: 'number', description: 'binarise gray masks: foreground above this value (or below, with --mask-polarity black)' },
    'stray-values': { type: 'string', choices: Object.keys(STRAY_VALUE_POLICIES), description: 'mask values missing from --value-map', defaultText: 'error' },
    'pixel-size': { type: 'number', description: 'micrometres per pixel of the images' },
    'target-pixel-size': { type: 'number', description: 'resample to this many micrometres per pixel' },
    scale: { type: 'number', description: 'resample by this factor (0.5 halves each side)' },
    'max-megapixels': { type: 'number', description: 'refuse larger images', defaultText: '100' },
    'instance-masks': { type: 'boolean', description: 'read masks as instance label images (0 = background, one value per object)' },
    'allow-missing-masks': { type: 'boolean', description: 'accept images without masks (e.g. for prediction only)' },
    channels: { type: 'string', description: "the image files' channels to use, 0-based (e.g. 0,2)", defaultText: 'all but alpha' },
    ranges: { type: 'boolean', description: "list every image's value range (by default up to 30 are listed)" },
  },
};

async function check(dir: string, flags: ParsedArgs['flags']): Promise<number> {
  const valueMap = typeof flags.valueMap === 'string' ? parseValueMap(flags.valueMap) : undefined;
  const summary = await checkDataset(dir, {
    task: flags.task as Task | undefined,
    polarity: flags.maskPolarity as MaskPolarity | undefined,
    valueMap: valueMap?.valueMap,
    threshold: flags.maskThreshold as number | undefined,
    strayValues: flags.strayValues as StrayValuePolicy | undefined,
    pixelSizeUm: flags.pixelSize as number | undefined,
    targetPixelSizeUm: flags.targetPixelSize as number | undefined,
    scale: flags.scale as number | undefined,
    maxPixels: typeof flags.maxMegapixels === 'number' ? flags.maxMegapixels * 1e6 : undefined,
    instances: flags.instanceMasks === true ? true : undefined,
    allowMissingMasks: flags.allowMissingMasks === true,
    classNames: valueMap?.classNames,
    channels: parseChannels(typeof flags.channels === 'string' ? flags.channels : undefined),
  });
  console.log(formatSummary(summary, { ranges: flags.ranges === true }));
  return summary.problems.length > 0 ? 1 : 0;
}

/** Subcommands of `pyocyte data`. */
const SUBCOMMANDS = { check } as const;

/** `pyocyte data check DIR`: prints a dataset summary; exit code 1 when there are problems. */
export const command = defineCommand(spec, async ({ flags, positionals }) => {
  const [name, dir] = positionals;
  const run = lookup(SUBCOMMANDS, name, 'data subcommand');
  return run(dir, flags);
});
