import { formatQueueStatus, queueStatus } from '../workflows/queue/status.js';
import { fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';
import { type CommandSpec, type ParsedArgs, defineCommand } from './args.js';

const spec: CommandSpec = {
  name: 'queue',
  summary: 'The prediction queue. `queue status` lists waiting, active, completed and failed jobs, the workers alive, and the latest failed jobs with their error messages.',
  usage: 'pyocyte queue status --queue redis://HOST:6379',
  positionals: { min: 1, max: 1, name: 'a subcommand (status)' },
  flags: {
    queue: { type: 'string', short: 'q', description: 'the Redis URL, redis://HOST:6379' },
    failed: { type: 'number', description: 'how many of the latest failed jobs to list', defaultText: '10' },
  },
};

async function status(flags: ParsedArgs['flags']): Promise<number> {
  if (typeof flags.queue !== 'string') fail(`queue status needs --queue redis://HOST:6379; usage: ${spec.usage}`);
  const result = await queueStatus({ queue: flags.queue, failedLimit: flags.failed as number | undefined });
  console.log(formatQueueStatus(result));
  console.log(JSON.stringify(result));
  return 0;
}

/** Subcommands of `pyocyte queue`. */
const SUBCOMMANDS = { status } as const;

/** `pyocyte queue status`: prints the queue's state, then the same as one JSON line. */
export const command = defineCommand(spec, async ({ flags, positionals }) => lookup(SUBCOMMANDS, positionals[0], 'queue subcommand')(flags));
