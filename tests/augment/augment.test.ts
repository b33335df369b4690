import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  AUGMENT_PRESETS,
  augmentOptions,
  augmentPatch,
  drawAugmentation,
  forceAllTransforms,
  IDENTITY_AUGMENT,
  resolveAugment,
  type AugmentParams,
} from '../../src/augment/pipeline.js';
import { gaussianBlur } from '../../src/augment/blur.js';
import {
  addGaussianNoise,
  applyStainJitter,
  applyToneAndColor,
  hueSaturationMatrix,
  IDENTITY_PHOTOMETRIC,
  stainMatrix,
} from '../../src/augment/color.js';
import { elasticField, elasticGrid, IDENTITY_GEOMETRY } from '../../src/augment/geometry.js';
import { extractPatch } from '../../src/data/patches.js';
import { mirrorIndex } from '../../src/image/plane.js';
import { Random } from '../../src/util/random.js';

const GEOMETRY_ONLY = augmentOptions(
  {
    flip: { p: 0.5 },
    rotate90: { p: 1 },
    rotate: { p: 1 },
    scale: { p: 1 },
    elastic: { p: 1 },
  },
  'none',
);

/** An RGB image whose channels encode their own coordinates: (x/W, y/H, 0). */
function coordinateImage(width: number, height: number) {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x / width, y / height, 0], (y * width + x) * 3);
  return { width, height, channels: 3, data };
}
const labelOf = (x: number, y: number) => ((x >> 3) + 2 * (y >> 3)) % 5;
function coordinateLabels(width: number, height: number): Uint8Array {
  return Uint8Array.from({ length: width * height }, (_, i) => labelOf(i % width, Math.floor(i / width)));
}

/** Checks label == f(source coordinate in the image) at every pixel not on a rounding tie. */
function assertAligned(image: Float32Array, labels: Uint8Array, size: number, crop: number, width: number, height: number): number {
  const margin = (size - crop) / 2;
  let checked = 0;
  for (let v = 0; v < crop; v++) {
    for (let u = 0; u < crop; u++) {
      const o = (v + margin) * size + u + margin;
      const sx = image[o] * width;
      const sy = image[size * size + o] * height;
      if (Math.abs((sx % 1) - 0.5) < 1e-3 || Math.abs((sy % 1) - 0.5) < 1e-3) continue;
      assert.equal(labels[v * crop + u], labelOf(Math.round(sx), Math.round(sy)), `pixel ${u},${v} from ${sx},${sy}`);
      checked++;
    }
  }
  return checked;
}

describe('geometric augmentation keeps labels aligned', () => {
  const width = 260;
  const height = 220;
  const source = { image: coordinateImage(width, height), labels: coordinateLabels(width, height) };
  test('patch 48 at (106,86), flips+rot90+rotation+scale+elastic, 20 seeds: label == f(image) everywhere', () => {
    for (let seed = 0; seed < 20; seed++) {
      const params = drawAugmentation(GEOMETRY_ONLY, new Random(seed));
      const out = augmentPatch(source, { x: 106, y: 86, patchSize: 48 }, params);
      const checked = assertAligned(out.image, out.labels!, 48, 48, width, height);
      assert.ok(checked > 48 * 48 * 0.95);
      assert.ok(out.labels!.every((l) => l < 5));
    }
  });
  test('valid U-Net patch 48 output 32: labels are the centre crop of the warped image', () => {
    for (let seed = 0; seed < 5; seed++) {
      const params = drawAugmentation(GEOMETRY_ONLY, new Random(100 + seed));
      // The weight map holds (x/W + y/H)/2, the mean of image channels 0 and 1: bilinear warps agree.
      const weights = Float32Array.from({ length: width * height }, (_, i) => ((i % width) / width + Math.floor(i / width) / height) / 2);
      const out = augmentPatch({ ...source, weights }, { x: 106, y: 86, patchSize: 48, outputSize: 32 }, params);
      assert.equal(out.labels!.length, 32 * 32);
      assert.ok(assertAligned(out.image, out.labels!, 48, 32, width, height) > 32 * 32 * 0.95);
      for (let v = 0; v < 32; v++) {
        for (let u = 0; u < 32; u++) {
          const i = (v + 8) * 48 + u + 8;
          assert.ok(Math.abs(out.weights![v * 32 + u] - (out.image[i] + out.image[48 * 48 + i]) / 2) < 1e-5);
        }
      }
    }
  });
  test('patch past a corner with rotation: labels only take input values {0, 7, 200}', () => {
    const labels = Uint8Array.from({ length: 30 * 20 }, (_, i) => [0, 7, 200][(i * 7) % 3]);
    const image = { width: 30, height: 20, channels: 1, data: new Float32Array(600).fill(0.5) };
    const weights = new Float32Array(600).fill(2);
    for (let seed = 0; seed < 5; seed++) {
      const params = drawAugmentation(forceAllTransforms(), new Random(seed));
      const out = augmentPatch({ image, labels, weights }, { x: -10, y: -12, patchSize: 24 }, params);
      assert.ok(out.labels!.every((l) => l === 0 || l === 7 || l === 200));
      assert.ok(
        out.weights!.every((w) => Math.abs(w - 2) < 1e-6),
        'a constant weight map stays constant',
      );
    }
  });
});

