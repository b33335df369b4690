/**
 * `npm run bench:scale`: images per second of batch prediction on the Redis queue against a local
 * `pyocyte predict`, all in one run on the same images and model:
 *   1. local `pyocyte predict --threads 2`;
 *   2. `pyocyte predict --queue` with 1 worker of 2 threads;
 *   3. `pyocyte predict --queue` with 2 workers of 1 thread each.
 * The images are 200 synthetic 1024² smears (synth/), the model the default recipe's U-Net (depth
 * 4, 16 filters, padded) with untrained weights: speed does not depend on the weights. TTA is off.
 * Wall time runs from the start of the `pyocyte predict` process to its exit, so it includes the
 * submitter's hashing and the final CSVs; workers are started (and idle) before each queued run,
 * as on a cluster. The per-job queue overhead is measured two ways:
 *   - end to end: (queued time with 1×2 threads − local time) / images;
 *   - in the worker: BullMQ's active time of each job minus the time the sandboxed processor
 *     measured itself (IPC to the child, lock and completion round trips), the median over jobs
 *     (the first job of each child also pays for forking it).
 * Writes bench/results/scale-<date>.json with the machine; the last stdout line is the result.
 *
 *   npm run bench:scale
 *   node --import tsx bench/scale.ts --images 6 --size 256 --out .cache/scale-check.json   # a quick check
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { createEngine } from '../src/engine/index.js';
import { writeImage } from '../src/io/image/image-io.js';
import { saveModel } from '../src/io/model-file.js';
import { unet } from '../src/nn/model.js';
import { synthesizeSmear } from '../src/synth/smear.js';
import { QUEUE_NAME } from '../src/workflows/queue/connection.js';
import type { PredictJobResult } from '../src/workflows/queue/jobs.js';
import { describeRun, runCli } from '../tests/cli/helpers.js';
import { RedisServer, WorkerProcess, runCliAsync } from '../tests/queue/helpers.js';
import { calibrationLoopMs, dayStamp, machineInfo } from './machine.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const images = Number(arg('images', '200'));
const size = Number(arg('size', '1024'));
const SETTINGS = ['--no-tta'];

/** Seconds of one run, and its rate. */
interface Run {
  seconds: number;
  imagesPerSecond: number;
}

function timed(seconds: number): Run {
  return { seconds: Math.round(seconds * 100) / 100, imagesPerSecond: Math.round((images / seconds) * 1000) / 1000 };
}

async function prepare(dir: string): Promise<{ model: string; inputs: string }> {
  const inputs = join(dir, 'images');
  mkdirSync(inputs, { recursive: true });
  // Ten distinct smears, copied: decoding and prediction cost the same, synthesis is not what is measured.
  const distinct = Math.min(images, 10);
  for (let i = 0; i < distinct; i++) {
    const smear = synthesizeSmear({ width: size, height: size, seed: 100 + i, pixelSizeUm: 0.5 });
    await writeImage(join(inputs, `${String(i + 1).padStart(4, '0')}.png`), smear.image);
  }
  for (let i = distinct; i < images; i++)
    copyFileSync(join(inputs, `${String((i % distinct) + 1).padStart(4, '0')}.png`), join(inputs, `${String(i + 1).padStart(4, '0')}.png`));
  const model = join(dir, 'model');
  const net = unet(
    { inChannels: 3, classes: 1, depth: 4, filters: 16 },
    { engine: createEngine({ backend: 'reference' }), seed: 1, metadata: { tta: 'none' } },
  );
  await saveModel(model, net);
  return { model, inputs };
}

/** One queued run: `workers` started with `threads` each, then `pyocyte predict --queue` timed. */
async function queued(
  server: RedisServer,
  model: string,
  inputs: string,
  out: string,
  workerCount: number,
  threads: number,
): Promise<{ run: Run; sandboxOverheadMs: number }> {
  const workers = Array.from({ length: workerCount }, () => WorkerProcess.start(server.url, ['--threads', String(threads)]));
  try {
    await Promise.all(workers.map((w) => w.ready()));
    const start = performance.now();
    const result = await runCliAsync(['predict', '--queue', server.url, '--model', model, inputs, '--out', out, ...SETTINGS]).done;
    const seconds = (performance.now() - start) / 1000;
    if (result.code !== 0) throw new Error(`queued predict failed:\n${describeRun(result)}`);
    const batch = String(result.lastJson?.batch);
    const queue = new Queue(QUEUE_NAME, { connection: { url: server.url, maxRetriesPerRequest: null } });
    const jobs = (await queue.getCompleted(0, -1)).filter((job) => job.id?.startsWith(`${batch}-`));
    await queue.close();
    const overheads = jobs.map((job) => job.finishedOn! - job.processedOn! - (job.returnvalue as PredictJobResult).seconds * 1000);
    const median = overheads.sort((a, b) => a - b)[Math.floor((overheads.length - 1) / 2)];
    return { run: timed(seconds), sandboxOverheadMs: Math.round(median * 10) / 10 };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pyocyte-bench-scale-'));
  const server = await RedisServer.start(dir);
  try {
    process.stderr.write(`bench: ${images} synthetic ${size}² images and a depth-4, 16-filter U-Net in ${dir}\n`);
    const { model, inputs } = await prepare(dir);
    const localStart = performance.now();
    const localResult = runCli(['predict', '--model', model, inputs, '--out', join(dir, 'local'), '--threads', '2', ...SETTINGS], {
      timeoutMs: 6 * 3600_000,
    });
    const local = timed((performance.now() - localStart) / 1000);
    if (localResult.code !== 0) throw new Error(`local predict failed:\n${describeRun(localResult)}`);
    process.stderr.write(`bench: local, 2 threads: ${local.imagesPerSecond} images/s\n`);
    const one = await queued(server, model, inputs, join(dir, 'queue-1x2'), 1, 2);
    process.stderr.write(`bench: queue, 1 worker × 2 threads: ${one.run.imagesPerSecond} images/s\n`);
    const two = await queued(server, model, inputs, join(dir, 'queue-2x1'), 2, 1);
    process.stderr.write(`bench: queue, 2 workers × 1 thread: ${two.run.imagesPerSecond} images/s\n`);
    const summaries = ['local', 'queue-1x2', 'queue-2x1'].map((name) => readFileSync(join(dir, name, 'summary.csv'), 'utf8'));
    const result = {
      images,
      size,
      model: 'unet depth 4, 16 filters, padded, fp32, untrained weights',
      tta: 'none',
      local_2_threads: local,
      queue_1_worker_2_threads: one.run,
      queue_2_workers_1_thread: two.run,
      queue_overhead_per_job_ms: Math.round(((one.run.seconds - local.seconds) / images) * 1000 * 10) / 10,
      sandbox_overhead_per_job_ms: { one_worker: one.sandboxOverheadMs, two_workers: two.sandboxOverheadMs },
      same_summary_csv: summaries.every((s) => s === summaries[0]),
    };
    const file = arg('out', join(root, 'bench', 'results', `scale-${dayStamp()}.json`));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      `${JSON.stringify({ benchmark: 'scale', machine: machineInfo(), calibrationLoopMs: calibrationLoopMs(), result }, null, 2)}\n`,
    );
    process.stderr.write(`bench: wrote ${file}\n`);
    console.log(JSON.stringify(result));
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
