/**
 * A corpus of bad inputs, each generated into a temp folder, each asserting a clear message that
 * names the file (or folder). Nothing here allocates more than a few MB: the 30,000-pixel PNGs are
 * a valid 1-bit file of ~0.5 MB and a header-only file.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { checkDataset } from '../../src/data/check.js';
import { discoverDataset } from '../../src/data/dataset.js';
import { loadSample, loadSamples } from '../../src/data/samples.js';
import { readImage, readImageInfo, writeImage } from '../../src/io/image/image-io.js';
import { maskToLabels } from '../../src/data/masks.js';
import { PyocyteError, PyocyteErrors } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';
import type { RasterImage } from '../../src/image/types.js';

let root: string;
let count = 0;
before(() => (root = mkdtempSync(join(tmpdir(), 'pyocyte-bad-'))));
after(() => rmSync(root, { recursive: true, force: true }));

const gray = (width: number, height: number, fill = 0): RasterImage => ({
  width,
  height,
  channels: 1,
  bitDepth: 8,
  data: new Uint8Array(width * height).fill(fill),
});
const halfMask = (width: number, height: number): RasterImage => ({
  ...gray(width, height),
  data: Uint8Array.from({ length: width * height }, (_, i) => (i % 2 ? 255 : 0)),
});

/** A fresh folder; values are rasters (written as images) or raw bytes/text (written as is). */
async function folder(files: Record<string, RasterImage | string | Uint8Array>): Promise<string> {
  const dir = join(root, `case${count++}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof content === 'string' || content instanceof Uint8Array) writeFileSync(path, content);
    else await writeImage(path, content);
  }
  return dir;
}

/** The problems of the PyocyteErrors a promise rejects with. */
async function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof PyocyteErrors, `expected PyocyteErrors, got ${String(error)}`);
  return [...error.problems];
}

/** Asserts a user error (not a crash) whose message matches. */
async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PyocyteError, `expected a PyocyteError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A gray PNG of `side`×`side` at 1 bit per pixel, all black: tiny on disk, huge decoded. */
function hugePng(side: number, withPixels: boolean): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1;
  const chunks = [pngChunk('IHDR', ihdr)];
  if (withPixels) chunks.push(pngChunk('IDAT', deflateSync(Buffer.alloc((1 + Math.ceil(side / 8)) * side), { level: 1 })));
  chunks.push(pngChunk('IEND', new Uint8Array(0)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

describe('bad files', () => {
  test('0-byte image', async () => {
    const dir = await folder({ 'images/001.png': '', 'masks/001.png': halfMask(4, 4) });
    assert.deepEqual(await problemsOf(discoverDataset(dir)), [
      'images/001.png is empty (0 bytes); re-export the file or remove it from the folder',
    ]);
  });

  test('truncated PNG (header intact, pixel data cut)', async () => {
    const random = new Random(1);
    const dir = await folder({ 'x.png': { ...gray(64, 64), data: Uint8Array.from({ length: 4096 }, () => random.int(0, 256)) } });
    const path = join(dir, 'x.png');
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
    await rejectsWith(readImage(path), /x\.png is a corrupt or truncated PNG file \(the decoder said: .*\); re-export it/);
  });

  test('JPEG renamed .png', async () => {
    const dir = await folder({});
    const path = join(dir, '017.png');
    await sharp(new Uint8Array(48), { raw: { width: 4, height: 4, channels: 3 } })
      .jpeg()
      .toFile(path);
    await rejectsWith(readImage(path), /017\.png is a JPEG file but its name ends in \.png; rename it to .*017\.jpg/);
  });

  test('text file with an image extension', async () => {
    const dir = await folder({ 'images/a.tif': 'sample notes\nline 2', 'masks/a.png': halfMask(2, 2) });
    assert.match(
      (await problemsOf(discoverDataset(dir)))[0],
      /^images\/a\.tif is a text file \(it starts with "sample notes"\), not an image/,
    );
  });

  test('Git LFS pointer instead of the image', async () => {
    const dir = await folder({ 'a.png': 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1234\n' });
    await rejectsWith(readImage(join(dir, 'a.png')), /a\.png is a Git LFS pointer, not the image itself; run 'git lfs pull'/);
  });

  test('GIF content named .png names the format pyocyte does not read', async () => {
    const dir = await folder({ 'a.png': 'GIF89a\u0001\u0000\u0001\u0000' });
    await rejectsWith(readImage(join(dir, 'a.png')), /a\.png is a GIF file, which pyocyte does not read; convert it to PNG or TIFF/);
  });

  test('30000×30000 valid 1-bit PNG is refused from its header, before decoding', async () => {
    const dir = await folder({ 'huge.png': hugePng(30000, true) });
    const path = join(dir, 'huge.png');
    assert.deepEqual((await readImageInfo(path)).width, 30000);
    const before = process.memoryUsage().rss;
    await rejectsWith(readImage(path), /huge\.png is 30000×30000 \(900 Mpx\), above the limit of 100 Mpx; .*Cut it into tiles/);
    assert.ok(process.memoryUsage().rss - before < 200e6, 'refusing must not decode the pixels');
  });

  test('30000×30000 header-only PNG is refused by size too (IHDR read directly)', async () => {
    const dir = await folder({ 'header.png': hugePng(30000, false) });
    await rejectsWith(readImage(join(dir, 'header.png')), /header\.png is 30000×30000 \(900 Mpx\), above the limit/);
  });

  test('4-channel image: opaque alpha is dropped, transparent alpha is refused', async () => {
    const rgba = (alpha: number): RasterImage => ({
      width: 2,
      height: 1,
      channels: 4,
      bitDepth: 8,
      data: Uint8Array.from([9, 9, 9, 255, 9, 9, 9, alpha]),
    });
    const dir = await folder({
      'images/a.png': rgba(255),
      'masks/a.png': halfMask(2, 1),
      'images/b.png': rgba(10),
      'masks/b.png': halfMask(2, 1),
    });
    const pairs = (await discoverDataset(dir)).pairs;
    assert.equal((await loadSample(pairs[0])).image.channels, 3);
    await rejectsWith(loadSample(pairs[1]), /images\/b\.png has an alpha channel with 1 transparent pixel/);
  });
});

describe('bad masks', () => {
  test('mask size off by one (all at once with other problems)', async () => {
    const dir = await folder({ 'images/017.png': gray(5, 5), 'masks/017.png': halfMask(5, 4) });
    assert.deepEqual(await problemsOf(discoverDataset(dir)), ['masks/017.png is 5×4 but images/017.png is 5×5']);
  });

  test('mask with stray values under a value map', async () => {
    const mask = { ...gray(4, 1), data: Uint8Array.from([0, 128, 255, 77]) };
    const dir = await folder({ 'images/a.png': gray(4, 1), 'masks/a.png': mask });
    const problems = await problemsOf(
      loadSamples((await discoverDataset(dir)).pairs, { task: 'multiclass', valueMap: { 0: 0, 128: 1, 255: 2 } }),
    );
    assert.match(problems[0], /masks\/a\.png has 1 value not in the value map \(0, 128, 255\): 77 \(1 px\)/);
  });

  test('anti-aliased JPEG mask: gray edge values listed, threshold and PNG suggested', () => {
    const values = [0, 0, 0, 0, 0, 0, 90, 250, 250, 90, 0, 160, 255, 255, 160, 0, 90, 250, 250, 90, 0, 0, 0, 0, 0];
    const mask: RasterImage = { width: 5, height: 5, channels: 1, bitDepth: 8, data: Uint8Array.from(values) };
    assert.throws(
      () => maskToLabels(mask, { file: 'masks/a.jpg' }),
      /masks\/a\.jpg has 3 gray values .*masks\/a\.jpg is a JPEG; lossy compression .*--mask-threshold 128/,
    );
  });

  test('colour mask', () => {
    const mask: RasterImage = { width: 1, height: 1, channels: 3, bitDepth: 8, data: Uint8Array.from([255, 0, 0]) };
    assert.throws(() => maskToLabels(mask, { file: 'masks/c.png' }), /masks\/c\.png is a colour image/);
  });

  test('16-bit masks: instance ids give instances; 0/65535 is an ordinary binary mask', async () => {
    const ids: RasterImage = { width: 3, height: 1, channels: 1, bitDepth: 16, data: Uint16Array.from([0, 1, 513]) };
    const binary: RasterImage = { width: 3, height: 1, channels: 1, bitDepth: 16, data: Uint16Array.from([0, 0, 65535]) };
    const dir = await folder({ 'images/i.png': gray(3, 1), 'masks/i.png': ids, 'images/j.png': gray(3, 1), 'masks/j.tif': binary });
    const [i, j] = await loadSamples((await discoverDataset(dir)).pairs);
    assert.deepEqual(
      [Array.from(i.labels), Array.from(i.instances!)],
      [
        [0, 1, 1],
        [0, 1, 513],
      ],
    );
    assert.deepEqual([Array.from(j.labels), j.instances], [[0, 0, 1], undefined]);
  });

  test('all-background mask: accepted (a field without cells) and warned about by data check', async () => {
    const dir = await folder({
      'images/a.png': gray(4, 1),
      'masks/a.png': gray(4, 1),
      'images/b.png': gray(4, 1),
      'masks/b.png': halfMask(4, 1),
    });
    const samples = await loadSamples((await discoverDataset(dir)).pairs);
    assert.deepEqual(Array.from(samples[0].labels), [0, 0, 0, 0]);
    const summary = await checkDataset(dir);
    assert.deepEqual(summary.problems, []);
    assert.match(summary.warnings.join('\n'), /1 mask is all background \(a\)/);
  });

  test('single-valued masks for multiclass: one is fine, a dataset with only one class is a problem', async () => {
    const dir = await folder({ 'images/a.png': gray(2, 1), 'masks/a.png': gray(2, 1) });
    const [sample] = await loadSamples((await discoverDataset(dir)).pairs, { task: 'multiclass', valueMap: { 0: 0, 255: 1 } });
    assert.deepEqual(Array.from(sample.labels), [0, 0]);
    const summary = await checkDataset(dir, { task: 'multiclass', valueMap: { 0: 0, 255: 1 } });
    assert.match(summary.problems.join('\n'), /multiclass training needs at least two classes/);
  });
});

describe('bad folders', () => {
  test('image without mask and mask without image', async () => {
    const dir = await folder({
      'images/001.png': gray(2, 2),
      'masks/001.png': halfMask(2, 2),
      'images/002.png': gray(2, 2),
      'masks/003.png': halfMask(2, 2),
    });
    assert.deepEqual(await problemsOf(discoverDataset(dir)), [
      'images/002.png has no mask (expected e.g. masks/002.png)',
      'masks/003.png has no image (expected e.g. images/003.png)',
    ]);
  });

  test('2 unpaired files + 1 size mismatch → one error listing all 3', async () => {
    const dir = await folder({
      'images/a.png': gray(3, 3),
      'masks/a.png': halfMask(3, 2),
      'images/b.png': gray(2, 2),
      'masks/c.png': halfMask(2, 2),
      'images/d.png': gray(2, 2),
      'masks/d.png': halfMask(2, 2),
    });
    const error = await discoverDataset(dir).catch((e: unknown) => e);
    assert.ok(error instanceof PyocyteErrors);
    assert.equal(error.problems.length, 3);
    assert.match(
      error.message,
      /3 problems in the dataset:\n {2}- images\/b\.png has no mask.*\n {2}- masks\/c\.png has no image.*\n {2}- masks\/a\.png is 3×2 but images\/a\.png is 3×3/,
    );
  });

  test('empty folder', async () => {
    const dir = await folder({});
    await rejectsWith(discoverDataset(dir), /case\d+ contains no images \(\.png .*\); pyocyte expects nnU-Net: imagesTr/);
  });

  test('folder that does not exist, and a file given as folder', async () => {
    await rejectsWith(discoverDataset(join(root, 'nope')), /dataset folder .*nope does not exist/);
    const dir = await folder({ 'file.txt': 'x' });
    await rejectsWith(discoverDataset(join(dir, 'file.txt')), /file\.txt is a file, not a dataset folder/);
  });

  test('images/ but no masks/ folder: one message saying where masks go', async () => {
    const dir = await folder({ 'images/001.png': gray(2, 2), 'images/002.png': gray(2, 2) });
    const problems = await problemsOf(discoverDataset(dir));
    assert.equal(problems.length, 1);
    assert.match(
      problems[0],
      /has images\/ but no masks\/ folder; put each image's mask in masks\/ under the same name \(e\.g\. masks\/001\.png\)/,
    );
  });

  test('duplicate stems 001.png and 001.bmp in images/', async () => {
    const dir = await folder({ 'images/001.png': gray(2, 2), 'images/001.tif': gray(2, 2), 'masks/001.png': halfMask(2, 2) });
    assert.deepEqual(await problemsOf(discoverDataset(dir)), [
      'images/001.png and images/001.tif have the same name 001; keep one of them',
    ]);
  });

  test('unknown extension in images/ is ignored with a warning', async () => {
    const dir = await folder({ 'images/001.png': gray(2, 2), 'images/001.gif': 'GIF89a', 'masks/001.png': halfMask(2, 2) });
    const index = await discoverDataset(dir);
    assert.equal(index.pairs.length, 1);
    assert.match(index.warnings[0], /images\/001\.gif is not an image pyocyte reads .*; ignored/);
  });

  test('split.json naming a missing stem', async () => {
    const dir = await folder({
      'images/a.png': gray(2, 1),
      'masks/a.png': halfMask(2, 1),
      'images/b.png': gray(2, 1),
      'masks/b.png': halfMask(2, 1),
      'split.json': JSON.stringify({ train: ['a', 'zz'], val: ['b'], test: [] }),
    });
    const summary = await checkDataset(dir);
    assert.match(summary.problems.join('\n'), /split\.json does not match the dataset: 1 name with no image in the dataset: zz/);
  });

  test('pyocyte.json with invalid JSON names the file', async () => {
    const dir = await folder({ 'images/a.png': gray(2, 1), 'masks/a.png': halfMask(2, 1), 'pyocyte.json': '{pixelSizeUm: 0.2' });
    await rejectsWith(discoverDataset(dir), /pyocyte\.json is not valid JSON/);
  });
});
