/**
 * `pyocyte predict --queue`: one BullMQ job per image, run by `pyocyte worker`s on any number of
 * machines; one progress bar over all of them; summary.csv and cells.csv for the whole batch at
 * the end, the same bytes a local `pyocyte predict` writes.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { resolveModelPath } from '../../io/model-file.js';
import { modelSha256 } from '../../io/model-hash.js';
import { type PredictionKey, fileSha256, finishedManifest, manifestFileName } from '../../io/prediction-manifest.js';
import type { ImageSummary } from '../../io/prediction-outputs.js';
import { PyocyteErrors } from '../../util/errors.js';
import { mapPool } from '../../util/pool.js';
import { type Progress, type ProgressStream, createProgress } from '../../util/progress.js';
import { type PredictionSettings, assignStems, predictionSettings } from '../predict-image.js';
import { type PredictFilesResult, collectImages, writeBatchCsvs } from '../predict-files.js';
import { ConnectionLog, QUEUE_NAME, describeRedis, redisConnection, waitForRedis } from './connection.js';
import { JOB_OPTIONS, type PredictJobData, batchId, jobId } from './jobs.js';

/** Options of {@link predictOnQueue}. */
export interface QueuePredictOptions extends PredictionSettings {
  /** The Redis URL the workers listen on, `redis://HOST:6379`. */
  queue: string;
  /** A training run folder, model folder or model.json, at a path every worker sees. */
  model: string;
  /** Image files and folders of images, at paths every worker sees. */
  inputs: readonly string[];
  /** The output folder, at a path every worker sees and can write (a shared folder). */
  out: string;
  /**
   * Cancels the batch: its jobs that no worker has started are removed from the queue, and the
   * CSVs are written for the images finished so far.
   */
  signal?: AbortSignal;
  /** How long to wait for the first connection to Redis, in seconds. Default 10. */
  connectSeconds?: number;
  log?: (line: string) => void;
  progressStream?: ProgressStream | null;
}

/** What {@link predictOnQueue} did. */
export interface QueuePredictResult extends PredictFilesResult {
  /** The batch's id, the prefix of its job ids. */
  batch: string;
  /** Jobs removed from the queue when the batch was cancelled. */
  cancelled: number;
}

/** One image of the batch and, once known, its summary.csv row and cells.csv rows. */
interface Entry {
  file: string;
  stem: string;
  id: string;
  key: PredictionKey;
  row?: ImageSummary;
  cells?: string;
  reused?: boolean;
}

/** How often the submitter asks Redis for the state of the jobs it still waits for, ms. */
const RECONCILE_MS = 3000;
/** How long a completed job's manifest may stay invisible to the submitter before the job counts as failed, ms. */
const MANIFEST_WAIT_MS = 60_000;

/** Finds an entry's finished outputs (its manifest) and records them. */
async function readFinished(out: string, entry: Entry): Promise<boolean> {
  const manifest = await finishedManifest(out, entry.stem, entry.key);
  if (!manifest) return false;
  entry.row = manifest.summary;
  entry.cells = manifest.cellsCsv;
  return true;
}

/**
 * Adds the jobs (BullMQ keeps one job per id, so a re-submission adds nothing twice), then
 * revives those an earlier submission left finished: failed ones are retried, and completed ones
 * whose outputs are gone or stale are queued again.
 */
async function enqueue(queue: Queue<PredictJobData>, entries: readonly Entry[], data: (entry: Entry) => PredictJobData): Promise<void> {
  const add = (entry: Entry) => ({ name: 'predict', data: data(entry), opts: { ...JOB_OPTIONS, jobId: entry.id } });
  for (let start = 0; start < entries.length; start += 500) await queue.addBulk(entries.slice(start, start + 500).map(add));
  await mapPool(entries, 16, async (entry) => {
    const state = await queue.getJobState(entry.id);
    if (state === 'failed') {
      await (await queue.getJob(entry.id))?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    } else if (state === 'completed') {
      await queue.remove(entry.id);
      const { name, data: jobData, opts } = add(entry);
      await queue.add(name, jobData, opts);
    }
  });
}

