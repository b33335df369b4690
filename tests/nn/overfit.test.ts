/**
 * The end-to-end sanity check of training: a tiny U-Net must memorise 4 synthetic smears
 * (Dice > 0.95 at threshold 0.5, evaluation mode) on each engine. A broken gradient, optimizer or
 * BatchNorm running statistic shows up here as a plateau.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { synthesizeSmear } from '../../src/synth/smear.js';
import type { Batch } from '../../src/nn/types.js';
import { unet } from '../../src/nn/model.js';
import { engines } from '../engine/helpers.js';

const SIZE = 48;
const IMAGES = 4;
const MAX_STEPS = 150;

/** 4 smears at 1 µm/px (a few 12-px pus cells per 48×48 image), normalised per channel to mean 0, std 1. */
function smearBatch(): Batch {
  const plane = SIZE * SIZE;
  const x = new Float32Array(IMAGES * 3 * plane);
  const y = new Float32Array(IMAGES * plane);
  for (let n = 0; n < IMAGES; n++) {
    const smear = synthesizeSmear({ width: SIZE, height: SIZE, seed: n + 1, pixelSizeUm: 1 });
    assert.ok(smear.cells >= 1, `smear ${n + 1} has no cells`);
    for (let j = 0; j < plane; j++) {
      for (let c = 0; c < 3; c++) x[(n * 3 + c) * plane + j] = smear.image.data[j * 3 + c];
      y[n * plane + j] = smear.binary[j];
    }
  }
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    let squares = 0;
    for (let n = 0; n < IMAGES; n++) for (let j = 0; j < plane; j++) sum += x[(n * 3 + c) * plane + j];
    const mean = sum / (IMAGES * plane);
    for (let n = 0; n < IMAGES; n++) for (let j = 0; j < plane; j++) squares += (x[(n * 3 + c) * plane + j] - mean) ** 2;
    const std = Math.sqrt(squares / (IMAGES * plane)) || 1;
    for (let n = 0; n < IMAGES; n++) for (let j = 0; j < plane; j++) x[(n * 3 + c) * plane + j] = (x[(n * 3 + c) * plane + j] - mean) / std;
  }
  return { x, y, inputShape: [IMAGES, 3, SIZE, SIZE], targetShape: [IMAGES, SIZE, SIZE] };
}

/** Foreground Dice of probabilities thresholded at 0.5 against 0/1 labels. */
function dice(probabilities: Float32Array, labels: Float32Array): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = probabilities[i] > 0.5;
    const truth = labels[i] === 1;
    if (predicted && truth) tp++;
    else if (predicted) fp++;
    else if (truth) fn++;
  }
  return (2 * tp) / (2 * tp + fp + fn);
}

describe('overfit 4 synthetic smears', () => {
  test('dice helper: 1 for a perfect prediction, 2/3 for one of two hits plus nothing else', () => {
    assert.equal(dice(Float32Array.of(0.9, 0.1), Float32Array.of(1, 0)), 1);
    assert.equal(dice(Float32Array.of(0.9, 0.2, 0.1), Float32Array.of(1, 1, 0)), 2 / 3);
  });

  for (const { name, make, skip } of engines()) {
    test(`${name}: depth 2, filters 8, ${IMAGES}×[3,${SIZE},${SIZE}], bce+dice, Adam lr=1e-2 → Dice > 0.95 within ${MAX_STEPS} steps`, {
      skip,
    }, async () => {
      const engine = make();
      const batch = smearBatch();
      const model = unet({ inChannels: 3, classes: 1, depth: 2, filters: 8 }, { engine, seed: 1 });
      model.configureTraining({ loss: 'bce+dice', optimizer: 'adam' });
      let score = 0;
      let step = 0;
      const started = Date.now();
      while (step < MAX_STEPS && score <= 0.95) {
        const { loss } = await model.trainStep(batch, { learningRate: 1e-2 });
        step++;
        assert.ok(Number.isFinite(loss), `loss ${loss} at step ${step}`);
        // Evaluation-mode predictions (running BatchNorm statistics) every 5 steps once they have settled.
        if (step >= 20 && step % 5 === 0) score = dice(await model.predict(batch.x, batch.inputShape), batch.y);
      }
      const seconds = (Date.now() - started) / 1000;
      assert.ok(score > 0.95, `Dice ${score.toFixed(4)} after ${step} steps (${seconds.toFixed(1)} s)`);
    });
  }
});
