import { WORKER_OPTIONS } from '../workflows/queue/options.js';
import { runWorker } from '../workflows/queue/worker.js';
import { defineCommand } from './args.js';
import { interruptSignal } from './common.js';

const spec = {
  name: 'worker',
  summary:
    'Take prediction jobs from a Redis queue (submitted with `pyocyte predict --queue`) until stopped; run one per machine. Each job runs in a child process of its own; outputs go to the folder the batch names, which every worker must see at the same path.',
  usage: 'pyocyte worker --queue redis://HOST:6379 [--concurrency N] [--threads T]',
  options: WORKER_OPTIONS,
} as const;

/** `pyocyte worker`: runs until Ctrl-C (running jobs finish first), then prints a JSON summary line. */
export const command = defineCommand(spec, async ({ options }) => {
  const summary = await runWorker({ ...options, signal: interruptSignal('worker') });
  console.log(JSON.stringify(summary));
  return 0;
});
