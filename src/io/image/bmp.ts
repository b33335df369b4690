import { PyocyteError } from '../../util/errors.js';
import type { RasterImage } from '../../image/types.js';

/**
 * A small BMP decoder. fast-bmp ignores colour tables (an 8-bit BMP comes out as palette indices),
 * keeps the unused fourth byte of 32-bit BI_RGB files as an all-transparent alpha, and misreads
 * top-down files (negative height); this one handles all three, and checks the header first so the
 * pixel limit is enforced before any pixels are allocated.
 */

/** What a BMP header says, before any pixels are decoded. */
export interface BmpHeader {
  width: number;
  height: number;
  /** Rows stored top to bottom (negative height in the file). */
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  dataOffset: number;
  /** `[R, G, B, A]` bit masks for 16- and 32-bit files. */
  masks: [number, number, number, number];
  /** Colour table as `[r, g, b]` triples, for 1-, 4- and 8-bit files. */
  palette: Uint8Array;
  /** 1 (gray palette), 3 (RGB) or 4 (RGBA). */
  channels: number;
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const i32 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

/** Parses a BMP header (and colour table). `bytes` needs the first ~1 KiB of the file. */
export function parseBmpHeader(bytes: Uint8Array, name: string): BmpHeader {
  const corrupt = (why: string) =>
    new PyocyteError(`${name} is not a readable BMP file (${why}); re-save it as PNG or TIFF`, { file: name });
  if (bytes.length < 26) throw corrupt('the header is truncated');
  const dataOffset = u32(bytes, 10);
  const headerSize = u32(bytes, 14);
  let width: number;
  let rawHeight: number;
  let bitsPerPixel: number;
  let compression = BI_RGB;
  let colorsUsed = 0;
  if (headerSize === 12) {
    width = u16(bytes, 18);
    rawHeight = u16(bytes, 20);
    bitsPerPixel = u16(bytes, 24);
  } else if (headerSize >= 40) {
    if (bytes.length < 54) throw corrupt('the header is truncated');
    width = i32(bytes, 18);
    rawHeight = i32(bytes, 22);
    bitsPerPixel = u16(bytes, 28);
    compression = u32(bytes, 30);
    colorsUsed = u32(bytes, 46);
  } else {
    throw corrupt(`unknown header size ${headerSize}`);
  }
  if (width <= 0 || rawHeight === 0) throw corrupt(`its size is ${width}×${rawHeight}`);
  if (compression === 1 || compression === 2) {
    throw new PyocyteError(`${name} is a run-length-compressed BMP, which pyocyte does not read; re-save it uncompressed or as PNG`, {
      file: name,
    });
  }
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw corrupt(`compression ${compression} is not supported`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) throw corrupt(`${bitsPerPixel} bits per pixel`);

  let masks: [number, number, number, number] = bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0x00ff0000, 0x0000ff00, 0x000000ff, 0];
  if (compression !== BI_RGB) {
    // Masks follow the 40-byte part of the header whether or not the header is longer.
    masks = [u32(bytes, 54), u32(bytes, 58), u32(bytes, 62), 0];
    if (compression === BI_ALPHABITFIELDS || headerSize >= 56) masks[3] = u32(bytes, 66);
  }

  let palette: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  let channels = masks[3] !== 0 && bitsPerPixel === 32 ? 4 : 3;
  if (bitsPerPixel <= 8) {
    const entries = colorsUsed || 1 << bitsPerPixel;
    const entrySize = headerSize === 12 ? 3 : 4;
    const start = 14 + headerSize;
    if (bytes.length < start + entries * entrySize) throw corrupt('the colour table is truncated');
    palette = new Uint8Array(entries * 3);
    let gray = true;
    for (let i = 0; i < entries; i++) {
      const o = start + i * entrySize;
      palette[i * 3] = bytes[o + 2];
      palette[i * 3 + 1] = bytes[o + 1];
      palette[i * 3 + 2] = bytes[o];
      if (bytes[o] !== bytes[o + 1] || bytes[o] !== bytes[o + 2]) gray = false;
    }
    channels = gray ? 1 : 3;
  }
  return { width, height: Math.abs(rawHeight), topDown: rawHeight < 0, bitsPerPixel, compression, dataOffset, masks, palette, channels };
}

/** Shift and scale that turn a bit-masked field into 0–255. */
function field(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/** Decodes a whole BMP file to an 8-bit raster `[H, W, C]` (C = 1, 3 or 4). */
export function decodeBmp(bytes: Uint8Array, name: string, header = parseBmpHeader(bytes, name)): RasterImage {
  const { width, height, bitsPerPixel: bpp, channels, palette } = header;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const needed = header.dataOffset + stride * (height - 1) + Math.ceil((bpp * width) / 8);
  if (bytes.length < needed) {
    throw new PyocyteError(
      `${name} is truncated: its header says ${width}×${height} pixels, which needs ${needed} bytes, but the file has ${bytes.length}; re-export it`,
      { file: name },
    );
  }
  const data = new Uint8Array(width * height * channels);
  const fields = header.masks.map(field);
  for (let row = 0; row < height; row++) {
    const y = header.topDown ? row : height - 1 - row;
    const src = header.dataOffset + row * stride;
    let dst = y * width * channels;
    if (bpp === 24) {
      for (let x = 0, s = src; x < width; x++, s += 3, dst += 3) {
        data[dst] = bytes[s + 2];
        data[dst + 1] = bytes[s + 1];
        data[dst + 2] = bytes[s];
      }
    } else if (bpp <= 8) {
      const perByte = 8 / bpp;
      const valueMask = (1 << bpp) - 1;
      for (let x = 0; x < width; x++, dst += channels) {
        const byte = bytes[src + Math.floor(x / perByte)];
        const index = (byte >> ((perByte - 1 - (x % perByte)) * bpp)) & valueMask;
        const p = Math.min(index, palette.length / 3 - 1) * 3;
        data[dst] = palette[p];
        if (channels === 3) {
          data[dst + 1] = palette[p + 1];
          data[dst + 2] = palette[p + 2];
        }
      }
    } else {
      const bytesPerPixel = bpp / 8;
      for (let x = 0, s = src; x < width; x++, s += bytesPerPixel, dst += channels) {
        const value = bpp === 16 ? u16(bytes, s) : u32(bytes, s);
        for (let c = 0; c < channels; c++) {
          const { shift, max } = fields[c];
          data[dst + c] = max === 0 ? 0 : Math.round((((value >>> shift) & max) * 255) / max);
        }
      }
    }
  }
  return { width, height, channels, bitDepth: 8, data };
}
