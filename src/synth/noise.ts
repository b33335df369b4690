import type { PlaneSize } from '../image/plane.js';
import type { Random } from '../util/random.js';

/**
 * Textures and camera noise for the synthetic smear generator (the lens blur is
 * image/gaussian.ts's). Textures are whole `[H, W]` float planes, which is much cheaper than
 * evaluating noise per object.
 */

/**
 * Smooth value noise in about [−1, 1], `[H, W]` of `size`: random values on a lattice of
 * `cellSize` pixels, interpolated bilinearly with smoothstep weights.
 */
export function valueNoise(size: PlaneSize, cellSize: number, random: Random): Float32Array {
  const { width, height } = size;
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
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
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
