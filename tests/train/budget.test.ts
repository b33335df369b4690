import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  FIRST_EPOCH_SHARE,
  RECENT_STEPS,
  VALIDATION_SHARE,
  budgetEpochLength,
  expectedEpochEndSeconds,
  budgetFraction,
  budgetPlan,
  budgetSpent,
  median,
  newBudget,
  planFor,
  stepPlan,
} from '../../src/train/budget.js';
import type { TrainerState } from '../../src/train/checkpoint.js';
import { oneCycle } from '../../src/train/schedules.js';

function freshState(extra: Partial<TrainerState> = {}): TrainerState {
  return {
    step: 0,
    epoch: 0,
    totalSteps: 0,
    stepsPerEpoch: 10,
    elapsedSeconds: 0,
    bestDice: -1,
    bestEpoch: 0,
    epochsWithoutImprovement: 0,
    epochSums: { loss: 0, steps: 0, counts: [] },
    history: [],
    ...extra,
  };
}

describe('budget arithmetic on literals', () => {
  test('median of [3, 1, 2] is 2, of [4, 1, 3, 2] is 2.5, of [7] is 7', () => {
    assert.deepEqual([median([3, 1, 2]), median([4, 1, 3, 2]), median([7])], [2, 2.5, 7]);
  });

  test('budgetFraction: 30 s of 100 with a 10 s reserve is 1/3 (rounded to 1e-6); never below the previous; at most 1', () => {
    assert.equal(budgetFraction(30, 100, 10, 0), 0.333333);
    assert.equal(budgetFraction(30, 100, 10, 0.5), 0.5);
    assert.equal(budgetFraction(95, 100, 10, 0.9), 1);
  });

  test('budgetFraction: a reserve of 80 s in a 100 s budget counts as 50 s (half the budget)', () => {
    assert.equal(budgetFraction(25, 100, 80, 0), 0.5);
  });

  test('budgetSpent, 100 s budget, 2 s steps, 5 s reserve: goes on while one more step ends by 100 s (false at 92.9 s, true at 93.1 s)', () => {
    assert.equal(budgetSpent(92.9, 100, 2, 5), false);
    assert.equal(budgetSpent(93.1, 100, 2, 5), true);
  });

  test('budgetSpent with an epoch end due (a second 5 s reserve): false at 88.9 s (ends 93.9 s or 100.9 s), true at 89.1 s', () => {
    assert.equal(budgetSpent(87.9, 100, 2, 5, true), false);
    assert.equal(budgetSpent(88.9, 100, 2, 5, true), false);
    assert.equal(budgetSpent(89.1, 100, 2, 5, true), true);
  });

  test('budgetSpent with 20 s steps: goes on at 74 s (ends 79 s or 99 s) and at 80 s (85 s is 10 short, 105 s 5 late); stops at 84 s (89 / 109 s)', () => {
    assert.equal(budgetSpent(74, 100, 20, 5), false);
    assert.equal(budgetSpent(80, 100, 20, 5), false);
    assert.equal(budgetSpent(84, 100, 20, 5), true);
  });

  test('budgetSpent with 30 s steps: at 70 s stopping (75 s) misses 95 s by 20, going on (105 s) by 5: goes on; at 64 s (69 / 99 s) goes on', () => {
    assert.equal(budgetSpent(70, 100, 30, 5), false);
    assert.equal(budgetSpent(64, 100, 30, 5), false);
  });

  test('budgetSpent with 30 s steps at 80 s: stopping (85 s) misses 95 s by 10, going on (115 s) by 15: stops', () => {
    assert.equal(budgetSpent(80, 100, 30, 5), true);
  });

  test(`budgetEpochLength: natural 10 steps of 1 s; epoch end 0.5 s keeps 10, 3 s gives ${((1 - VALIDATION_SHARE) / VALIDATION_SHARE) * 3} (validation ≤ ${VALIDATION_SHARE * 100}%)`, () => {
    assert.equal(budgetEpochLength(10, 1, 0.5), 10);
    assert.equal(budgetEpochLength(10, 1, 3), 27);
    assert.equal(budgetEpochLength(10, 0, 3), 10, 'no step measured yet');
  });
});

