/** The options of `pyocyte worker` and `pyocyte queue status` (see src/util/options.ts for tables). */
import { ENGINE_OPTIONS } from '../../engine/options.js';
import { defaultsOf, defineOptions } from '../../util/options.js';

const QUEUE = {
  type: 'string',
  required: true,
  short: 'q',
  placeholder: 'redis://HOST:6379',
  doc: 'the Redis URL, redis://HOST:6379',
} as const;

export const WORKER_OPTIONS = defineOptions({
  queue: QUEUE,
  concurrency: { type: 'number', default: 1, doc: 'jobs at a time, each in its own child process with its own copy of the model' },
  threads: { type: 'number', defaultText: 'the cores divided by --concurrency', doc: 'compute threads per job' },
  lockSeconds: {
    type: 'number',
    default: 30,
    doc: "a job's lock, renewed every half of it; a dead worker's jobs are taken over after one to two of these",
  },
  engine: ENGINE_OPTIONS.engine,
});
/** `{ concurrency: 1, lockSeconds: 30, engine: 'auto' }`. */
export const WORKER_DEFAULTS = defaultsOf(WORKER_OPTIONS);

export const QUEUE_STATUS_OPTIONS = defineOptions({
  queue: QUEUE,
  failedLimit: { type: 'number', flag: 'failed', default: 10, doc: 'how many of the latest failed jobs to list' },
});
/** `{ failedLimit: 10 }`. */
export const QUEUE_STATUS_DEFAULTS = defaultsOf(QUEUE_STATUS_OPTIONS);
