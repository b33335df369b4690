import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SCALE_SPACE, characteristicScale, laplacianSpectrum } from '../../src/image/scale-space.js';
import type { FloatImage } from '../../src/image/types.js';
import { Random } from '../../src/util/random.js';

/** A `[size, size, 1]` image of bright discs of `diameter` px on a grid 1.5 diameters apart. */
function discImage(size: number, diameter: number): FloatImage {
  const data = new Float32Array(size * size);
  const r = diameter / 2;
  const step = Math.ceil(diameter * 1.5);
  for (let cy = step / 2; cy + r < size - 1; cy += step)
    for (let cx = step / 2; cx + r < size - 1; cx += step)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) data[y * size + x] = 1;
  return { width: size, height: size, channels: 1, data };
}

describe('characteristicScale', () => {
  test('discs of diameter 16 in 128²: σ* within 10% of d / 2√2 = 5.66 (a disc answers most at σ = r / √2)', () => {
    const sigma = characteristicScale(discImage(128, 16))!;
    assert.ok(Math.abs(sigma - 16 / (2 * Math.SQRT2)) < 0.1 * 5.66, `σ* ${sigma}`);
  });

  test('discs of 8, 16 and 32 px in 64², 128², 256²: σ* doubles with the image, within 1%', () => {
    const [a, b, c] = [
      characteristicScale(discImage(64, 8))!,
      characteristicScale(discImage(128, 16))!,
      characteristicScale(discImage(256, 32))!,
    ];
    assert.ok(Math.abs(b / a - 2) < 0.02 && Math.abs(c / b - 2) < 0.02, `σ* ${a}, ${b}, ${c}`);
  });

  test('dark discs on a bright background (inverted 128², d = 16): the same σ*', () => {
    const bright = discImage(128, 16);
    const dark = { ...bright, data: bright.data.map((v) => 1 - v) };
    assert.ok(Math.abs(characteristicScale(dark)! - characteristicScale(bright)!) < 1e-6);
  });

  test('a flat 64² image, and white noise (seeded, 96²): no characteristic scale', () => {
    assert.equal(characteristicScale({ width: 64, height: 64, channels: 1, data: new Float32Array(64 * 64).fill(0.5) }), undefined);
    const random = new Random(7);
    const noise = Float32Array.from({ length: 96 * 96 }, () => random.next());
    assert.equal(characteristicScale({ width: 96, height: 96, channels: 1, data: noise }), undefined);
  });

  test('a 64×64 image whose left half is bright: the peak lies at the largest σ, so undefined', () => {
    const data = Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 64 < 32 ? 1 : 0));
    assert.equal(characteristicScale({ width: 64, height: 64, channels: 1, data }), undefined);
  });

  test('laplacianSpectrum of a 64² image: σ from 1 px in quarter octaves up to 16 px (¼ of the side)', () => {
    const { sigmasPx, energies } = laplacianSpectrum(discImage(64, 8));
    assert.equal(sigmasPx[0], SCALE_SPACE.minSigmaPx);
    assert.equal(sigmasPx.length, 17);
    assert.ok(Math.abs(sigmasPx[16] - 16) < 1e-9);
    assert.equal(energies.length, 17);
  });

  test("an RGB image whose channels are copies of a gray one: the gray image's σ*", () => {
    const gray = discImage(96, 12);
    const rgb = {
      width: 96,
      height: 96,
      channels: 3,
      data: Float32Array.from({ length: 96 * 96 * 3 }, (_, i) => gray.data[Math.floor(i / 3)]),
    };
    assert.ok(Math.abs(characteristicScale(rgb)! - characteristicScale(gray)!) < 1e-6);
  });
});
