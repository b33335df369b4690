/**
 * The sandboxed processor as BullMQ calls it in a worker's child process (here in-process, no
 * Redis needed), and the pure parts of the queue: job ids, Redis URLs.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SandboxedJob } from 'bullmq';
import { writeImage } from '../../src/io/image/image-io.js';
import { modelSha256 } from '../../src/io/model-hash.js';
import { PyocyteError } from '../../src/util/errors.js';
import { redisConnection } from '../../src/workflows/queue/connection.js';
import { type PredictJobData, type PredictJobResult, batchId, jobId } from '../../src/workflows/queue/jobs.js';
import predictJob from '../../src/workflows/queue/processor.js';
import { rectangleImage, tempFolder, untrainedRun } from '../cli/helpers.js';

/** A job as BullMQ hands it to a sandboxed processor; only `data` is read. */
function sandboxedJob(data: PredictJobData): SandboxedJob<PredictJobData, PredictJobResult> {
  return { data } as SandboxedJob<PredictJobData, PredictJobResult>;
}

describe('the queue processor with an untrained depth-2 model on a 48x40 image', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data: PredictJobData;
  before(async () => {
    tmp = tempFolder('processor');
    await untrainedRun(join(tmp.dir, 'run'));
    await writeImage(join(tmp.dir, 'two.png'), rectangleImage(48, 40, [[4, 4, 10, 8]]));
    const model = resolve(tmp.dir, 'run', 'model', 'model.json');
    data = {
      batch: 'b',
      image: join(tmp.dir, 'two.png'),
      stem: 'two',
      out: join(tmp.dir, 'out'),
      model,
      modelSha256: (await modelSha256(model)).sha256,
      settings: { tta: false },
    };
  });
  after(() => tmp.remove());

  test('the right model hash: writes the outputs and the manifest; a second run of the job reuses them', async () => {
    const first = await predictJob(sandboxedJob(data));
    assert.equal(first.stem, 'two');
    assert.equal(first.reused, false);
    for (const suffix of ['_mask.png', '_probability.png', '_overlay.png', '_instances.png', '_manifest.json'])
      assert.ok(existsSync(join(data.out, `two${suffix}`)), suffix);
    const manifest = readFileSync(join(data.out, 'two_manifest.json'));
    const second = await predictJob(sandboxedJob(data));
    assert.deepEqual([second.reused, second.cells], [true, first.cells]);
    assert.ok(readFileSync(join(data.out, 'two_manifest.json')).equals(manifest));
  });

  test("a model whose sha256 is not the batch's: fails at once (UnrecoverableError) naming the model and both hashes", async () => {
    await assert.rejects(predictJob(sandboxedJob({ ...data, modelSha256: 'f'.repeat(64) })), (e: Error) => {
      assert.equal(e.name, 'UnrecoverableError');
      assert.match(e.message, /the model at .*model\.json has sha256 [0-9a-f]{16}… but the batch was submitted with ffffffffffffffff…/);
      return true;
    });
  });

  test("an empty image file: fails at once with the reader's message naming it", async () => {
    writeFileSync(join(tmp.dir, 'empty.png'), '');
    await assert.rejects(predictJob(sandboxedJob({ ...data, image: join(tmp.dir, 'empty.png'), stem: 'empty' })), (e: Error) => {
      assert.equal(e.name, 'UnrecoverableError');
      assert.match(e.message, /empty\.png is empty \(0 bytes\)/);
      return true;
    });
    assert.ok(!existsSync(join(data.out, 'empty_manifest.json')));
  });
});

describe('job ids and Redis URLs', () => {
  test('jobId: same batch, image and stem give the same id; another stem or batch another one', () => {
    const batch = batchId('/out', 'a'.repeat(64), { threshold: 0.5 });
    assert.match(batch, /^[0-9a-f]{16}$/);
    assert.equal(batchId('/out', 'a'.repeat(64), { threshold: 0.5 }), batch);
    assert.notEqual(batchId('/out', 'a'.repeat(64), { threshold: 0.6 }), batch);
    assert.notEqual(batchId('/other', 'a'.repeat(64), { threshold: 0.5 }), batch);
    const id = jobId(batch, '/data/x.png', 'x');
    assert.match(id, new RegExp(`^${batch}-[0-9a-f]{16}$`));
    assert.equal(jobId(batch, '/data/x.png', 'x'), id);
    assert.notEqual(jobId(batch, '/data/x.png', 'x_2'), id);
  });

  test('redisConnection: redis://h:6379 reconnects forever with commands waiting; http://h and "localhost" fail saying what to give', () => {
    const options = redisConnection('redis://h:6379');
    assert.equal(options.url, 'redis://h:6379');
    assert.equal(options.maxRetriesPerRequest, null);
    assert.equal(options.retryStrategy?.(1000), 5000);
    assert.throws(
      () => redisConnection('http://h'),
      (e: unknown) => e instanceof PyocyteError && /must be a Redis URL like redis:\/\/HOST:6379/.test(e.message),
    );
    assert.throws(
      () => redisConnection('localhost'),
      (e: unknown) => e instanceof PyocyteError && /got 'localhost'/.test(e.message),
    );
  });
});
