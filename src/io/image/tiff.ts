import { deflateSync } from 'node:zlib';
import { endianness } from 'node:os';
import type { RasterImage } from '../../image/types.js';

/**
 * A baseline TIFF writer (deflate-compressed strips, little-endian). sharp compresses TIFFs with
 * lossy JPEG by default and cannot write 32-bit float samples, so label images and probability
 * maps are written here: 8/16-bit unsigned or 32-bit float, 1–4 channels, bit-exact.
 */

const SHORT = 3;
const LONG = 4;
const ROWS_PER_STRIP_BYTES = 256 * 1024;

interface Entry {
  tag: number;
  type: typeof SHORT | typeof LONG;
  values: number[];
}

function sampleBytes(image: RasterImage): Uint8Array {
  const data = image.data;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (endianness() === 'LE' || image.bitDepth === 8) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const size = image.bitDepth / 8;
  for (let i = 0; i < bytes.length; i += size) {
    for (let k = 0; k < size; k++) swapped[i + k] = bytes[i + size - 1 - k];
  }
  return swapped;
}

/** Encodes a raster `[H, W, C]` as a TIFF file. */
export function encodeTiff(image: RasterImage): Uint8Array {
  const { width, height, channels, bitDepth } = image;
  const bytesPerRow = width * channels * (bitDepth / 8);
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(ROWS_PER_STRIP_BYTES / bytesPerRow)));
  const samples = sampleBytes(image);
  const strips: Uint8Array[] = [];
  for (let row = 0; row < height; row += rowsPerStrip) {
    const end = Math.min(height, row + rowsPerStrip);
    strips.push(deflateSync(samples.subarray(row * bytesPerRow, end * bytesPerRow)));
  }

  const entries: Entry[] = [
    { tag: 256, type: LONG, values: [width] },
    { tag: 257, type: LONG, values: [height] },
    { tag: 258, type: SHORT, values: new Array(channels).fill(bitDepth) },
    { tag: 259, type: SHORT, values: [8] }, // Adobe deflate
    { tag: 262, type: SHORT, values: [channels <= 2 ? 1 : 2] }, // min-is-black or RGB
    { tag: 273, type: LONG, values: [] }, // strip offsets, filled in below
    { tag: 277, type: SHORT, values: [channels] },
    { tag: 278, type: LONG, values: [rowsPerStrip] },
    { tag: 279, type: LONG, values: strips.map((s) => s.length) },
    { tag: 284, type: SHORT, values: [1] }, // interleaved
  ];
  if (channels === 2 || channels === 4) entries.push({ tag: 338, type: SHORT, values: [2] }); // unassociated alpha
  entries.push({ tag: 339, type: SHORT, values: new Array(channels).fill(bitDepth === 32 ? 3 : 1) });

  let offset = 8;
  const stripOffsets = strips.map((s) => {
    const at = offset;
    offset += s.length + (s.length & 1);
    return at;
  });
  entries[5].values = stripOffsets;
  // Values longer than 4 bytes live outside the IFD, after the strips.
  const extraOffsets = new Map<Entry, number>();
  for (const entry of entries) {
    const size = entry.values.length * (entry.type === SHORT ? 2 : 4);
    if (size > 4) {
      extraOffsets.set(entry, offset);
      offset += size + (size & 1);
    }
  }
  const ifdOffset = offset;
  const total = ifdOffset + 2 + entries.length * 12 + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  view.setUint32(4, ifdOffset, true);
  strips.forEach((s, i) => out.set(s, stripOffsets[i]));
  const put = (at: number, entry: Entry) => {
    entry.values.forEach((v, i) => {
      if (entry.type === SHORT) view.setUint16(at + i * 2, v, true);
      else view.setUint32(at + i * 4, v, true);
    });
  };
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
  view.setUint32(total - 4, 0, true);
  return out;
}