/** What {@link runJobs} works on: the batch, and the result it fills in. */
interface Batch {
  options: QueuePredictOptions;
  log: (line: string) => void;
  out: string;
  entries: readonly Entry[];
  /** The entries not finished yet, by job id; emptied as jobs finish. */
  pending: Map<string, Entry>;
  jobData: (entry: Entry) => PredictJobData;
  result: QueuePredictResult;
}

/**
 * Queues the pending entries and waits until each has completed (its manifest read) or failed
 * (its error recorded), or until `options.signal` cancels the batch.
 */
async function runJobs(batch: Batch): Promise<void> {
  const { options, log, out, entries, pending, jobData, result } = batch;
  const connection = redisConnection(options.queue);
  let progress: Progress | undefined;
  const connectionLog = new ConnectionLog(options.queue, (line) => (progress ? progress.log(line) : log(line)));
  const queue = new Queue<PredictJobData>(QUEUE_NAME, { connection });
  queue.on('error', (error) => connectionLog.error(error));
  let wake = () => {};
  const fields: Record<string, number> = {};
  const missingSince = new Map<string, number>();
  const finish = async (id: string, failedReason?: string) => {
    const entry = pending.get(id);
    if (!entry) return;
    if (failedReason === undefined && !(await readFinished(out, entry))) {
      // A shared folder (NFS) may show another machine's new file only after a while: ask again later.
      const since = missingSince.get(id) ?? Date.now();
      missingSince.set(id, since);
      if (Date.now() - since < MANIFEST_WAIT_MS) return;
      failedReason = `a worker finished ${entry.stem} but ${manifestFileName(entry.stem)} is not in ${out}: every worker must see the output folder at this same path`;
    }
    if (!pending.delete(id)) return; // finished meanwhile by the other path (event or reconcile)
    if (failedReason !== undefined) {
      entry.row = { image: entry.stem, error: failedReason };
      progress?.log(`failed ${entry.file}: ${failedReason}`);
    }
    progress?.update(entries.length - pending.size, fields);
    if (pending.size === 0) wake();
  };
  const failedReasonOf = async (id: string) => (await queue.getJob(id))?.failedReason || 'failed without a message';
  // Events can be missed (before QueueEvents listens, or while Redis is away): ask for the states.
  const reconcile = async () => {
    await mapPool([...pending.values()], 16, async (entry) => {
      const state = await queue.getJobState(entry.id);
      if (state === 'completed') await finish(entry.id);
      else if (state === 'failed') await finish(entry.id, await failedReasonOf(entry.id));
      else if (state === 'unknown') {
        // Removed, or lost with a Redis that restarted empty: done if its manifest says so, else queued again.
        if (await readFinished(out, entry)) await finish(entry.id);
        else await queue.add('predict', jobData(entry), { ...JOB_OPTIONS, jobId: entry.id });
      }
    });
    fields.active = await queue.getActiveCount();
    fields.workers = new Set((await queue.getWorkers()).map((w) => w.rawname ?? w.name)).size;
    connectionLog.ok();
    progress?.update(entries.length - pending.size, fields);
  };
  try {
    await waitForRedis(queue.waitUntilReady(), options.queue, (options.connectSeconds ?? 10) * 1000, () => connectionLog.last);
  } catch (error) {
    await queue.close();
    throw error;
  }
  connectionLog.ok();
  // Created once Redis answers: BullMQ cannot close a QueueEvents that never connected.
  const events = new QueueEvents(QUEUE_NAME, { connection });
  events.on('error', (error) => connectionLog.error(error));
  // An event handled here only saves waiting for the next reconcile, which also covers its errors.
  const ignore = () => {};
  events.on('completed', ({ jobId: id }) => void finish(id).catch(ignore));
  events.on('failed', ({ jobId: id }) => {
    if (!pending.has(id)) return;
    // Confirm the state: a 'failed' job is final, not waiting for a retry.
    void queue
      .getJobState(id)
      .then(async (state) => state === 'failed' && finish(id, await failedReasonOf(id)))
      .catch(ignore);
  });
  await events.waitUntilReady();
  if (options.progressStream !== null) {
    progress = createProgress({ total: entries.length, initialDone: result.reused, label: 'predict', stream: options.progressStream });
  }
  try {
    if ((await queue.getWorkers()).length === 0) {
      const where = describeRedis(options.queue);
      (progress?.log ?? log)(
        `no worker is connected to ${where} yet; the jobs wait for one ('pyocyte worker --queue ${where}' on each machine)`,
      );
    }
    await enqueue(queue, [...pending.values()], jobData);
    options.signal?.addEventListener('abort', () => wake(), { once: true });
    while (pending.size > 0 && !options.signal?.aborted) {
      await new Promise<void>((done) => {
        const timer = setTimeout(done, RECONCILE_MS);
        wake = () => {
          clearTimeout(timer);
          done();
        };
      });
      if (pending.size > 0 && !options.signal?.aborted) await reconcile();
    }
    if (pending.size > 0) {
      result.interrupted = true;
      for (const entry of pending.values()) if ((await queue.remove(entry.id)) === 1) result.cancelled++;
      const running = pending.size - result.cancelled;
      (progress?.log ?? log)(
        `cancelled the batch: ${result.cancelled} waiting job${result.cancelled === 1 ? '' : 's'} removed` +
          `${running > 0 ? `, ${running} running on workers will still write their outputs` : ''}; the same command again finishes the batch`,
      );
    }
  } finally {
    progress?.done(
      result.reused > 0
        ? `${result.reused} image${result.reused === 1 ? ' was' : 's were'} already predicted in ${out} and kept`
        : undefined,
    );
    await events.close();
    await queue.close();
  }
}

