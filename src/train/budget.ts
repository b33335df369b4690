/**
 * How long a run lasts and where its learning-rate schedule stands.
 *
 * `--epochs N` fixes the length in steps up front, and the schedule follows the step. A time
 * budget cannot be turned into steps up front: the machine's speed decides how many fit, and
 * other work can make the first seconds slow or a later hour fast. So a budgeted run never plans a
 * step count: the schedule follows the share of the budget spent (`Schedule.atFraction`), and the
 * run goes on while one more step and the closing validation, both predicted from the latest ones,
 * still end within the budget (see {@link budgetSpent}). Every fraction the schedule saw is kept
 * in the checkpoint, so a resumed run continues from exactly the state it stopped in, and the run
 * can be audited afterwards.
 */
import type { BudgetRecord, TrainerState } from './checkpoint.js';
import type { Schedule } from './schedules.js';

/** Largest share of a budgeted run's time that epoch ends (validation, checkpoints, log) may take. */
export const VALIDATION_SHARE = 0.1;
/**
 * The first epoch ends early once this share of the budget is spent: until one validation pass
 * has been timed, the end of the run cannot be placed (on a busy machine a 35-step epoch can
 * outlast a 2.5-minute budget).
 */
export const FIRST_EPOCH_SHARE = 0.1;
/** Steps whose median duration predicts the next one: a few, so a change of speed shows quickly. */
export const RECENT_STEPS = 5;
/** Fractions are rounded to this, so trainer.json stays short and holds exactly what the schedule saw. */
const FRACTION_RESOLUTION = 1e6;

/** The length of a run and its learning-rate schedule, over the trainer state it reads and updates. */
export interface TrainingPlan {
  /** True once the run has taken its last step (step plans; a budget ends through `afterStep`). */
  finished(): boolean;
  /** The learning rate of the step about to run (`state.step`); a budget records the fraction it used. */
  nextLearningRate(elapsedSeconds: number): number;
  /** Records a step that took `seconds`; true when it was the run's last. May end the epoch early (`state.epochEndStep`). */
  afterStep(seconds: number, elapsedSeconds: number): boolean;
  /** Records an epoch end (validation, checkpoints, log) that took `seconds`. */
  afterEpochEnd(seconds: number, elapsedSeconds: number): void;
  /** The step at which the epoch starting at `state.step` ends. */
  epochEndStep(): number;
  /** Where the run stands, in the plan's own unit (steps, or seconds of a budget). */
  progress(elapsedSeconds: number): { done: number; total: number; epoch: string };
  /** Why the run ended, when the plan ended it (asked right after its last step). */
  endReason(): string;
  /** One line for the log when the run starts. */
  describe(): string;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The schedule's position in a budgeted run: the time spent over the time left for steps (the
 * budget less the closing epoch end, `reserveSeconds`), never lower than the previous step's,
 * at most 1, rounded to 1e-6.
 */
export function budgetFraction(elapsedSeconds: number, budgetSeconds: number, reserveSeconds: number, previous: number): number {
  // A reserve above half the budget means a budget too short for its validation; keep the curve.
  const horizon = Math.max(budgetSeconds - reserveSeconds, budgetSeconds / 2);
  const fraction = Math.min(1, Math.max(previous, elapsedSeconds / horizon));
  return Math.round(fraction * FRACTION_RESOLUTION) / FRACTION_RESOLUTION;
}

/** A budgeted run aims to end in [(1 − this) × budget, budget]. */
export const BUDGET_TOLERANCE = 0.05;

/**
 * Whether a budgeted run should stop after the step just taken. Stopping now ends after the
 * closing epoch end (`reserveSeconds`); going on costs at least one more step, and a second epoch
 * end when one is due now anyway (`epochEndDue`). The run goes on while that still ends within the
 * budget; past it, it stops unless stopping would end below 95 % of the budget and further from
 * that range than going on.
 */
export function budgetSpent(
  elapsedSeconds: number,
  budgetSeconds: number,
  stepSeconds: number,
  reserveSeconds: number,
  epochEndDue = false,
): boolean {
  const endNow = elapsedSeconds + reserveSeconds;
  const endLater = endNow + stepSeconds + (epochEndDue ? reserveSeconds : 0);
  if (endLater <= budgetSeconds) return false;
  const floor = (1 - BUDGET_TOLERANCE) * budgetSeconds;
  if (endNow >= floor) return true;
  // Stopping ends too early and going on too late: the nearer miss.
  return floor - endNow <= endLater - budgetSeconds;
}

/**
 * The expected length of the next epoch end: the latest one, scaled by how much faster or slower
 * steps have become since (other work on the machine slows both alike), by at most 10×.
 */
export function expectedEpochEndSeconds(budget: BudgetRecord, stepSeconds: number): number {
  if (!(budget.epochEndStepSeconds > 0 && stepSeconds > 0)) return budget.epochEndSeconds;
  return budget.epochEndSeconds * Math.min(10, Math.max(0.1, stepSeconds / budget.epochEndStepSeconds));
}

