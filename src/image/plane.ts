/** Indexing helpers for 2D planes (row-major `[H, W]`). */

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
