import { open, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { PyocyteError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { decodeBmp, parseBmpHeader } from './bmp.js';
import { checkImageBytes, type ImageFormat } from './formats.js';
import { corrupt, decodeWithSharp } from './sharp-decode.js';
import { encodeTiff } from './tiff.js';
import type { RasterImage } from '../../image/types.js';
import { decodeTiff, orientedSize, readTiffLayout, sharpReadsLosslessly, type SampleType, type TiffLayout } from './tiff-read.js';

/** Images above this many pixels are refused unless `maxPixels` says otherwise (100 Mpx). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** What an image file's header says, read without decoding the pixels. */
export interface ImageInfo {
  /** As pyocyte reads the image: after its EXIF/TIFF orientation is applied. */
  width: number;
  height: number;
  /** Channels as decoded, alpha included: 1 gray, 3 RGB, N for multi-channel TIFFs (palette files report 3 or 4). */
  channels: number;
  /** Whether the last channel is alpha (PNG/WebP alpha, TIFF ExtraSamples 1 or 2). */
  alpha: boolean;
  /** Of the decoded raster: 8/16-bit unsigned, or 32-bit float (signed and other types are read as floats). */
  bitDepth: 8 | 16 | 32;
  /** How the file stores its samples: `uint8`, `uint16`, `int16`, `float32`, `float64`, … */
  sampleType: SampleType;
  /** `png`, `jpeg`, `tiff`, `webp` or `bmp`. */
  format: ImageFormat;
  /** Pages (TIFF stacks, animated WebP); pyocyte reads single-page images only. */
  pages: number;
  /** The EXIF/TIFF orientation (2–8) that was applied: the stored pixels are turned or mirrored on reading. */
  orientation?: number;
  /** The file is CMYK and is converted to RGB, through its own ICC profile or a generic CMYK one. */
  cmykProfile?: 'embedded' | 'generic';
}

/** Options for reading an image. */
export interface ReadImageOptions {
  /** Refuse images with more pixels than this, checked from the header before decoding. Default 100e6. */
  maxPixels?: number;
  /** How messages name the file (e.g. `masks/017.png` relative to a dataset); default the path. */
  name?: string;
}

const HEAD_BYTES = 4096;

function fileError(error: unknown, name: string): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') throw new PyocyteError(`${name} does not exist`, { file: name });
  if (code === 'EISDIR') throw new PyocyteError(`${name} is a folder, not an image file`, { file: name });
  if (code === 'EACCES' || code === 'EPERM') throw new PyocyteError(`cannot read ${name}: permission denied`, { file: name });
  throw error;
}

const SHARP_SAMPLE_TYPES: Record<string, SampleType> = {
  uchar: 'uint8',
  char: 'int8',
  ushort: 'uint16',
  short: 'int16',
  uint: 'uint32',
  int: 'int32',
  float: 'float32',
  double: 'float64',
};

/** The decoded bit depth of a sample type: unsigned ≤ 8 and ≤ 16 bits stay integers, the rest become floats. */
function decodedBitDepth(sampleType: SampleType): 8 | 16 | 32 {
  const match = /^uint(\d+)$/.exec(sampleType);
  if (!match) return 32;
  return Number(match[1]) <= 8 ? 8 : Number(match[1]) <= 16 ? 16 : 32;
}

type Header = ImageInfo & { metadata?: Metadata; tiff?: TiffLayout };

async function headerOf(input: string | Buffer, head: Uint8Array, format: ImageFormat, name: string): Promise<Header> {
  if (format === 'bmp') {
    const header = parseBmpHeader(head, name);
    return {
      width: header.width,
      height: header.height,
      channels: header.channels,
      alpha: header.channels === 4,
      bitDepth: 8,
      sampleType: 'uint8',
      format,
      pages: 1,
    };
  }
  let tiff: TiffLayout | undefined;
  if (format === 'tiff') {
    tiff = await readTiffLayout(input, name);
    if (!sharpReadsLosslessly(tiff)) {
      const { width, height } = orientedSize(tiff.width, tiff.height, tiff.orientation);
      const orientation = tiff.orientation > 1 ? tiff.orientation : undefined;
      return {
        width,
        height,
        channels: tiff.samplesPerPixel,
        alpha: tiff.alphaSample !== undefined,
        bitDepth: decodedBitDepth(tiff.sampleType),
        sampleType: tiff.sampleType,
        format,
        pages: tiff.pages,
        ...(orientation ? { orientation } : {}),
        tiff,
      };
    }
  }
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw corrupt(name, format, error);
  }
  const sampleType = tiff?.sampleType ?? SHARP_SAMPLE_TYPES[metadata.depth] ?? 'uint8';
  const alpha = tiff ? tiff.alphaSample !== undefined : metadata.hasAlpha;
  const channels = metadata.space === 'cmyk' ? 3 + (alpha ? 1 : 0) : metadata.channels;
  const { width, height } = metadata.autoOrient ?? metadata;
  const header: Header = {
    width,
    height,
    channels,
    alpha,
    bitDepth: decodedBitDepth(sampleType),
    sampleType,
    format,
    pages: metadata.pages ?? 1,
    metadata,
  };
  if ((metadata.orientation ?? 1) > 1) header.orientation = metadata.orientation;
  if (metadata.space === 'cmyk') header.cmykProfile = metadata.icc ? 'embedded' : 'generic';
  if (tiff) header.tiff = tiff;
  return header;
}

