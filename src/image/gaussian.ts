/**
 * Sampled Gaussians, built in one place: the profile exp(−d²/2σ²), the normalised 1-D kernel that
 * every separable blur uses (synthetic optics, blur augmentation, distance-map smoothing), and
 * the clamped-edge blur of a float plane. Tiling's blend weights use the profile.
 */
import { checkPlane, type Plane } from './plane.js';

/**
 * Writes exp(−(i − centre)² / (2σ²)) for i = 0 … length − 1 into `out`, each value rounded to
 * `out`'s precision, and returns it. Unnormalised: 1 at the centre.
 */
export function gaussianProfile<T extends Float32Array | Float64Array>(out: T, sigmaPx: number, centre: number): T {
  for (let i = 0; i < out.length; i++) {
    const d = i - centre;
    out[i] = Math.exp(-(d * d) / (2 * sigmaPx * sigmaPx));
  }
  return out;
}

/** Options of {@link gaussianKernel}. */
export interface GaussianKernelOptions<T extends Float32Array | Float64Array> {
  /** The kernel reaches ⌈truncate·σ⌉ pixels (at least 1) each side of its centre, as scipy's `truncate`. Default 3. */
  truncate?: number;
  /**
   * `Float64Array` (default) or `Float32Array`: a float32 kernel holds each float32-rounded tap
   * divided by the float64 sum of the exact taps, as the synthetic generator has always built it.
   */
  arrayType?: new (
    length: number,
  ) => T;
}

/**
 * The normalised 1-D Gaussian kernel of σ = `sigmaPx` pixels, `[2r + 1]` with r = ⌈truncate·σ⌉
 * (at least 1), summing to 1. Taps are summed from −r to r, so the kernel is bit-for-bit the one
 * every blur in pyocyte used before it had this one home.
 */
export function gaussianKernel<T extends Float32Array | Float64Array = Float64Array>(
  sigmaPx: number,
  options: GaussianKernelOptions<T> = {},
): T {
  const radius = Math.max(1, Math.ceil((options.truncate ?? 3) * sigmaPx));
  const taps = gaussianProfile(new Float64Array(2 * radius + 1), sigmaPx, radius);
  let sum = 0;
  for (let i = 0; i < taps.length; i++) sum += taps[i];
  const ArrayType = options.arrayType ?? (Float64Array as unknown as new (length: number) => T);
  const kernel = new ArrayType(taps.length);
  kernel.set(taps);
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return kernel;
}

/**
 * Blurs a float plane in place with a separable Gaussian of `sigmaPx` (float32 kernel, radius
 * ⌈3σ⌉, edges clamped). `scratch` must hold `width × height` floats. Sigmas below 0.1 px leave
 * the plane unchanged.
 */
export function gaussianBlurPlane(plane: Plane<Float32Array>, sigmaPx: number, scratch: Float32Array): void {
  if (sigmaPx < 0.1) return;
  checkPlane(plane, 'gaussianBlurPlane');
  const { width, height, data } = plane;
  const kernel = gaussianKernel(sigmaPx, { arrayType: Float32Array });
  const taps = kernel.length;
  const radius = (taps - 1) / 2;
  // Rows go through a padded copy so the inner loop needs no edge tests.
  const padded = new Float32Array(width + 2 * radius);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    padded.set(data.subarray(base, base + width), radius);
    padded.fill(data[base], 0, radius);
    padded.fill(data[base + width - 1], radius + width);
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = 0; k < taps; k++) sum += kernel[k] * padded[x + k];
      scratch[base + x] = sum;
    }
  }
  // Columns are summed a whole row at a time, which walks memory in order.
  for (let y = 0; y < height; y++) {
    const base = y * width;
    data.fill(0, base, base + width);
    for (let k = 0; k < taps; k++) {
      const source = Math.min(height - 1, Math.max(0, y + k - radius)) * width;
      const weight = kernel[k];
      for (let x = 0; x < width; x++) data[base + x] += weight * scratch[source + x];
    }
  }
}
