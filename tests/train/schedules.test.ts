import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Schedule, constant, cosine, oneCycle, schedule } from '../../src/train/schedules.js';
import { PyocyteError } from '../../src/util/errors.js';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 1e-12 + 1e-9 * Math.abs(expected), `${what}: ${actual} ≠ ${expected}`);

function curve(s: Schedule, total: number, peak: number): number[] {
  return Array.from({ length: total }, (_, step) => s.atStep(step, total, peak));
}

describe('oneCycle.atStep (PyTorch OneCycleLR, cosine, pct_start 0.05)', () => {
  test('100 steps, peak 1e-3: starts at peak/25, peaks at step 4, ends at peak/(25·1e4)', () => {
    close(oneCycle.atStep(0, 100, 1e-3), 1e-3 / 25, 'step 0');
    close(oneCycle.atStep(4, 100, 1e-3), 1e-3, 'step 4');
    close(oneCycle.atStep(99, 100, 1e-3), 1e-3 / (25 * 1e4), 'step 99');
    // The middle of the warm-up is the mean of its ends (cosine interpolation).
    close(oneCycle.atStep(2, 100, 1e-3), (1e-3 / 25 + 1e-3) / 2, 'step 2');
  });

  test('100 steps: rises monotonically to the peak, then decays monotonically', () => {
    const lr = curve(oneCycle, 100, 1e-3);
    for (let s = 1; s <= 4; s++) assert.ok(lr[s] > lr[s - 1], `warm-up step ${s}`);
    for (let s = 5; s < 100; s++) assert.ok(lr[s] < lr[s - 1], `decay step ${s}`);
    assert.equal(Math.max(...lr), lr[4]);
  });

  test('2000 steps, peak 0.01: peak at step 99, 1e-6 at the end, never above the peak', () => {
    const lr = curve(oneCycle, 2000, 0.01);
    close(lr[0], 0.01 / 25, 'step 0');
    close(lr[99], 0.01, 'step 99');
    close(lr[1999], 0.01 / 25 / 1e4, 'last step');
    assert.ok(lr.every((v) => v > 0 && v <= 0.01));
  });

  test('6 steps (a tiny run): peak at step 1, final 4e-9 for peak 1e-3', () => {
    close(oneCycle.atStep(1, 6, 1e-3), 1e-3, 'step 1');
    close(oneCycle.atStep(5, 6, 1e-3), 4e-9, 'step 5');
  });
});

describe('cosine.atStep (3% linear warm-up, cosine to 0)', () => {
  test('100 steps, peak 1: warm-up 1/3, 2/3, 1 then cosine, half way at step 51.5', () => {
    const lr = curve(cosine, 100, 1);
    close(lr[0], 1 / 3, 'step 0');
    close(lr[1], 2 / 3, 'step 1');
    close(lr[2], 1, 'step 2');
    close(lr[3], 1, 'step 3');
    close(cosine.atStep(100, 100, 1), 0, 'step 100');
    for (let s = 4; s < 100; s++) assert.ok(lr[s] < lr[s - 1], `decay step ${s}`);
    // (step − 3) / 97 = 0.5 at step 51.5: halfway between steps 51 and 52 the rate is 0.5.
    assert.ok(lr[51] > 0.5 && lr[52] < 0.5);
  });
});

describe('atFraction: the schedules of a time budget, by the share of it spent', () => {
  test('oneCycle, peak 1e-3: peak/25 at 0, the peak at 0.05, half way down at 0.525, peak/(25·1e4) at 1 and beyond', () => {
    close(oneCycle.atFraction(0, 1e-3), 1e-3 / 25, 'fraction 0');
    close(oneCycle.atFraction(0.05, 1e-3), 1e-3, 'fraction 0.05');
    close(oneCycle.atFraction(0.525, 1e-3), (1e-3 + 1e-3 / 25 / 1e4) / 2, 'fraction 0.525');
    close(oneCycle.atFraction(1, 1e-3), 1e-3 / 25 / 1e4, 'fraction 1');
    close(oneCycle.atFraction(1.5, 1e-3), 1e-3 / 25 / 1e4, 'fraction 1.5');
  });

  test('cosine, peak 1: 0 at 0, 0.5 at 0.015, 1 at 0.03, 0.5 at 0.515, 0 at 1', () => {
    close(cosine.atFraction(0, 1), 0, 'fraction 0');
    close(cosine.atFraction(0.015, 1), 0.5, 'fraction 0.015');
    close(cosine.atFraction(0.03, 1), 1, 'fraction 0.03');
    close(cosine.atFraction(0.515, 1), 0.5, 'fraction 0.515');
    close(cosine.atFraction(1, 1), 0, 'fraction 1');
  });

  test('2000 steps: atFraction(step / 1999) is within 2% of the peak of atStep for oneCycle and cosine (the same curves)', () => {
    for (const s of [oneCycle, cosine]) {
      for (let step = 0; step < 2000; step += 7) {
        const gap = Math.abs(s.atFraction(step / 1999, 0.01) - s.atStep(step, 2000, 0.01));
        assert.ok(gap <= 2e-4, `step ${step}: ${gap}`);
      }
    }
  });
});

describe('constant and the registry', () => {
  test('constant 3e-4 at steps 0, 50, 99 of 100 and at fractions 0, 0.5, 1', () => {
    for (const fraction of [0, 0.5, 1]) assert.equal(constant.atFraction(fraction, 3e-4), 3e-4);
    for (const step of [0, 50, 99]) assert.equal(constant.atStep(step, 100, 3e-4), 3e-4);
  });

  test("schedule('onecycle') is oneCycle; schedule('nope') fails listing onecycle, cosine, constant", () => {
    assert.equal(schedule('onecycle'), oneCycle);
    assert.throws(
      () => schedule('nope'),
      (e: unknown) => e instanceof PyocyteError && /unknown schedule 'nope'.*onecycle, cosine, constant/.test(e.message),
    );
  });
});