/**
 * Width and height straight from a PNG's IHDR or a BMP's header, so an oversized image is refused
 * before any decoder (even sharp's header reader) runs. Undefined for other formats.
 */
function quickSize(
  format: ImageFormat,
  head: Uint8Array,
  name: string,
): Pick<ImageInfo, 'width' | 'height' | 'channels' | 'bitDepth'> | undefined {
  if (format === 'bmp') return { ...parseBmpHeader(head, name), bitDepth: 8 };
  if (format === 'png' && head.length >= 26 && String.fromCharCode(...head.subarray(12, 16)) === 'IHDR') {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const channels = [1, 0, 3, 3, 2, 0, 4][head[25]] ?? 4;
    return { width: view.getUint32(16), height: view.getUint32(20), channels, bitDepth: head[24] === 16 ? 16 : 8 };
  }
  return undefined;
}

/** Fails on a multi-page file or one over `maxPixels` pixels, before anything is decoded. */
function checkPageAndPixelLimits(
  info: Pick<ImageInfo, 'width' | 'height' | 'channels' | 'bitDepth' | 'pages'>,
  name: string,
  maxPixels: number,
): void {
  const pixels = info.width * info.height;
  if (info.pages > 1) {
    throw new PyocyteError(
      `${name} has ${info.pages} pages (a stack or time series); pyocyte reads single 2D images: save each page as its own file`,
      { file: name },
    );
  }
  if (pixels > maxPixels) {
    const gigabytes = (pixels * info.channels * (info.bitDepth / 8 + 4)) / 1e9;
    throw new PyocyteError(
      `${name} is ${info.width}×${info.height} (${(pixels / 1e6).toFixed(0)} Mpx), above the limit of ${(maxPixels / 1e6).toFixed(0)} Mpx; ` +
        `loading it would need about ${gigabytes.toFixed(1)} GB. Cut it into tiles (e.g. with 'vips dzsave' or ImageJ), ` +
        `or raise the limit (--max-megapixels) if the machine has the memory`,
      { file: name },
    );
  }
}

/**
 * Reads only an image file's header: its size, channels, bit depth and format. Checks the file's
 * first bytes against its extension first (empty, text, renamed files fail with a clear message).
 */
export async function readImageInfo(path: string, options: { name?: string } = {}): Promise<ImageInfo> {
  const name = options.name ?? path;
  let head: Uint8Array;
  let size: number;
  try {
    const handle = await open(path, 'r');
    try {
      size = (await handle.stat()).size;
      const buffer = Buffer.alloc(Math.min(HEAD_BYTES, size));
      await handle.read(buffer, 0, buffer.length, 0);
      head = buffer;
    } finally {
      await handle.close();
    }
  } catch (error) {
    fileError(error, name);
  }
  const format = checkImageBytes(name, head, size);
  const { metadata: _, tiff: __, ...info } = await headerOf(path, head, format, name);
  return info;
}

