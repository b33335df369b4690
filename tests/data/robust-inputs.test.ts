/**
 * Inputs as users have them (issue 9): odd value ranges, NaN, many channels, EXIF orientation,
 * instance masks with many ids, folders with several kinds of broken file, subset splits. Every
 * input is built here at test time.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkDataset } from '../../src/data/check.js';
import { formatSummary } from '../../src/data/check-format.js';
import { openDataset } from '../../src/data/prepare.js';
import { maskToLabels } from '../../src/data/masks.js';
import { writeImage } from '../../src/io/image/image-io.js';
import { encodeTiffSamples } from '../../src/io/image/tiff.js';
import { PyocyteErrors } from '../../src/util/errors.js';
import { parseChannels } from '../../src/data/dataset-options.js';
import type { RasterImage } from '../../src/image/types.js';
import { tempFolder } from '../cli/helpers.js';

let tmp: ReturnType<typeof tempFolder>;
let count = 0;
before(() => (tmp = tempFolder('robust-inputs')));
after(() => tmp.remove());

const folder = () => {
  const dir = join(tmp.dir, `d${count++}`);
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'masks'), { recursive: true });
  return dir;
};

/** A `size`×`size` gray scene: a bright disc on a dark ramp, 8-bit values 10–240. */
function scene(size = 16): Uint8Array {
  return Uint8Array.from({ length: size * size }, (_, i) => {
    const x = i % size;
    const y = Math.floor(i / size);
    return (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2 ? 240 : 10 + 4 * x;
  });
}
/** Its mask: the disc white on black. */
function sceneMask(size = 16): RasterImage {
  const data = Uint8Array.from(scene(size), (v) => (v === 240 ? 255 : 0));
  return { width: size, height: size, channels: 1, bitDepth: 8, data };
}
const gray8 = (data: Uint8Array, size = 16): RasterImage => ({ width: size, height: size, channels: 1, bitDepth: 8, data });

/** Writes pairs `stem → image raster or TIFF bytes of side `tiffSize`` (masks from {@link sceneMask}) into images/ and masks/. */
async function pairs(dir: string, images: Record<string, RasterImage | Uint8Array>, tiffSize = 16): Promise<void> {
  for (const [stem, image] of Object.entries(images)) {
    if (image instanceof Uint8Array) writeFileSync(join(dir, 'images', `${stem}.tif`), image);
    else await writeImage(join(dir, 'images', `${stem}.${image.bitDepth === 32 ? 'tif' : 'png'}`), image);
    await writeImage(join(dir, 'masks', `${stem}.png`), sceneMask(image instanceof Uint8Array ? tiffSize : image.width));
  }
}

describe('value ranges in data check', () => {
  test('four 8-bit images and one 16-bit image of 12-bit values (0–4080): each range listed, the 16-bit one named as far', async () => {
    const dir = folder();
    const twelveBit = Uint16Array.from(scene(), (v) => v * 16);
    await pairs(dir, {
      a: gray8(scene()),
      b: gray8(scene()),
      c: gray8(scene()),
      d: gray8(scene()),
      e: { width: 16, height: 16, channels: 1, bitDepth: 16, data: twelveBit },
    });
    const summary = await checkDataset(dir);
    assert.deepEqual(summary.problems, []);
    assert.deepEqual(
      summary.valueRanges.map((r) => [r.image.replace(/.*\//, ''), r.range.min, r.range.max]),
      [
        ['a.png', 10, 240],
        ['b.png', 10, 240],
        ['c.png', 10, 240],
        ['d.png', 10, 240],
        ['e.png', 160, 3840],
      ],
    );
    assert.deepEqual(
      summary.farRanges?.images.map((i) => i.replace(/.*\//, '')),
      ['e.png'],
    );
    const text = formatSummary(summary);
    assert.match(text, /value ranges +minimum–maximum of the stored values, per image/);
    assert.match(text, /e\.png +160–3840/);
    assert.match(
      text,
      /warning: one image holds values far from the others' .*e\.png \(160–3840\); per-image percentile normalisation \(the default\)/,
    );
  });

  test('40 images list their spread, and every range with ranges: true', async () => {
    const dir = folder();
    const many: Record<string, RasterImage> = {};
    for (let i = 0; i < 40; i++) many[`i${String(i).padStart(2, '0')}`] = gray8(scene());
    await pairs(dir, many);
    const summary = await checkDataset(dir);
    assert.match(formatSummary(summary), /value ranges +minimum 10–10, maximum 240–240 over 40 images \(each image's: --ranges\)/);
    assert.equal(
      formatSummary(summary, { ranges: true })
        .split('\n')
        .filter((l) => / 10–240$/.test(l)).length,
      40,
    );
  });
});

describe('NaN and infinity', () => {
  test('a float TIFF with 200 NaN pixels: data check and training name the file and the count', async () => {
    const dir = folder();
    const values = Float32Array.from({ length: 400 }, (_, i) => (i < 200 ? NaN : i));
    await pairs(
      dir,
      {
        a: gray8(scene(20), 20),
        b: gray8(scene(20), 20),
        c: gray8(scene(20), 20),
        nan: encodeTiffSamples({ width: 20, height: 20, channels: 1, data: values }),
      },
      20,
    );
    writeFileSync(join(dir, 'split.json'), JSON.stringify({ train: ['a', 'nan'], val: ['b'], test: ['c'] }));
    const summary = await checkDataset(dir);
    assert.equal(summary.problems.length, 1);
    assert.match(summary.problems[0], /images\/nan\.tif has 200 pixels that are NaN or infinite \(of 400\)/);
    const dataset = await openDataset(dir);
    await assert.rejects(
      dataset.load('train'),
      (e: unknown) => e instanceof PyocyteErrors && /nan\.tif has 200 pixels that are NaN/.test(e.problems.join()),
    );
  });
});

describe('channels', () => {
  test('5 RGB and 2 gray images: the problem names the two gray ones against the 5', async () => {
    const dir = folder();
    const rgb: RasterImage = {
      width: 16,
      height: 16,
      channels: 3,
      bitDepth: 8,
      data: Uint8Array.from({ length: 768 }, (_, i) => scene()[Math.floor(i / 3)]),
    };
    await pairs(dir, { a: rgb, b: rgb, c: rgb, d: rgb, e: rgb, g1: gray8(scene()), g2: gray8(scene()) });
    const summary = await checkDataset(dir);
    assert.equal(summary.problems.length, 1);
    assert.match(
      summary.problems[0],
      /the images mix 1 and 3 channels: 2 images have 1 channel \(\S*images\/g1\.png, \S*images\/g2\.png\), while 5 have 3; .*--channels/,
    );
    // Choosing one channel makes them agree.
    assert.deepEqual((await checkDataset(dir, { channels: [0] })).problems, []);
  });

  test('--channels 0,2 parses to [0, 2]; a letter fails', () => {
    assert.deepEqual(parseChannels('0,2'), [0, 2]);
    assert.throws(() => parseChannels('0,b'), /--channels must list channel numbers from 0, like 0,2; got '0,b'/);
  });

  test('openDataset with channels [2, 0] loads 2-channel samples in that order', async () => {
    const dir = folder();
    const rgb: RasterImage = {
      width: 16,
      height: 16,
      channels: 3,
      bitDepth: 8,
      data: Uint8Array.from({ length: 768 }, (_, i) => (i % 3) * 100),
    };
    await pairs(dir, { a: rgb, b: rgb, c: rgb });
    const dataset = await openDataset(dir, { channels: [2, 0], splitCounts: [1, 1, 1] });
    const [sample] = await dataset.load('train');
    assert.deepEqual([sample.image.channels, sample.image.data[0], sample.image.data[1]], [2, Math.fround(200 / 255), 0]);
  });
});

describe('EXIF orientation', () => {
  /** A JPEG whose stored pixels are `width`×`height` with EXIF orientation 6 (shown turned 90° clockwise). */
  async function turnedJpeg(path: string, width: number, height: number): Promise<void> {
    await sharp(new Uint8Array(width * height * 3).fill(128), { raw: { width, height, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(path);
  }

  test('a 128x96 mask drawn on the stored pixels of a 128x96 JPEG shown as 96x128: the mismatch says so', async () => {
    const dir = folder();
    await turnedJpeg(join(dir, 'images', 'a.jpg'), 128, 96);
    await writeImage(join(dir, 'masks', 'a.png'), { width: 128, height: 96, channels: 1, bitDepth: 8, data: new Uint8Array(128 * 96) });
    const summary = await checkDataset(dir);
    assert.equal(summary.problems.length, 1);
    assert.match(
      summary.problems[0],
      /masks\/a\.png is 128×96 but images\/a\.jpg is 96×128; images\/a\.jpg carries EXIF orientation 6 and is turned 90° clockwise on reading/,
    );
  });

  test('a square pair passes but data check lists the image whose orientation was applied', async () => {
    const dir = folder();
    await turnedJpeg(join(dir, 'images', 'sq.jpg'), 16, 16);
    await writeImage(join(dir, 'masks', 'sq.png'), sceneMask());
    const summary = await checkDataset(dir);
    assert.deepEqual(summary.problems, []);
    assert.match(summary.warnings.join('\n'), /images\/sq\.jpg: its EXIF orientation 6 was applied \(turned 90° clockwise\)/);
  });
});

describe('mask value reports', () => {
  test('a 16-bit instance mask with 300 ids is summarised on one short line: count and range', async () => {
    const dir = folder();
    const size = 40;
    const ids = Uint16Array.from({ length: size * size }, (_, i) => (i < 300 * 4 ? Math.floor(i / 4) + 1 : 0));
    await writeImage(join(dir, 'images', 'a.png'), gray8(scene(size), size));
    await writeImage(join(dir, 'masks', 'a.png'), { width: size, height: size, channels: 1, bitDepth: 16, data: ids });
    const line = formatSummary(await checkDataset(dir))
      .split('\n')
      .find((l) => l.includes('mask values'))!;
    assert.match(
      line,
      /301 distinct values from 0 to 300: 0 \(25\.0%\), 1 \(0\.3%\), 2 \(0\.3%\) and 298 more between 3 and 300 \(74\.5% of pixels\)/,
    );
    assert.ok(line.length < 200, `${line.length} characters`);
  });
});

describe('notes about many mask values', () => {
  test('an 8-bit mask whose 40 region values are all foreground names them in one short list', () => {
    const width = 240;
    const data = Uint8Array.from({ length: width * 4 }, (_, i) => (i % width < 80 ? 0 : Math.floor(((i % width) - 80) / 4) + 1));
    const { note } = maskToLabels({ width, height: 4, channels: 1, bitDepth: 8, data });
    assert.equal(
      note,
      'background is value 0 (33.3% of pixels); values 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, …, 40 (40 values) are foreground',
    );
  });
});

describe('every problem in one pass', () => {
  test('0-byte image, unpaired image, unpaired mask, size mismatch, text named .png, truncated PNG: all six reported by data check and by openDataset', async () => {
    const dir = folder();
    await pairs(dir, { good1: gray8(scene()), good2: gray8(scene()), truncated: gray8(scene()) });
    const truncated = join(dir, 'images', 'truncated.png');
    truncateSync(truncated, readFileSync(truncated).length - 30);
    writeFileSync(join(dir, 'images', 'empty.png'), '');
    await writeImage(join(dir, 'masks', 'empty.png'), sceneMask());
    await writeImage(join(dir, 'images', 'lonely.png'), gray8(scene()));
    await writeImage(join(dir, 'masks', 'orphan.png'), sceneMask());
    await writeImage(join(dir, 'images', 'small.png'), gray8(scene()));
    await writeImage(join(dir, 'masks', 'small.png'), { width: 8, height: 8, channels: 1, bitDepth: 8, data: new Uint8Array(64) });
    writeFileSync(join(dir, 'images', 'notes.png'), 'these are my notes\n');
    await writeImage(join(dir, 'masks', 'notes.png'), sceneMask());
    const { problems } = await checkDataset(dir);
    const expected = [
      /images\/lonely\.png has no mask/,
      /masks\/orphan\.png has no image/,
      /images\/empty\.png is empty \(0 bytes\)/,
      /images\/notes\.png is a text file/,
      /masks\/small\.png is 8×8 but images\/small\.png is 16×16/,
      /images\/truncated\.png is a corrupt or truncated PNG file/,
    ];
    for (const pattern of expected)
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `${pattern} in:\n${problems.join('\n')}`,
      );
    assert.equal(problems.length, 6, problems.join('\n'));
    // Training and evaluation open the folder through the same checks and fail with all six at once.
    const error = await openDataset(dir).catch((e: unknown) => e);
    assert.ok(error instanceof PyocyteErrors);
    assert.equal(error.problems.length, 6, error.problems.join('\n'));
    for (const pattern of expected)
      assert.ok(
        error.problems.some((p) => pattern.test(p)),
        `${pattern}`,
      );
  });

  test('a truncated PNG in the test set stops training data from loading, named as data check names it', async () => {
    const dir = folder();
    await pairs(dir, { a: gray8(scene()), b: gray8(scene()), c: gray8(scene()), d: gray8(scene()) });
    const truncated = join(dir, 'images', 'd.png');
    truncateSync(truncated, readFileSync(truncated).length - 30);
    writeFileSync(join(dir, 'split.json'), JSON.stringify({ train: ['a', 'b'], val: ['c'], test: ['d'] }));
    const dataset = await openDataset(dir);
    await assert.rejects(
      dataset.load('train'),
      (e: unknown) => e instanceof PyocyteErrors && /images\/d\.png is a corrupt or truncated PNG file/.test(e.problems.join()),
    );
  });
});

describe('a split.json naming a subset', () => {
  test('2/1/1 of 6 images: loaded, with a note that 2 are left out; a name without an image still fails', async () => {
    const dir = folder();
    await pairs(dir, Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((s) => [s, gray8(scene())])));
    writeFileSync(join(dir, 'split.json'), JSON.stringify({ train: ['a', 'b'], val: ['c'], test: ['d'] }));
    const notes: string[] = [];
    const dataset = await openDataset(dir, { onNote: (n) => notes.push(n) });
    assert.deepEqual(
      (await dataset.load('train')).map((s) => s.stem),
      ['a', 'b'],
    );
    assert.match(notes.join('\n'), /the split names 4 of 6 images; the other 2 are left out \(e, f\)/);
    const summary = await checkDataset(dir);
    assert.deepEqual(summary.split, { source: 'split.json', train: 2, val: 1, test: 1, leftOut: 2 });
    assert.match(formatSummary(summary), /split +train 2, val 1, test 1 \(split\.json; 2 images left out\)/);
    writeFileSync(join(dir, 'split.json'), JSON.stringify({ train: ['a', 'zz'], val: ['c'], test: ['d'] }));
    await assert.rejects(openDataset(dir), /1 name with no image in the dataset: zz/);
  });
});
