/**
 * Masked Gaussian smoothing of distance maps for the watershed (the distance transform itself is
 * image/distance.ts).
 */
import { gaussianKernel } from './gaussian.js';
import { checkPlane, type Plane } from './plane.js';

/**
 * Separable Gaussian blur of `source` (σ = `sigmaPx`, default 1; radius ⌈3σ⌉; edges clamped), then
 * zero outside `inside` (same size). Smoothing a distance map removes the one-pixel ridges and
 * bumps of digital boundaries that would otherwise become spurious watershed markers.
 */
export function smoothInsideMask(
  source: Plane<Float32Array>,
  inside: Plane<Uint8Array>,
  options: { sigmaPx?: number } = {},
): Plane<Float32Array> {
  const sigmaPx = options.sigmaPx ?? 1;
  checkPlane(source, 'smoothInsideMask');
  checkPlane(inside, 'smoothInsideMask', { reference: source });
  const { width, height, data: values } = source;
  const mask = inside.data;
  if (!(sigmaPx > 0)) return { width, height, data: Float32Array.from(values, (value, i) => (mask[i] === 0 ? 0 : value)) };
  const kernel = gaussianKernel(sigmaPx);
  const radius = (kernel.length - 1) / 2;
  // Rows without mask pixels need no output, and a vertical window only reads rows within radius.
  const needed = new Uint8Array(height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (mask[row + x] === 0) continue;
      for (let i = Math.max(0, y - radius); i <= Math.min(height - 1, y + radius); i++) needed[i] = 1;
      break;
    }
  }
  const horizontal = new Float32Array(values.length);
  const last = width - 1;
  for (let y = 0; y < height; y++) {
    if (needed[y] === 0) continue;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      if (x >= radius && x + radius <= last) {
        const base = row + x - radius;
        for (let i = 0; i < kernel.length; i++) acc += kernel[i] * values[base + i];
      } else {
        for (let i = -radius; i <= radius; i++) {
          const xi = x + i < 0 ? 0 : x + i > last ? last : x + i;
          acc += kernel[i + radius] * values[row + xi];
        }
      }
      horizontal[row + x] = acc;
    }
  }
  const out = new Float32Array(values.length);
  const accumulator = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let any = false;
    for (let x = 0; x < width && !any; x++) any = mask[row + x] !== 0;
    if (!any) continue;
    accumulator.fill(0);
    for (let i = -radius; i <= radius; i++) {
      const yi = y + i < 0 ? 0 : y + i >= height ? height - 1 : y + i;
      const weight = kernel[i + radius];
      const source = yi * width;
      for (let x = 0; x < width; x++) accumulator[x] += weight * horizontal[source + x];
    }
    for (let x = 0; x < width; x++) out[row + x] = mask[row + x] === 0 ? 0 : accumulator[x];
  }
  return { width, height, data: out };
}
