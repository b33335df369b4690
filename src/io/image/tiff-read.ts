import { fromArrayBuffer, fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { PyocyteError } from '../../util/errors.js';
import type { RasterImage } from '../../image/types.js';

/**
 * TIFF layouts that libvips (sharp) reads lossily are decoded with geotiff.js instead: signed
 * integers (sharp clips negatives to 0), 32-bit integers and 64-bit floats, and channels beyond
 * gray/RGB that are not alpha (sharp calls a 2-channel image gray+alpha, and turns 5 channels into
 * 7). The TIFF's own tags decide: a sample is alpha only when ExtraSamples says 1 or 2.
 */

/** How the samples of a file are stored: `uint8`, `int16`, `float32`, `float64`, … */
export type SampleType = `${'uint' | 'int' | 'float'}${number}`;

/** What a TIFF's first page says about its pixels. */
export interface TiffLayout {
  /** As stored, before the orientation tag is applied. */
  width: number;
  height: number;
  samplesPerPixel: number;
  sampleType: SampleType;
  /** PhotometricInterpretation: 0 min-is-white, 1 min-is-black, 2 RGB, 3 palette, 5 CMYK, 6 YCbCr, … */
  photometric: number;
  /** Which sample is alpha (ExtraSamples 1 or 2), if any. */
  alphaSample?: number;
  /** The Orientation tag (1–8, as EXIF's); 1 when absent. */
  orientation: number;
  /** Pages that are separate images (a stack); 1 when the pages are one image's channels. */
  pages: number;
  /** ImageJ saves a multi-channel image as one gray page per channel: then its pages are `samplesPerPixel`. */
  channelPages: boolean;
}

const SAMPLE_FORMATS: Record<number, 'uint' | 'int' | 'float'> = { 1: 'uint', 2: 'int', 3: 'float' };

/** Colour samples of each PhotometricInterpretation; the rest of a pixel's samples are "extra". */
function colourSamples(photometric: number): number {
  return photometric === 2 || photometric === 6 || photometric === 8 ? 3 : photometric === 5 ? 4 : 1;
}

/**
 * The channel count of an ImageJ multi-channel image stored as one page per channel (its
 * ImageDescription says `channels=N`, no slices or frames, and there are N pages), else undefined.
 */
export function imageJChannels(description: string, pages: number, samplesPerPixel: number): number | undefined {
  if (!description.startsWith('ImageJ=') || samplesPerPixel !== 1 || pages < 2) return undefined;
  const field = (key: string) => Number(new RegExp(`^${key}=(\\d+)$`, 'm').exec(description)?.[1] ?? 1);
  return field('channels') === pages && field('slices') === 1 && field('frames') === 1 ? pages : undefined;
}

async function layoutOf(tiff: GeoTIFF, image: GeoTIFFImage): Promise<TiffLayout> {
  const directory = image.getFileDirectory();
  const photometric = Number((await directory.loadValue('PhotometricInterpretation')) ?? 1);
  const pages = await tiff.getImageCount();
  const channelPages = imageJChannels(String((await directory.loadValue('ImageDescription')) ?? ''), pages, image.getSamplesPerPixel());
  const samplesPerPixel = channelPages ?? image.getSamplesPerPixel();
  const extraTypes = Array.from(((await directory.loadValue('ExtraSamples')) ?? []) as ArrayLike<number>);
  const colours = colourSamples(photometric);
  const alphaExtra = extraTypes.findIndex((t) => t === 1 || t === 2);
  const format = SAMPLE_FORMATS[image.getSampleFormat(0)] ?? 'uint';
  return {
    width: image.getWidth(),
    height: image.getHeight(),
    samplesPerPixel,
    sampleType: `${format}${image.getBitsPerSample(0)}`,
    photometric,
    alphaSample: alphaExtra >= 0 && colours + alphaExtra < samplesPerPixel ? colours + alphaExtra : undefined,
    orientation: Number((await directory.loadValue('Orientation')) ?? 1),
    pages: channelPages ? 1 : pages,
    channelPages: channelPages !== undefined,
  };
}

function corrupt(name: string, error: unknown): PyocyteError {
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0].trim();
  return new PyocyteError(`${name} is a corrupt or truncated TIFF file (the decoder said: ${detail}); re-export it or remove it`, {
    file: name,
    cause: error,
  });
}

/** Reads a TIFF's tags (not its pixels) from a file path or the whole file's bytes. */
export async function readTiffLayout(input: string | Uint8Array, name: string): Promise<TiffLayout> {
  let tiff: GeoTIFF | undefined;
  try {
    tiff = typeof input === 'string' ? await fromFile(input) : await fromArrayBuffer(arrayBufferOf(input));
    return await layoutOf(tiff, await tiff.getImage(0));
  } catch (error) {
    throw corrupt(name, error);
  } finally {
    await tiff?.close();
  }
}

