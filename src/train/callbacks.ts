/**
 * What happens around the training loop, as callbacks the loop calls at fixed points (the design
 * of tfjs-layers' `callbacks.ts` and Keras, and nnU-Net's `on_epoch_end`): early stopping,
 * checkpoints and the log, progress and messages, restoring the best weights at the end. The
 * loop owns the steps, the epoch bookkeeping and the best-score tracking; callbacks read the
 * trainer state and may ask the loop to stop.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModelTensors } from '../io/model-file.js';
import { decodeSafetensors } from '../io/safetensors.js';
import type { Model } from '../nn/model.js';
import type { Progress } from '../util/progress.js';
import type { TrainingPlan } from './budget.js';
import { CHECKPOINTS, type EpochLog, type TrainerState, saveBestCheckpoint, saveLastCheckpoint } from './checkpoint.js';
import { writeTrainingLog } from './log.js';
import type { WeightAverage } from './weight-average.js';

/** The parts of a run a phase hook can be told about, each announced when it starts. */
export type TrainPhase = 'step' | 'validation' | 'checkpoint' | 'log' | 'decision rule' | 'saving model';

/** The running loop, as callbacks see it. */
export interface TrainingRun {
  readonly model: Model;
  readonly state: TrainerState;
  readonly plan: TrainingPlan;
  /** Training seconds so far, this session included. */
  elapsedSeconds(): number;
  /** Ends the run after the current epoch end, for good (a resume only finishes it). */
  stop(reason: string): void;
  /** Announces the phase starting now. */
  phase(phase: TrainPhase): void;
}

/** One optimisation step's result, as the loop reports it. */
export interface StepReport {
  loss: number;
  learningRate: number;
}

/** Hooks the loop calls; every one is optional and may be async. Epoch-end callbacks run in order. */
export interface Callback {
  /** Before the first step of this session. */
  onTrainBegin?(run: TrainingRun): Promise<void> | void;
  /** After every optimisation step. */
  onStepEnd?(run: TrainingRun, step: StepReport): Promise<void> | void;
  /** After an epoch's validation, with its log line already in `state.history`. */
  onEpochEnd?(run: TrainingRun, epoch: EpochLog): Promise<void> | void;
  /** When the loop ends: its last step done (or the run stopped), or interrupted by the signal. */
  onTrainEnd?(run: TrainingRun, end: { interrupted: boolean }): Promise<void> | void;
}

/** Stops the run when validation Dice has not improved for `patience` epochs (0: never). */
export function earlyStopping(patience: number): Callback {
  return {
    onEpochEnd(run) {
      if (patience > 0 && run.state.epochsWithoutImprovement >= patience && run.state.stopReason === undefined) {
        run.stop(`early stop: validation Dice has not improved for ${patience} epochs`);
      }
    },
  };
}

/**
 * Writes the run's checkpoints and log: `last` at the start of a fresh run (so a run killed in its
 * first epoch can resume), `best` when an epoch improves on it, `last` and log.jsonl/curves.png
 * after every epoch, and `last` again when the run is interrupted. Every write is atomic. With a
 * weight average, `best` holds the average and `last` the weights beside it.
 */
export function checkpointing(runDir: string, options: { fresh: boolean; average?: WeightAverage }): Callback {
  const { average } = options;
  const save = async (run: TrainingRun, withBest: boolean) => {
    run.phase('checkpoint');
    const saveBest = () => saveBestCheckpoint(runDir, run.model);
    if (withBest) await (average ? average.with(run.model, saveBest) : saveBest());
    await saveLastCheckpoint(runDir, run.model, run.state, average);
    run.phase('log');
    await writeTrainingLog(runDir, run.state.history);
  };
  return {
    onTrainBegin: (run) => (options.fresh ? save(run, false) : undefined),
    onEpochEnd: (run, epoch) => save(run, epoch.best),
    onTrainEnd: (run, end) => (end.interrupted ? save(run, false) : undefined),
  };
}

/** Loads the `best` checkpoint's weights into the model when the run ends (not when interrupted). */
export function restoreBestWeights(runDir: string): Callback {
  return {
    async onTrainEnd(run, end) {
      const file = join(runDir, CHECKPOINTS.best, 'model.safetensors');
      if (end.interrupted || !existsSync(file)) return;
      loadModelTensors(run.model, decodeSafetensors(await readFile(file), { file }).tensors, file);
    },
  };
}

const f4 = (value: number) => value.toFixed(4);

/** One line per epoch: train and validation scores, `*` on a new best. */
export function epochLine(entry: EpochLog): string {
  const { train, val } = entry;
  return (
    `epoch ${entry.epoch}: train loss ${f4(train.loss)} dice ${f4(train.dice)}` +
    (val ? ` | val loss ${f4(val.loss)} dice ${f4(val.dice)} iou ${f4(val.iou)} acc ${f4(val.accuracy)}` : '') +
    (entry.best ? ' *' : '')
  );
}

/**
 * Feeds the progress display: the bar in the plan's unit (steps, or seconds of a budget) with the
 * epoch, step, running loss and last validation Dice; a line per epoch; the closing line.
 */
export function progressReport(progress: Progress, runDir: string): Callback {
  const show = (run: TrainingRun) => {
    const { state } = run;
    const { done, total, epoch } = run.plan.progress(run.elapsedSeconds());
    const last = state.history.at(-1);
    progress.setTotal(total);
    progress.update(done, {
      epoch,
      step: state.step,
      ...(state.epochSums.steps > 0 ? { loss: state.epochSums.loss / state.epochSums.steps } : {}),
      ...(last?.val ? { 'val dice': last.val.dice } : {}),
    });
  };
  return {
    onStepEnd: show,
    onEpochEnd: (_run, epoch) => progress.log(epochLine(epoch)),
    onTrainEnd(run, end) {
      progress.done(
        end.interrupted ? `interrupted at step ${run.state.step}; resume with: pyocyte train --resume ${runDir}` : run.state.stopReason,
      );
    },
  };
}
