import type { OptionValues } from '../util/options.js';
import { lookup } from '../util/registry.js';
import { QUEUE_STATUS_OPTIONS } from '../workflows/queue/options.js';
import { formatQueueStatus, queueStatus } from '../workflows/queue/status.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'queue',
  summary:
    'The prediction queue. `queue status` lists waiting, active, completed and failed jobs, the workers alive, and the latest failed jobs with their error messages.',
  usage: 'pyocyte queue status --queue redis://HOST:6379',
  positionals: { min: 1, max: 1, name: 'a subcommand (status)' },
  options: QUEUE_STATUS_OPTIONS,
} as const;

async function status(options: OptionValues<typeof QUEUE_STATUS_OPTIONS>): Promise<number> {
  const result = await queueStatus(options);
  console.log(formatQueueStatus(result));
  console.log(JSON.stringify(result));
  return 0;
}

/** Subcommands of `pyocyte queue`. */
const SUBCOMMANDS = { status } as const;

/** `pyocyte queue status`: prints the queue's state, then the same as one JSON line. */
export const command = defineCommand(spec, async ({ options, positionals }) =>
  lookup(SUBCOMMANDS, positionals[0], 'queue subcommand')(options),
);
