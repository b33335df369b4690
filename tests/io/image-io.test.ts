import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readImage, readImageInfo, toFloatImage, writeImage } from '../../src/io/image/image-io.js';
import { IMAGE_EXTENSIONS } from '../../src/io/image/formats.js';
import { PyocyteError } from '../../src/util/errors.js';
import type { RasterImage } from '../../src/image/types.js';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'pyocyte-image-io-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A BMP file from rows of bytes as stored: `pixelBytes` per pixel, rows padded to 4 bytes. */
function bmp(options: { width: number; height: number; bpp: number; rows: number[][]; palette?: number[][]; topDown?: boolean }): Uint8Array {
  const { width, height, bpp, rows, palette = [] } = options;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const dataOffset = 14 + 40 + palette.length * 4;
  const size = dataOffset + stride * height;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set([0x42, 0x4d]);
  view.setUint32(2, size, true);
  view.setUint32(10, dataOffset, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, options.topDown ? -height : height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, bpp, true);
  view.setUint32(46, palette.length, true);
  palette.forEach(([r, g, b], i) => out.set([b, g, r, 0], 54 + i * 4));
  // `rows` are given top to bottom; the file stores bottom-up unless topDown.
  rows.forEach((row, y) => out.set(row, dataOffset + (options.topDown ? y : height - 1 - y) * stride));
  return out;
}

describe('writeImage → readImage round trip', () => {
  const cases: [8 | 16 | 32, number][] = [[8, 1], [8, 2], [8, 3], [8, 4], [16, 1], [16, 2], [16, 3], [16, 4], [32, 1], [32, 3]];
  for (const [bitDepth, channels] of cases) {
    for (const extension of ['.png', '.tif']) {
      if (bitDepth === 32 && extension === '.png') continue;
      test(`${bitDepth}-bit ${channels}-channel 3x2 ${extension}`, async () => {
        const length = 3 * 2 * channels;
        const data = bitDepth === 8 ? Uint8Array.from({ length }, (_, i) => (i * 37) % 256)
          : bitDepth === 16 ? Uint16Array.from({ length }, (_, i) => (i * 9973) % 65536)
          : Float32Array.from({ length }, (_, i) => i / 7 - 1);
        if (channels === 2 || channels === 4) for (let i = channels - 1; i < length; i += channels) data[i] = bitDepth === 8 ? 255 : 65535;
        const image: RasterImage = { width: 3, height: 2, channels, bitDepth, data };
        const path = join(dir, `rt-${bitDepth}-${channels}${extension}`);
        await writeImage(path, image);
        const back = await readImage(path);
        assert.deepEqual({ ...back, data: Array.from(back.data) }, { ...image, data: Array.from(data) });
      });
    }
  }
});

