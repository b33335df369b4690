/**
 * The three real datasets in ../shared/data: discovery, decoding to the right pixels, checks,
 * and the published splits. Skipped (saying why) when the data is absent.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-bmp';
import { checkDataset } from '../../src/data/check.js';
import { discoverDataset } from '../../src/data/dataset.js';
import { loadSamples } from '../../src/data/samples.js';
import { readImage } from '../../src/io/image/image-io.js';
import { splitStems } from '../../src/data/split.js';
import { PyocyteErrors } from '../../src/util/errors.js';
import { sharedDataset } from '../shared-data.js';

const wbc = sharedDataset('wbc-cellavision');
const isbi = sharedDataset('isbi2012-em');
const umid = sharedDataset('umid-urine');

/** The pixel at (x, y) of a decoded raster. */
function pixel(image: { width: number; channels: number; data: ArrayLike<number> }, x: number, y: number): number[] {
  const at = (y * image.width + x) * image.channels;
  return Array.from({ length: image.channels }, (_, c) => image.data[at + c]);
}

describe('wbc-cellavision', { skip: wbc.skip }, () => {
  test('BMP pixels match PIL (hard-coded from /usr/bin/python3 + PIL)', async () => {
    const first = await readImage(join(wbc.path, 'images', '001.bmp'));
    assert.deepEqual([first.width, first.height, first.channels, first.bitDepth], [300, 300, 3, 8]);
    assert.deepEqual(pixel(first, 0, 0), [254, 228, 203]);
    assert.deepEqual(pixel(first, 20, 10), [255, 229, 204]);
    assert.deepEqual(pixel(first, 150, 150), [112, 54, 138]);
    assert.deepEqual(pixel(first, 200, 100), [206, 146, 158]);
    assert.deepEqual(pixel(first, 299, 299), [211, 146, 150]);
    const fiftieth = await readImage(join(wbc.path, 'images', '050.bmp'));
    assert.deepEqual(pixel(fiftieth, 0, 0), [254, 228, 195]);
    assert.deepEqual(pixel(fiftieth, 45, 123), [208, 151, 160]);
    assert.deepEqual(pixel(fiftieth, 150, 150), [94, 41, 133]);
  });

  test('BMP decoding agrees with fast-bmp on 3 files', async () => {
    for (const stem of ['001', '042', '100']) {
      const path = join(wbc.path, 'images', `${stem}.bmp`);
      const ours = await readImage(path);
      const theirs = decode(readFileSync(path));
      assert.deepEqual([theirs.width, theirs.height, theirs.channels], [300, 300, 3]);
      assert.deepEqual(Buffer.from(ours.data as Uint8Array), Buffer.from(theirs.data as Uint8Array));
    }
  });

  test('100 pairs (images/*.bmp ↔ masks/*.png); classes.csv and split.json ignored', async () => {
    const index = await discoverDataset(wbc.path);
    assert.equal(index.convention, 'images-masks');
    assert.equal(index.pairs.length, 100);
    assert.match(index.pairs[16].imagePath, /images\/017\.bmp$/);
    assert.match(index.pairs[16].maskPath!, /masks\/017\.png$/);
    assert.deepEqual(index.ignored, ['classes.csv', 'split.json']);
  });

  test('split reproduces split.json (70/10/20)', async () => {
    const index = await discoverDataset(wbc.path, { checkFiles: false });
    const expected = JSON.parse(readFileSync(join(wbc.path, 'split.json'), 'utf8'));
    const split = splitStems(
      index.pairs.map((p) => p.stem),
      { splitFile: index.splitFile },
    );
    assert.deepEqual(split, expected);
    assert.deepEqual([split.train.length, split.val.length, split.test.length], [70, 10, 20]);
  });

  test('data check passes (binary: foreground = mask > 0)', async () => {
    const summary = await checkDataset(wbc.path);
    assert.deepEqual(summary.problems, []);
    assert.equal(summary.polarity, 'white');
    const [background, foreground] = summary.classPixels!;
    assert.equal(foreground, 9_000_000 - 6_951_663);
    assert.equal(background, 6_951_663);
  });

  test('multiclass 0/128/255: 5 masks with stray values are named; --stray-values nearest loads all 100', async (t) => {
    const { pairs } = await discoverDataset(wbc.path, { checkFiles: false });
    const valueMap = { 0: 0, 128: 1, 255: 2 };
    const error = await loadSamples(pairs, { task: 'multiclass', valueMap }).catch((e: unknown) => e);
    assert.ok(error instanceof PyocyteErrors);
    assert.deepEqual(
      error.problems.map((p) => /masks\/(\d+)\.png/.exec(p)?.[1]),
      ['034', '035', '047', '050', '076'],
    );
    const started = Date.now();
    const samples = await loadSamples(pairs, { task: 'multiclass', valueMap, strayValues: 'nearest' });
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(`loaded 100 wbc BMP + PNG pairs in ${seconds.toFixed(2)} s`);
    assert.equal(samples.length, 100);
    assert.deepEqual(new Set(samples.flatMap((s) => [...new Set(s.labels)])), new Set([0, 1, 2]));
  });
});

