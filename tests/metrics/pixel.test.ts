import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  addConfusion,
  bestThreshold,
  confusionMatrix,
  DEFAULT_THRESHOLD_CANDIDATES,
  pixelMetrics,
  summarizeImages,
} from '../../src/metrics/pixel.js';
import { PyocyteError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';

const binary = { classes: 2 };

describe('confusionMatrix', () => {
  test('truth=[1,1,0,0] predicted=[1,0,1,0] counts one of each pair', () => {
    const c = confusionMatrix(Uint8Array.of(1, 0, 1, 0), Uint8Array.of(1, 1, 0, 0), binary);
    // row = truth, column = predicted
    assert.deepEqual([...c], [1, 1, 1, 1]);
  });

  test('classes=3 rows are truth and columns are predictions', () => {
    const c = confusionMatrix(Uint8Array.of(2, 2, 1, 0), Uint8Array.of(2, 1, 1, 0), { classes: 3 });
    assert.deepEqual([...c], [1, 0, 0, 0, 1, 1, 0, 0, 1]);
  });

  test('a class outside 0..K-1 is a PyocyteError naming it', () => {
    assert.throws(
      () => confusionMatrix(Uint8Array.of(0, 2), Uint8Array.of(0, 1), binary),
      (e: unknown) => e instanceof PyocyteError && /prediction contains class 2/.test(e.message),
    );
    assert.throws(() => confusionMatrix(Uint8Array.of(0), Uint8Array.of(0, 1), binary), PyocyteError);
  });

  test('addConfusion sums and rejects a different K', () => {
    const sum = addConfusion(Float64Array.of(1, 2, 3, 4), Float64Array.of(1, 1, 1, 1));
    assert.deepEqual([...sum], [2, 3, 4, 5]);
    assert.throws(() => addConfusion(new Float64Array(4), new Float64Array(9)), PyocyteError);
  });
});

describe('pixelMetrics', () => {
  test('one TP, one FP, one FN, one TN: dice 0.5, iou 1/3, accuracy 0.5', () => {
    const m = pixelMetrics(Float64Array.of(1, 1, 1, 1), { classes: 2, classNames: ['background', 'cell'] });
    const cell = m.perClass[1];
    assert.equal(cell.name, 'cell');
    assert.equal(cell.dice, 0.5);
    assert.equal(cell.iou, 1 / 3);
    assert.equal(cell.precision, 0.5);
    assert.equal(cell.recall, 0.5);
    assert.equal(cell.support, 2);
    assert.equal(m.accuracy, 0.5);
    assert.equal(m.meanDice, 0.5);
  });

  test('empty truth and empty prediction: foreground dice 1, no NaN', () => {
    const m = pixelMetrics(Float64Array.of(10, 0, 0, 0), binary);
    assert.deepEqual({ ...m.perClass[1] }, { class: 1, name: 'class1', dice: 1, iou: 1, precision: 1, recall: 1, support: 0 });
    assert.equal(m.meanIou, 1);
    assert.equal(pixelMetrics(new Float64Array(4), binary).accuracy, 1);
  });

  test('nothing predicted where truth has cells: precision, recall, dice all 0', () => {
    const m = pixelMetrics(Float64Array.of(5, 0, 3, 0), binary);
    assert.deepEqual([m.perClass[1].precision, m.perClass[1].recall, m.perClass[1].dice], [0, 0, 0]);
  });

  test('classes=3 meanDice averages classes 1 and 2 only', () => {
    // class 1 perfect, class 2 half right, background perfect
    const c = confusionMatrix(Uint8Array.of(0, 1, 2, 1), Uint8Array.of(0, 1, 2, 2), { classes: 3 });
    const m = pixelMetrics(c, { classes: 3 });
    assert.equal(m.perClass[1].dice, 2 / 3);
    assert.equal(m.perClass[2].dice, 2 / 3);
    assert.equal(m.meanDice, 2 / 3);
  });
});

describe('summarizeImages', () => {
  test('perfect image + missed image: global dice 2/3, mean image dice 1/2', () => {
    const a = confusionMatrix(Uint8Array.of(1, 1, 0), Uint8Array.of(1, 1, 0), binary);
    const b = confusionMatrix(Uint8Array.of(0, 0, 0), Uint8Array.of(1, 1, 0), binary);
    const { global, meanImage } = summarizeImages([a, b], binary);
    assert.equal(global.perClass[1].dice, 2 / 3);
    assert.equal(meanImage.perClass[1].dice, 0.5);
    assert.equal(meanImage.meanDice, 0.5);
    assert.equal(meanImage.accuracy, (1 + 1 / 3) / 2);
    assert.equal(global.accuracy, 4 / 6);
    assert.equal(meanImage.images, 2);
  });

  test('an image empty in truth and prediction counts dice 1 (as the PyTorch reference)', () => {
    const empty = confusionMatrix(new Uint8Array(4), new Uint8Array(4), binary);
    const { meanImage } = summarizeImages([empty], binary);
    assert.equal(meanImage.perClass[1].dice, 1);
  });
});

describe('bestThreshold', () => {
  test('separable probabilities: picks a threshold between the classes with dice 1', () => {
    const prob = Float32Array.of(0.1, 0.2, 0.7, 0.8);
    const truth = Uint8Array.of(0, 0, 1, 1);
    const best = bestThreshold([prob], [truth]);
    assert.equal(best.dice, 1);
    assert.ok(best.threshold >= 0.2 && best.threshold < 0.7);
    assert.equal(best.threshold, 0.5, 'ties go to the candidate closest to 0.5');
  });

  test('3 random images of 500 pixels match a brute-force scan over candidates', () => {
    const random = new Random(7);
    const probs: Float32Array[] = [];
    const truths: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      const truth = Uint8Array.from({ length: 500 }, () => (random.chance(0.3) ? 1 : 0));
      probs.push(Float32Array.from(truth, (t) => Math.min(1, Math.max(0, (t ? 0.65 : 0.35) + random.normal(0, 0.2)))));
      truths.push(truth);
    }
    probs[0][0] = 0.5; // a probability equal to a candidate is background at that threshold (p > t)
    let expected = { threshold: 0, dice: -1 };
    for (const t of DEFAULT_THRESHOLD_CANDIDATES) {
      let tp = 0,
        fp = 0,
        fn = 0;
      probs.forEach((p, i) =>
        p.forEach((v, j) => {
          const predicted = v > t,
            actual = truths[i][j] === 1;
          if (predicted && actual) tp++;
          else if (predicted) fp++;
          else if (actual) fn++;
        }),
      );
      const dice = (2 * tp) / (2 * tp + fp + fn);
      if (dice > expected.dice) expected = { threshold: t, dice };
    }
    const best = bestThreshold(probs, truths);
    assert.equal(best.threshold, expected.threshold);
    assert.ok(Math.abs(best.dice - expected.dice) < 1e-12);
  });

  test('mismatched lists are a PyocyteError', () => {
    assert.throws(() => bestThreshold([new Float32Array(2)], []), PyocyteError);
  });
});