/**
 * Reads an image file: PNG, JPEG, TIFF, WebP (via sharp; TIFFs that sharp would misread — signed,
 * 32/64-bit, channels other than gray/RGB plus alpha — via geotiff.js) or BMP. Gray, palette, RGB,
 * N-channel, with or without alpha; 8- and 16-bit unsigned samples keep their type, every other
 * sample type becomes `Float32Array`. EXIF/TIFF orientation is applied; embedded ICC profiles are
 * ignored so pixel values stay as stored (CMYK files are converted to RGB through theirs, or a
 * generic CMYK profile). The header is checked before decoding: wrong or corrupt files and images
 * above `maxPixels` fail naming the file.
 * @returns the raster `[H, W, C]` and what its header said.
 */
export async function decodeImage(path: string, options: ReadImageOptions = {}): Promise<{ image: RasterImage; info: ImageInfo }> {
  const name = options.name ?? path;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    fileError(error, name);
  }
  const format = checkImageBytes(name, buffer.subarray(0, HEAD_BYTES), buffer.length);
  const quick = quickSize(format, buffer, name);
  if (quick) checkPageAndPixelLimits({ ...quick, pages: 1 }, name, maxPixels);
  const { metadata, tiff, ...info } = await headerOf(buffer, buffer, format, name);
  checkPageAndPixelLimits(info, name, maxPixels);
  let image: RasterImage;
  if (format === 'bmp') image = { ...decodeBmp(buffer, name), alpha: info.alpha };
  else if (metadata === undefined) image = await decodeTiff(buffer, tiff!, name);
  else image = await decodeWithSharp(buffer, info, metadata, name);
  return { image, info };
}

/** Reads an image file's pixels; see {@link decodeImage}. @returns a raster `[H, W, C]`. */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<RasterImage> {
  return (await decodeImage(path, options)).image;
}

/** sharp colourspace names for writing a raster of each bit depth and channel count. */
function outputSpace(image: RasterImage): 'b-w' | 'srgb' | 'grey16' | 'rgb16' {
  if (image.bitDepth === 16) return image.channels <= 2 ? 'grey16' : 'rgb16';
  return image.channels <= 2 ? 'b-w' : 'srgb';
}

function checkRaster(image: RasterImage, name: string): void {
  const expected = image.width * image.height * image.channels;
  const type = image.bitDepth === 8 ? Uint8Array : image.bitDepth === 16 ? Uint16Array : Float32Array;
  if (!(image.data instanceof type) || image.data.length !== expected || !(image.channels >= 1)) {
    throw new PyocyteError(
      `cannot write ${name}: expected ${image.width}×${image.height}×${image.channels} ${image.bitDepth}-bit samples, got ${image.data.length} in a ${image.data.constructor.name}`,
    );
  }
}

/**
 * Writes a raster atomically (temp file + rename): `.png` (8/16-bit; gray, RGB, either with alpha)
 * or `.tif`/`.tiff` (8/16-bit or 32-bit float, any number of channels, lossless deflate).
 */
export async function writeImage(path: string, image: RasterImage): Promise<void> {
  const extension = extname(path).toLowerCase();
  checkRaster(image, path);
  let bytes: Uint8Array;
  if (extension === '.tif' || extension === '.tiff') {
    bytes = encodeTiff(image);
  } else if (extension === '.png') {
    if (image.bitDepth === 32) throw new PyocyteError(`cannot write ${path}: 32-bit float images can only be saved as TIFF (.tif)`);
    const alpha = image.alpha ?? (image.channels === 2 || image.channels === 4);
    if (image.channels > 4 || (image.channels === 2 || image.channels === 4) !== alpha) {
      throw new PyocyteError(
        `cannot write ${path}: PNG holds gray or RGB (with or without alpha), not ${image.channels} channels${alpha ? '' : ' without alpha'}; save it as .tif`,
      );
    }
    const raw = { width: image.width, height: image.height, channels: image.channels as 1 | 2 | 3 | 4 };
    bytes = await sharp(image.data, { raw }).toColourspace(outputSpace(image)).png({ compressionLevel: 6 }).toBuffer();
  } else {
    throw new PyocyteError(`cannot write ${path}: pyocyte writes images as .png, .tif or .tiff; change the file extension`);
  }
  await writeFileAtomic(path, bytes);
}
