import { extname } from 'node:path';
import { PyocyteError } from '../../util/errors.js';

/**
 * Image file formats pyocyte reads, keyed by name. Each lists its file extensions and a test on
 * the file's first bytes, so a JPEG renamed `.png` or a text file named `.tif` is caught before
 * any decoder sees it.
 */
export const IMAGE_FORMATS = {
  png: { label: 'PNG', extensions: ['.png'], magic: (b: Uint8Array) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  jpeg: { label: 'JPEG', extensions: ['.jpg', '.jpeg'], magic: (b: Uint8Array) => startsWith(b, [0xff, 0xd8, 0xff]) },
  tiff: {
    label: 'TIFF',
    extensions: ['.tif', '.tiff'],
    magic: (b: Uint8Array) =>
      startsWith(b, [0x49, 0x49, 0x2a, 0x00]) ||
      startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]) ||
      startsWith(b, [0x49, 0x49, 0x2b, 0x00]) ||
      startsWith(b, [0x4d, 0x4d, 0x00, 0x2b]),
  },
  webp: {
    label: 'WebP',
    extensions: ['.webp'],
    magic: (b: Uint8Array) => startsWith(b, [0x52, 0x49, 0x46, 0x46]) && ascii(b, 8, 4) === 'WEBP',
  },
  bmp: { label: 'BMP', extensions: ['.bmp'], magic: (b: Uint8Array) => startsWith(b, [0x42, 0x4d]) && b.length >= 26 },
} as const;

/** A format pyocyte reads: `png`, `jpeg`, `tiff`, `webp` or `bmp`. */
export type ImageFormat = keyof typeof IMAGE_FORMATS;

/** Image file extensions pyocyte reads (lower case, with the dot). */
export const IMAGE_EXTENSIONS: readonly string[] = Object.values(IMAGE_FORMATS).flatMap((f) => f.extensions);

/** Formats that are images but that pyocyte does not read; named in messages instead of "not an image". */
const OTHER_FORMATS: { label: string; magic: (b: Uint8Array) => boolean }[] = [
  { label: 'GIF', magic: (b) => ascii(b, 0, 4) === 'GIF8' },
  { label: 'NumPy (.npy)', magic: (b) => startsWith(b, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]) },
  { label: 'zip', magic: (b) => startsWith(b, [0x50, 0x4b, 0x03, 0x04]) },
  { label: 'gzip', magic: (b) => startsWith(b, [0x1f, 0x8b]) },
  { label: 'JPEG 2000', magic: (b) => startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50]) },
  { label: 'HEIF/AVIF', magic: (b) => ascii(b, 4, 4) === 'ftyp' },
];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((value, i) => bytes[i] === value);
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/** The format a lower-case extension (`.tif`) belongs to, or undefined for non-image files. */
export function formatOfExtension(extension: string): ImageFormat | undefined {
  const lower = extension.toLowerCase();
  for (const [name, format] of Object.entries(IMAGE_FORMATS)) {
    if ((format.extensions as readonly string[]).includes(lower)) return name as ImageFormat;
  }
  return undefined;
}

/** True when the file name has an image extension pyocyte reads (case-insensitive). */
export function isImageFile(name: string): boolean {
  return formatOfExtension(extname(name)) !== undefined;
}

/** The format of a file from its first bytes (at least 16 of them), or undefined. */
export function sniffFormat(head: Uint8Array): ImageFormat | undefined {
  for (const [name, format] of Object.entries(IMAGE_FORMATS)) {
    if (format.magic(head)) return name as ImageFormat;
  }
  return undefined;
}

/** Whether the bytes look like text (a README, an HTML error page, a Git LFS pointer). */
function looksLikeText(head: Uint8Array): boolean {
  const n = Math.min(head.length, 512);
  if (n === 0) return false;
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = head[i];
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 128) printable++;
    else if (c === 0) return false;
  }
  return printable === n;
}

/**
 * Checks that a file's first bytes match its extension and returns its format. Fails naming the
 * file, the problem and what to do: an empty file, a Git LFS pointer, a text file, a JPEG renamed
 * `.png`, or bytes that are no image at all.
 * @param head the first bytes of the file (64 or more are best); `size` the file's length.
 */
export function checkImageBytes(name: string, head: Uint8Array, size: number): ImageFormat {
  const extension = extname(name).toLowerCase();
  const expected = formatOfExtension(extension);
  if (size === 0) {
    throw new PyocyteError(`${name} is empty (0 bytes); re-export the file or remove it from the folder`, { file: name });
  }
  const actual = sniffFormat(head);
  if (actual === undefined) {
    const text = looksLikeText(head) ? new TextDecoder().decode(head.subarray(0, 200)) : undefined;
    if (text?.startsWith('version https://git-lfs')) {
      throw new PyocyteError(`${name} is a Git LFS pointer, not the image itself; run 'git lfs pull' in the dataset's repository`, {
        file: name,
      });
    }
    const other = OTHER_FORMATS.find((f) => f.magic(head));
    if (other) {
      throw new PyocyteError(`${name} is a ${other.label} file, which pyocyte does not read; convert it to PNG or TIFF`, { file: name });
    }
    if (text !== undefined) {
      const preview = JSON.stringify(text.split('\n')[0].slice(0, 40));
      throw new PyocyteError(`${name} is a text file (it starts with ${preview}), not an image; remove it or replace it with the image`, {
        file: name,
      });
    }
    const hex = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    const what = expected ? `a ${IMAGE_FORMATS[expected].label} image` : 'an image';
    throw new PyocyteError(`${name} is not ${what} (it starts with bytes ${hex}); the file is corrupt: re-export it or remove it`, {
      file: name,
    });
  }
  if (expected !== undefined && expected !== actual) {
    const label = IMAGE_FORMATS[actual].label;
    const suggestion = name.slice(0, name.length - extension.length) + IMAGE_FORMATS[actual].extensions[0];
    throw new PyocyteError(
      `${name} is a ${label} file but its name ends in ${extension}; rename it to ${suggestion} (or convert it to ${IMAGE_FORMATS[expected].label})`,
      { file: name },
    );
  }
  return actual;
}
