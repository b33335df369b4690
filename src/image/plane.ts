/**
 * Planes: the one image shape every 2D primitive takes. A plane is a row-major `[H, W]` array
 * with its size; a multi-channel image extends it with `channels`, either interleaved
 * (`[H, W, C]`, {@link PixelGrid}, as image files decode) or channel-planar (`[C, H, W]`,
 * {@link PlanarImage}, one NCHW sample as the network sees it).
 */
import { fail } from '../util/errors.js';

/** Any typed array that holds pixels. */
export type PixelArray = Uint8Array | Uint16Array | Int32Array | Float32Array | Float64Array;

/** The size of a plane in pixels. */
export interface PlaneSize {
  width: number;
  height: number;
}

/** One value per pixel, row-major: `data` is `[H, W]`, pixel (x, y) at `y·width + x`. */
export interface Plane<T extends PixelArray = PixelArray> extends PlaneSize {
  data: T;
}

/** A multi-channel image with interleaved channels: `data` is `[H, W, C]` (sharp's raw layout). */
export interface PixelGrid<T extends PixelArray = PixelArray> extends Plane<T> {
  channels: number;
}

/** A multi-channel image stored channel after channel: `data` is `[C, H, W]` (one NCHW sample). */
export interface PlanarImage<T extends PixelArray = Float32Array> extends Plane<T> {
  channels: number;
}

/** Options of {@link checkPlane}. */
export interface PlaneCheck {
  /** Values per pixel of a multi-channel image (interleaved or planar). Default 1. */
  channels?: number;
  /** The plane must have this size too (a mask for a map, say). */
  reference?: PlaneSize;
}

/**
 * Fails unless `plane` has positive integer sides and, when it holds data, exactly
 * `width × height × channels` values. `what` names the caller in the message.
 */
export function checkPlane(plane: PlaneSize & { data?: { length: number } }, what: string, options: PlaneCheck = {}): void {
  const { width, height } = plane;
  const { channels = 1, reference } = options;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    fail(`${what}: width and height must be positive whole numbers, got ${width}×${height}`);
  }
  if (reference && (reference.width !== width || reference.height !== height)) {
    fail(`${what}: the planes differ in size, ${width}×${height} and ${reference.width}×${reference.height}`);
  }
  const expected = width * height * channels;
  if (plane.data !== undefined && plane.data.length !== expected) {
    const shape = channels === 1 ? `${width}×${height}` : `${width}×${height}×${channels}`;
    fail(`${what}: the array has ${plane.data.length} ${channels === 1 ? 'pixels' : 'values'} but ${shape} needs ${expected}`);
  }
}

/**
 * Reflects any index into `[0, n)` like numpy's `'reflect'` pad mode (the edge pixel is not
 * repeated): for n = 4, index −1 → 1, 4 → 2, 7 → 1. Repeats as often as needed, so an image much
 * smaller than a patch is tiled by reflections.
 */
export function mirrorIndex(i: number, n: number): number {
  if (n <= 1) return 0;
  if (i >= 0 && i < n) return i;
  const period = 2 * (n - 1);
  let m = (i % period) | 0;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}
