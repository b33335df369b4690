import { PyocyteError } from '../util/errors.js';
import { checkPlane, type Plane, type PlaneSize } from './plane.js';
import type { FloatImage } from './types.js';

/**
 * Resampling to a common resolution. Images shrink by area averaging (every input pixel counts,
 * no aliasing of fine texture) and grow bilinearly; labels use nearest neighbour so no new class
 * or object id is ever invented. Both use pixel-centre alignment, so they stay registered.
 */

/** Per output index along one axis: the input indices and weights that make it (CSR layout). */
interface AxisWeights {
  offsets: Int32Array;
  indices: Int32Array;
  weights: Float32Array;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const indices: number[] = [];
  const weights: number[] = [];
  const offsets = new Int32Array(outSize + 1);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (outSize < inSize) {
      // Box filter: the input pixels [o·scale, (o+1)·scale) overlap, weighted by overlap length.
      const start = o * scale;
      const end = start + scale;
      for (let i = Math.floor(start); i < Math.min(inSize, Math.ceil(end)); i++) {
        const overlap = Math.min(end, i + 1) - Math.max(start, i);
        if (overlap > 1e-9) {
          indices.push(i);
          weights.push(overlap / scale);
        }
      }
    } else {
      const source = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const i0 = Math.floor(source);
      const t = source - i0;
      indices.push(i0);
      weights.push(1 - t);
      if (t > 0 && i0 + 1 < inSize) {
        indices.push(i0 + 1);
        weights.push(t);
      }
    }
    offsets[o + 1] = indices.length;
  }
  return { offsets, indices: Int32Array.from(indices), weights: Float32Array.from(weights) };
}

/**
 * Resamples an image `[H, W, C]` to `size`: area average along an axis that shrinks, bilinear
 * along one that grows (each axis separately).
 */
export function resampleImage(image: FloatImage, size: PlaneSize): FloatImage {
  const { width, height } = size;
  checkPlane({ width, height }, 'resampleImage (new size)');
  checkPlane(image, 'resampleImage', { channels: image.channels });
  const { channels } = image;
  if (width === image.width && height === image.height) {
    return { width, height, channels, data: image.data.slice() };
  }
  const horizontal = axisWeights(image.width, width);
  const vertical = axisWeights(image.height, height);
  // Rows first: [H_in, W_out, C], then columns: [H_out, W_out, C].
  const rows = new Float32Array(image.height * width * channels);
  const src = image.data;
  for (let y = 0; y < image.height; y++) {
    const inRow = y * image.width * channels;
    const outRow = y * width * channels;
    for (let x = 0; x < width; x++) {
      for (let k = horizontal.offsets[x]; k < horizontal.offsets[x + 1]; k++) {
        const from = inRow + horizontal.indices[k] * channels;
        const w = horizontal.weights[k];
        for (let c = 0; c < channels; c++) rows[outRow + x * channels + c] += w * src[from + c];
      }
    }
  }
  const out = new Float32Array(height * width * channels);
  const rowLength = width * channels;
  for (let y = 0; y < height; y++) {
    const to = y * rowLength;
    for (let k = vertical.offsets[y]; k < vertical.offsets[y + 1]; k++) {
      const from = vertical.indices[k] * rowLength;
      const w = vertical.weights[k];
      for (let i = 0; i < rowLength; i++) out[to + i] += w * rows[from + i];
    }
  }
  return { width, height, channels, data: out };
}

/**
 * Resamples labels (class indices or object ids) to `size` by nearest neighbour: the output holds
 * only values that were in the input, in the same array type.
 */
export function resampleLabels<T extends Uint8Array | Int32Array>(plane: Plane<T>, size: PlaneSize): Plane<T> {
  const { width: newWidth, height: newHeight } = size;
  checkPlane({ width: newWidth, height: newHeight }, 'resampleLabels (new size)');
  checkPlane(plane, 'resampleLabels');
  const { width, height, data: labels } = plane;
  const out = new (labels.constructor as new (length: number) => T)(newWidth * newHeight);
  const columns = new Int32Array(newWidth);
  for (let x = 0; x < newWidth; x++) columns[x] = Math.min(width - 1, Math.floor(((x + 0.5) * width) / newWidth));
  for (let y = 0; y < newHeight; y++) {
    const row = Math.min(height - 1, Math.floor(((y + 0.5) * height) / newHeight)) * width;
    const to = y * newWidth;
    for (let x = 0; x < newWidth; x++) out[to + x] = labels[row + columns[x]];
  }
  return { width: newWidth, height: newHeight, data: out };
}

/** The size of an image after scaling by `scale` (rounded, at least 1×1). */
export function scaledSize(width: number, height: number, scale: number): [number, number] {
  if (!(Number.isFinite(scale) && scale > 0)) {
    throw new PyocyteError(`the scale factor must be a positive number, got ${scale}`);
  }
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}