describe('flips and quarter turns are exact on a 4x4 literal', () => {
  const values = Array.from({ length: 16 }, (_, i) => i);
  const source = {
    image: { width: 4, height: 4, channels: 1, data: Float32Array.from(values) },
    labels: Uint8Array.from(values),
  };
  const run = (geometry: Partial<AugmentParams['geometry']>) => {
    const out = augmentPatch(
      source,
      { x: 0, y: 0, patchSize: 4 },
      { ...IDENTITY_AUGMENT, geometry: { ...IDENTITY_GEOMETRY, ...geometry } },
    );
    assert.deepEqual([...out.image], [...out.labels!], 'image and labels move together');
    return [...out.labels!];
  };
  test('identity', () => assert.deepEqual(run({}), values));
  test('flipX mirrors left-right', () => assert.deepEqual(run({ flipX: true }), [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12]));
  test('flipY mirrors top-bottom', () => assert.deepEqual(run({ flipY: true }), [12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]));
  test('quarterTurns=1 equals numpy.rot90', () =>
    assert.deepEqual(run({ quarterTurns: 1 }), [3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13, 0, 4, 8, 12]));
  test('quarterTurns=2 reverses', () => assert.deepEqual(run({ quarterTurns: 2 }), [...values].reverse()));
  test('quarterTurns=3 equals numpy.rot90(k=3)', () =>
    assert.deepEqual(run({ quarterTurns: 3 }), [12, 8, 4, 0, 13, 9, 5, 1, 14, 10, 6, 2, 15, 11, 7, 3]));
});

describe('elasticField', () => {
  test('256x256 sigma 10: smooth, and passes through the grid vectors at the corners', () => {
    const { dx, dy } = elasticField({ width: 256, height: 256 }, { rng: new Random(5) });
    const grid = elasticGrid({ gridSize: 3, sigmaPx: 10, rng: new Random(5) });
    assert.ok(Math.abs(dx[0] - grid[0]) < 1e-4 && Math.abs(dy[0] - grid[1]) < 1e-4);
    assert.ok(Math.abs(dx[256 * 256 - 1] - grid[16]) < 1e-4);
    let steepest = 0;
    for (let y = 0; y < 255; y++) {
      for (let x = 0; x < 255; x++) {
        const i = y * 256 + x;
        steepest = Math.max(steepest, Math.abs(dx[i + 1] - dx[i]), Math.abs(dx[i + 256] - dx[i]), Math.abs(dy[i + 1] - dy[i]));
      }
    }
    assert.ok(steepest < 1, `neighbouring displacements differ by ${steepest} px`);
  });
  test('32x32 over 300 seeds: mean displacement near 0, spread near sigma', () => {
    let sum = 0;
    let squares = 0;
    for (let seed = 0; seed < 300; seed++) {
      const { dx } = elasticField({ width: 32, height: 32 }, { sigmaPx: 10, rng: new Random(seed) });
      sum += dx.reduce((a, b) => a + b, 0) / dx.length;
      squares += dx[0] * dx[0];
    }
    assert.ok(Math.abs(sum / 300) < 1.5, `mean ${sum / 300}`);
    const std = Math.sqrt(squares / 300);
    assert.ok(std > 8.5 && std < 11.5, `corner std ${std}`);
  });
});

