/**
 * What a queued prediction job carries and how jobs are named. Job ids are derived from the batch
 * and the image, so submitting the same batch again names the same jobs and BullMQ keeps one of
 * each instead of queueing duplicates.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../io/prediction-manifest.js';
import type { PredictionSettings } from '../predict-image.js';

/** The data of one job: one image of a batch. Paths are absolute and must be the same on every machine. */
export interface PredictJobData {
  /** The batch's id ({@link batchId}). */
  batch: string;
  /** The image file. */
  image: string;
  /** Names the outputs (`<stem>_mask.png`, …), unique within the batch. */
  stem: string;
  /** The output folder, shared by every worker and the submitter. */
  out: string;
  /** The model's model.json. */
  model: string;
  /** sha256 of the model files when the batch was submitted; a worker refuses a model that differs. */
  modelSha256: string;
  settings: PredictionSettings;
}

/** What a worker returns for a job; the image's CSV rows are in its manifest in the output folder. */
export interface PredictJobResult {
  stem: string;
  cells: number;
  /** The outputs were already there (a job that ran twice, or a re-submitted batch). */
  reused: boolean;
  /** Wall-clock seconds the job took in the worker's sandbox, model loading included. */
  seconds: number;
}

/** BullMQ options of every prediction job. */
export const JOB_OPTIONS = {
  // A crashed sandbox (out of memory, a native fault) is retried; bad input fails at once
  // (workers throw UnrecoverableError for it).
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  // Completed jobs are kept a day so a re-submission finds them; failed ones a week, for `queue status`.
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A batch's id: 16 hex digits of the sha256 of the output folder, the model's hash and the
 * settings. The same command submitted twice is the same batch.
 */
export function batchId(out: string, modelSha256: string, settings: PredictionSettings): string {
  return sha256Hex(`${out}\n${modelSha256}\n${canonicalJson(settings)}`).slice(0, 16);
}

/** A job's id: `<batch>-<16 hex digits of the image path and stem>`. */
export function jobId(batch: string, image: string, stem: string): string {
  return `${batch}-${sha256Hex(`${image}\n${stem}`).slice(0, 16)}`;
}
