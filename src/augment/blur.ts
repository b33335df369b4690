/**
 * Separable Gaussian blur of channel-planar patches, for the blur augmentation (slight defocus).
 * The kernel is image/gaussian.ts's, reaching 2σ; the interior runs unrolled per kernel radius
 * and only the borders reflect.
 */
import { gaussianKernel } from '../image/gaussian.js';
import { mirrorIndex, type PlanarImage, type PlaneSize } from '../image/plane.js';

let blurScratch = new Float32Array(0);

/**
 * The taps of a normalised Gaussian from the centre out, `[w0, w1, …, w_radius]`. It reaches 2σ,
 * 95 % of the mass; the cut tail is renormalised away, which is invisible at σ ≤ 2.
 */
export function gaussianHalfKernel(sigmaPx: number): Float64Array {
  const kernel = gaussianKernel(sigmaPx, { truncate: 2 });
  return kernel.subarray((kernel.length - 1) / 2);
}

/**
 * `count` consecutive outputs from `start`, each Σ_k half[k]·(src[i − k·step] + src[i + k·step]),
 * every tap known to be in range. Unrolled per radius: this is the costliest photometric loop.
 */
function symmetricRun(src: Float32Array, dst: Float32Array, start: number, count: number, step: number, half: Float64Array): void {
  const end = start + count;
  const h0 = half[0];
  const h1 = half[1];
  const s2 = 2 * step;
  const s3 = 3 * step;
  if (half.length === 2) {
    for (let i = start; i < end; i++) dst[i] = h0 * src[i] + h1 * (src[i - step] + src[i + step]);
  } else if (half.length === 3) {
    const h2 = half[2];
    for (let i = start; i < end; i++) dst[i] = h0 * src[i] + h1 * (src[i - step] + src[i + step]) + h2 * (src[i - s2] + src[i + s2]);
  } else if (half.length === 4) {
    const h2 = half[2];
    const h3 = half[3];
    for (let i = start; i < end; i++) {
      dst[i] = h0 * src[i] + h1 * (src[i - step] + src[i + step]) + h2 * (src[i - s2] + src[i + s2]) + h3 * (src[i - s3] + src[i + s3]);
    }
  } else {
    for (let i = start; i < end; i++) {
      let acc = h0 * src[i];
      for (let k = 1; k < half.length; k++) acc += half[k] * (src[i - k * step] + src[i + k * step]);
      dst[i] = acc;
    }
  }
}

/** One output of a 1-D pass near a border: taps reflect within the line of `count` samples. */
function reflectedTap(src: Float32Array, line: number, p: number, count: number, step: number, half: Float64Array): number {
  let acc = half[0] * src[line + p * step];
  for (let k = 1; k < half.length; k++) {
    acc += half[k] * (src[line + mirrorIndex(p - k, count) * step] + src[line + mirrorIndex(p + k, count) * step]);
  }
  return acc;
}

/** Horizontal then vertical pass over one plane of `data`, which starts at `start`. */
function blurPlane(data: Float32Array, tmp: Float32Array, start: number, size: PlaneSize, half: Float64Array): void {
  const { width, height } = size;
  const radius = half.length - 1;
  for (let y = 0; y < height; y++) {
    const row = start + y * width;
    if (width > 2 * radius) symmetricRun(data, tmp, row + radius, width - 2 * radius, 1, half);
    for (let x = 0; x < width; x++) {
      if (x >= radius && x < width - radius) continue;
      tmp[row + x] = reflectedTap(data, row, x, width, 1, half);
    }
  }
  // Vertical: whole rows at a time, which keeps the walk through memory sequential.
  for (let y = 0; y < height; y++) {
    const row = start + y * width;
    if (y >= radius && y < height - radius) {
      symmetricRun(tmp, data, row, width, width, half);
    } else {
      for (let x = 0; x < width; x++) data[row + x] = reflectedTap(tmp, start + x, y, height, width, half);
    }
  }
}

/** Separable Gaussian blur of a planar `[C, H, W]` image, in place, reflecting at the borders; the kernel reaches 2σ. */
export function gaussianBlur(image: PlanarImage<Float32Array>, sigmaPx: number): void {
  const { width, height, channels, data } = image;
  const half = gaussianHalfKernel(sigmaPx);
  if (blurScratch.length < data.length) blurScratch = new Float32Array(data.length);
  for (let c = 0; c < channels; c++) blurPlane(data, blurScratch, c * width * height, image, half);
}
