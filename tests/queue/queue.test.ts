/**
 * Batch prediction on a Redis queue, end to end: a real redis-server per test, two `pyocyte
 * worker` processes, `pyocyte predict --queue` over 20 synthetic images, compared byte for byte
 * with a local `pyocyte predict` of the same images. Workers use 3-second locks so that a killed
 * worker's job is taken over within seconds.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Job, Queue } from 'bullmq';
import { QUEUE_NAME } from '../../src/workflows/queue/connection.js';
import { train } from '../../src/workflows/train.js';
import { QUIET, TINY_TRAINING, assertOneLineError, describeRun, runCli, tempFolder, tinyDataset } from '../cli/helpers.js';
import { RedisServer, WorkerProcess, redisAvailability, runCliAsync, sleep } from './helpers.js';

const redis = redisAvailability();
const IMAGES = 20;
/** Both the local and the queued runs use these settings (no TTA keeps the suite quick). */
const SETTINGS = ['--no-tta'];

/** Asserts two folders hold the same file names (dot files included) with the same bytes. */
function assertSameFiles(expected: string, actual: string): void {
  const names = readdirSync(expected).sort();
  assert.deepEqual(readdirSync(actual).sort(), names, `files of ${actual}`);
  for (const name of names)
    assert.ok(readFileSync(join(actual, name)).equals(readFileSync(join(expected, name))), `${name} differs from the local prediction`);
}

