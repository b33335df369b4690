import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readImage, readImageInfo, writeImage } from '../../src/io/image/image-io.js';
import { toFloatImage } from '../../src/io/image/convert.js';
import { IMAGE_EXTENSIONS } from '../../src/io/image/formats.js';
import { encodeTiffPages, encodeTiffSamples, type TiffRaster } from '../../src/io/image/tiff.js';
import { PyocyteError } from '../../src/util/errors.js';
import type { RasterImage } from '../../src/image/types.js';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'pyocyte-image-io-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A BMP file from rows of bytes as stored: `pixelBytes` per pixel, rows padded to 4 bytes. */
function bmp(options: {
  width: number;
  height: number;
  bpp: number;
  rows: number[][];
  palette?: number[][];
  topDown?: boolean;
}): Uint8Array {
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
  const cases: [8 | 16 | 32, number][] = [
    [8, 1],
    [8, 2],
    [8, 3],
    [8, 4],
    [16, 1],
    [16, 2],
    [16, 3],
    [16, 4],
    [32, 1],
    [32, 3],
  ];
  for (const [bitDepth, channels] of cases) {
    for (const extension of ['.png', '.tif']) {
      if (bitDepth === 32 && extension === '.png') continue;
      test(`${bitDepth}-bit ${channels}-channel 3x2 ${extension}`, async () => {
        const length = 3 * 2 * channels;
        const data =
          bitDepth === 8
            ? Uint8Array.from({ length }, (_, i) => (i * 37) % 256)
            : bitDepth === 16
              ? Uint16Array.from({ length }, (_, i) => (i * 9973) % 65536)
              : Float32Array.from({ length }, (_, i) => i / 7 - 1);
        if (channels === 2 || channels === 4) for (let i = channels - 1; i < length; i += channels) data[i] = bitDepth === 8 ? 255 : 65535;
        const image: RasterImage = { width: 3, height: 2, channels, bitDepth, data, alpha: channels === 2 || channels === 4 };
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
    await sharp(new Uint8Array(64).fill(100), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('b-w')
      .jpeg()
      .toFile(path);
    const image = await readImage(path);
    assert.equal(image.channels, 1);
    assert.ok(Array.from(image.data).every((v) => Math.abs(v - 100) <= 1));
  });

  test('lossless WebP 2x2 RGB reads exactly', async () => {
    const path = join(dir, 'c.webp');
    const data = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
    await sharp(data, { raw: { width: 2, height: 2, channels: 3 } })
      .webp({ lossless: true })
      .toFile(path);
    const image = await readImage(path);
    assert.deepEqual(Array.from(image.data), Array.from(data));
  });

  test('palette PNG of grays reads as 1 channel, colour palette as RGB', async () => {
    const grays = join(dir, 'pal-gray.png');
    await sharp(Uint8Array.from([0, 0, 0, 128, 128, 128, 255, 255, 255, 0, 0, 0]), { raw: { width: 2, height: 2, channels: 3 } })
      .png({ palette: true })
      .toFile(grays);
    const gray = await readImage(grays);
    assert.deepEqual([gray.channels, Array.from(gray.data)], [1, [0, 128, 255, 0]]);
    const colours = join(dir, 'pal-rgb.png');
    await sharp(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0]), { raw: { width: 2, height: 2, channels: 3 } })
      .png({ palette: true })
      .toFile(colours);
    const rgb = await readImage(colours);
    assert.deepEqual([rgb.channels, Array.from(rgb.data.slice(0, 6))], [3, [255, 0, 0, 0, 255, 0]]);
  });

  test('EXIF orientation 6 turns a 4x2 JPEG into 2x4', async () => {
    const path = join(dir, 'rotated.jpg');
    await sharp(new Uint8Array(8 * 3).fill(200), { raw: { width: 4, height: 2, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(path);
    const image = await readImage(path);
    const info = await readImageInfo(path);
    assert.deepEqual([image.width, image.height, info.width, info.height], [2, 4, 2, 4]);
  });

  test('readImageInfo 16-bit gray PNG 5x3', async () => {
    const path = join(dir, 'info.png');
    await writeImage(path, { width: 5, height: 3, channels: 1, bitDepth: 16, data: new Uint16Array(15) });
    assert.deepEqual(await readImageInfo(path), {
      width: 5,
      height: 3,
      channels: 1,
      alpha: false,
      bitDepth: 16,
      sampleType: 'uint16',
      format: 'png',
      pages: 1,
    });
  });

  test('multi-page TIFF fails naming the page count', async () => {
    const page = join(dir, 'page.tif');
    await writeImage(page, { width: 2, height: 2, channels: 1, bitDepth: 8, data: new Uint8Array(4) });
    const path = join(dir, 'stack.tif');
    await sharp([page, page, page], { join: { animated: true } })
      .tiff({ compression: 'lzw' })
      .toFile(path);
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
    writeFileSync(
      path,
      bmp({
        width: 3,
        height: 2,
        bpp: 24,
        rows: [
          [3, 2, 1, 6, 5, 4, 9, 8, 7],
          [12, 11, 10, 15, 14, 13, 18, 17, 16],
        ],
      }),
    );
    const image = await readImage(path);
    assert.deepEqual([image.width, image.height, image.channels], [3, 2, 3]);
    assert.deepEqual(Array.from(image.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
  });

  test('24-bit 2x2 top-down (negative height)', async () => {
    const path = join(dir, 'topdown.bmp');
    writeFileSync(
      path,
      bmp({
        width: 2,
        height: 2,
        bpp: 24,
        topDown: true,
        rows: [
          [3, 2, 1, 6, 5, 4],
          [9, 8, 7, 12, 11, 10],
        ],
      }),
    );
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
    writeFileSync(
      path,
      bmp({
        width: 2,
        height: 1,
        bpp: 8,
        palette: [
          [0, 0, 0],
          [200, 100, 50],
        ],
        rows: [[1, 0]],
      }),
    );
    assert.deepEqual(Array.from((await readImage(path)).data), [200, 100, 50, 0, 0, 0]);
  });

  test('1-bit 3x1 palette black/white', async () => {
    const path = join(dir, 'one.bmp');
    writeFileSync(
      path,
      bmp({
        width: 3,
        height: 1,
        bpp: 1,
        palette: [
          [0, 0, 0],
          [255, 255, 255],
        ],
        rows: [[0b10100000]],
      }),
    );
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
    assert.deepEqual(await readImageInfo(path), {
      width: 3,
      height: 2,
      channels: 3,
      alpha: false,
      bitDepth: 8,
      sampleType: 'uint8',
      format: 'bmp',
      pages: 1,
    });
  });
});

describe('toFloatImage', () => {
  test('8-bit [0, 51, 255] → [0, 0.2, 1]', () => {
    const image = toFloatImage({ width: 3, height: 1, channels: 1, bitDepth: 8, data: Uint8Array.from([0, 51, 255]) });
    assert.deepEqual(
      Array.from(image.data, (v) => +v.toFixed(6)),
      [0, 0.2, 1],
    );
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
      () =>
        toFloatImage({ width: 2, height: 1, channels: 2, bitDepth: 8, data: Uint8Array.from([9, 255, 9, 0]) }, { file: 'images/a.png' }),
      (error: unknown) =>
        error instanceof PyocyteError && /images\/a\.png has an alpha channel with 1 transparent pixel/.test(error.message),
    );
  });
});

test('writeImage to .jpg fails listing .png and .tif', async () => {
  await assert.rejects(
    writeImage(join(dir, 'x.jpg'), { width: 1, height: 1, channels: 1, bitDepth: 8, data: new Uint8Array(1) }),
    /\.png, \.tif or \.tiff/,
  );
});

/** Writes interleaved samples of any TIFF type to `name` in the test folder; returns the path. */
function tiff(name: string, raster: TiffRaster): string {
  const path = join(dir, name);
  writeFileSync(path, encodeTiffSamples(raster));
  return path;
}

describe('TIFF sample types and channels sharp misreads (read with geotiff)', () => {
  test('signed int16 [-5000, -1, 0, 32767] keeps its negatives', async () => {
    const path = tiff('i16.tif', { width: 2, height: 2, channels: 1, data: Int16Array.from([-5000, -1, 0, 32767]) });
    const image = await readImage(path);
    assert.deepEqual([image.bitDepth, image.channels, Array.from(image.data)], [32, 1, [-5000, -1, 0, 32767]]);
    assert.equal((await readImageInfo(path)).sampleType, 'int16');
  });

  test('int8, int32, uint32 and float64 samples read exactly', async () => {
    const cases: [string, TiffRaster['data'], number[]][] = [
      ['int8', Int8Array.from([-128, -3, 0, 127]), [-128, -3, 0, 127]],
      ['int32', Int32Array.from([-70000, 0, 30000, 1 << 20]), [-70000, 0, 30000, 1 << 20]],
      ['uint32', Uint32Array.from([0, 100000, 4000000, 7]), [0, 100000, 4000000, 7]],
      ['float64', Float64Array.from([-1.5, 0, 0.25, 1000]), [-1.5, 0, 0.25, 1000]],
    ];
    for (const [type, data, expected] of cases) {
      const path = tiff(`${type}.tif`, { width: 2, height: 2, channels: 1, data });
      assert.deepEqual(Array.from((await readImage(path)).data), expected, type);
      assert.equal((await readImageInfo(path)).sampleType, type);
    }
  });

  test('5-channel uint16 TIFF reads as 5 channels, not 7', async () => {
    const data = Uint16Array.from({ length: 2 * 2 * 5 }, (_, i) => i * 1000);
    const path = tiff('five.tif', { width: 2, height: 2, channels: 5, photometric: 1, data });
    const image = await readImage(path);
    assert.deepEqual([image.channels, image.alpha, image.bitDepth, Array.from(image.data)], [5, false, 16, Array.from(data)]);
    assert.deepEqual(toFloatImage(image).channels, 5);
  });

  test('2-channel TIFF with ExtraSamples 0 (two stains) keeps both; ExtraSamples 2 is alpha', async () => {
    const data = Uint8Array.from([10, 0, 20, 5, 30, 255, 40, 128]);
    const stains = tiff('stains.tif', { width: 2, height: 2, channels: 2, extraSamples: [0], data });
    const image = await readImage(stains);
    assert.deepEqual([image.channels, image.alpha], [2, false]);
    assert.equal((await readImageInfo(stains)).alpha, false);
    // The second stain has values below 255 but is no alpha: nothing is refused, both channels stay.
    assert.deepEqual(
      Array.from(toFloatImage(image).data, (v) => Math.round(v * 255)),
      Array.from(data),
    );
    const alpha = tiff('alpha.tif', {
      width: 2,
      height: 2,
      channels: 2,
      extraSamples: [2],
      data: Uint8Array.from([10, 255, 20, 255, 30, 255, 40, 255]),
    });
    const withAlpha = await readImage(alpha);
    assert.deepEqual([withAlpha.channels, withAlpha.alpha], [2, true]);
    assert.deepEqual(toFloatImage(withAlpha).channels, 1);
  });

  test('RGB plus one unspecified extra sample: 4 channels, none of them alpha', async () => {
    const data = Uint8Array.from({ length: 4 * 4 }, (_, i) => i * 9);
    const image = await readImage(tiff('rgbx.tif', { width: 2, height: 2, channels: 4, extraSamples: [0], data }));
    assert.deepEqual([image.channels, image.alpha, Array.from(image.data)], [4, false, Array.from(data)]);
  });

  test('orientation tag 6 on an int16 TIFF turns 3x2 [1..6] into 2x3 [4,1,5,2,6,3], as sharp does for EXIF', async () => {
    const path = tiff('turned.tif', { width: 3, height: 2, channels: 1, orientation: 6, data: Int16Array.from([1, 2, 3, 4, 5, 6]) });
    const image = await readImage(path);
    assert.deepEqual([image.width, image.height, Array.from(image.data)], [2, 3, [4, 1, 5, 2, 6, 3]]);
    const info = await readImageInfo(path);
    assert.deepEqual([info.width, info.height, info.orientation], [2, 3, 6]);
  });

  test('every orientation 1–8 agrees with sharp on a PNG with the same EXIF orientation', async () => {
    const pixels = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    for (let orientation = 1; orientation <= 8; orientation++) {
      const png = join(dir, `o${orientation}.png`);
      await sharp(pixels, { raw: { width: 3, height: 2, channels: 1 } })
        .png()
        .withMetadata({ orientation })
        .toFile(png);
      const bySharp = await readImage(png);
      const byTiff = await readImage(
        tiff(`o${orientation}.tif`, { width: 3, height: 2, channels: 1, orientation, data: Int8Array.from(pixels) }),
      );
      const firstChannel = Array.from({ length: 6 }, (_, i) => bySharp.data[i * bySharp.channels]);
      assert.deepEqual(
        [byTiff.width, byTiff.height, Array.from(byTiff.data)],
        [bySharp.width, bySharp.height, firstChannel],
        `orientation ${orientation}`,
      );
    }
  });
});

describe('ImageJ multi-channel TIFFs (one gray page per channel)', () => {
  const page = (values: number[]): TiffRaster => ({ width: 2, height: 1, channels: 1, data: Uint16Array.from(values) });

  test('channels=2 over 2 pages reads as one 2-channel image', async () => {
    const path = join(dir, 'imagej-2ch.tif');
    writeFileSync(
      path,
      encodeTiffPages([page([1, 2]), page([300, 400])], { description: 'ImageJ=1.54f\nimages=2\nchannels=2\nmode=composite\n' }),
    );
    const image = await readImage(path);
    assert.deepEqual([image.width, image.height, image.channels, image.alpha, Array.from(image.data)], [2, 1, 2, false, [1, 300, 2, 400]]);
    const info = await readImageInfo(path);
    assert.deepEqual([info.channels, info.pages, info.sampleType], [2, 1, 'uint16']);
  });

  test('slices=3 over 3 pages is a stack and is refused, naming the page count', async () => {
    const path = join(dir, 'imagej-stack.tif');
    writeFileSync(path, encodeTiffPages([page([1, 2]), page([3, 4]), page([5, 6])], { description: 'ImageJ=1.54f\nimages=3\nslices=3\n' }));
    await assert.rejects(readImage(path), /imagej-stack\.tif has 3 pages/);
  });
});

describe('CMYK JPEG without an ICC profile', () => {
  test('reads as RGB within 16 levels of the original (mean within 8), and its header says a generic profile converted it', async () => {
    // Muted smear colours (pinks, purples, near-white) stay inside the CMYK gamut.
    const colours = [
      [230, 200, 210],
      [150, 90, 160],
      [240, 235, 230],
      [200, 150, 170],
    ];
    const rgb = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => colours[Math.floor(i / 3) % 4][i % 3]);
    const path = join(dir, 'cmyk.jpg');
    await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } })
      .toColourspace('cmyk')
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toFile(path);
    const info = await readImageInfo(path);
    assert.deepEqual([info.channels, info.cmykProfile], [3, 'generic']);
    const image = await readImage(path);
    let worst = 0;
    let sum = 0;
    for (let i = 0; i < rgb.length; i++) {
      worst = Math.max(worst, Math.abs(image.data[i] - rgb[i]));
      sum += Math.abs(image.data[i] - rgb[i]);
    }
    // A generic CMYK profile is a guess (other readers invert the inks naively): close, not exact.
    assert.ok(worst <= 16 && sum / rgb.length <= 8, `largest difference ${worst} levels, mean ${(sum / rgb.length).toFixed(1)}`);
  });
});

