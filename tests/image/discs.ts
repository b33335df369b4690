import type { Plane } from '../../src/image/plane.js';

/** Instance image `[size, size]` with discs of `diameter` px on a grid, ids 1…n, none touching the border. */
export function discs(size: number, diameter: number): Plane<Int32Array> {
  const data = new Int32Array(size * size);
  const r = diameter / 2;
  const step = Math.ceil(diameter * 1.5);
  let id = 0;
  for (let cy = step / 2; cy + r < size - 1; cy += step) {
    for (let cx = step / 2; cx + r < size - 1; cx += step) {
      id++;
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) data[y * size + x] = id;
    }
  }
  return { width: size, height: size, data };
}
