/**
 * `pyocyte queue status`: the prediction queue's job counts, the workers connected to it, and the
 * latest failed jobs with their error messages.
 */
import { QUEUE_STATUS_DEFAULTS } from './options.js';
import { Queue } from 'bullmq';
import { ConnectionLog, QUEUE_NAME, describeRedis, redisConnection, waitForRedis } from './connection.js';
import type { PredictJobData } from './jobs.js';

/** Options of {@link queueStatus}. */
export interface QueueStatusOptions {
  /** The Redis URL, `redis://HOST:6379`. */
  queue: string;
  /** How many of the latest failed jobs to list. Default 10. */
  failedLimit?: number;
  /** How long to wait for Redis, in seconds. Default 10. */
  connectSeconds?: number;
}

/** A worker connected to the queue. */
export interface WorkerInfo {
  /** `host:pid` of the `pyocyte worker` process. */
  name: string;
  /** Its address as Redis sees it. */
  address: string;
  /** Seconds since it connected. */
  connectedSeconds: number;
}

/** A failed job and why it failed. */
export interface FailedJobInfo {
  id: string;
  image: string;
  reason: string;
  /** ISO 8601 time of the failure. */
  failedAt?: string;
}

/** The state of the prediction queue. */
export interface QueueStatus {
  queue: string;
  counts: { waiting: number; active: number; delayed: number; completed: number; failed: number };
  workers: WorkerInfo[];
  /** The latest failed jobs, newest first. */
  failed: FailedJobInfo[];
}

/** Reads the queue's state; see {@link QueueStatus}. */
export async function queueStatus(options: QueueStatusOptions): Promise<QueueStatus> {
  const queue = new Queue<PredictJobData>(QUEUE_NAME, { connection: redisConnection(options.queue) });
  const connectionLog = new ConnectionLog(options.queue, () => {});
  queue.on('error', (error) => connectionLog.error(error));
  try {
    await waitForRedis(queue.waitUntilReady(), options.queue, (options.connectSeconds ?? 10) * 1000, () => connectionLog.last);
  } catch (error) {
    await queue.close();
    throw error;
  }
  try {
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
    const byName = new Map<string, WorkerInfo>();
    for (const client of await queue.getWorkers()) {
      const raw = client.rawname ?? client.name ?? '';
      const name = raw.includes(':w:') ? raw.slice(raw.indexOf(':w:') + 3) : raw;
      if (!byName.has(name)) byName.set(name, { name, address: client.addr ?? '', connectedSeconds: Number(client.age ?? 0) });
    }
    const failedJobs = await queue.getFailed(0, Math.max(1, options.failedLimit ?? QUEUE_STATUS_DEFAULTS.failedLimit) - 1);
    return {
      queue: describeRedis(options.queue),
      counts: {
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
      },
      workers: [...byName.values()],
      failed: failedJobs.map((job) => ({
        id: job.id ?? '',
        image: job.data?.image ?? '',
        reason: job.failedReason ?? '',
        failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
      })),
    };
  } finally {
    await queue.close();
  }
}

/** The status as lines for a terminal. */
export function formatQueueStatus(status: QueueStatus): string {
  const { counts } = status;
  const lines = [
    `queue ${QUEUE_NAME} on ${status.queue}`,
    `  jobs: ${counts.waiting} waiting, ${counts.active} active, ${counts.delayed} delayed (retrying), ${counts.completed} completed, ${counts.failed} failed`,
    `  workers alive: ${status.workers.length}`,
    ...status.workers.map((w) => `    ${w.name} at ${w.address}, connected ${w.connectedSeconds} s`),
  ];
  if (status.failed.length > 0) {
    lines.push(`  latest failed jobs:`);
    for (const job of status.failed) lines.push(`    ${job.image || job.id}${job.failedAt ? ` (${job.failedAt})` : ''}: ${job.reason}`);
  }
  return lines.join('\n');
}
