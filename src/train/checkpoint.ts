/**
 * Checkpoints: `checkpoints/last` (model, optimizer state, trainer state: everything a resumed run
 * needs to continue bit for bit) and `checkpoints/best` (the model with the best validation Dice).
 * Each is one folder written atomically.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../engine/types.js';
import { loadModel, modelFiles } from '../io/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import type { Model } from '../nn/model.js';
import { fail } from '../util/errors.js';
import { writeFolderAtomic } from '../util/fs.js';
import type { WeightAverage } from './weight-average.js';

/** One epoch's line in log.jsonl. */
export interface EpochLog {
  epoch: number;
  step: number;
  seconds: number;
  learningRate: number;
  train: { loss: number; accuracy: number; dice: number; iou: number };
  val?: { loss: number; accuracy: number; dice: number; iou: number; dicePerClass: number[] };
  best: boolean;
}

/** What a run on a time budget has seen; see `src/train/budget.ts`. */
export interface BudgetRecord {
  /** The budget of training time, in seconds. */
  seconds: number;
  /** The share of the budget the learning-rate schedule saw at each step (index = step), 0–1. */
  fractions: number[];
  /** Durations of the latest steps, seconds, oldest first: their median predicts the next step. */
  recentStepSeconds: number[];
  /** Duration of the latest epoch end (validation, checkpoints, log), seconds; 0 before the first. */
  epochEndSeconds: number;
  /** The step duration (median of the recent ones) when that epoch end was timed, seconds. */
  epochEndStepSeconds: number;
}

/** The training loop's own state, saved with every `last` checkpoint. */
export interface TrainerState {
  /** Optimisation steps done. */
  step: number;
  /** Epochs completed. */
  epoch: number;
  /**
   * Step-based runs: the planned length, which fixes the learning-rate schedule. Budgeted runs:
   * an estimate while they run (the budget decides), the steps taken once they end.
   */
  totalSteps: number;
  /** The natural epoch: one pass over the training patches, in steps. */
  stepsPerEpoch: number;
  /** The step at which the running epoch ends (absent in checkpoints from before budgets were measured). */
  epochEndStep?: number;
  /** Training seconds so far, summed over sessions. */
  elapsedSeconds: number;
  bestDice: number;
  bestEpoch: number;
  epochsWithoutImprovement: number;
  /** The running epoch's sums: loss, steps, confusion counts. */
  epochSums: { loss: number; steps: number; counts: number[] };
  history: EpochLog[];
  /** Budgeted runs only: what the budget has seen. */
  budget?: BudgetRecord;
  /** Set when the run has ended for good (budget spent, steps done, early stop): a resume only finishes it. */
  stopReason?: string;
}

export const CHECKPOINTS = { last: 'checkpoints/last', best: 'checkpoints/best' } as const;

/**
 * Saves the `last` checkpoint: model, optimizer state (with the weight average's tensors and
 * update count when the run keeps one) and trainer state.
 */
export async function saveLastCheckpoint(runDir: string, model: Model, state: TrainerState, average?: WeightAverage): Promise<void> {
  const optimizer = model.trainingOptimizer ?? fail('saveLastCheckpoint: the model has no optimizer');
  const optimizerState = await optimizer.stateDict(model.network.parameters());
  const tensors = {
    ...Object.fromEntries(Object.entries(optimizerState.tensors).map(([name, t]) => [name, { shape: t.shape, data: t.data }])),
    ...average?.checkpointTensors(model),
  };
  const metadata = {
    optimizer: optimizer.name,
    step: String(optimizerState.step),
    ...(average ? { averageUpdates: String(average.updates) } : {}),
  };
  const files = {
    ...(await modelFiles(model)),
    'optimizer.safetensors': encodeSafetensors(tensors, { metadata }),
    'trainer.json': `${JSON.stringify(state)}\n`,
  };
  await writeFolderAtomic(join(runDir, CHECKPOINTS.last), files);
}

/** Saves the `best` checkpoint (the model alone). */
export async function saveBestCheckpoint(runDir: string, model: Model): Promise<void> {
  await writeFolderAtomic(join(runDir, CHECKPOINTS.best), await modelFiles(model));
}

/**
 * Loads the `last` checkpoint of a run for resuming: the model (with its optimizer state) and the
 * trainer state; `average`, when the run keeps one, takes its saved averages.
 */
export async function loadLastCheckpoint(
  runDir: string,
  engine: Engine,
  configure: (model: Model) => void,
  average?: WeightAverage,
): Promise<{ model: Model; state: TrainerState }> {
  const dir = join(runDir, CHECKPOINTS.last);
  if (!existsSync(join(dir, 'trainer.json'))) fail(`cannot resume ${runDir}: it has no checkpoint (${dir}/trainer.json is missing)`);
  const model = await loadModel(dir, { engine });
  configure(model);
  const state = JSON.parse(await readFile(join(dir, 'trainer.json'), 'utf8')) as TrainerState;
  const file = join(dir, 'optimizer.safetensors');
  const { tensors, metadata } = decodeSafetensors(await readFile(file), { file });
  const optimizer = model.trainingOptimizer!;
  if (metadata.optimizer !== optimizer.name) fail(`${file} holds ${metadata.optimizer} state but the run uses ${optimizer.name}`);
  const plain = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { data: t.data as Float32Array }]));
  optimizer.loadStateDict(model.network.parameters(), { step: Number(metadata.step), tensors: plain });
  average?.load(model, plain, Number(metadata.averageUpdates ?? 0), file);
  return { model, state };
}
