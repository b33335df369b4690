/**
 * The one TypeScript statement of the loss terms (src/engine/loss-terms.ts) on hand-computed
 * literals, and the validation loss built on it, whose logged values must not move.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KERNEL_DEFAULTS } from '../../src/engine/defaults.js';
import { LossTermSums } from '../../src/engine/loss-terms.js';
import type { LossName } from '../../src/nn/losses.js';
import { ProbabilityLoss } from '../../src/train/validate.js';

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) <= 1e-15, `${actual} vs ${expected}`);

describe('LossTermSums', () => {
  test('binary, pixels (t=1, p=0.8) and (t=0, p=0.4), γ 2, s 1: cross-entropy, focal and Dice by hand', () => {
    const sums = new LossTermSums(1, { focalGamma: 2, diceSmooth: 1 });
    for (const [t, p] of [
      [1, 0.8],
      [0, 0.4],
    ]) {
      const pt = t === 1 ? p : 1 - p;
      sums.addPixel(pt, -Math.log(pt));
      sums.addOverlap(1, p, t === 1);
    }
    const values = sums.values();
    close(values.crossEntropy, -(Math.log(0.8) + Math.log(0.6)) / 2);
    close(values.focal, -(0.2 ** 2 * Math.log(0.8) + 0.4 ** 2 * Math.log(0.6)) / 2);
    // I = 0.8, Σp + Σt = 1.2 + 1: 1 − (1.6 + 1) / (2.2 + 1)
    close(values.dice, 0.1875);
    close(
      sums.value([
        { kind: 'crossEntropy', weight: 1 },
        { kind: 'dice', weight: 0.5 },
      ]),
      values.crossEntropy + 0.09375,
    );
  });

  test('pixel weights 3 and 1 weight the cross-entropy sum; the mean stays over 2 pixels', () => {
    const sums = new LossTermSums(1, KERNEL_DEFAULTS.loss);
    sums.addPixel(0.5, Math.LN2, 3);
    sums.addPixel(1, 0, 1);
    close(sums.values().crossEntropy, (3 * Math.LN2) / 2);
  });

  test('3 classes: Dice is the mean over classes 1 and 2 of their own ratios', () => {
    const sums = new LossTermSums(3, { focalGamma: 2, diceSmooth: 0 });
    // One pixel of class 1 with p = (0.2, 0.5, 0.3): class 1 ratio 2·0.5/1.5, class 2 ratio 0/0.3.
    sums.addPixel(0.5, -Math.log(0.5));
    sums.addOverlap(1, 0.5, true);
    sums.addOverlap(2, 0.3, false);
    close(sums.values().dice, (1 - 1 / 1.5 + 1) / 2);
  });
});

describe('validation loss (ProbabilityLoss) on literal probability maps', () => {
  // Values logged before the formula moved to src/engine/loss-terms.ts; they must stay bit for bit.
  const logged: Record<string, Record<LossName, number>> = {
    binary: {
      bce: 0.7165227676124362,
      dice: 0.369565219539156,
      'bce+dice': 1.086087987151592,
      focal: 0.3392673285086256,
      weighted: 0.7165227676124362,
    },
    '3-class': {
      bce: 0.3901619563895357,
      dice: 0.24340770795857175,
      'bce+dice': 0.6335696643481075,
      focal: 0.07177990696995167,
      weighted: 0.3901619563895357,
    },
  };
  const images = {
    binary: {
      classes: 1,
      maps: [
        {
          map: { width: 3, height: 2, channels: 1, data: Float32Array.of(0, 0.2, 0.5, 0.9, 1, 0.7) },
          labels: Uint8Array.of(0, 1, 0, 1, 1, 0),
        },
        { map: { width: 2, height: 1, channels: 1, data: Float32Array.of(0.3, 0.6) }, labels: Uint8Array.of(1, 0) },
      ],
    },
    '3-class': {
      classes: 3,
      maps: [
        {
          map: { width: 2, height: 2, channels: 3, data: Float32Array.of(0.7, 0.1, 0.2, 0, 0.2, 0.6, 0.3, 1, 0.1, 0.3, 0.5, 0) },
          labels: Uint8Array.of(0, 1, 2, 1),
        },
      ],
    },
  };
  for (const [name, { classes, maps }] of Object.entries(images)) {
    for (const [lossName, expected] of Object.entries(logged[name])) {
      test(`${name} maps with probabilities 0 and 1 (clamped), ${lossName}: ${expected}`, () => {
        const loss = new ProbabilityLoss(classes);
        for (const { map, labels } of maps) loss.add(map, labels);
        assert.equal(loss.value(lossName as LossName), expected);
      });
    }
  }
});