describe('isbi2012-em', { skip: isbi.skip }, () => {
  test('8-bit gray PNG pixels', async () => {
    const image = await readImage(join(isbi.path, 'images', '00.png'));
    assert.deepEqual([image.width, image.height, image.channels], [512, 512, 1]);
    assert.deepEqual([pixel(image, 0, 0), pixel(image, 200, 100), pixel(image, 511, 511)], [[126], [188], [171]]);
  });

  test('data check passes; membranes (black, 22%) are the foreground', async () => {
    const summary = await checkDataset(isbi.path);
    assert.deepEqual(summary.problems, []);
    assert.equal(summary.pairs, 30);
    assert.equal(summary.polarity, 'black');
    assert.deepEqual(summary.classPixels, [6_137_070, 1_727_250]);
    assert.deepEqual(summary.split, { source: 'split.json', train: 20, val: 5, test: 5, leftOut: 0 });
  });

  test('split reproduces split.json (20/5/5)', async () => {
    const index = await discoverDataset(isbi.path, { checkFiles: false });
    const expected = JSON.parse(readFileSync(join(isbi.path, 'split.json'), 'utf8'));
    assert.deepEqual(
      splitStems(
        index.pairs.map((p) => p.stem),
        { splitFile: index.splitFile },
      ),
      expected,
    );
  });

  test("polarity 'black' given explicitly gives the same labels as auto", async () => {
    const { pairs } = await discoverDataset(isbi.path, { checkFiles: false });
    const [auto] = await loadSamples(pairs.slice(0, 1));
    const [black] = await loadSamples(pairs.slice(0, 1), { polarity: 'black' });
    assert.deepEqual(auto.labels, black.labels);
    assert.equal(
      auto.labels.reduce((a, b) => a + b, 0),
      57_492,
    );
  });
});

describe('umid-urine (images only, boxes in CSV)', { skip: umid.skip }, () => {
  test('requireMasks false lists 306 JPEG images without masks', async () => {
    const index = await discoverDataset(umid.path, { requireMasks: false });
    assert.equal(index.pairs.length, 306);
    assert.ok(index.pairs.every((p) => p.maskPath === undefined && p.imagePath.endsWith('.jpg')));
    assert.deepEqual(index.ignored, ['SOURCE-README.md', 'train.csv', 'val.csv']);
  });

  test('requiring masks fails with one message saying where masks go', async () => {
    const error = await discoverDataset(umid.path).catch((e: unknown) => e);
    assert.ok(error instanceof PyocyteErrors);
    assert.equal(error.problems.length, 1);
    assert.match(error.problems[0], /has images\/ but no masks\/ folder/);
  });

  test('a JPEG decodes to 1280x720 RGB', async () => {
    const image = await readImage(join(umid.path, 'images', '1.jpg'));
    assert.deepEqual([image.width, image.height, image.channels, image.bitDepth], [1280, 720, 3, 8]);
  });
});