/**
 * Steps in a budgeted run's next epoch: the natural epoch, lengthened so the epoch end takes at
 * most {@link VALIDATION_SHARE} of the time (validation on big images can outlast many steps).
 */
export function budgetEpochLength(naturalSteps: number, stepSeconds: number, epochEndSeconds: number): number {
  if (!(stepSeconds > 0 && epochEndSeconds > 0)) return naturalSteps;
  const stepsPerEpochEnd = (1 - VALIDATION_SHARE) / VALIDATION_SHARE;
  return Math.max(naturalSteps, Math.ceil((stepsPerEpochEnd * epochEndSeconds) / stepSeconds));
}

/** A run of a fixed number of steps (`--epochs N`, and checkpoints written before budgets were measured). */
export function stepPlan(state: TrainerState, schedule: Schedule, peak: number): TrainingPlan {
  return {
    finished: () => state.step >= state.totalSteps,
    nextLearningRate: () => schedule.atStep(state.step, state.totalSteps, peak),
    afterStep: () => state.step >= state.totalSteps,
    afterEpochEnd: () => {},
    epochEndStep: () => Math.min(state.totalSteps, (Math.floor(state.step / state.stepsPerEpoch) + 1) * state.stepsPerEpoch),
    progress: () => ({
      done: state.step,
      total: state.totalSteps,
      epoch: `${state.epoch + 1}/${Math.ceil(state.totalSteps / state.stepsPerEpoch)}`,
    }),
    endReason: () => `all ${state.totalSteps} steps done`,
    describe: () => `plan: ${Math.ceil(state.totalSteps / state.stepsPerEpoch)} epochs of ${state.stepsPerEpoch} steps`,
  };
}

/** A fresh budget record for a run of `seconds`. */
export function newBudget(seconds: number): BudgetRecord {
  return { seconds, fractions: [], recentStepSeconds: [], epochEndSeconds: 0, epochEndStepSeconds: 0 };
}

/** A run on a time budget (`state.budget`); see the file header. */
export function budgetPlan(state: TrainerState, schedule: Schedule, peak: number): TrainingPlan {
  const budget = state.budget!;
  const stepSeconds = () => (budget.recentStepSeconds.length > 0 ? median(budget.recentStepSeconds) : 0);
  const reserve = () => expectedEpochEndSeconds(budget, stepSeconds());
  const minutes = `${Number((budget.seconds / 60).toFixed(2))} min`;
  return {
    finished: () => false,
    nextLearningRate(elapsedSeconds) {
      const fraction = budgetFraction(elapsedSeconds, budget.seconds, reserve(), budget.fractions.at(-1) ?? 0);
      budget.fractions[state.step] = fraction;
      return schedule.atFraction(fraction, peak);
    },
    afterStep(seconds, elapsedSeconds) {
      budget.recentStepSeconds = [...budget.recentStepSeconds, seconds].slice(-RECENT_STEPS);
      if (state.epoch === 0 && elapsedSeconds >= FIRST_EPOCH_SHARE * budget.seconds) state.epochEndStep = state.step;
      const epochEndDue = state.epochEndStep !== undefined && state.step >= state.epochEndStep;
      const spent = budgetSpent(elapsedSeconds, budget.seconds, stepSeconds(), reserve(), epochEndDue);
      if (spent) state.totalSteps = state.step;
      return spent;
    },
    afterEpochEnd(seconds, elapsedSeconds) {
      budget.epochEndSeconds = seconds;
      budget.epochEndStepSeconds = stepSeconds();
      // Only an estimate, for messages: the budget decides when the run ends.
      const left = budget.seconds - elapsedSeconds - seconds;
      if (stepSeconds() > 0 && state.stopReason === undefined)
        state.totalSteps = state.step + Math.max(0, Math.floor(left / stepSeconds()));
    },
    epochEndStep: () => state.step + budgetEpochLength(state.stepsPerEpoch, stepSeconds(), budget.epochEndSeconds),
    progress: (elapsedSeconds) => ({
      done: Math.min(elapsedSeconds, budget.seconds),
      total: budget.seconds,
      epoch: String(state.epoch + 1),
    }),
    endReason: () => `time budget of ${minutes} used after ${state.step} steps`,
    describe: () =>
      `plan: a ${minutes} budget; the learning rate follows the share of it spent; epochs of at least ${state.stepsPerEpoch} steps, ` +
      `longer when validation would take over ${VALIDATION_SHARE * 100}% of the time`,
  };
}

/** The plan a trainer state asks for: its budget when it has one, else its step count. */
export function planFor(state: TrainerState, schedule: Schedule, peak: number): TrainingPlan {
  return state.budget ? budgetPlan(state, schedule, peak) : stepPlan(state, schedule, peak);
}