/** The bytes as an ArrayBuffer of their own; copied only when they are a view into a larger one. */
function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * Whether sharp decodes this layout without loss: unsigned ≤ 16-bit or 32-bit float samples, and
 * the colour samples plus at most one alpha.
 */
export function sharpReadsLosslessly(layout: TiffLayout): boolean {
  const { sampleType, samplesPerPixel, photometric, alphaSample } = layout;
  const plainSamples = /^uint([1-9]|1[0-6])$/.test(sampleType) || sampleType === 'float32';
  const extras = samplesPerPixel - colourSamples(photometric);
  return plainSamples && !layout.channelPages && (extras === 0 || (extras === 1 && alphaSample !== undefined));
}

/** Width and height once the orientation tag is applied (5–8 swap them). */
export function orientedSize(width: number, height: number, orientation: number): { width: number; height: number } {
  return orientation >= 5 && orientation <= 8 ? { width: height, height: width } : { width, height };
}

/**
 * Applies an EXIF/TIFF orientation (1–8) to interleaved samples `[H, W, C]`: the picture as a
 * viewer shows it. 2 mirrors, 3 turns 180°, 4 flips, 5 transposes, 6 turns 90° clockwise,
 * 7 transverses, 8 turns 90° counter-clockwise.
 */
export function applyOrientation<T extends RasterImage['data'] | Float64Array>(
  data: T,
  width: number,
  height: number,
  channels: number,
  orientation: number,
): { data: T; width: number; height: number } {
  if (orientation <= 1 || orientation > 8) return { data, width, height };
  const size = orientedSize(width, height, orientation);
  const out = new (data.constructor as new (length: number) => T)(data.length);
  // The stored (x, y) shown at display (u, v).
  const source: Record<number, (u: number, v: number) => [number, number]> = {
    2: (u, v) => [width - 1 - u, v],
    3: (u, v) => [width - 1 - u, height - 1 - v],
    4: (u, v) => [u, height - 1 - v],
    5: (u, v) => [v, u],
    6: (u, v) => [v, height - 1 - u],
    7: (u, v) => [width - 1 - v, height - 1 - u],
    8: (u, v) => [width - 1 - v, u],
  };
  const at = source[orientation];
  for (let v = 0, o = 0; v < size.height; v++) {
    for (let u = 0; u < size.width; u++) {
      const [x, y] = at(u, v);
      const s = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) out[o++] = data[s + c];
    }
  }
  return { data: out, ...size };
}

/**
 * Decodes a TIFF's first page with geotiff.js, keeping every sample as stored: 8- and 16-bit
 * unsigned samples as such, every other type (signed, 32-bit integer, 64-bit float) as 32-bit
 * floats. Alpha, when the file declares one, becomes the last channel. The orientation tag is applied.
 */
export async function decodeTiff(bytes: Uint8Array, layout: TiffLayout, name: string): Promise<RasterImage> {
  if (layout.photometric !== 1 && layout.photometric !== 2) {
    throw new PyocyteError(
      `${name} stores ${layout.samplesPerPixel} ${layout.sampleType} samples with photometric interpretation ${layout.photometric}, a layout pyocyte cannot read; save it as gray, RGB or separate channels (min-is-black)`,
      { file: name },
    );
  }
  const { width, height, samplesPerPixel: channels, sampleType, alphaSample } = layout;
  let samples: ArrayLike<number>;
  try {
    const tiff = await fromArrayBuffer(arrayBufferOf(bytes));
    const read = async (page: number) =>
      (await (await tiff.getImage(page)).readRasters({ interleave: true })) as unknown as ArrayLike<number>;
    if (layout.channelPages) {
      // One page per channel: interleave them.
      const interleaved = new Float64Array(width * height * channels);
      for (let c = 0; c < channels; c++) {
        const page = await read(c);
        for (let p = 0; p < width * height; p++) interleaved[p * channels + c] = page[p];
      }
      samples = interleaved;
    } else {
      samples = await read(0);
    }
  } catch (error) {
    throw corrupt(name, error);
  }
  const bitDepth = sampleType === 'uint8' ? 8 : sampleType === 'uint16' ? 16 : 32;
  const Type = bitDepth === 8 ? Uint8Array : bitDepth === 16 ? Uint16Array : Float32Array;
  const data = new Type(width * height * channels);
  // Alpha moves to the end; the other channels keep their order.
  const order = Array.from({ length: channels }, (_, c) => c).filter((c) => c !== alphaSample);
  if (alphaSample !== undefined) order.push(alphaSample);
  for (let p = 0, o = 0; p < width * height; p++) {
    for (const c of order) data[o++] = samples[p * channels + c];
  }
  const oriented = applyOrientation(data, width, height, channels, layout.orientation);
  return { ...oriented, channels, bitDepth, alpha: alphaSample !== undefined };
}
