import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { accumulateTile, blendWeights, finishBlend, planTiles, readTile, type TilePlan } from '../../src/infer/tiling.js';
import { applySymmetry, flipPlanar, invertSymmetry, transposePlanar, ttaSymmetries } from '../../src/infer/symmetry.js';
import { mirrorIndex } from '../../src/image/plane.js';
import type { FloatImage } from '../../src/image/types.js';
import { PyocyteError } from '../../src/util/errors.js';

/** How many tiles write each pixel, `[H, W]`. */
function coverage(plan: TilePlan): Uint16Array {
  const counts = new Uint16Array(plan.width * plan.height);
  for (const t of plan.tiles) {
    for (let y = t.outY; y < t.outY + t.outHeight; y++) for (let x = t.outX; x < t.outX + t.outWidth; x++) counts[y * plan.width + x]++;
  }
  return counts;
}

/** An image whose value at (x, y, c) is a distinct smooth-ish number. */
function rampImage(width: number, height: number, channels: number): FloatImage {
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i % 997) / 997;
  return { width, height, channels, data };
}

/** Runs a fake network (crop the input's centre `outputSize` square) through the whole pipeline. */
function blendIdentity(image: FloatImage, plan: TilePlan): Float32Array {
  const { inputSize, outputSize, outputMargin } = plan;
  const accumulator = new Float32Array(image.channels * image.width * image.height);
  const weightSum = new Float32Array(image.width * image.height);
  const weights = blendWeights(outputSize, outputSize);
  for (const tile of plan.tiles) {
    const input = readTile(image, { x: tile.x, y: tile.y, width: inputSize, height: inputSize });
    const output = new Float32Array(image.channels * outputSize * outputSize);
    for (let c = 0; c < image.channels; c++) {
      for (let y = 0; y < outputSize; y++)
        for (let x = 0; x < outputSize; x++) {
          output[(c * outputSize + y) * outputSize + x] = input[(c * inputSize + y + outputMargin) * inputSize + x + outputMargin];
        }
    }
    accumulateTile(accumulator, weightSum, output, weights, tile, plan);
  }
  return finishBlend(accumulator, weightSum);
}

/** `[H, W, C]` → `[C, H, W]`. */
function planar(image: FloatImage): Float32Array {
  const out = new Float32Array(image.data.length);
  const plane = image.width * image.height;
  for (let i = 0; i < plane; i++) for (let c = 0; c < image.channels; c++) out[c * plane + i] = image.data[i * image.channels + c];
  return out;
}

describe('planTiles', () => {
  test('tile=64 overlap=0.25 image=100x130: covers every pixel, tiles inside, last tile flush', () => {
    const plan = planTiles({ width: 100, height: 130, tileSize: 64 });
    assert.ok(coverage(plan).every((n) => n >= 1));
    const xs = [...new Set(plan.tiles.map((t) => t.x))];
    const ys = [...new Set(plan.tiles.map((t) => t.y))];
    assert.deepEqual(xs, [0, 36]);
    assert.deepEqual(ys, [0, 33, 66]);
    for (const t of plan.tiles) {
      assert.ok(t.x >= 0 && t.y >= 0 && t.x + 64 <= 100 && t.y + 64 <= 130);
      assert.deepEqual([t.outX, t.outY, t.outWidth, t.outHeight, t.offsetX, t.offsetY], [t.x, t.y, 64, 64, 0, 0]);
    }
    assert.ok(ys[1] - ys[0] <= 48, 'neighbours overlap by at least a quarter of the tile');
    assert.deepEqual(plan.pad, { left: 0, top: 0, right: 0, bottom: 0 });
  });

  test('image=40x30 smaller than tile=64: one centred tile, mirror-padded to 64x64', () => {
    const plan = planTiles({ width: 40, height: 30, tileSize: 64 });
    assert.equal(plan.tiles.length, 1);
    const [t] = plan.tiles;
    assert.deepEqual([t.x, t.y, t.outX, t.outY, t.outWidth, t.outHeight, t.offsetX, t.offsetY], [-12, -17, 0, 0, 40, 30, 12, 17]);
    assert.deepEqual(plan.pad, { left: 12, top: 17, right: 12, bottom: 17 });
    assert.deepEqual([plan.paddedWidth, plan.paddedHeight], [64, 64]);
    const image = rampImage(40, 30, 1);
    const tile = readTile(image, { x: t.x, y: t.y, width: 64, height: 64 });
    assert.equal(tile[0], image.data[mirrorIndex(-17, 30) * 40 + mirrorIndex(-12, 40)]);
    assert.equal(tile[17 * 64 + 12], image.data[0]);
  });

  test('valid mode tile=572 margin=92 image=500x300: 388 outputs on the output grid, margin mirrored', () => {
    const plan = planTiles({ width: 500, height: 300, tileSize: 572, outputMargin: 92, overlapFraction: 0 });
    assert.equal(plan.outputSize, 388);
    assert.deepEqual(
      plan.tiles.map((t) => [t.x, t.y]),
      [
        [-92, -136],
        [20, -136],
      ],
    );
    assert.deepEqual(plan.pad, { left: 92, top: 136, right: 92, bottom: 136 });
    assert.ok(coverage(plan).every((n) => n >= 1));
    for (const t of plan.tiles) assert.equal(t.outX, t.x + plan.outputMargin + t.offsetX);
  });

  test('bad inputs: overlap=1, tile smaller than 2 margins, width=0 are PyocyteErrors', () => {
    assert.throws(() => planTiles({ width: 10, height: 10, tileSize: 8, overlapFraction: 1 }), PyocyteError);
    assert.throws(() => planTiles({ width: 10, height: 10, tileSize: 8, outputMargin: 4 }), /leaves no output/);
    assert.throws(() => planTiles({ width: 0, height: 10, tileSize: 8 }), PyocyteError);
  });
});

