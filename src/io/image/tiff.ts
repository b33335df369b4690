import { deflateSync } from 'node:zlib';
import { endianness } from 'node:os';
import type { RasterImage } from '../../image/types.js';

/**
 * A baseline TIFF writer (deflate-compressed strips, little-endian). sharp compresses TIFFs with
 * lossy JPEG by default and cannot write 32-bit float samples, so label images and probability
 * maps are written here, bit-exact. The sample type follows the typed array: unsigned, signed or
 * float, 8–64 bits, any number of channels.
 */

const ASCII = 2;
const SHORT = 3;
const LONG = 4;
const ROWS_PER_STRIP_BYTES = 256 * 1024;

/** Typed arrays whose samples a TIFF can hold, with their TIFF SampleFormat (1 uint, 2 int, 3 float). */
export type TiffSamples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** Interleaved samples `[H, W, C]` and what the extra channels are. */
export interface TiffRaster {
  width: number;
  height: number;
  channels: number;
  data: TiffSamples;
  /**
   * TIFF ExtraSamples values, one per channel beyond the colour ones (gray: 1, RGB: 3):
   * 0 unspecified (another stain, a second camera), 1 associated alpha, 2 unassociated alpha.
   * Default: none when the colour channels take every channel, else all 0.
   */
  extraSamples?: number[];
  /** PhotometricInterpretation: 1 gray (min-is-black) or 2 RGB. Default RGB for 3 or more channels. */
  photometric?: 1 | 2;
  /** The Orientation tag (1–8, as EXIF's); not written when absent. */
  orientation?: number;
}

interface Entry {
  tag: number;
  type: typeof ASCII | typeof SHORT | typeof LONG;
  /** Numbers, or an ASCII value's bytes with its closing NUL. */
  values: number[];
}

const sampleFormatOf = (data: TiffSamples) =>
  data instanceof Float32Array || data instanceof Float64Array
    ? 3
    : data instanceof Int8Array || data instanceof Int16Array || data instanceof Int32Array
      ? 2
      : 1;

function sampleBytes(data: TiffSamples): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const size = data.BYTES_PER_ELEMENT;
  if (endianness() === 'LE' || size === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let k = 0; k < size; k++) swapped[i + k] = bytes[i + size - 1 - k];
  }
  return swapped;
}

/** Encodes a raster `[H, W, C]` as a TIFF file; its `alpha` (default: 2 or 4 channels) is written as unassociated alpha. */
export function encodeTiff(image: RasterImage): Uint8Array {
  const alpha = image.alpha ?? (image.channels === 2 || image.channels === 4);
  const colours = image.channels >= 3 ? 3 : 1;
  const extra = image.channels - colours;
  const extraSamples = extra > 0 ? Array.from({ length: extra }, (_, i) => (alpha && i === extra - 1 ? 2 : 0)) : undefined;
  return encodeTiffSamples({ ...image, extraSamples });
}

/** Encodes interleaved samples of any TIFF sample type and channel count (see {@link TiffRaster}). */
export function encodeTiffSamples(image: TiffRaster): Uint8Array {
  return encodeTiffPages([image]);
}

