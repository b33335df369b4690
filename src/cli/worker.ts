import { runWorker } from '../workflows/queue/worker.js';
import { BACKENDS, type BackendName } from '../engine/index.js';
import { fail } from '../util/errors.js';
import { type CommandSpec, defineCommand } from './args.js';
import { interruptSignal } from './common.js';

const spec: CommandSpec = {
  name: 'worker',
  summary: 'Take prediction jobs from a Redis queue (submitted with `pyocyte predict --queue`) until stopped; run one per machine. Each job runs in a child process of its own; outputs go to the folder the batch names, which every worker must see at the same path.',
  usage: 'pyocyte worker --queue redis://HOST:6379 [--concurrency N] [--threads T]',
  flags: {
    queue: { type: 'string', short: 'q', description: 'the Redis URL, redis://HOST:6379' },
    concurrency: { type: 'number', description: 'jobs at a time, each with its own copy of the model', defaultText: '1' },
    threads: { type: 'number', description: 'compute threads per job', defaultText: 'the cores divided by --concurrency' },
    'lock-seconds': { type: 'number', description: "a job's lock, renewed every half of it; a dead worker's jobs are taken over after one to two of these", defaultText: '30' },
    engine: { type: 'string', choices: Object.keys(BACKENDS), description: 'compute engine', defaultText: 'auto (native oneDNN, else reference)' },
  },
};

/** `pyocyte worker`: runs until Ctrl-C (running jobs finish first), then prints a JSON summary line. */
export const command = defineCommand(spec, async ({ flags: f }) => {
  if (typeof f.queue !== 'string') fail(`worker needs --queue redis://HOST:6379; usage: ${spec.usage}`);
  const summary = await runWorker({
    queue: f.queue,
    concurrency: f.concurrency as number | undefined,
    threads: f.threads as number | undefined,
    lockSeconds: f.lockSeconds as number | undefined,
    engine: f.engine as BackendName | undefined,
    signal: interruptSignal('worker'),
  });
  console.log(JSON.stringify(summary));
  return 0;
});
