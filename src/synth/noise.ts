import type { Random } from '../util/random.js';

/**
 * Textures and optics for the synthetic smear generator: value noise, Gaussian blur and
 * camera noise. All operate on whole `[H, W]` float planes, which is much cheaper than
 * evaluating noise per object.
 */

/**
 * Smooth value noise in about [−1, 1], `[H, W]`: random values on a lattice of `cellSize`
 * pixels, interpolated bilinearly with smoothstep weights.
 */
export function valueNoise(width: number, height: number, cellSize: number, random: Random): Float32Array {
  const step = Math.max(1, cellSize);
  const columns = Math.ceil(width / step) + 2;
  const rows = Math.ceil(height / step) + 2;
  const lattice = new Float32Array(columns * rows);
  for (let i = 0; i < lattice.length; i++) lattice[i] = random.uniform(-1, 1);
  // Random sub-cell offset so lattice points don't line up across images.
  const offsetX = random.uniform(0, step);
  const offsetY = random.uniform(0, step);
  const column = new Int32Array(width);
  const weightX = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const g = (x + offsetX) / step;
    column[x] = Math.floor(g);
    const f = g - column[x];
    weightX[x] = f * f * (3 - 2 * f);
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const g = (y + offsetY) / step;
    const row = Math.floor(g);
    const f = g - row;
    const wy = f * f * (3 - 2 * f);
    const top = row * columns;
    const bottom = top + columns;
    const base = y * width;
    for (let x = 0; x < width; x++) {
      const c = column[x];
      const wx = weightX[x];
      const upper = lattice[top + c] + (lattice[top + c + 1] - lattice[top + c]) * wx;
      const lower = lattice[bottom + c] + (lattice[bottom + c + 1] - lattice[bottom + c]) * wx;
      out[base + x] = upper + (lower - upper) * wy;
    }
  }
  return out;
}

/** The normalised 1-D Gaussian kernel of `sigma` pixels, radius ⌈3σ⌉. */
export function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const value = Math.exp(-(i * i) / (2 * sigma * sigma));
    kernel[i + radius] = value;
    sum += value;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return kernel;
}

/**
 * Blurs one `[H, W]` plane in place with a separable Gaussian of `sigma` pixels (edges clamped).
 * `scratch` must hold `width × height` floats. Sigmas below 0.1 px leave the plane unchanged.
 */
export function gaussianBlurPlane(plane: Float32Array, width: number, height: number, sigma: number, scratch: Float32Array): void {
  if (sigma < 0.1) return;
  const kernel = gaussianKernel(sigma);
  const taps = kernel.length;
  const radius = (taps - 1) / 2;
  // Rows go through a padded copy so the inner loop needs no edge tests.
  const padded = new Float32Array(width + 2 * radius);
  for (let y = 0; y < height; y++) {
    const base = y * width;
    padded.set(plane.subarray(base, base + width), radius);
    padded.fill(plane[base], 0, radius);
    padded.fill(plane[base + width - 1], radius + width);
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = 0; k < taps; k++) sum += kernel[k] * padded[x + k];
      scratch[base + x] = sum;
    }
  }
  // Columns are summed a whole row at a time, which walks memory in order.
  for (let y = 0; y < height; y++) {
    const base = y * width;
    plane.fill(0, base, base + width);
    for (let k = 0; k < taps; k++) {
      const source = Math.min(height - 1, Math.max(0, y + k - radius)) * width;
      const weight = kernel[k];
      for (let x = 0; x < width; x++) plane[base + x] += weight * scratch[source + x];
    }
  }
}

let normalTable: Float32Array | undefined;

/** The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(probability: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (probability < 0.02425) return tail(Math.sqrt(-2 * Math.log(probability)));
  if (probability > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - probability)));
  const q = probability - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Standard normal draws for camera noise, two per 32-bit random number: each 16-bit half
 * indexes a table of the normal's 65536 quantiles. Coarse in the far tails (|z| ≤ 4.3), which
 * noise does not need, and several times faster than Box–Muller.
 */
export class NormalSource {
  private readonly table: Float32Array;
  private spare = 0;
  private hasSpare = false;
  constructor(private readonly random: Random) {
    if (!normalTable) {
      normalTable = new Float32Array(65536);
      for (let i = 0; i < 65536; i++) normalTable[i] = normalQuantile((i + 0.5) / 65536);
    }
    this.table = normalTable;
  }

  /** A standard normal draw. */
  next(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const bits = this.random.nextUint32();
    this.spare = this.table[bits & 0xffff];
    this.hasSpare = true;
    return this.table[bits >>> 16];
  }

  /** Fills `out` with standard normal draws (the same sequence as calling `next` repeatedly from a fresh source). */
  fill(out: Float32Array): void {
    let i = 0;
    if (this.hasSpare && out.length > 0) {
      out[i++] = this.spare;
      this.hasSpare = false;
    }
    const table = this.table;
    for (; i + 1 < out.length; i += 2) {
      const bits = this.random.nextUint32();
      out[i] = table[bits >>> 16];
      out[i + 1] = table[bits & 0xffff];
    }
    if (i < out.length) out[i] = this.next();
  }
}