describe('mirrorIndex', () => {
  test('n=4 for i=-7..10 reflects without repeating the edge (numpy reflect)', () => {
    const got = Array.from({ length: 18 }, (_, k) => mirrorIndex(k - 7, 4));
    assert.deepEqual(got, [1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2]);
  });

  test('n=1 is always 0; |i| much larger than n stays in range', () => {
    assert.equal(mirrorIndex(-1000, 1), 0);
    assert.equal(mirrorIndex(1_000_003, 5), mirrorIndex(3, 5));
    assert.equal(mirrorIndex(-1_000_003, 5), mirrorIndex(-3, 5));
  });
});

describe('readTile', () => {
  test('2-channel 3x2 image read at (-1, 0) size 3x2 gives planar [C, h, w] with the mirrored column', () => {
    // pixel (x, y) channel c = 10·c + 3·y + x
    const data = new Float32Array(12);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) for (let c = 0; c < 2; c++) data[(y * 3 + x) * 2 + c] = 10 * c + 3 * y + x;
    const tile = readTile({ width: 3, height: 2, channels: 2, data }, { x: -1, y: 0, width: 3, height: 2 });
    assert.deepEqual([...tile], [1, 0, 1, 4, 3, 4, 11, 10, 11, 14, 13, 14]);
  });
});

describe('blendWeights', () => {
  test('tile=8x6: centre 1, symmetric, never below the minimum', () => {
    const w = blendWeights(8, 6, { sigmaFraction: 0.125, minimum: 0.01 });
    assert.ok(Math.abs(Math.max(...w) - 1) < 1e-6);
    assert.ok(Math.min(...w) >= Math.fround(0.01));
    assert.equal(w[0], w[7]);
    assert.equal(w[0], w[5 * 8]);
    assert.ok(w[2 * 8 + 3] > w[0]);
  });
});

describe('accumulateTile + finishBlend', () => {
  test('a constant 0.7 map on image=100x130 tile=64 blends back to 0.7', () => {
    const plan = planTiles({ width: 100, height: 130, tileSize: 64 });
    const accumulator = new Float32Array(2 * 100 * 130);
    const weightSum = new Float32Array(100 * 130);
    const weights = blendWeights(64, 64);
    const tileOutput = new Float32Array(2 * 64 * 64).fill(0.7);
    for (const tile of plan.tiles) accumulateTile(accumulator, weightSum, tileOutput, weights, tile, plan);
    const result = finishBlend(accumulator, weightSum);
    assert.ok(result.every((v) => Math.abs(v - 0.7) < 1e-6));
  });

  test('same mode image=100x130x3 tile=64: blending the tiles of an identity network returns the image', () => {
    const image = rampImage(100, 130, 3);
    const result = blendIdentity(image, planTiles({ width: 100, height: 130, tileSize: 64 }));
    const expected = planar(image);
    assert.ok(result.every((v, i) => Math.abs(v - expected[i]) < 1e-5));
  });

  test('valid mode image=50x37 tile=44 margin=10: identity network returns the image', () => {
    const image = rampImage(50, 37, 1);
    const result = blendIdentity(image, planTiles({ width: 50, height: 37, tileSize: 44, outputMargin: 10 }));
    assert.ok(result.every((v, i) => Math.abs(v - image.data[i]) < 1e-5));
  });

  test('a skipped tile leaves a pixel without weight and finishBlend throws', () => {
    assert.throws(() => finishBlend(new Float32Array(4), Float32Array.of(1, 0, 1, 1)), /pixel 1/);
  });
});

describe('flipPlanar', () => {
  const data = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12); // [C=2, H=2, W=3]
  test('C=2 H=2 W=3 horizontal and vertical flips of a literal', () => {
    assert.deepEqual([...flipPlanar(data, 2, 2, 3, { horizontal: true, vertical: false })], [3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
    assert.deepEqual([...flipPlanar(data, 2, 2, 3, { horizontal: false, vertical: true })], [4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
  });

  test('C=2 H=2 W=3: every flip applied twice is the identity', () => {
    for (const flip of ttaSymmetries('flips')) assert.deepEqual(flipPlanar(flipPlanar(data, 2, 2, 3, flip), 2, 2, 3, flip), data);
  });
});

describe('TTA symmetries', () => {
  const square = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18); // [C=2, H=3, W=3]
  test('C=2 H=3 W=3 transpose of a literal', () => {
    assert.deepEqual([...transposePlanar(square, 2, 3, 3)], [1, 4, 7, 2, 5, 8, 3, 6, 9, 10, 13, 16, 11, 14, 17, 12, 15, 18]);
    assert.throws(() => transposePlanar(new Float32Array(6), 1, 2, 3), /square/);
  });

  test('dihedral: 8 distinct symmetries, each undone by invertSymmetry', () => {
    const seen = new Set<string>();
    for (const symmetry of ttaSymmetries('dihedral')) {
      const turned = applySymmetry(square, 2, 3, 3, symmetry);
      seen.add(turned.join(','));
      assert.deepEqual(invertSymmetry(turned, 2, 3, 3, symmetry), square);
    }
    assert.equal(seen.size, 8);
  });

  test('modes: none is the identity alone, flips has 4 and no transpose, unknown names list the valid ones', () => {
    assert.equal(ttaSymmetries('none').length, 1);
    assert.equal(ttaSymmetries('flips').length, 4);
    assert.ok(ttaSymmetries('flips').every((s) => !s.transpose));
    assert.throws(() => ttaSymmetries('rotations'), /valid TTA modes are: none, flips, dihedral/);
  });
});