describe('readImage formats', () => {
  test('gray JPEG 8x8 value 100 reads as 1 channel near 100', async () => {
    const path = join(dir, 'gray.jpg');
    await sharp(new Uint8Array(64).fill(100), { raw: { width: 8, height: 8, channels: 1 } }).toColourspace('b-w').jpeg().toFile(path);
    const image = await readImage(path);
    assert.equal(image.channels, 1);
    assert.ok(Array.from(image.data).every((v) => Math.abs(v - 100) <= 1));
  });

  test('lossless WebP 2x2 RGB reads exactly', async () => {
    const path = join(dir, 'c.webp');
    const data = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
    await sharp(data, { raw: { width: 2, height: 2, channels: 3 } }).webp({ lossless: true }).toFile(path);
    const image = await readImage(path);
    assert.deepEqual(Array.from(image.data), Array.from(data));
  });

  test('palette PNG of grays reads as 1 channel, colour palette as RGB', async () => {
    const grays = join(dir, 'pal-gray.png');
    await sharp(Uint8Array.from([0, 0, 0, 128, 128, 128, 255, 255, 255, 0, 0, 0]), { raw: { width: 2, height: 2, channels: 3 } }).png({ palette: true }).toFile(grays);
    const gray = await readImage(grays);
    assert.deepEqual([gray.channels, Array.from(gray.data)], [1, [0, 128, 255, 0]]);
    const colours = join(dir, 'pal-rgb.png');
    await sharp(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0]), { raw: { width: 2, height: 2, channels: 3 } }).png({ palette: true }).toFile(colours);
    const rgb = await readImage(colours);
    assert.deepEqual([rgb.channels, Array.from(rgb.data.slice(0, 6))], [3, [255, 0, 0, 0, 255, 0]]);
  });

  test('EXIF orientation 6 turns a 4x2 JPEG into 2x4', async () => {
    const path = join(dir, 'rotated.jpg');
    await sharp(new Uint8Array(8 * 3).fill(200), { raw: { width: 4, height: 2, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toFile(path);
    const image = await readImage(path);
    const info = await readImageInfo(path);
    assert.deepEqual([image.width, image.height, info.width, info.height], [2, 4, 2, 4]);
  });

  test('readImageInfo 16-bit gray PNG 5x3', async () => {
    const path = join(dir, 'info.png');
    await writeImage(path, { width: 5, height: 3, channels: 1, bitDepth: 16, data: new Uint16Array(15) });
    assert.deepEqual(await readImageInfo(path), { width: 5, height: 3, channels: 1, bitDepth: 16, format: 'png', pages: 1 });
  });

  test('multi-page TIFF fails naming the page count', async () => {
    const page = join(dir, 'page.tif');
    await writeImage(page, { width: 2, height: 2, channels: 1, bitDepth: 8, data: new Uint8Array(4) });
    const path = join(dir, 'stack.tif');
    await sharp([page, page, page], { join: { animated: true } }).tiff({ compression: 'lzw' }).toFile(path);
    await assert.rejects(readImage(path), /stack\.tif has 3 pages .*save each page as its own file/);
  });

  test('maxPixels=5 refuses a 3x2 image from its header', async () => {
    const path = join(dir, 'small.png');
    await writeImage(path, { width: 3, height: 2, channels: 1, bitDepth: 8, data: new Uint8Array(6) });
    await assert.rejects(readImage(path, { maxPixels: 5 }), /small\.png is 3×2 .*above the limit/);
  });

  test('IMAGE_EXTENSIONS lists the seven readable extensions', () => {
    assert.deepEqual([...IMAGE_EXTENSIONS].sort(), ['.bmp', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp']);
  });
});

describe('BMP decoding', () => {
  test('24-bit 3x2 bottom-up with row padding', async () => {
    const path = join(dir, 'rgb.bmp');
    // Stored BGR; each row of 9 bytes padded to 12.
    writeFileSync(path, bmp({ width: 3, height: 2, bpp: 24, rows: [[3, 2, 1, 6, 5, 4, 9, 8, 7], [12, 11, 10, 15, 14, 13, 18, 17, 16]] }));
    const image = await readImage(path);
    assert.deepEqual([image.width, image.height, image.channels], [3, 2, 3]);
    assert.deepEqual(Array.from(image.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
  });

  test('24-bit 2x2 top-down (negative height)', async () => {
    const path = join(dir, 'topdown.bmp');
    writeFileSync(path, bmp({ width: 2, height: 2, bpp: 24, topDown: true, rows: [[3, 2, 1, 6, 5, 4], [9, 8, 7, 12, 11, 10]] }));
    assert.deepEqual(Array.from((await readImage(path)).data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('8-bit gray palette reads as 1 channel through the palette', async () => {
    const path = join(dir, 'gray8.bmp');
    const palette = Array.from({ length: 256 }, (_, i) => [255 - i, 255 - i, 255 - i]);
    writeFileSync(path, bmp({ width: 2, height: 1, bpp: 8, palette, rows: [[0, 255]] }));
    const image = await readImage(path);
    assert.deepEqual([image.channels, Array.from(image.data)], [1, [255, 0]]);
  });

  test('8-bit colour palette reads as RGB', async () => {
    const path = join(dir, 'pal8.bmp');
    writeFileSync(path, bmp({ width: 2, height: 1, bpp: 8, palette: [[0, 0, 0], [200, 100, 50]], rows: [[1, 0]] }));
    assert.deepEqual(Array.from((await readImage(path)).data), [200, 100, 50, 0, 0, 0]);
  });

  test('1-bit 3x1 palette black/white', async () => {
    const path = join(dir, 'one.bmp');
    writeFileSync(path, bmp({ width: 3, height: 1, bpp: 1, palette: [[0, 0, 0], [255, 255, 255]], rows: [[0b10100000]] }));
    assert.deepEqual(Array.from((await readImage(path)).data), [255, 0, 255]);
  });

  test('32-bit BI_RGB ignores the unused fourth byte (3 channels)', async () => {
    const path = join(dir, 'x32.bmp');
    writeFileSync(path, bmp({ width: 1, height: 1, bpp: 32, rows: [[3, 2, 1, 0]] }));
    const image = await readImage(path);
    assert.deepEqual([image.channels, Array.from(image.data)], [3, [1, 2, 3]]);
  });

  test('readImageInfo BMP 3x2 from the header', async () => {
    const path = join(dir, 'info.bmp');
    writeFileSync(path, bmp({ width: 3, height: 2, bpp: 24, rows: [[], []] }));
    assert.deepEqual(await readImageInfo(path), { width: 3, height: 2, channels: 3, bitDepth: 8, format: 'bmp', pages: 1 });
  });
});

describe('toFloatImage', () => {
  test('8-bit [0, 51, 255] → [0, 0.2, 1]', () => {
    const image = toFloatImage({ width: 3, height: 1, channels: 1, bitDepth: 8, data: Uint8Array.from([0, 51, 255]) });
    assert.deepEqual(Array.from(image.data, (v) => +v.toFixed(6)), [0, 0.2, 1]);
  });

  test('16-bit 65535 → 1', () => {
    const image = toFloatImage({ width: 1, height: 1, channels: 1, bitDepth: 16, data: Uint16Array.from([65535]) });
    assert.equal(image.data[0], 1);
  });

  test('RGBA with opaque alpha drops alpha → 3 channels', () => {
    const image = toFloatImage({ width: 1, height: 1, channels: 4, bitDepth: 8, data: Uint8Array.from([255, 0, 255, 255]) });
    assert.deepEqual([image.channels, Array.from(image.data)], [3, [1, 0, 1]]);
  });

  test('gray+alpha with a transparent pixel fails naming the file', () => {
    assert.throws(
      () => toFloatImage({ width: 2, height: 1, channels: 2, bitDepth: 8, data: Uint8Array.from([9, 255, 9, 0]) }, { file: 'images/a.png' }),
      (error: unknown) => error instanceof PyocyteError && /images\/a\.png has an alpha channel with 1 transparent pixel/.test(error.message),
    );
  });
});

test('writeImage to .jpg fails listing .png and .tif', async () => {
  await assert.rejects(writeImage(join(dir, 'x.jpg'), { width: 1, height: 1, channels: 1, bitDepth: 8, data: new Uint8Array(1) }), /\.png, \.tif or \.tiff/);
});
