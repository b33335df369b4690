import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LOSSES } from '../../src/nn/losses.js';
import { OPTIMIZERS } from '../../src/nn/optimizers.js';
import { unetOutputSize } from '../../src/nn/unet.js';
import { DEFAULT_MINUTES, TRAIN_DEFAULTS, resolveTrainOptions } from '../../src/train/options.js';
import { SCHEDULES } from '../../src/train/schedules.js';
import { PyocyteError } from '../../src/util/errors.js';

const base = { data: 'data', out: 'run' };

/** Asserts `fn` throws a PyocyteError whose message matches. */
function throwsUserError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof PyocyteError && pattern.test(error.message));
}

describe('resolveTrainOptions defaults', () => {
  test('data+out only: every TRAIN_DEFAULTS value, no epochs, minutes = 10', () => {
    const o = resolveTrainOptions(base);
    for (const [key, value] of Object.entries(TRAIN_DEFAULTS)) assert.equal(o[key as keyof typeof o], value, key);
    assert.equal(o.epochs, undefined);
    assert.equal(o.minutes, DEFAULT_MINUTES);
    assert.equal(DEFAULT_MINUTES, 10);
    assert.deepEqual([o.data, o.out], ['data', 'run']);
  });

  test('epochs 3: minutes stays unset (epochs decide the length)', () => {
    const o = resolveTrainOptions({ ...base, epochs: 3 });
    assert.equal(o.epochs, 3);
    assert.equal(o.minutes, undefined);
  });

  test('minutes 2.5 and epochs 3 together are both kept', () => {
    const o = resolveTrainOptions({ ...base, minutes: 2.5, epochs: 3 });
    assert.deepEqual([o.minutes, o.epochs], [2.5, 3]);
  });

  test('undefined values do not override defaults: depth undefined → 4, loss undefined → bce+dice', () => {
    const o = resolveTrainOptions({ ...base, depth: undefined, loss: undefined });
    assert.equal(o.depth, 4);
    assert.equal(o.loss, 'bce+dice');
  });

  test('resolving twice gives the same options (a resumed run re-resolves its config.json)', () => {
    const once = resolveTrainOptions({ ...base, patchSize: 250, epochs: 2, depth: 3 });
    assert.deepEqual(resolveTrainOptions(JSON.parse(JSON.stringify(once))), once);
  });
});

describe('resolveTrainOptions rounds the patch size up to one the net takes', () => {
  for (const [patchSize, depth, padding, expected] of [
    [250, 4, 'same', 256],
    [256, 4, 'same', 256],
    [33, 2, 'same', 36],
    [64, 2, 'same', 64],
  ] as const) {
    test(`patch ${patchSize}, depth ${depth}, ${padding} → ${expected}`, () => {
      assert.equal(resolveTrainOptions({ ...base, patchSize, depth, padding }).patchSize, expected);
    });
  }

  test('patch 100, depth 2, valid: the smallest size ≥ 100 with a valid output', () => {
    const size = resolveTrainOptions({ ...base, patchSize: 100, depth: 2, padding: 'valid' }).patchSize;
    assert.ok(size >= 100);
    assert.notEqual(unetOutputSize(size, { depth: 2, padding: 'valid' }), null);
    for (let s = 100; s < size; s++) assert.equal(unetOutputSize(s, { depth: 2, padding: 'valid' }), null, `size ${s}`);
  });
});

describe('resolveTrainOptions errors', () => {
  test('no data / no out', () => {
    throwsUserError(() => resolveTrainOptions({ data: '', out: 'run' }), /needs --data/);
    throwsUserError(() => resolveTrainOptions({ data: 'data', out: '' }), /needs --out/);
  });

  test('loss nope lists every loss', () => {
    throwsUserError(
      () => resolveTrainOptions({ ...base, loss: 'nope' as never }),
      new RegExp(`unknown loss 'nope'.*${escapeRegExp(Object.keys(LOSSES).join(', '))}$`),
    );
  });

  test('optimizer nope lists every optimizer', () => {
    throwsUserError(
      () => resolveTrainOptions({ ...base, optimizer: 'nope' as never }),
      new RegExp(`unknown optimizer 'nope'.*${escapeRegExp(Object.keys(OPTIMIZERS).join(', '))}$`),
    );
  });

  test('schedule nope lists every schedule', () => {
    throwsUserError(
      () => resolveTrainOptions({ ...base, schedule: 'nope' as never }),
      new RegExp(`unknown schedule 'nope'.*${escapeRegExp(Object.keys(SCHEDULES).join(', '))}$`),
    );
  });

  test('padding, norm, engine, augment, sampling, normalization: unknown names fail naming the option', () => {
    for (const [key, what] of [
      ['padding', 'padding'],
      ['norm', 'norm'],
      ['engine', 'engine'],
      ['augment', 'augmentation preset'],
      ['sampling', 'patch sampling'],
      ['normalization', 'normalization'],
    ] as const) {
      throwsUserError(() => resolveTrainOptions({ ...base, [key]: 'nope' }), new RegExp(`unknown ${what} 'nope'`));
    }
  });

  for (const [key, value, pattern] of [
    ['depth', 0, /--depth must be a positive whole number, got 0/],
    ['filters', 2.5, /--filters must be a positive whole number, got 2.5/],
    ['batchSize', -1, /--batch must be a positive whole number/],
    ['epochs', 0, /--epochs must be a positive whole number/],
    ['patchesPerImage', 0, /--patches-per-image must be a positive whole number/],
    ['minutes', 0, /--minutes must be a positive number, got 0/],
    ['learningRate', 1, /--lr must be in \(0, 1\), got 1/],
    ['learningRate', 0, /--lr must be in \(0, 1\)/],
    ['weightDecay', -0.1, /--weight-decay must be ≥ 0/],
    ['emaDecay', 1, /--ema-decay must be 0 \(no average\) or a decay in \(0, 1\), got 1/],
    ['emaDecay', -0.5, /--ema-decay must be 0/],
    ['patience', 1.5, /--patience must be a whole number ≥ 0, got 1.5/],
    ['workingDiameterPx', -4, /--working-diameter must be 0 \(native resolution\) or a diameter in pixels, got -4/],
  ] as const) {
    test(`${key} = ${value}: ${pattern.source.split(',')[0].replaceAll('\\', '')}`, () => {
      throwsUserError(() => resolveTrainOptions({ ...base, [key]: value }), pattern);
    });
  }
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