/** The tags of one page and its compressed strips (strip offsets are filled in when laid out). */
function pageOf(image: TiffRaster, description?: string): { entries: Entry[]; strips: Uint8Array[] } {
  const { width, height, channels, data } = image;
  const photometric = image.photometric ?? (channels >= 3 ? 2 : 1);
  const colours = photometric === 2 ? 3 : 1;
  const extraSamples = image.extraSamples ?? new Array(Math.max(0, channels - colours)).fill(0);
  const bytesPerRow = width * channels * data.BYTES_PER_ELEMENT;
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(ROWS_PER_STRIP_BYTES / bytesPerRow)));
  const samples = sampleBytes(data);
  const strips: Uint8Array[] = [];
  for (let row = 0; row < height; row += rowsPerStrip) {
    strips.push(deflateSync(samples.subarray(row * bytesPerRow, Math.min(height, row + rowsPerStrip) * bytesPerRow)));
  }
  const entries: Entry[] = [
    { tag: 256, type: LONG, values: [width] },
    { tag: 257, type: LONG, values: [height] },
    { tag: 258, type: SHORT, values: new Array(channels).fill(data.BYTES_PER_ELEMENT * 8) },
    { tag: 259, type: SHORT, values: [8] }, // Adobe deflate
    { tag: 262, type: SHORT, values: [photometric] },
  ];
  if (description !== undefined) entries.push({ tag: 270, type: ASCII, values: [...Buffer.from(`${description}\0`, 'latin1')] });
  entries.push({ tag: 273, type: LONG, values: [] }); // strip offsets, filled in when laid out
  if (image.orientation !== undefined) entries.push({ tag: 274, type: SHORT, values: [image.orientation] });
  entries.push(
    { tag: 277, type: SHORT, values: [channels] },
    { tag: 278, type: LONG, values: [rowsPerStrip] },
    { tag: 279, type: LONG, values: strips.map((s) => s.length) },
    { tag: 284, type: SHORT, values: [1] }, // interleaved
  );
  if (extraSamples.length > 0) entries.push({ tag: 338, type: SHORT, values: extraSamples });
  entries.push({ tag: 339, type: SHORT, values: new Array(channels).fill(sampleFormatOf(data)) });
  return { entries, strips };
}

const typeSize = (type: Entry['type']) => (type === ASCII ? 1 : type === SHORT ? 2 : 4);

/**
 * Encodes pages, each its own IFD (a stack, or ImageJ's one page per channel); `description`
 * becomes the first page's ImageDescription (e.g. ImageJ's `ImageJ=1.54\nchannels=2\n…`).
 */
export function encodeTiffPages(images: readonly TiffRaster[], options: { description?: string } = {}): Uint8Array {
  const pages = images.map((image, i) => pageOf(image, i === 0 ? options.description : undefined));
  // Per page: its strips, then tag values longer than 4 bytes, then its IFD.
  let offset = 8;
  const layout = pages.map(({ entries, strips }) => {
    const stripOffsets = strips.map((s) => {
      const at = offset;
      offset += s.length + (s.length & 1);
      return at;
    });
    entries.find((e) => e.tag === 273)!.values = stripOffsets;
    const extraOffsets = new Map<Entry, number>();
    for (const entry of entries) {
      const size = entry.values.length * typeSize(entry.type);
      if (size > 4) {
        extraOffsets.set(entry, offset);
        offset += size + (size & 1);
      }
    }
    const ifdOffset = offset;
    offset += 2 + entries.length * 12 + 4;
    return { stripOffsets, extraOffsets, ifdOffset };
  });
  const out = new Uint8Array(offset);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  view.setUint32(4, layout[0].ifdOffset, true);
  const put = (at: number, entry: Entry) => {
    entry.values.forEach((v, i) => {
      if (entry.type === ASCII) view.setUint8(at + i, v);
      else if (entry.type === SHORT) view.setUint16(at + i * 2, v, true);
      else view.setUint32(at + i * 4, v, true);
    });
  };
  pages.forEach(({ entries, strips }, p) => {
    const { stripOffsets, extraOffsets, ifdOffset } = layout[p];
    strips.forEach((s, i) => out.set(s, stripOffsets[i]));
    for (const [entry, at] of extraOffsets) put(at, entry);
    view.setUint16(ifdOffset, entries.length, true);
    entries.forEach((entry, i) => {
      const at = ifdOffset + 2 + i * 12;
      view.setUint16(at, entry.tag, true);
      view.setUint16(at + 2, entry.type, true);
      view.setUint32(at + 4, entry.values.length, true);
      const extra = extraOffsets.get(entry);
      if (extra !== undefined) view.setUint32(at + 8, extra, true);
      else put(at + 8, entry);
    });
    view.setUint32(ifdOffset + 2 + entries.length * 12, p + 1 < pages.length ? layout[p + 1].ifdOffset : 0, true);
  });
  return out;
}
