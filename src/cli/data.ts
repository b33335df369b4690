import { type CHECK_OPTIONS as CheckTable, CHECK_OPTIONS } from '../data/check-options.js';
import { checkAnnotations, formatAnnotationCheck } from '../data/annotations/check.js';
import { isAnnotatedDataset } from '../data/annotations/dataset.js';
import { checkDataset } from '../data/check.js';
import { formatSummary } from '../data/check-format.js';
import type { OptionValues } from '../util/options.js';
import { lookup } from '../util/registry.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'data',
  summary:
    'Dataset tools. `data check DIR` pairs images with masks, decodes every file, and summarises sizes, mask values, foreground share, object sizes and the split; it exits 1 when it finds problems.',
  usage: 'pyocyte data check DIR [options]',
  positionals: { min: 2, max: 2, name: 'a subcommand (check) and a dataset folder' },
  options: CHECK_OPTIONS,
} as const;

async function check(dir: string, { valueMap, ranges, ...options }: OptionValues<typeof CheckTable>): Promise<number> {
  if (await isAnnotatedDataset(dir)) {
    const found = await checkAnnotations(dir, { classes: options.classes });
    console.log(formatAnnotationCheck(found));
    return found.problems.length > 0 ? 1 : 0;
  }
  const summary = await checkDataset(dir, { ...options, valueMap: valueMap?.valueMap, classNames: valueMap?.classNames });
  console.log(formatSummary(summary, { ranges: ranges === true }));
  return summary.problems.length > 0 ? 1 : 0;
}

/** Subcommands of `pyocyte data`. */
const SUBCOMMANDS = { check } as const;

/** `pyocyte data check DIR`: prints a dataset summary; exit code 1 when there are problems. */
export const command = defineCommand(spec, async ({ options, positionals }) => {
  const [name, dir] = positionals;
  const run = lookup(SUBCOMMANDS, name, 'data subcommand');
  return run(dir, options);
});
