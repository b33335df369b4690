/**
 * The sandboxed processor of `pyocyte worker`. BullMQ runs this file in a child process per job
 * slot (`--concurrency`), so neither the native engine nor the JavaScript around it (decoding,
 * watershed, PNG encoding) can delay the parent's lock renewals, and a crash costs one attempt of
 * one job, not the worker. Each child loads the model once and keeps it while jobs name the same
 * model file with the same hash. Its compute threads come from PYOCYTE_WORKER_THREADS (set by
 * worker.ts) and its engine from PYOCYTE_ENGINE.
 */
import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import { createEngine } from '../../engine/index.js';
import type { Engine } from '../../engine/types.js';
import { loadModel } from '../../io/model-file.js';
import { type ModelHash, modelFilesStamp, modelSha256 } from '../../io/model-hash.js';
import type { Model } from '../../nn/model.js';
import { PyocyteError, fail } from '../../util/errors.js';
import { predictImageFile } from '../predict-image.js';
import type { PredictJobData, PredictJobResult } from './jobs.js';

let engine: Engine | undefined;
let loaded: { file: string; hash: ModelHash; stamp: string; model: Model } | undefined;

/** The job's model, loaded once per child; fails when its files' hash is not the batch's. */
async function modelFor(data: PredictJobData): Promise<Model> {
  if (
    loaded &&
    loaded.file === data.model &&
    loaded.hash.sha256 === data.modelSha256 &&
    (await modelFilesStamp(loaded.hash)) === loaded.stamp
  )
    return loaded.model;
  const hash = await modelSha256(data.model);
  const stamp = await modelFilesStamp(hash);
  if (hash.sha256 !== data.modelSha256) {
    fail(
      `the model at ${data.model} has sha256 ${hash.sha256.slice(0, 16)}… but the batch was submitted with ${data.modelSha256.slice(0, 16)}…: ` +
        'the model changed after submission, or this machine sees another file at that path; put the same model there or submit the batch again',
    );
  }
  if (loaded && loaded.file === data.model && loaded.hash.sha256 === hash.sha256) {
    loaded.stamp = stamp; // touched but unchanged
    return loaded.model;
  }
  const threads = Number(process.env.PYOCYTE_WORKER_THREADS) || undefined;
  engine ??= createEngine({ threads });
  loaded = { file: data.model, hash, stamp, model: await loadModel(data.model, { engine }) };
  return loaded.model;
}

/**
 * Predicts the job's image into the batch's output folder (see predictImageFile). Bad input (an
 * unreadable image, a model whose hash differs) fails the job at once with its one-line message;
 * anything else is retried by BullMQ.
 */
export default async function predictJob(job: SandboxedJob<PredictJobData, PredictJobResult>): Promise<PredictJobResult> {
  const start = performance.now();
  const { image, out, stem, settings, modelSha256: hash } = job.data;
  try {
    const model = await modelFor(job.data);
    const prediction = await predictImageFile({ ...settings, model, modelSha256: hash, image, out, stem });
    return { stem, cells: prediction.summary.cells, reused: prediction.reused, seconds: (performance.now() - start) / 1000 };
  } catch (error) {
    if (error instanceof PyocyteError) throw new UnrecoverableError(error.message);
    throw error;
  }
}

// The worker that forked this child is gone (killed, or its machine lost): its jobs' locks lapse
// and other workers take them over, so stop now rather than write outputs nobody waits for.
if (process.send) process.once('disconnect', () => process.exit(1));
