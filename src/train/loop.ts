/**
 * The training loop: steps, epoch ends (validation, best-score tracking, the log line) and the
 * training clock. How long the run lasts and the learning rate come from a {@link TrainingPlan}
 * (src/train/budget.ts); checkpoints, progress, early stopping and restoring the best weights are
 * callbacks (src/train/callbacks.ts). Everything a resumed run needs is in the trainer state.
 */
import type { Loader } from '../data/loader.js';
import type { Model } from '../nn/model.js';
import type { TrainingPlan } from './budget.js';
import type { Callback, StepReport, TrainPhase, TrainingRun } from './callbacks.js';
import type { EpochLog, TrainerState } from './checkpoint.js';
import { type ValidationScores, countsToScores } from './validate.js';

/**
 * A validation Dice within this of the best so far ties with it, and the later epoch's weights are
 * kept: they trained longer, at a lower learning rate, and on 50 images such a difference is noise
 * (dsb2018, 2026-12-02: epoch 2 of 5, Dice 0.9048 and training loss 0.75, had been kept over epoch
 * 5, Dice 0.9047 and training loss 0.60). Early stopping still counts only real improvements.
 */
export const BEST_EPOCH_TIE = 0.002;

/**
 * Training time across sessions: the state's saved seconds plus this session's clock. Time spent
 * loading data, between sessions, or lost to a crash after the last checkpoint is not counted.
 */
export class TrainingClock {
  private sessionStartMs: number;

  /** @param now milliseconds from any origin, monotonic; injectable for tests. */
  constructor(
    private readonly state: TrainerState,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.sessionStartMs = now();
  }

  /** Seconds on the clock, for timing a stretch of work. */
  seconds(): number {
    return this.now() / 1000;
  }

  /** Training seconds so far. */
  elapsedSeconds(): number {
    return this.state.elapsedSeconds + (this.now() - this.sessionStartMs) / 1000;
  }

  /** Folds this session's time into `state.elapsedSeconds` (before the state is saved). */
  fold(): void {
    const now = this.now();
    this.state.elapsedSeconds += (now - this.sessionStartMs) / 1000;
    this.sessionStartMs = now;
  }
}

/** What {@link runLoop} works with. */
export interface LoopOptions {
  model: Model;
  loader: Loader;
  state: TrainerState;
  plan: TrainingPlan;
  clock: TrainingClock;
  /** Scores the model on the validation images at each epoch end; absent without validation images. */
  validate?: () => Promise<ValidationScores>;
  /** Called in order at each point; see {@link Callback}. */
  callbacks: readonly Callback[];
  /** Aborting ends the loop before the next step (the checkpoint callback then saves `last`). */
  signal?: AbortSignal;
  onPhase?: (phase: TrainPhase, step: number) => void;
}

/** Runs steps until the plan or a callback ends the run or the signal interrupts it. */
export async function runLoop(options: LoopOptions): Promise<{ interrupted: boolean }> {
  const { model, loader, state, plan, clock, callbacks } = options;
  const run: TrainingRun = {
    model,
    state,
    plan,
    elapsedSeconds: () => clock.elapsedSeconds(),
    stop: (reason) => {
      state.stopReason ??= reason;
    },
    phase: (phase) => options.onPhase?.(phase, state.step),
  };
  const each = async (call: (callback: Callback) => Promise<void> | void) => {
    for (const callback of callbacks) await call(callback);
  };
  await each((c) => c.onTrainBegin?.(run));
  let interrupted = false;
  while (state.stopReason === undefined && !plan.finished()) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    if (state.epochEndStep === undefined || state.epochEndStep <= state.step) state.epochEndStep = plan.epochEndStep();
    const started = clock.seconds();
    run.phase('step');
    const report = await step(plan.nextLearningRate(clock.elapsedSeconds()));
    await each((c) => c.onStepEnd?.(run, report));
    const last = plan.afterStep(clock.seconds() - started, clock.elapsedSeconds());
    if (last) state.stopReason = plan.endReason();
    if (last || state.step >= state.epochEndStep) await endEpoch(report.learningRate);
  }
  clock.fold();
  await each((c) => c.onTrainEnd?.(run, { interrupted }));
  return { interrupted };

  /** One optimisation step; the next batch is prepared while the engine computes this one. */
  async function step(rate: number): Promise<StepReport> {
    const batch = loader.next();
    const pending = model.trainStep(batch, { learningRate: rate });
    // trainStep has copied the batch to the engine: its arrays can be reused for the next one.
    loader.release(batch);
    loader.prefetch();
    const result = await pending;
    state.step += 1;
    const sums = state.epochSums;
    sums.loss += result.loss;
    sums.steps += 1;
    sums.counts = sums.counts.length ? sums.counts.map((c, i) => c + result.counts[i]) : result.counts;
    return { loss: result.loss, learningRate: rate };
  }

  /** Validates, tracks the best score, logs the epoch, then runs the epoch-end callbacks. */
  async function endEpoch(lastRate: number): Promise<void> {
    const started = clock.seconds();
    state.epoch += 1;
    const sums = state.epochSums;
    const train = { loss: sums.loss / Math.max(1, sums.steps), ...countsToScores(sums.counts) };
    let val: ValidationScores | undefined;
    if (options.validate) {
      run.phase('validation');
      val = await options.validate();
    }
    const score = val?.dice ?? train.dice;
    const improved = score > state.bestDice;
    const best = score >= state.bestDice - BEST_EPOCH_TIE;
    if (best) state.bestEpoch = state.epoch;
    if (improved) {
      state.bestDice = score;
      state.epochsWithoutImprovement = 0;
    } else {
      state.epochsWithoutImprovement += 1;
    }
    const entry: EpochLog = {
      epoch: state.epoch,
      step: state.step,
      seconds: Math.round(clock.elapsedSeconds() * 10) / 10,
      learningRate: lastRate,
      train,
      val,
      best,
    };
    state.history.push(entry);
    state.epochSums = { loss: 0, steps: 0, counts: [] };
    clock.fold();
    await each((c) => c.onEpochEnd?.(run, entry));
    plan.afterEpochEnd(clock.seconds() - started, clock.elapsedSeconds());
  }
}