describe('augmentPatch', () => {
  const random = new Random(9);
  const image = { width: 40, height: 30, channels: 3, data: Float32Array.from({ length: 3600 }, () => random.next()) };
  const labels = Uint8Array.from({ length: 1200 }, (_, i) => (i % 7 === 0 ? 1 : 0));
  test('same seed, every transform on: identical output', () => {
    const a = augmentPatch({ image, labels }, { x: 5, y: 3, patchSize: 16 }, drawAugmentation(forceAllTransforms(), new Random(42)));
    const b = augmentPatch({ image, labels }, { x: 5, y: 3, patchSize: 16 }, drawAugmentation(forceAllTransforms(), new Random(42)));
    assert.deepEqual(a, b);
  });
  test('identity params: a plain crop, channel-planar', () => {
    const out = augmentPatch({ image, labels }, { x: 5, y: 3, patchSize: 16 }, IDENTITY_AUGMENT);
    const crop = extractPatch(image, { x: 5, y: 3, size: 16 }).data;
    assert.deepEqual([...out.image.subarray(256, 512)], [...crop.filter((_, i) => i % 3 === 1)]);
  });
  test('normalize fused into the last pass equals normalising afterwards, 40 seeds of the default chain', () => {
    const normalize = { offset: [0.1, 0.5, 0.3], scale: [2, 4, 0.5] };
    for (let seed = 0; seed < 40; seed++) {
      const params = drawAugmentation(resolveAugment('strong'), new Random(seed));
      const fused = augmentPatch({ image }, { x: 5, y: 3, patchSize: 16 }, params, { normalize }).image;
      const plain = augmentPatch({ image }, { x: 5, y: 3, patchSize: 16 }, params).image;
      plain.forEach((v, i) => {
        const c = Math.floor(i / 256);
        assert.ok(Math.abs(fused[i] - (v - normalize.offset[c]) * normalize.scale[c]) < 1e-5, `seed ${seed} value ${i}`);
      });
    }
  });
  test('photometric only: labels untouched, image changed', () => {
    const photometric = augmentOptions(
      {
        brightness: { p: 1 },
        contrast: { p: 1 },
        gamma: { p: 1 },
        hueSaturation: { p: 1 },
        stain: { p: 1 },
        noise: { p: 1 },
        blur: { p: 1 },
      },
      'none',
    );
    const out = augmentPatch({ image, labels }, { x: 5, y: 3, patchSize: 16 }, drawAugmentation(photometric, new Random(1)));
    const plain = augmentPatch({ image, labels }, { x: 5, y: 3, patchSize: 16 }, IDENTITY_AUGMENT);
    assert.deepEqual(out.labels, plain.labels);
    assert.notDeepEqual(out.image, plain.image);
    assert.ok(out.image.every((v) => v >= 0 && v <= 1));
  });
});

