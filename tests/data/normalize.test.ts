import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { channelPercentiles, computeNormalization, normalizeImage } from '../../src/data/normalize.js';
import type { FloatImage } from '../../src/image/types.js';

const image = (channels: number, values: number[]): FloatImage => ({ width: values.length / channels, height: 1, channels, data: Float32Array.from(values) });
const rounded = (values: ArrayLike<number>) => Array.from(values, (v) => +v.toFixed(5));

describe('computeNormalization meanStd', () => {
  test('two 2-channel images: mean and population std per channel', () => {
    const n = computeNormalization([image(2, [0, 1, 2, 1]), image(2, [4, 1, 6, 3])]);
    assert.equal(n.kind, 'meanStd');
    if (n.kind !== 'meanStd') return;
    // channel 0: 0, 2, 4, 6 → mean 3, std √5; channel 1: 1, 1, 1, 3 → mean 1.5, std √0.75
    assert.deepEqual(rounded(n.mean), [3, 1.5]);
    assert.deepEqual(rounded(n.std), rounded([Math.sqrt(5), Math.sqrt(0.75)]));
  });

  test('constant channel fails; mixed channel counts fail; no images fails', () => {
    assert.throws(() => computeNormalization([image(1, [0.5, 0.5])]), /channel 0 .* is constant/);
    assert.throws(() => computeNormalization([image(1, [0, 1]), image(3, [0, 1, 0])]), /same number of channels; found 1 and 3/);
    assert.throws(() => computeNormalization([]), /no images/);
  });

  test('unknown kind lists the valid ones', () => {
    assert.throws(() => computeNormalization([image(1, [0, 1])], { kind: 'zscore' as 'meanStd' }), /valid normalizations are: meanStd, percentile/);
  });
});

describe('normalizeImage', () => {
  test('meanStd [0, 2, 4, 6] with mean 3 std 2 → [-1.5, -0.5, 0.5, 1.5]', () => {
    const out = normalizeImage(image(1, [0, 2, 4, 6]), { kind: 'meanStd', mean: [3], std: [2] });
    assert.deepEqual(rounded(out), [-1.5, -0.5, 0.5, 1.5]);
  });

  test('writes into a given output buffer', () => {
    const out = new Float32Array(2);
    const result = normalizeImage(image(1, [1, 3]), { kind: 'meanStd', mean: [1], std: [1] }, out);
    assert.equal(result, out);
    assert.deepEqual(Array.from(out), [0, 2]);
  });

  test('percentile 0–100 maps min→0, max→1 per channel', () => {
    const out = normalizeImage(image(2, [0.2, 0, 0.4, 10, 0.6, 20]), { kind: 'percentile', low: 0, high: 100 });
    assert.deepEqual(rounded(out), [0, 0, 0.5, 0.5, 1, 1]);
  });

  test('percentile 1–99 on 0..100 (101 values) maps 1→0 and 99→1', () => {
    const values = Array.from({ length: 101 }, (_, i) => i);
    assert.deepEqual(channelPercentiles(image(1, values), 1, 99), [[1, 99]]);
    const out = normalizeImage(image(1, values), computeNormalization([], { kind: 'percentile', low: 1, high: 99 }));
    assert.deepEqual(rounded([out[1], out[50], out[99]]), [0, 0.5, 1]);
  });

  test('constant image with percentile → zeros, not NaN', () => {
    assert.deepEqual(Array.from(normalizeImage(image(1, [0.3, 0.3]), { kind: 'percentile', low: 1, high: 99 })), [0, 0]);
  });

  test('meanStd for 3 channels on a 1-channel image fails', () => {
    assert.throws(() => normalizeImage(image(1, [0]), { kind: 'meanStd', mean: [0, 0, 0], std: [1, 1, 1] }), /trained on 3-channel images but this image has 1 channel/);
  });

  test('bad percentile ranks fail', () => {
    assert.throws(() => computeNormalization([], { kind: 'percentile', low: 99, high: 1 }), /0 ≤ low < high ≤ 100/);
  });
});