describe('toFloatImage intensity scaling', () => {
  const gray = (bitDepth: 8 | 16 | 32, values: number[]): RasterImage => ({
    width: values.length,
    height: 1,
    channels: 1,
    bitDepth,
    alpha: false,
    data: bitDepth === 8 ? Uint8Array.from(values) : bitDepth === 16 ? Uint16Array.from(values) : Float32Array.from(values),
  });
  const scaled = (raster: RasterImage, options = {}) => Array.from(toFloatImage(raster, options).data, (v) => +v.toFixed(6));

  test('12-bit camera values in a 16-bit file (0–4080) are ÷ 4095, like their 8-bit copy ÷ 255', () => {
    assert.deepEqual(scaled(gray(16, [0, 4095, 4080])), [0, 1, +(4080 / 4095).toFixed(6)]);
    assert.deepEqual(scaled(gray(16, [0, 65535])), [0, 1]);
    assert.deepEqual(scaled(gray(16, [0, 200])), [0, +(200 / 255).toFixed(6)]);
  });

  test('float 0–1000 is ÷ 1000 when not whole numbers; float 0–1 kept; negatives map min–max', () => {
    assert.deepEqual(scaled(gray(32, [0, 0.5, 1000])), [0, 0.0005, 1]);
    assert.deepEqual(scaled(gray(32, [0, 0.25, 1])), [0, 0.25, 1]);
    assert.deepEqual(scaled(gray(32, [-5000, 0, 5000])), [0, 0.5, 1]);
  });

  test("'bitDepth' (older meanStd models): 16-bit ÷ 65535, floats as stored", () => {
    assert.deepEqual(scaled(gray(16, [0, 4095]), { scaling: 'bitDepth' }), [0, +(4095 / 65535).toFixed(6)]);
    assert.deepEqual(scaled(gray(32, [0, 1000]), { scaling: 'bitDepth' }), [0, 1000]);
  });

  test('200 NaN pixels: refused naming the file and the count; filled with the median (and warned) for prediction', () => {
    const values = Array.from({ length: 400 }, (_, i) => (i < 200 ? NaN : i));
    assert.throws(
      () => toFloatImage(gray(32, values), { file: 'images/nan.tif' }),
      /images\/nan\.tif has 200 pixels that are NaN or infinite \(of 400\)/,
    );
    const warnings: string[] = [];
    const filled = toFloatImage(gray(32, [NaN, Infinity, 2, 4, 6]), {
      file: 'x.tif',
      nonFinite: 'fill',
      onWarning: (w) => warnings.push(w),
    });
    // median of 2, 4, 6 is 4; whole numbers ≥ 0 up to 6 are ÷ 255
    assert.deepEqual(
      Array.from(filled.data, (v) => Math.round(v * 255)),
      [4, 4, 2, 4, 6],
    );
    assert.match(warnings.join(), /x\.tif: 2 pixels NaN or infinite \(of 5\), filled/);
  });

  test('channels [2, 0] of an RGB raster pick and order them; channel 3 fails naming the file', () => {
    const rgb: RasterImage = { width: 1, height: 1, channels: 3, bitDepth: 8, data: Uint8Array.from([0, 51, 255]) };
    assert.deepEqual(Array.from(toFloatImage(rgb, { channels: [2, 0] }).data), [1, 0]);
    assert.throws(
      () => toFloatImage(rgb, { channels: [0, 3], file: 'a.png' }),
      /a\.png has 3 channels \(0–2\); channel 3 cannot be chosen/,
    );
  });
});
