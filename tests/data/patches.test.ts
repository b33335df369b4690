import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage, writeImage } from '../../src/io/image/image-io.js';
import { patchifyDataset } from '../../src/workflows/patchify.js';
import { extractPatch, fixedPatches, foregroundPixels, gridPatches, gridShape, samplePatchOrigin } from '../../src/data/patches.js';
import { mirrorIndex } from '../../src/image/plane.js';
import type { Sample } from '../../src/data/types.js';
import { Random } from '../../src/util/random.js';

function sampleOf(width: number, height: number, labels: Uint8Array): Sample {
  return { stem: 's', image: { width, height, channels: 1, data: new Float32Array(width * height) }, labels };
}

describe('mirrorIndex', () => {
  test('n=4 matches numpy reflect over two periods', () => {
    // np.pad([0,1,2,3], 6, 'reflect') = [0,1,2,3,2,1, 0,1,2,3, 2,1,0,1,2,3]
    const padded = Array.from({ length: 16 }, (_, k) => mirrorIndex(k - 6, 4));
    assert.deepEqual(padded, [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3]);
  });
  test('n=1 is always 0; n=2 alternates', () => {
    assert.deepEqual(
      [-3, -1, 0, 5].map((i) => mirrorIndex(i, 1)),
      [0, 0, 0, 0],
    );
    assert.deepEqual(
      [-2, -1, 0, 1, 2, 3].map((i) => mirrorIndex(i, 2)),
      [0, 1, 0, 1, 0, 1],
    );
  });
});

describe('gridPatches', () => {
  test('stride=3 patch=4 width=10 height=4: last patch flush with the border', () => {
    assert.deepEqual(
      gridPatches({ width: 10, height: 4 }, { patchSize: 4, stride: 3 }).map((p) => p.x),
      [0, 3, 6],
    );
    assert.deepEqual(
      gridPatches({ width: 11, height: 4 }, { patchSize: 4, stride: 3 }).map((p) => p.x),
      [0, 3, 6, 7],
    );
  });
  test('stride grid is row-major over both axes', () => {
    const origins = gridPatches({ width: 6, height: 6 }, { patchSize: 4, stride: 2 });
    assert.deepEqual(origins, [
      { x: 0, y: 0 },
      { x: 2, y: 0 },
      { x: 0, y: 2 },
      { x: 2, y: 2 },
    ]);
  });
  test('image 3x3 smaller than patch 4: one centred origin (mirror-padded)', () => {
    assert.deepEqual(gridPatches({ width: 3, height: 3 }, { patchSize: 4, stride: 2 }), [{ x: -1, y: -1 }]);
  });
  test('count=15 on 512x512: 4x4 grid, 15 distinct cells, corners kept', () => {
    assert.deepEqual(gridShape({ width: 512, height: 512 }, 15), { rows: 4, cols: 4 });
    const origins = gridPatches({ width: 512, height: 512 }, { patchSize: 256, count: 15 });
    assert.equal(origins.length, 15);
    assert.equal(new Set(origins.map((p) => `${p.x},${p.y}`)).size, 15);
    for (const corner of ['0,0', '256,0', '0,256', '256,256'])
      assert.ok(
        origins.some((p) => `${p.x},${p.y}` === corner),
        corner,
      );
  });
  test('count=15 on 1280x720: 3 rows x 5 cols, evenly spaced', () => {
    assert.deepEqual(gridShape({ width: 1280, height: 720 }, 15), { rows: 3, cols: 5 });
    const origins = gridPatches({ width: 1280, height: 720 }, { patchSize: 256, count: 15 });
    assert.deepEqual([...new Set(origins.map((p) => p.x))], [0, 256, 512, 768, 1024]);
    assert.deepEqual([...new Set(origins.map((p) => p.y))], [0, 232, 464]);
  });
  test('bad stride fails with a message', () => {
    assert.throws(() => gridPatches({ width: 10, height: 10 }, { patchSize: 4, stride: 0 }), /stride must be a positive integer/);
  });
});

describe('extractPatch', () => {
  const image = { width: 3, height: 2, channels: 1, data: Float32Array.from([0, 1, 2, 3, 4, 5]) };
  test('inside a 3x2 image: plain copy', () => {
    assert.deepEqual([...extractPatch(image, { x: 1, y: 0, size: 2 }).data], [1, 2, 4, 5]);
  });
  test('past the border of a 3x2 image: reflected', () => {
    const patch = extractPatch(image, { x: -1, y: -1, size: 3 });
    // rows y=-1,0,1 → 1,0,1; columns x=-1,0,1 → 1,0,1
    assert.deepEqual([...patch.data], [4, 3, 4, 1, 0, 1, 4, 3, 4]);
  });
  test('patch 5 from a 2x2 image: repeated reflections', () => {
    const tiny = { width: 2, height: 2, channels: 1, data: Uint8Array.from([1, 2, 3, 4]) };
    const patch = extractPatch(tiny, { x: 0, y: 0, size: 5 });
    assert.ok(patch.data instanceof Uint8Array);
    assert.deepEqual([...patch.data.subarray(0, 5)], [1, 2, 1, 2, 1]);
    assert.deepEqual([...patch.data.subarray(5, 10)], [3, 4, 3, 4, 3]);
  });
  test('16-bit RGB raster keeps its type and channels', () => {
    const raster = { width: 2, height: 1, channels: 3, data: Uint16Array.from([1, 2, 3, 40000, 5, 6]) };
    const patch = extractPatch(raster, { x: 1, y: 0, size: 1 });
    assert.ok(patch.data instanceof Uint16Array);
    assert.deepEqual([...patch.data], [40000, 5, 6]);
  });
});

