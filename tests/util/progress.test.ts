import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, formatBar, formatDuration, formatFields, RateEstimator } from '../../src/util/progress.js';

/** A stream that records writes, and a clock the test moves by hand. */
function fakes(options: { isTTY?: boolean; columns?: number } = {}) {
  const writes: string[] = [];
  let ms = 1_000_000;
  return {
    writes,
    stream: { write: (text: string) => writes.push(text), ...options },
    now: () => ms,
    advance: (seconds: number) => {
      ms += seconds * 1000;
    },
  };
}

describe('formatting', () => {
  test('formatDuration 0, 45, 192, 3720, 3599.6, 183600, NaN, -5', () => {
    assert.deepEqual([0, 45, 192, 3720, 3599.6, 183600, NaN, -5].map(formatDuration), [
      '0s',
      '45s',
      '3m12s',
      '1h02m',
      '1h00m',
      '2d03h',
      '?',
      '0s',
    ]);
  });

  test('formatBar 0, 0.5, 0.42, 1, 1.7, NaN at width 10', () => {
    assert.equal(formatBar(0, 10), '          ');
    assert.equal(formatBar(0.5, 10), '█████     ');
    assert.equal(formatBar(0.42, 10), '████▏     ');
    assert.equal(formatBar(0.4375, 4), '█▊  ');
    assert.equal(formatBar(1, 10), '██████████');
    assert.equal(formatBar(1.7, 3), '███');
    assert.equal(formatBar(NaN, 3), '   ');
  });

  test('formatFields epoch 3/40, step 120, loss 0.21314, lr 0.0003, val dice 0.9123', () => {
    assert.equal(
      formatFields({ epoch: '3/40', step: 120, loss: 0.21314, lr: 0.0003, 'val dice': 0.9123 }),
      'epoch 3/40 step 120 loss 0.213 lr 3.00e-4 val dice 0.912',
    );
  });

  test('RateEstimator: 10 steps/s then 20 steps/s moves the rate part of the way', () => {
    const rate = new RateEstimator(0.5, 1);
    rate.add(0, 0);
    assert.equal(rate.stepsPerSecond(0.5, 5), 10);
    rate.add(1, 10);
    assert.equal(rate.stepsPerSecond(1, 10), 10);
    rate.add(2, 30);
    assert.equal(rate.stepsPerSecond(2, 30), 15);
  });
});

describe('createProgress without a TTY', () => {
  test('total=400, updates every second for 30 s, intervalMs=10000: 4 lines plus the final one', () => {
    const f = fakes();
    const progress = createProgress({ total: 400, label: 'train', stream: f.stream, tty: false, intervalMs: 10_000, now: f.now });
    for (let second = 0; second <= 30; second++) {
      progress.update(second * 4, { epoch: '1/40', loss: 0.5 });
      f.advance(1);
    }
    assert.equal(f.writes.length, 4);
    assert.equal(f.writes[0], 'train 0% epoch 1/40 loss 0.5 ETA ?\n');
    assert.equal(f.writes[1], 'train 10% epoch 1/40 loss 0.5 ETA 1m30s\n');
    progress.log('epoch 1 done');
    progress.done('best val dice 0.91');
    assert.equal(f.writes[4], 'epoch 1 done\n');
    assert.match(f.writes[5], /^train 30% epoch 1\/40 loss 0\.5 in 31s\n$/);
    assert.equal(f.writes[6], 'best val dice 0.91\n');
    assert.ok(f.writes.every((w) => !w.includes('\r') && !w.includes('\x1b')));
  });

  test('updates after done() are ignored', () => {
    const f = fakes();
    const progress = createProgress({ total: 2, stream: f.stream, tty: false, now: f.now });
    progress.done();
    progress.update(1);
    progress.done();
    assert.deepEqual(f.writes, ['0% in 0s\n']);
  });
});

describe('createProgress on a TTY', () => {
  test('redraws one line with \\r and clear-to-end, truncated to 45 columns', () => {
    const f = fakes({ isTTY: true, columns: 45 });
    const progress = createProgress({ total: 10, label: 'train', stream: f.stream, now: f.now });
    progress.update(0);
    f.advance(3);
    progress.update(3, { loss: 0.25 });
    assert.equal(f.writes.length, 2);
    const line = f.writes[1];
    assert.ok(line.startsWith('\rtrain ▕██████              ▏ 30% loss 0.25 E'));
    assert.ok(line.endsWith('…\x1b[K'));
    assert.equal([...line.slice(1, -3)].length, 45);
  });

  test('log() clears the bar, prints the line, redraws the bar; done() ends the line', () => {
    const f = fakes({ isTTY: true, columns: 200 });
    const progress = createProgress({ total: 4, label: 'predict', stream: f.stream, now: f.now });
    f.advance(1);
    progress.update(2);
    progress.log('image 017.png: 42 cells');
    assert.equal(f.writes[1], '\r\x1b[Kimage 017.png: 42 cells\n');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequence is what this test checks
    assert.match(f.writes[2], /^\rpredict ▕██████████ {10}▏ 50% ETA 1s\x1b\[K$/);
    f.advance(1);
    progress.update(4);
    progress.done();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequence is what this test checks
    assert.match(f.writes.at(-2) ?? '', /100% in 2s\x1b\[K$/);
    assert.equal(f.writes.at(-1), '\n');
  });

  test('redraws at most every redrawMs=100', () => {
    const f = fakes({ isTTY: true });
    const progress = createProgress({ total: 1000, stream: f.stream, now: f.now });
    for (let i = 0; i < 100; i++) {
      progress.update(i);
      f.advance(0.01);
    }
    assert.equal(f.writes.length, 10);
  });
});
