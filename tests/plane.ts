import type { PixelArray, Plane } from '../src/image/plane.js';

/** A plane over `data`, row-major `[H, W]`, `width × height` pixels. */
export function plane<T extends PixelArray>(data: T, width: number, height: number): Plane<T> {
  return { width, height, data };
}
