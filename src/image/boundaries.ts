import { checkPlane, type PixelArray, type Plane } from './plane.js';

/**
 * Inner boundaries of a label map (`[H, W]`, 0 = background): the labelled pixels with a
 * 4-neighbour of another label, 1-pixel wide, so two touching objects are parted by 2 pixels.
 * With `ignoreBackground`, only neighbours of another non-zero label count (the contacts between
 * objects). Pixels on the image border count only their neighbours inside the image.
 * Returns 1 on boundary pixels, 0 elsewhere.
 */
export function innerBoundaries(labels: Plane<PixelArray>, options: { ignoreBackground?: boolean } = {}): Uint8Array {
  checkPlane(labels, 'innerBoundaries');
  const { width, height, data } = labels;
  const ignoreBackground = options.ignoreBackground ?? false;
  const differs = (id: number, other: number) => other !== id && !(ignoreBackground && other === 0);
  const boundary = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const id = data[i];
      if (id === 0) continue;
      if (
        (x > 0 && differs(id, data[i - 1])) ||
        (x < width - 1 && differs(id, data[i + 1])) ||
        (y > 0 && differs(id, data[i - width])) ||
        (y < height - 1 && differs(id, data[i + width]))
      ) {
        boundary[i] = 1;
      }
    }
  }
  return boundary;
}