describe('photometric transforms', () => {
  test('stain matrix with scale 1, shift 0 is the identity', () => {
    const { matrix, offset } = stainMatrix([1, 1, 1], [0, 0, 0]);
    matrix.forEach((v, i) => assert.ok(Math.abs(v - (i % 4 === 0 ? 1 : 0)) < 1e-9));
    assert.deepEqual(offset, [0, 0, 0]);
  });
  test('stain jitter: identity within table precision; more haematoxylin darkens red most', () => {
    const rgb = Float32Array.from([0.8, 0.3, 0.95, 0.6, 0.2, 0.9]); // planar [3, 1, 2]
    const same = rgb.slice();
    applyStainJitter(same, [1, 1, 1], [0, 0, 0]);
    same.forEach((v, i) => assert.ok(Math.abs(v - rgb[i]) < 0.01, `${v} vs ${rgb[i]}`));
    const white = Float32Array.from([1, 1, 1]);
    applyStainJitter(white, [1, 1, 1], [0.2, 0, 0]);
    assert.ok(white[0] < 0.9 && white[2] > white[0], `${[...white]}`);
  });
  test('hue/saturation: identity at (0, 1); gray is invariant to hue; saturation 0 gives gray', () => {
    hueSaturationMatrix(0, 1).forEach((v, i) => assert.ok(Math.abs(v - (i % 4 === 0 ? 1 : 0)) < 1e-9));
    const gray = Float32Array.from([0.5, 0.5, 0.5]);
    applyToneAndColor(gray, 3, { ...IDENTITY_PHOTOMETRIC, hueRadians: 1 });
    gray.forEach((v) => assert.ok(Math.abs(v - 0.5) < 1e-6));
    const pink = Float32Array.from([0.9, 0.5, 0.7]);
    applyToneAndColor(pink, 3, { ...IDENTITY_PHOTOMETRIC, saturation: 0 });
    assert.ok(Math.abs(pink[0] - pink[1]) < 1e-6 && Math.abs(pink[1] - pink[2]) < 1e-6);
  });
  test('gamma 2 maps 0.5 to 0.25; contrast 2 keeps the mean', () => {
    const half = Float32Array.from([0.5]);
    applyToneAndColor(half, 1, { ...IDENTITY_PHOTOMETRIC, gamma: 2 });
    assert.ok(Math.abs(half[0] - 0.25) < 1e-3);
    const values = Float32Array.from([0.3, 0.5, 0.7]);
    applyToneAndColor(values, 1, { ...IDENTITY_PHOTOMETRIC, contrast: 2 });
    assert.deepEqual(
      [...values].map((v) => Math.round(v * 1000) / 1000),
      [0.1, 0.5, 0.9],
    );
  });
  test('blur of a 9x7 impulse: sums to 1, symmetric; a constant plane stays constant', () => {
    const impulse = new Float32Array(63);
    impulse[3 * 9 + 4] = 1;
    gaussianBlur({ width: 9, height: 7, channels: 1, data: impulse }, 1);
    assert.ok(Math.abs(impulse.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.ok(Math.abs(impulse[3 * 9 + 3] - impulse[3 * 9 + 5]) < 1e-7 && Math.abs(impulse[2 * 9 + 4] - impulse[4 * 9 + 4]) < 1e-7);
    const flat = new Float32Array(2 * 9 * 7).fill(0.4);
    gaussianBlur({ width: 9, height: 7, channels: 2, data: flat }, 1.2);
    assert.ok(flat.every((v) => Math.abs(v - 0.4) < 1e-6));
  });
  test('blur of a random 2-channel 11x8 image equals a brute-force reflected convolution, sigma 0.4…2.2', () => {
    const rng = new Random(3);
    const source = Float32Array.from({ length: 2 * 11 * 8 }, () => rng.next());
    for (const sigma of [0.4, 0.9, 1.3, 2.2]) {
      const blurred = source.slice();
      gaussianBlur({ width: 11, height: 8, channels: 2, data: blurred }, sigma);
      const radius = Math.max(1, Math.ceil(2 * sigma));
      const taps = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
      const total = taps.reduce((a, b) => a + b, 0);
      for (let c = 0; c < 2; c++) {
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 11; x++) {
            let expected = 0;
            for (let j = -radius; j <= radius; j++) {
              for (let i = -radius; i <= radius; i++) {
                const sy = mirrorIndex(y + j, 8);
                const sx = mirrorIndex(x + i, 11);
                expected += (taps[j + radius] * taps[i + radius] * source[c * 88 + sy * 11 + sx]) / (total * total);
              }
            }
            assert.ok(Math.abs(blurred[c * 88 + y * 11 + x] - expected) < 1e-5, `sigma ${sigma} at ${c},${x},${y}`);
          }
        }
      }
    }
  });
  test('noise sigma 0.05 on 0.5: mean 0.5, std 0.05', () => {
    const data = new Float32Array(20000).fill(0.5);
    addGaussianNoise(data, 0.05, 123);
    const mean = data.reduce((a, b) => a + b, 0) / data.length;
    const std = Math.sqrt(data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length);
    assert.ok(Math.abs(mean - 0.5) < 0.002 && Math.abs(std - 0.05) < 0.004, `mean ${mean} std ${std}`);
  });
});

describe('augmentation options', () => {
  test('presets none/light/multiscale/default/strong; unknown preset lists them', () => {
    assert.deepEqual(Object.keys(AUGMENT_PRESETS), ['none', 'light', 'multiscale', 'default', 'strong']);
    assert.equal(resolveAugment(false).rotate.p, 0);
    assert.throws(() => resolveAugment('heavy'), /valid augmentation presets are: none, light, multiscale, default, strong/);
  });
  test('multiscale is light plus a zoom of ×0.5–×2 on half the patches', () => {
    const { multiscale, light } = AUGMENT_PRESETS;
    assert.deepEqual({ ...multiscale, scale: light.scale }, light);
    assert.deepEqual(multiscale.scale, { p: 0.5, range: [0.5, 2] });
  });
  test('bad probability and unknown transform fail with messages', () => {
    assert.throws(() => augmentOptions({ rotate: { p: 2 } }), /rotate\.p must be a probability/);
    assert.throws(() => augmentOptions({ wobble: { p: 1 } } as never), /unknown augmentation transform 'wobble'/);
  });
  test('forceAllTransforms sets every p to 1', () => {
    assert.ok(Object.values(forceAllTransforms()).every((t) => t.p === 1));
  });
});