function manifests(dir: string): number {
  try {
    return readdirSync(dir).filter((n) => n.endsWith('_manifest.json')).length;
  } catch {
    return 0;
  }
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe(`predict --queue with 2 workers on ${IMAGES} synthetic 192x192 images`, {
  skip: redis.available ? false : redis.reason,
  timeout: 600_000,
}, () => {
  let tmp: ReturnType<typeof tempFolder>;
  let run = '';
  let images = '';
  let local = '';
  let server: RedisServer;
  let workers: WorkerProcess[] = [];
  let queue: Queue | undefined;

  before(async () => {
    tmp = tempFolder('queue');
    const data = await tinyDataset(join(tmp.dir, 'data'), { count: IMAGES, width: 192, height: 192, seed: 11, split: [18, 1, 1] });
    run = (await train({ data, out: join(tmp.dir, 'run'), ...TINY_TRAINING, epochs: 1 }, QUIET)).runDir;
    images = join(data, 'images');
    local = join(tmp.dir, 'local');
    const result = runCli(['predict', '--model', run, images, '--out', local, '--threads', '1', ...SETTINGS], { timeoutMs: 300_000 });
    assert.equal(result.code, 0, describeRun(result));
  });
  after(() => tmp.remove());

  /** Runs `body` with a fresh redis-server and two workers, and an output folder; stops them whatever happens. */
  async function withQueue(name: string, body: (out: string) => Promise<void>): Promise<void> {
    const dir = join(tmp.dir, name);
    mkdirSync(dir);
    server = await RedisServer.start(dir);
    try {
      workers = [WorkerProcess.start(server.url), WorkerProcess.start(server.url)];
      await Promise.all(workers.map((w) => w.ready()));
      await body(join(dir, 'out'));
    } finally {
      await queue?.close();
      queue = undefined;
      await Promise.all(workers.map((w) => w.stop()));
      await server.stop();
    }
  }
  const submit = (out: string, inputs = images) =>
    runCliAsync(['predict', '--queue', server.url, '--model', run, inputs, '--out', out, ...SETTINGS]);
  const testQueue = () => (queue ??= new Queue(QUEUE_NAME, { connection: { url: server.url, maxRetriesPerRequest: null } }));

  test('every output (images, manifests, summary.csv, cells.csv) equals a local pyocyte predict byte for byte', () =>
    withQueue('equal', async (out) => {
      const result = await submit(out).done;
      assert.equal(result.code, 0, describeRun(result));
      assert.deepEqual([result.lastJson?.images, result.lastJson?.failed], [IMAGES, 0]);
      assertSameFiles(local, out);
      const done = workers.map((w) => (w.output.match(/^done /gm) ?? []).length);
      assert.equal(done[0] + done[1], IMAGES, workers.map((w) => w.output).join('\n'));
      // Submitting the same batch again predicts nothing: every image is recognised as finished.
      const again = await submit(out).done;
      assert.equal(again.code, 0, describeRun(again));
      assert.equal(again.lastJson?.reused, IMAGES);
      assertSameFiles(local, out);
    }));

  test('kill -9 of a worker in the middle of a job: the other worker takes the job over, one set of outputs per image, nothing half-written', () =>
    withQueue('kill', async (out) => {
      const submission = submit(out);
      let victim: Job | undefined;
      for (let attempt = 0; attempt < 3 && !victim; attempt++) {
        const worker = workers[0];
        await until('worker A holds a job', async () => {
          victim = (await testQueue().getActive()).find((job) => job.processedBy === worker.name);
          return victim !== undefined;
        });
        worker.kill9();
        // Lost the race (A finished that job first)? Start another A and try again.
        if ((await testQueue().getJobState(victim!.id!)) !== 'active') {
          victim = undefined;
          workers.push(worker); // stopped with the others at the end
          workers[0] = WorkerProcess.start(server.url);
          await workers[0].ready();
        }
      }
      assert.ok(victim, 'worker A was never killed in the middle of a job');
      const result = await submission.done;
      assert.equal(result.code, 0, describeRun(result));
      const job = await testQueue().getJob(victim.id!);
      assert.equal(await job?.getState(), 'completed');
      assert.equal(job?.processedBy, workers[1].name, "the killed worker's job was finished by the other worker");
      await until("the killed worker's sandbox child exits", () => !workers[0].groupAlive(), 30_000);
      assertSameFiles(local, out);
    }));

  test('Redis stopped for 4 s mid-batch (and back empty): workers and the submitter reconnect, lost jobs are queued again, the batch completes', () =>
    withQueue('outage', async (out) => {
      const submission = submit(out);
      await until('the first image is done', () => manifests(out) >= 1);
      await server.stop();
      assert.ok(manifests(out) < IMAGES, 'the batch finished before Redis was stopped');
      await sleep(4000);
      await server.restart();
      const result = await submission.done;
      assert.equal(result.code, 0, describeRun(result));
      assert.match(result.stderr, /lost Redis at redis:\/\/127\.0\.0\.1:\d+ \(.*\); reconnecting/);
      assert.match(result.stderr, /reconnected to Redis/);
      for (const worker of workers) assert.match(worker.output, /reconnected to Redis/, worker.output);
      assertSameFiles(local, out);
    }));

  test("a truncated broken.png among the 20: its job fails with the decoder's message, the batch completes, summary.csv lists it, queue status shows it", () =>
    withQueue('corrupt', async (out) => {
      const inputs = join(tmp.dir, 'corrupt', 'images');
      mkdirSync(inputs);
      for (const name of readdirSync(images)) copyFileSync(join(images, name), join(inputs, name));
      writeFileSync(join(inputs, 'broken.png'), readFileSync(join(images, '001.png')).subarray(0, 200));
      const result = await submit(out, inputs).done;
      assert.equal(result.code, 1, describeRun(result));
      assert.deepEqual([result.lastJson?.images, result.lastJson?.failed], [IMAGES, 1]);
      assert.match(result.stderr, /broken\.png is a corrupt or truncated PNG file/);
      const summary = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
      const expected = readFileSync(join(local, 'summary.csv'), 'utf8').trim().split('\n');
      assert.deepEqual(summary.slice(0, -1), expected);
      assert.match(summary.at(-1)!, /^broken,,,,,"?\S*broken\.png is a corrupt or truncated PNG file/);
      assert.ok(readFileSync(join(out, 'cells.csv')).equals(readFileSync(join(local, 'cells.csv'))));
      const status = runCli(['queue', 'status', '--queue', server.url]);
      assert.equal(status.code, 0, describeRun(status));
      assert.match(status.stdout, /20 completed, 1 failed/);
      assert.match(status.stdout, /workers alive: 2/);
      assert.match(status.stdout, /broken\.png.*: .*broken\.png is a corrupt or truncated PNG file/);
    }));
});

describe('queue commands with bad arguments fail in one line', () => {
  test('worker without --queue; predict --queue http://h; predict --queue with --threads', () => {
    assertOneLineError(runCli(['worker']), /'worker' needs --queue redis:\/\/HOST:6379/);
    assertOneLineError(
      runCli(['predict', '--queue', 'http://h', '--model', 'm', 'x.png', '--out', 'o']),
      /--queue must be a Redis URL like redis:\/\/HOST:6379 \(redis:\/\/ or rediss:\/\/\), got 'http:\/\/h'/,
    );
    assertOneLineError(
      runCli(['predict', '--queue', 'redis://h', '--threads', '2', '--model', 'm', 'x.png', '--out', 'o']),
      /give --threads and --engine to `pyocyte worker`/,
    );
  });
});