describe('stepPlan: 3 epochs of 4 steps', () => {
  test('learning rate is oneCycle.atStep; epochs end at 4, 8, 12; finished at step 12', () => {
    const state = freshState({ totalSteps: 12, stepsPerEpoch: 4 });
    const plan = stepPlan(state, oneCycle, 1e-3);
    const ends: number[] = [];
    while (!plan.finished()) {
      assert.equal(plan.nextLearningRate(0), oneCycle.atStep(state.step, 12, 1e-3));
      const epochEnd = plan.epochEndStep();
      state.step += 1;
      if (plan.afterStep(0.1, 0) || state.step === epochEnd) ends.push(state.step);
    }
    assert.deepEqual(ends, [4, 8, 12]);
    assert.equal(state.budget, undefined);
  });

  test('a checkpoint from before budgets (no epochEndStep, no budget) at step 6 of 8, 4 per epoch: step plan, epoch ends at 8', () => {
    const state = freshState({ step: 6, totalSteps: 8, stepsPerEpoch: 4 });
    const plan = planFor(state, oneCycle, 1e-3);
    assert.equal(plan.epochEndStep(), 8);
    assert.equal(plan.finished(), false);
  });
});

/**
 * Drives a budget plan as the loop does, with step durations from `stepSeconds(step)` and epoch
 * ends from `epochEndSeconds(epoch, step)`, and returns where it ended.
 */
function simulate(
  budgetSeconds: number,
  stepSeconds: (step: number) => number,
  epochEndSeconds: (epoch: number, step: number) => number,
  naturalSteps = 35,
) {
  const state = freshState({ stepsPerEpoch: naturalSteps, budget: newBudget(budgetSeconds) });
  const plan = budgetPlan(state, oneCycle, 1e-3);
  let elapsed = 0;
  const rates: number[] = [];
  const epochLengths: number[] = [];
  let epochStart = 0;
  for (;;) {
    if (state.epochEndStep === undefined || state.epochEndStep <= state.step) state.epochEndStep = plan.epochEndStep();
    rates.push(plan.nextLearningRate(elapsed));
    elapsed += stepSeconds(state.step);
    state.step += 1;
    const last = plan.afterStep(stepSeconds(state.step - 1), elapsed);
    if (last) state.stopReason = plan.endReason();
    if (last || state.step >= state.epochEndStep) {
      state.epoch += 1;
      const seconds = epochEndSeconds(state.epoch, state.step);
      elapsed += seconds;
      plan.afterEpochEnd(seconds, elapsed);
      epochLengths.push(state.step - epochStart);
      epochStart = state.step;
    }
    if (last) break;
  }
  return { elapsed, state, rates, epochLengths, fractions: state.budget!.fractions };
}