describe('samplePatchOrigin', () => {
  test('foregroundFraction=1 on 40x30 with one foreground pixel: patch 16 always contains it', () => {
    const labels = new Uint8Array(40 * 30);
    labels[25 * 40 + 37] = 1;
    const sample = sampleOf(40, 30, labels);
    const rng = new Random(3);
    for (let k = 0; k < 50; k++) {
      const { x, y } = samplePatchOrigin(sample, { patchSize: 16, foregroundFraction: 1, rng });
      assert.ok(x <= 37 && 37 < x + 16 && y <= 25 && 25 < y + 16, `origin ${x},${y}`);
      assert.ok(x >= 0 && x + 16 <= 40 && y >= 0 && y + 16 <= 30, 'inside the image');
    }
  });
  test('valid U-Net patch 20 output 12: target inside the image, input extends by margin 4', () => {
    const sample = sampleOf(30, 30, new Uint8Array(900));
    const rng = new Random(1);
    let sawNegative = false;
    for (let k = 0; k < 200; k++) {
      const { x, y } = samplePatchOrigin(sample, { patchSize: 20, outputSize: 12, foregroundFraction: 0, rng });
      assert.ok(x + 4 >= 0 && x + 4 + 12 <= 30 && y + 4 >= 0 && y + 4 + 12 <= 30);
      if (x < 0) sawNegative = true;
    }
    assert.ok(sawNegative, 'input patches at the border reach past it');
  });
  test('multiclass foreground lists per class, background empty', () => {
    const lists = foregroundPixels(Uint8Array.from([0, 2, 1, 2]));
    assert.deepEqual(
      lists.map((l) => [...l]),
      [[], [2], [1, 3]],
    );
  });
});

describe('fixedPatches', () => {
  test('two samples 64x48, count=15: 30 patches tagged by sample', () => {
    const samples = [sampleOf(64, 48, new Uint8Array(64 * 48)), sampleOf(64, 48, new Uint8Array(64 * 48))];
    const pool = fixedPatches(samples, { patchSize: 16, count: 15 });
    assert.equal(pool.length, 30);
    assert.equal(pool.filter((p) => p.sampleIndex === 1).length, 15);
  });
  test('patch 20 output 12 stride 12 on 24x24: grid over targets, inputs shifted by −4', () => {
    const pool = fixedPatches([sampleOf(24, 24, new Uint8Array(576))], { patchSize: 20, outputSize: 12, stride: 12 });
    assert.deepEqual(
      pool.map((p) => [p.x, p.y]),
      [
        [-4, -4],
        [8, -4],
        [-4, 8],
        [8, 8],
      ],
    );
  });
});

describe('patchifyDataset', () => {
  test('two 40x30 RGB images, size 16 stride 12: patches with raw mask values and the split carried over', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pyocyte-patchify-'));
    try {
      const data = join(dir, 'data');
      for (const stem of ['a', 'b']) {
        const rgb = Uint8Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 7) % 256);
        const mask = Uint8Array.from({ length: 40 * 30 }, (_, i) => (i % 40 < 20 ? 255 : 0));
        await writeImage(join(data, 'images', `${stem}.png`), { width: 40, height: 30, channels: 3, bitDepth: 8, data: rgb });
        await writeImage(join(data, 'masks', `${stem}.png`), { width: 40, height: 30, channels: 1, bitDepth: 8, data: mask });
      }
      await writeFile(join(data, 'split.json'), JSON.stringify({ train: ['a'], val: ['b'], test: [] }));
      const progress: number[] = [];
      const out = join(dir, 'out');
      const result = await patchifyDataset(data, out, { patchSize: 16, stride: 12, onProgress: (done) => progress.push(done) });
      // x: 0, 12, 24; y: 0, 12, 14 → 9 per image
      assert.equal(result.patches, 18);
      assert.deepEqual(progress.sort(), [1, 2]);
      const mask = await readImage(join(out, 'masks', 'a_p01.png'));
      assert.deepEqual([mask.width, mask.height, mask.channels], [16, 16, 1]);
      assert.deepEqual(new Set(mask.data), new Set([0, 255]), 'raw mask values, not class indices');
      assert.equal(mask.data[0], 255); // x = 12: columns 12..19 are 255
      const image = await readImage(join(out, 'images', 'b_p08.png'));
      assert.equal(image.channels, 3);
      const split = JSON.parse(await readFile(join(out, 'split.json'), 'utf8'));
      assert.equal(split.train.length, 9);
      assert.ok(split.val.every((s: string) => s.startsWith('b_p')));
      const manifest = JSON.parse(await readFile(result.manifest, 'utf8'));
      assert.deepEqual(manifest.patches[8], {
        stem: 'a_p08',
        source: 'a',
        image: 'images/a_p08.png',
        mask: 'masks/a_p08.png',
        x: 24,
        y: 14,
      });
      await assert.rejects(patchifyDataset(data, out, { patchSize: 16 }), /is not empty; choose a new output folder/);
      await assert.rejects(patchifyDataset(data, join(dir, 'x'), { stride: 4, perImage: 3 }), /either a stride or a number of patches/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
