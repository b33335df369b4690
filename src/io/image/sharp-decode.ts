/**
 * Decoding through sharp (libvips): PNG, JPEG, WebP and the TIFFs it reads losslessly, at the
 * file's bit depth, with EXIF orientation applied and sharp's gray → sRGB expansion undone.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import type { RasterImage } from '../../image/types.js';
import { PyocyteError } from '../../util/errors.js';
import { IMAGE_FORMATS, type ImageFormat } from './formats.js';

/** The one-line error for a file its decoder rejects, naming the file and the decoder's words. */
export function corrupt(name: string, format: ImageFormat, error: unknown): PyocyteError {
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0].trim();
  return new PyocyteError(
    `${name} is a corrupt or truncated ${IMAGE_FORMATS[format].label} file (the decoder said: ${detail}); re-export it or remove it`,
    { file: name, cause: error },
  );
}

/** Copies `bytes` into a typed array of the bit depth's type (sharp's buffers may be unaligned). */
function typed(bytes: Buffer, bitDepth: 8 | 16 | 32): RasterImage['data'] {
  if (bitDepth === 8) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return bitDepth === 16 ? new Uint16Array(copy.buffer) : new Float32Array(copy.buffer);
}

/** Keeps channel 0 and, when `alpha`, the last channel: undoes sharp's gray → sRGB expansion. */
function grayFrom(data: RasterImage['data'], channels: number, alpha: boolean): RasterImage['data'] {
  const pixels = data.length / channels;
  const outChannels = alpha ? 2 : 1;
  const out = new (data.constructor as Uint8ArrayConstructor)(pixels * outChannels) as RasterImage['data'];
  for (let i = 0; i < pixels; i++) {
    out[i * outChannels] = data[i * channels];
    if (alpha) out[i * 2 + 1] = data[i * channels + channels - 1];
  }
  return out;
}

function isGray(data: RasterImage['data'], channels: number): boolean {
  for (let i = 0; i < data.length; i += channels) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  }
  return true;
}

export async function decodeWithSharp(
  buffer: Buffer,
  info: { bitDepth: 8 | 16 | 32; format: ImageFormat },
  metadata: Metadata,
  name: string,
): Promise<RasterImage> {
  const { bitDepth } = info;
  const color = metadata.channels >= 3 || metadata.space === 'cmyk';
  const space =
    bitDepth === 16 ? (color || metadata.channels === 2 ? 'rgb16' : 'grey16') : color || metadata.channels === 2 ? 'srgb' : 'b-w';
  const depth = bitDepth === 8 ? 'uchar' : bitDepth === 16 ? 'ushort' : 'float';
  let pipeline = sharp(buffer, { limitInputPixels: false, ignoreIcc: metadata.space !== 'cmyk', failOn: 'error' }).autoOrient();
  // Float data keeps its own interpretation (scRGB for colour): sRGB or b-w would cast it to 8 bits.
  pipeline = pipeline.toColourspace(bitDepth === 32 ? (color ? 'scrgb' : metadata.space) : space);
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await pipeline.raw({ depth }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw corrupt(name, info.format, error);
  }
  let data = typed(decoded.data, bitDepth);
  let channels = decoded.info.channels;
  const hasAlpha = channels === 2 || channels === 4;
  if (metadata.channels <= 2 && channels > 2) {
    data = grayFrom(data, channels, hasAlpha);
    channels = hasAlpha ? 2 : 1;
  } else if (metadata.isPalette && channels >= 3 && isGray(data, channels)) {
    // A palette of grays is a gray image (common for label masks saved by image editors).
    data = grayFrom(data, channels, hasAlpha);
    channels = hasAlpha ? 2 : 1;
  }
  return { width: decoded.info.width, height: decoded.info.height, channels, bitDepth, data, alpha: channels === 2 || channels === 4 };
}