describe('budgetPlan on a simulated machine: 150 s budget, natural epoch 35 steps, validation as long as 2 steps', () => {
  const cases: [string, (step: number) => number][] = [
    ['steady 0.45 s steps', () => 0.45],
    ['slow first (3 s steps for 15 steps, 45 s), then 0.45 s', (step) => (step < 15 ? 3 : 0.45)],
    ['fast first (0.2 s steps for 300 steps, 60 s), then 1.5 s', (step) => (step < 300 ? 0.2 : 1.5)],
    ['one epoch of slow steps in the middle (step 100–135 at 2 s)', (step) => (step >= 100 && step < 135 ? 2 : 0.45)],
    ['jittery: 0.45 s ± 50% (a fixed pseudo-random sequence)', (step) => 0.45 * (1 + 0.5 * Math.sin(step * 12.9898) ** 3)],
    ['a very busy machine: 14 s steps (validation 28 s)', () => 14],
  ];
  for (const [name, stepSeconds] of cases) {
    test(`${name}: ends between 95% of the budget (or a step short of it) and 1 s past it; fractions rise to ≥ 0.95, one per step`, () => {
      const { elapsed, state, fractions, rates } = simulate(150, stepSeconds, (_epoch, step) => 2 * stepSeconds(step - 1));
      const lastStep = stepSeconds(state.step - 1);
      assert.ok(elapsed >= Math.min(0.95 * 150, 150 - lastStep) && elapsed <= 151, `ended at ${elapsed.toFixed(2)} s`);
      assert.equal(fractions.length, state.step);
      for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i] >= fractions[i - 1], `fraction ${i}`);
      assert.ok(fractions.at(-1)! >= Math.min(0.95, 1 - (3 * lastStep) / 150), `last fraction ${fractions.at(-1)}`);
      assert.ok(rates.at(-1)! < 1e-3 * 0.01 || lastStep > 1, `last rate ${rates.at(-1)}`);
      assert.equal(state.totalSteps, state.step);
    });
  }

  test('30 s budget, natural epoch 4: half of it in 5 slow steps (3 s), then 0.25 s steps: ends between 95% and 100% of the budget', () => {
    const steps = (step: number) => (step < 5 ? 3 : 0.25);
    const { elapsed } = simulate(30, steps, (_epoch, step) => 2 * steps(step - 1), 4);
    assert.ok(elapsed >= 0.95 * 30 && elapsed <= 30, `ended at ${elapsed.toFixed(2)} s`);
  });

  test('validation always 2 s while steps go from 0.2 s to 1.5 s at step 300: ends between 95% and 100% of the budget', () => {
    const { elapsed } = simulate(
      150,
      (step) => (step < 300 ? 0.2 : 1.5),
      () => 2,
    );
    assert.ok(elapsed >= 0.95 * 150 && elapsed <= 150, `ended at ${elapsed.toFixed(2)} s`);
  });

  test('first epoch end slowed to 10 s, later ones 2 s: ends between 95% and 100% of the budget', () => {
    const { elapsed } = simulate(
      150,
      () => 0.45,
      (epoch) => (epoch === 1 ? 10 : 2),
    );
    assert.ok(elapsed >= 0.95 * 150 && elapsed <= 150, `ended at ${elapsed.toFixed(2)} s`);
  });

  test(`4 s steps: the first epoch ends after ${FIRST_EPOCH_SHARE * 100}% of the budget (4 steps, not 35), so validation is timed early`, () => {
    const { epochLengths, elapsed } = simulate(
      150,
      () => 4,
      () => 8,
    );
    assert.equal(epochLengths[0], 4);
    assert.ok(elapsed >= 0.95 * 150 && elapsed <= 150, `ended at ${elapsed.toFixed(2)} s`);
  });

  test('validation of 6 s with 0.45 s steps: epochs grow to 120 steps so epoch ends stay ≤ 10% of the time', () => {
    const { elapsed, epochLengths } = simulate(
      150,
      () => 0.45,
      () => 6,
    );
    assert.ok(elapsed >= 0.95 * 150 && elapsed <= 150, `ended at ${elapsed.toFixed(2)} s`);
    assert.equal(epochLengths[0], 34, 'the first epoch: natural (35), or 10% of the budget');
    assert.equal(epochLengths[1], 120);
  });

  test('expectedEpochEndSeconds: 2 s timed at 0.5 s steps is 4 s at 1 s steps, 20 s (10×) at 10 s steps, 2 s before steps are timed', () => {
    const budget = { ...newBudget(100), epochEndSeconds: 2, epochEndStepSeconds: 0.5 };
    assert.deepEqual(
      [expectedEpochEndSeconds(budget, 1), expectedEpochEndSeconds(budget, 10), expectedEpochEndSeconds(budget, 0)],
      [4, 20, 2],
    );
  });

  test(`the step estimate is the median of the last ${RECENT_STEPS} steps`, () => {
    const state = freshState({ budget: newBudget(100) });
    const plan = budgetPlan(state, oneCycle, 1e-3);
    for (const seconds of [9, 9, 1, 1, 1, 1, 1]) plan.afterStep(seconds, 0);
    assert.deepEqual(state.budget!.recentStepSeconds, Array(RECENT_STEPS).fill(1));
  });
});
