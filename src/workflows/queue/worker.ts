/**
 * `pyocyte worker`: takes prediction jobs from the Redis queue and runs each in a sandboxed child
 * process (processor.ts), until stopped. Start one per machine; jobs go to whichever worker is
 * free, and a dead worker's jobs are taken over by the others once its locks lapse.
 */
import { WORKER_DEFAULTS } from './options.js';
import { availableParallelism, hostname } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import type { BackendName } from '../../engine/index.js';
import { fail } from '../../util/errors.js';
import { ConnectionLog, QUEUE_NAME, describeRedis, redisConnection } from './connection.js';
import type { PredictJobData, PredictJobResult } from './jobs.js';

/** Options of {@link runWorker}. */
export interface QueueWorkerOptions {
  /** The Redis URL, `redis://HOST:6379`. */
  queue: string;
  /** Jobs run at once, each in its own child process with its own copy of the model. Default 1. */
  concurrency?: number;
  /** Compute threads of each child. Default: the cores divided by `concurrency` (at least 1). */
  threads?: number;
  /**
   * How long a job's lock lasts without renewal, in seconds; the worker renews it every half of
   * that. A dead worker's jobs are taken over after one to two of these. Default 30.
   */
  lockSeconds?: number;
  /** The children's compute engine. Default `auto`. */
  engine?: BackendName;
  /** Stops taking jobs; the running ones finish, then the worker closes. */
  signal?: AbortSignal;
  /** Where per-job and connection lines go. Default stderr. */
  log?: (line: string) => void;
}

/** What a worker did before it stopped. */
export interface WorkerSummary {
  name: string;
  completed: number;
  failed: number;
}

/** The processor file next to this one: processor.ts under tsx, processor.js once built. */
const PROCESSOR_FILE = fileURLToPath(new URL(`./processor${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Runs a worker until `signal` aborts; see {@link QueueWorkerOptions}. */
export async function runWorker(options: QueueWorkerOptions): Promise<WorkerSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const connection = redisConnection(options.queue);
  const concurrency = options.concurrency ?? WORKER_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) fail(`--concurrency must be a whole number ≥ 1, got ${concurrency}`);
  const threads = options.threads ?? Math.max(1, Math.floor(availableParallelism() / concurrency));
  if (!Number.isInteger(threads) || threads < 1) fail(`--threads must be a whole number ≥ 1, got ${threads}`);
  const lockMs = Math.round((options.lockSeconds ?? WORKER_DEFAULTS.lockSeconds) * 1000);
  if (!(lockMs >= 500)) fail(`--lock-seconds must be at least 0.5, got ${options.lockSeconds}`);
  const name = `${hostname()}:${process.pid}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PYOCYTE_WORKER_THREADS: String(threads) };
  if (options.engine) env.PYOCYTE_ENGINE = options.engine;
  const connectionLog = new ConnectionLog(options.queue, log);
  const summary: WorkerSummary = { name, completed: 0, failed: 0 };
  const worker = new Worker<PredictJobData, PredictJobResult>(QUEUE_NAME, PROCESSOR_FILE, {
    connection,
    concurrency,
    name,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 2,
    workerForkOptions: { env },
  });
  worker.on('error', (error) => connectionLog.error(error));
  worker.on('ready', () => connectionLog.ok());
  worker.on('completed', (job, result) => {
    connectionLog.ok();
    summary.completed++;
    log(`done ${job.data.stem} (${result.cells} cells) in ${result.seconds.toFixed(1)} s${result.reused ? ', already predicted' : ''}`);
  });
  worker.on('failed', (job, error) => {
    summary.failed++;
    log(`failed ${job?.data.stem ?? '?'}: ${error.message}`);
  });
  log(
    `worker ${name} on ${describeRedis(options.queue)}: ${concurrency} job${concurrency === 1 ? '' : 's'} at a time, ${threads} thread${threads === 1 ? '' : 's'} each`,
  );
  await new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  log(`worker ${name}: finishing running jobs, then stopping`);
  await worker.close();
  return summary;
}
