/**
 * The Redis connection every queue process uses: parsed from a `redis://HOST:PORT[/DB]` URL, with
 * reconnection forever (a worker or submitter survives Redis going away for a while) and commands
 * that wait for the connection instead of failing (`maxRetriesPerRequest: null`, as BullMQ asks).
 */
import type { RedisOptions } from 'bullmq';
import { PyocyteError, fail } from '../../util/errors.js';

/** The BullMQ queue that carries prediction jobs. */
export const QUEUE_NAME = 'pyocyte-predict';

/** Longest wait between two reconnection attempts, ms. */
const MAX_RECONNECT_DELAY_MS = 5000;

/**
 * Connection options for BullMQ from a Redis URL (`redis://` or `rediss://` for TLS;
 * `redis://:PASSWORD@HOST:6379/0` with a password and database).
 * @throws PyocyteError when the URL is not a Redis URL.
 */
export function redisConnection(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(`--queue must be a Redis URL like redis://HOST:6379, got '${url}'`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    fail(`--queue must be a Redis URL like redis://HOST:6379 (redis:// or rediss://), got '${url}'`);
  if (!parsed.hostname) fail(`--queue names no host: '${url}'; use redis://HOST:6379`);
  return {
    url,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    // Retry quickly at first, then every few seconds, forever: a queue outlives Redis restarts.
    retryStrategy: (times: number) => Math.min(250 * times, MAX_RECONNECT_DELAY_MS),
  };
}

/** The URL without its password, for messages. */
export function describeRedis(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * Waits until `ready` resolves, or fails after `timeoutMs` naming the URL and the last connection
 * error: a first connection that never comes is a wrong host or port, not an outage to sit out.
 */
export async function waitForRedis(
  ready: Promise<unknown>,
  url: string,
  timeoutMs: number,
  lastError: () => Error | undefined,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const why = lastError()?.message;
      const seconds = Math.round(timeoutMs / 1000);
      reject(
        new PyocyteError(
          `cannot reach Redis at ${describeRedis(url)}${why ? ` (${why})` : ''} within ${seconds} s; start redis-server there, or check the host and port`,
        ),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Error codes and messages of a connection that is down, as ioredis reports them. */
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed|connect/i;

/**
 * Logs connection trouble once per change, not once per reconnection attempt: "lost Redis …;
 * reconnecting" when errors start, "reconnected" when the connection is back.
 */
export class ConnectionLog {
  private down = false;
  private connected = false;
  private lastError: Error | undefined;
  constructor(
    private readonly url: string,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Records an 'error' event of a Queue, Worker or QueueEvents: a connection error once per
   * outage, anything else (a job whose lock was lost, …) as it comes.
   */
  error(error: Error): void {
    if (!CONNECTION_ERROR.test(`${(error as { code?: string }).code ?? ''} ${error.message}`)) {
      this.log(`Redis: ${error.message}`);
      return;
    }
    this.lastError = error;
    if (this.down) return;
    this.down = true;
    const where = describeRedis(this.url);
    this.log(
      this.connected ? `lost Redis at ${where} (${error.message}); reconnecting` : `waiting for Redis at ${where} (${error.message})`,
    );
  }

  /** Records that the connection works (it is ready, or a command succeeded). */
  ok(): void {
    const was = this.down;
    this.down = false;
    if (was) this.log(`${this.connected ? 'reconnected' : 'connected'} to Redis at ${describeRedis(this.url)}`);
    this.connected = true;
  }

  /** The last connection error seen, for a first connection that times out. */
  get last(): Error | undefined {
    return this.lastError;
  }
}
