import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stepPlan } from '../../src/train/budget.js';
import { type TrainingRun, earlyStopping, epochLine } from '../../src/train/callbacks.js';
import type { EpochLog, TrainerState } from '../../src/train/checkpoint.js';
import type { Model } from '../../src/nn/model.js';
import { constant } from '../../src/train/schedules.js';

const scores = { loss: 0.5, accuracy: 0.9, dice: 0.75, iou: 0.6 };

function runWith(epochsWithoutImprovement: number): TrainingRun {
  const state: TrainerState = {
    step: 8,
    epoch: 2,
    totalSteps: 20,
    stepsPerEpoch: 4,
    elapsedSeconds: 1,
    bestDice: 0.7,
    bestEpoch: 1,
    epochsWithoutImprovement,
    epochSums: { loss: 0, steps: 0, counts: [] },
    history: [],
  };
  return {
    model: {} as Model,
    state,
    plan: stepPlan(state, constant, 1e-3),
    elapsedSeconds: () => 1,
    phase: () => {},
    stop: (reason) => {
      state.stopReason ??= reason;
    },
  };
}

describe('earlyStopping', () => {
  const entry: EpochLog = { epoch: 2, step: 8, seconds: 1, learningRate: 1e-3, train: scores, best: false };

  test('patience 2: 1 epoch without improvement goes on, 2 stop the run saying why', () => {
    const going = runWith(1);
    earlyStopping(2).onEpochEnd!(going, entry);
    assert.equal(going.state.stopReason, undefined);
    const stopping = runWith(2);
    earlyStopping(2).onEpochEnd!(stopping, entry);
    assert.equal(stopping.state.stopReason, 'early stop: validation Dice has not improved for 2 epochs');
  });

  test('patience 0 never stops, even after 50 epochs without improvement', () => {
    const run = runWith(50);
    earlyStopping(0).onEpochEnd!(run, entry);
    assert.equal(run.state.stopReason, undefined);
  });
});

describe('epochLine', () => {
  test('epoch 3 with validation, a new best: both score sets to 4 decimals and a star', () => {
    const line = epochLine({
      epoch: 3,
      step: 12,
      seconds: 2,
      learningRate: 1e-3,
      train: scores,
      best: true,
      val: { loss: 0.25, accuracy: 0.95, dice: 0.8125, iou: 0.7, dicePerClass: [0.8125] },
    });
    assert.equal(line, 'epoch 3: train loss 0.5000 dice 0.7500 | val loss 0.2500 dice 0.8125 iou 0.7000 acc 0.9500 *');
  });

  test('epoch 1 without validation images, not best: train scores only', () => {
    assert.equal(
      epochLine({ epoch: 1, step: 4, seconds: 1, learningRate: 1e-3, train: scores, best: false }),
      'epoch 1: train loss 0.5000 dice 0.7500',
    );
  });
});