/**
 * Predicts images on workers through a Redis queue: see {@link QueuePredictOptions}. Images whose
 * outputs are already in `out` for this model and these settings are not queued. Waits until every
 * job has completed or failed (a failed image is listed in summary.csv with its error), surviving
 * Redis restarts: jobs lost with Redis are queued again.
 * @throws PyocyteError when Redis cannot be reached at first, or no image could be predicted.
 */
export async function predictOnQueue(options: QueuePredictOptions): Promise<QueuePredictResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  redisConnection(options.queue); // a bad URL fails before any image is read
  const model = resolve(resolveModelPath(options.model));
  const files = (await collectImages(options.inputs)).map((file) => resolve(file));
  const stems = assignStems(files);
  const out = resolve(options.out);
  await mkdir(out, { recursive: true });
  const { sha256 } = await modelSha256(model);
  const settings = predictionSettings(options);
  const batch = batchId(out, sha256, settings);
  const entries: Entry[] = await mapPool(files, 4, async (file, i) => {
    const entry: Entry = {
      file,
      stem: stems[i],
      id: jobId(batch, file, stems[i]),
      key: { imageSha256: await fileSha256(file), modelSha256: sha256, settings: { ...settings } },
    };
    entry.reused = await readFinished(out, entry);
    return entry;
  });
  const pending = new Map(entries.filter((e) => !e.reused).map((e) => [e.id, e]));
  const jobData = (e: Entry): PredictJobData => ({ batch, image: e.file, stem: e.stem, out, model, modelSha256: sha256, settings });
  const result: QueuePredictResult = {
    batch,
    images: [],
    failed: [],
    reused: entries.length - pending.size,
    interrupted: false,
    cancelled: 0,
    out,
  };
  if (pending.size > 0) await runJobs({ options, log, out, entries, pending, jobData, result });
  else log(`every image was already predicted in ${out} with this model and these settings; nothing to queue`);
  for (const entry of entries) {
    if (entry.row?.error !== undefined) result.failed.push(`${entry.file}: ${entry.row.error}`);
    else if (entry.row) result.images.push(entry.row as QueuePredictResult['images'][number]);
  }
  // As a local predict stopped early: the CSVs list the images that finished (or failed), not the cancelled ones.
  const finished = entries.filter((e) => e.row !== undefined);
  await writeBatchCsvs(
    out,
    finished.map((e) => e.row!),
    finished.filter((e) => e.row!.error === undefined).map((e) => e.cells ?? ''),
  );
  if (result.images.length === 0 && result.failed.length > 0 && !result.interrupted)
    throw new PyocyteErrors('no image could be predicted', result.failed);
  return result;
}
