import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { channelPercentiles, computeNormalization, normalizeImage } from '../../src/data/normalize.js';
import { intensityScalingOf } from '../../src/nn/types.js';
import { createLoader } from '../../src/data/loader.js';
import { toFloatImage } from '../../src/io/image/convert.js';
import type { Sample } from '../../src/data/types.js';
import type { FloatImage, RasterImage } from '../../src/image/types.js';

const image = (channels: number, values: number[]): FloatImage => ({
  width: values.length / channels,
  height: 1,
  channels,
  data: Float32Array.from(values),
});
const rounded = (values: ArrayLike<number>) => Array.from(values, (v) => +v.toFixed(5));

describe('computeNormalization meanStd', () => {
  test('two 2-channel images: mean and population std per channel', () => {
    const n = computeNormalization([image(2, [0, 1, 2, 1]), image(2, [4, 1, 6, 3])], { kind: 'meanStd' });
    assert.equal(n.kind, 'meanStd');
    if (n.kind !== 'meanStd') return;
    // channel 0: 0, 2, 4, 6 → mean 3, std √5; channel 1: 1, 1, 1, 3 → mean 1.5, std √0.75
    assert.deepEqual(rounded(n.mean), [3, 1.5]);
    assert.deepEqual(rounded(n.std), rounded([Math.sqrt(5), Math.sqrt(0.75)]));
  });

  test('constant channel fails; mixed channel counts fail; no images fails', () => {
    const meanStd = { kind: 'meanStd' } as const;
    assert.throws(() => computeNormalization([image(1, [0.5, 0.5])], meanStd), /channel 0 .* is constant/);
    assert.throws(() => computeNormalization([image(1, [0, 1]), image(3, [0, 1, 0])], meanStd), /same number of channels; found 1 and 3/);
    assert.throws(() => computeNormalization([], meanStd), /no images/);
  });

  test('unknown kind lists the valid ones', () => {
    assert.throws(
      () => computeNormalization([image(1, [0, 1])], { kind: 'zscore' as 'meanStd' }),
      /valid normalizations are: percentile, meanStd/,
    );
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
    assert.throws(
      () => normalizeImage(image(1, [0]), { kind: 'meanStd', mean: [0, 0, 0], std: [1, 1, 1] }),
      /trained on 3-channel images but this image has 1 channel/,
    );
  });

  test('bad percentile ranks fail', () => {
    assert.throws(() => computeNormalization([], { kind: 'percentile', low: 99, high: 1 }), /0 ≤ low < high ≤ 100/);
  });
});

describe('percentile normalisation, the default', () => {
  test('computeNormalization with no options: percentile 1–99.8 (CSBDeep/StarDist)', () => {
    assert.deepEqual(computeNormalization([]), { kind: 'percentile', low: 1, high: 99.8 });
  });

  test('meanStd records the range scaling; a model file without it (older) means bitDepth', () => {
    const n = computeNormalization([image(1, [0, 1])], { kind: 'meanStd' });
    assert.equal(intensityScalingOf(n), 'range');
    assert.equal(intensityScalingOf({ kind: 'meanStd', mean: [0.5], std: [0.2] }), 'bitDepth');
    assert.equal(intensityScalingOf({ kind: 'percentile', low: 1, high: 99.8 }), 'range');
  });

  test('one scene as 8-bit, as 12-bit values in 16 bits, as float 0–1000 and as signed int16: the same network input', () => {
    const scene = Array.from({ length: 400 }, (_, i) => (i * 37) % 256);
    const raster = (bitDepth: 8 | 16 | 32, values: number[]): RasterImage => ({
      width: 20,
      height: 20,
      channels: 1,
      bitDepth,
      alpha: false,
      data: bitDepth === 8 ? Uint8Array.from(values) : bitDepth === 16 ? Uint16Array.from(values) : Float32Array.from(values),
    });
    const percentile = computeNormalization([]);
    const input = (r: RasterImage) => normalizeImage(toFloatImage(r), percentile);
    const reference = input(raster(8, scene));
    for (const [what, r] of [
      [
        '12-bit in 16-bit',
        raster(
          16,
          scene.map((v) => v * 16),
        ),
      ],
      [
        'float 0–1000',
        raster(
          32,
          scene.map((v) => (v * 1000) / 255),
        ),
      ],
      [
        'int16 −3000…+3120',
        raster(
          32,
          scene.map((v) => v * 24 - 3000),
        ),
      ],
    ] as const) {
      const other = input(r);
      let worst = 0;
      for (let i = 0; i < other.length; i++) worst = Math.max(worst, Math.abs(other[i] - reference[i]));
      assert.ok(worst < 1e-5, `${what}: largest difference ${worst}`);
    }
  });

  test('NaN in an image given to normalizeImage fails instead of spreading', () => {
    assert.throws(() => normalizeImage(image(1, [0, NaN, 1]), { kind: 'meanStd', mean: [0], std: [1] }), /1 NaN or infinite value/);
  });
});

describe("training patches share their whole image's percentiles", () => {
  test("a patch from the dark half of a half-dark half-bright image is scaled by the whole image's 1st–99.8th percentiles", () => {
    const width = 64;
    const height = 32;
    const data = Float32Array.from({ length: width * height }, (_, i) => (i % width < 32 ? 0.1 + 0.001 * (i % 7) : 0.9));
    const sample: Sample = { stem: 'half', image: { width, height, channels: 1, data }, labels: new Uint8Array(width * height) };
    const normalization = computeNormalization([]);
    const loader = createLoader([sample], {
      patchSize: 16,
      batchSize: 4,
      classes: 2,
      augment: false,
      normalization,
      foregroundFraction: 0,
    });
    const batch = loader.batchAt(0);
    // Normalised per patch, a dark patch would span 0–1; with the whole image's percentiles it
    // holds exactly the whole image's normalised values.
    const allowed = [...new Set(Array.from(normalizeImage(sample.image, normalization), (v) => v.toFixed(5)))];
    const outside = Array.from(batch.x, (v) => v.toFixed(5)).filter((v) => !allowed.includes(v));
    assert.deepEqual(outside, []);
    assert.ok(Math.min(...batch.x) < 0.01, 'some patch comes from the dark half');
  });
});
