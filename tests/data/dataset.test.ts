import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { discoverDataset } from '../../src/data/dataset.js';
import { loadSample, loadSamples } from '../../src/data/samples.js';
import { writeImage } from '../../src/io/image/image-io.js';
import { PyocyteErrors } from '../../src/util/errors.js';

let root: string;
let count = 0;
before(() => (root = mkdtempSync(join(tmpdir(), 'pyocyte-dataset-'))));
after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh dataset folder with the given files: `.png`/`.tif` names get a tiny image, others text. */
async function dataset(files: Record<string, number[][] | string>): Promise<string> {
  const dir = join(root, `d${count++}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof content === 'string') writeFileSync(path, content);
    else
      await writeImage(path, {
        width: content[0].length,
        height: content.length,
        channels: 1,
        bitDepth: 8,
        data: Uint8Array.from(content.flat()),
      });
  }
  return dir;
}

const img = [
  [10, 20],
  [30, 40],
];
const msk = [
  [0, 255],
  [0, 0],
];
const stems = (index: { pairs: { stem: string }[] }) => index.pairs.map((p) => p.stem);
const problems = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PyocyteErrors) return [...error.problems];
    throw error;
  }
  return assert.fail('expected PyocyteErrors');
};

describe('discoverDataset conventions', () => {
  test('images/ and masks/ as symbolic links to folders elsewhere (shared storage): found as folders; a broken link is a file', async () => {
    const elsewhere = await dataset({ 'images/001.png': img, 'masks/001.png': msk, 'images/002.png': img, 'masks/002.png': msk });
    const dir = join(root, `d${count++}`);
    mkdirSync(dir);
    symlinkSync(join(elsewhere, 'images'), join(dir, 'images'));
    symlinkSync(join(elsewhere, 'masks'), join(dir, 'masks'));
    symlinkSync(join(elsewhere, 'missing'), join(dir, 'broken-link'));
    const index = await discoverDataset(dir);
    assert.equal(index.convention, 'images-masks');
    assert.deepEqual(stems(index), ['001', '002']);
    assert.deepEqual(index.ignored, ['broken-link']);
  });

  test('images/ + masks/ with different mask extension; README, split.json, hidden files ignored', async () => {
    const dir = await dataset({
      'images/001.png': img,
      'images/002.png': img,
      'masks/001.tif': msk,
      'masks/002.png': msk,
      'README.md': 'hello',
      'split.json': '{"train":["001"],"val":["002"]}',
      'classes.csv': 'a,b',
      'images/.DS_Store': 'x',
    });
    const index = await discoverDataset(dir);
    assert.equal(index.convention, 'images-masks');
    assert.deepEqual(stems(index), ['001', '002']);
    assert.match(index.pairs[0].maskPath!, /masks\/001\.tif$/);
    assert.equal(index.splitFile, join(dir, 'split.json'));
    assert.deepEqual(index.ignored.sort(), ['README.md', 'classes.csv', 'split.json']);
    assert.deepEqual(index.warnings, []);
  });

  test('labels/ is accepted instead of masks/, and masks named 001_mask.png pair with 001', async () => {
    const index = await discoverDataset(await dataset({ 'images/001.png': img, 'labels/001_mask.png': msk }));
    assert.match(index.pairs[0].maskPath!, /labels\/001_mask\.png$/);
  });

  test('<stem>_mask beside the image (and Cellpose _masks)', async () => {
    const index = await discoverDataset(await dataset({ 'a.png': img, 'a_mask.png': msk, 'b.png': img, 'b_masks.png': msk }));
    assert.equal(index.convention, 'suffix-mask');
    assert.deepEqual(stems(index), ['a', 'b']);
    assert.match(index.pairs[1].maskPath!, /b_masks\.png$/);
  });

  test('nnU-Net imagesTr/case_0000.png ↔ labelsTr/case.png, dataset.json labels become class names', async () => {
    const dir = await dataset({
      'imagesTr/cell_001_0000.png': img,
      'labelsTr/cell_001.png': [
        [0, 1],
        [2, 0],
      ],
      'dataset.json': JSON.stringify({
        channel_names: { 0: 'gray' },
        labels: { background: 0, cytoplasm: 1, nucleus: 2 },
        file_ending: '.png',
      }),
    });
    const index = await discoverDataset(dir);
    assert.equal(index.convention, 'nnunet');
    assert.deepEqual(stems(index), ['cell_001']);
    assert.deepEqual(index.classNames, ['background', 'cytoplasm', 'nucleus']);
  });

  test('nnU-Net multi-channel case fails asking to merge channels', async () => {
    const dir = await dataset({ 'imagesTr/c_0000.png': img, 'imagesTr/c_0001.png': img, 'labelsTr/c.png': msk });
    assert.match((await problems(discoverDataset(dir))).join('\n'), /case c has channel files c_0000, c_0001.*merge the channels/);
  });

  test('pyocyte.json pixelSizeUm and valueMap', async () => {
    const dir = await dataset({
      'images/1.png': img,
      'masks/1.png': msk,
      'pyocyte.json': JSON.stringify({ pixelSizeUm: 0.5, valueMap: '0:bg,255:cell' }),
    });
    const index = await discoverDataset(dir);
    assert.deepEqual([index.pixelSizeUm, index.valueMap, index.classNames], [0.5, { 0: 0, 255: 1 }, ['bg', 'cell']]);
  });

  test('pyocyte.json with an unknown key fails listing valid keys', async () => {
    const dir = await dataset({ 'images/1.png': img, 'masks/1.png': msk, 'pyocyte.json': JSON.stringify({ pixelSize: 0.5 }) });
    await assert.rejects(discoverDataset(dir), /unknown key pixelSize; valid keys are pixelSizeUm, valueMap/);
  });

  test('a text file in images/ is ignored with a warning', async () => {
    const index = await discoverDataset(await dataset({ 'images/1.png': img, 'images/notes.txt': 'x', 'masks/1.png': msk }));
    assert.deepEqual(index.warnings.length, 1);
    assert.match(index.warnings[0], /images\/notes\.txt is not an image/);
  });

  test('requireMasks false lists unlabelled images', async () => {
    const index = await discoverDataset(await dataset({ 'images/b.png': img, 'images/a.png': img }), { requireMasks: false });
    assert.deepEqual(
      index.pairs.map((p) => [p.stem, p.maskPath]),
      [
        ['a', undefined],
        ['b', undefined],
      ],
    );
  });
});

describe('loadSample / loadSamples', () => {
  test('loadSample scale 0.5 on 4x4: image area-averaged to 2x2, labels nearest, pixel size doubled', async () => {
    const big = [
      [0, 0, 255, 255],
      [0, 0, 255, 255],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ];
    const dir = await dataset({ 'images/a.png': big, 'masks/a.png': big });
    const [pair] = (await discoverDataset(dir)).pairs;
    const sample = await loadSample(pair, { scale: 0.5, pixelSizeUm: 0.25 });
    assert.deepEqual([sample.image.width, sample.image.height, sample.pixelSizeUm], [2, 2, 0.5]);
    assert.deepEqual(Array.from(sample.image.data), [0, 1, 0, 0]);
    assert.deepEqual(Array.from(sample.labels), [0, 1, 0, 0]);
  });

  test('targetPixelSizeUm 0.5 from 0.25 halves; without pixelSizeUm it fails saying what to pass', async () => {
    const dir = await dataset({
      'images/a.png': [
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
      'masks/a.png': [
        [0, 0, 0, 255],
        [0, 0, 0, 0],
      ],
    });
    const [pair] = (await discoverDataset(dir)).pairs;
    const sample = await loadSample(pair, { pixelSizeUm: 0.25, targetPixelSizeUm: 0.5 });
    assert.deepEqual([sample.image.width, sample.image.height], [2, 1]);
    await assert.rejects(loadSample(pair, { targetPixelSizeUm: 0.5 }), /needs the images' pixel size: pass --pixel-size/);
  });

  test('loadSamples decides polarity once for all masks and reports progress', async () => {
    // a: 255 is the minority; b: 255 is the majority; overall 255 is the minority → white for both.
    const dir = await dataset({
      'images/a.png': [[1, 1, 1, 1]],
      'masks/a.png': [[0, 0, 0, 255]],
      'images/b.png': [[1, 1, 1, 1]],
      'masks/b.png': [[0, 255, 255, 255]],
      'images/c.png': [[1, 1, 1, 1]],
      'masks/c.png': [[0, 0, 0, 0]],
    });
    const notes: string[] = [];
    const progress: number[] = [];
    const samples = await loadSamples((await discoverDataset(dir)).pairs, {
      onNote: (n) => notes.push(n),
      onProgress: (done) => progress.push(done),
    });
    assert.deepEqual(
      samples.map((s) => Array.from(s.labels)),
      [
        [0, 0, 0, 1],
        [0, 1, 1, 1],
        [0, 0, 0, 0],
      ],
    );
    assert.deepEqual(progress, [1, 2, 3]);
    assert.equal(notes.length, 1);
    assert.match(notes[0], /foreground is white/);
  });

  test('loadSamples reports every bad pair at once', async () => {
    const dir = await dataset({
      'images/a.png': img,
      'masks/a.png': [
        [0, 7],
        [128, 255],
      ],
      'images/b.png': img,
      'masks/b.png': [
        [0, 9],
        [128, 255],
      ],
    });
    const found = await problems(
      loadSamples((await discoverDataset(dir)).pairs, { task: 'multiclass', valueMap: { 0: 0, 128: 1, 255: 2 } }),
    );
    assert.equal(found.length, 2);
    assert.match(found[0], /a\.png has 1 value not in the value map \(0, 128, 255\): 7 \(1 px\)/);
    assert.match(found[1], /b\.png has 1 value not in the value map \(0, 128, 255\): 9 \(1 px\)/);
  });

  test('loadSample without a mask fails naming the image', async () => {
    const dir = await dataset({ 'images/a.png': img });
    const [pair] = (await discoverDataset(dir, { requireMasks: false })).pairs;
    await assert.rejects(loadSample(pair), /a\.png has no mask/);
  });
});
