/**
 * Photometric augmentation of an image patch (never the labels): stain jitter by colour
 * deconvolution, hue/saturation, brightness, contrast, gamma, Gaussian blur and noise. Patches
 * are channel-planar, `[C, H, W]`, as the engine takes them. Written for speed: the linear steps
 * are fused into one 3×3 affine pass, logarithms, exponentials and powers come from lookup
 * tables, noise from a table of normal deviates, blur is separable.
 */
import { Random } from '../util/random.js';
import type { PlanarImage } from '../image/plane.js';
import { gaussianBlur } from './blur.js';

/** The drawn photometric changes of one patch; the identity is `IDENTITY_PHOTOMETRIC`. */
export interface PhotometricParams {
  /** Added to every intensity (images are in [0, 1]); 0 for none. */
  brightness: number;
  /** Factor on the distance of each value from its channel's patch mean; 1 for none. */
  contrast: number;
  /** Exponent applied to intensities in [0, 1]; 1 for none. */
  gamma: number;
  /** Hue rotation (in the YIQ chroma plane), radians; RGB only; 0 for none. */
  hueRadians: number;
  /** Chroma factor (0 = gray); RGB only; 1 for none. */
  saturation: number;
  /** Per-stain (H, E, DAB) factor on concentrations; RGB only; null for no stain jitter. */
  stainScale: readonly [number, number, number] | null;
  /** Per-stain shift of concentrations in optical-density units; used with `stainScale`. */
  stainShift: readonly [number, number, number];
  /** Standard deviation of additive Gaussian noise; 0 for none. */
  noiseSigma: number;
  /** Seeds the noise (any 32-bit integer). */
  noiseSeed: number;
  /** Standard deviation of the Gaussian blur in pixels; 0 for none. */
  blurSigmaPx: number;
}

/** No photometric change. */
export const IDENTITY_PHOTOMETRIC: PhotometricParams = Object.freeze({
  brightness: 0,
  contrast: 1,
  gamma: 1,
  hueRadians: 0,
  saturation: 1,
  stainScale: null,
  stainShift: [0, 0, 0] as const,
  noiseSigma: 0,
  noiseSeed: 1,
  blurSigmaPx: 0,
});

type Mat3 = number[]; // row-major 3×3

function multiply(a: Mat3, b: Mat3): Mat3 {
  const out = new Array<number>(9).fill(0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return out;
}

function invert(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d].map((v) => v / det);
}

/**
 * Ruifrok & Johnston's stain vectors (rows: haematoxylin, eosin, DAB; columns: optical density
 * in R, G, B), as in scikit-image's `rgb_from_hed`. Giemsa/Diff-Quik smears deconvolve usefully
 * with them too: the blue/purple and pink components land on H and E.
 */
export const RGB_FROM_HED: readonly number[] = Object.freeze([0.65, 0.7, 0.29, 0.07, 0.99, 0.11, 0.27, 0.57, 0.78]);
/** Optical density (row vector) → stain concentrations: the inverse of {@link RGB_FROM_HED}. */
export const HED_FROM_RGB: readonly number[] = Object.freeze(invert([...RGB_FROM_HED]));

/**
 * The optical-density map of stain jitter, `od' = od·K + offset` (row vectors): deconvolve into
 * H, E, D concentrations, scale and shift each, recompose. Concentrations are not clipped at 0,
 * which keeps the map linear (exact for scale 1, shift 0).
 */
export function stainMatrix(scale: readonly number[], shift: readonly number[]): { matrix: number[]; offset: number[] } {
  const scaled = multiply(multiply([...HED_FROM_RGB], [scale[0], 0, 0, 0, scale[1], 0, 0, 0, scale[2]]), [...RGB_FROM_HED]);
  const offset = [0, 1, 2].map((j) => shift[0] * RGB_FROM_HED[j] + shift[1] * RGB_FROM_HED[3 + j] + shift[2] * RGB_FROM_HED[6 + j]);
  return { matrix: scaled, offset };
}

const RGB_TO_YIQ: Mat3 = [0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312];
const YIQ_TO_RGB: Mat3 = invert(RGB_TO_YIQ);

/** The RGB 3×3 matrix (column vectors) rotating hue by `hueRadians` and scaling chroma by `saturation`. */
export function hueSaturationMatrix(hueRadians: number, saturation: number): number[] {
  const c = Math.cos(hueRadians) * saturation;
  const s = Math.sin(hueRadians) * saturation;
  return multiply(YIQ_TO_RGB, multiply([1, 0, 0, 0, c, -s, 0, s, c], RGB_TO_YIQ));
}

// Lookup tables, read at the nearest entry: several times cheaper than Math.log/exp/pow, and
// finer than the 8-bit steps of the source images.
const LOG_STEPS = 4096;
const MIN_INTENSITY = 1 / 256;
/** −ln(max(v, 1/256)) at v = i / LOG_STEPS. */
const OPTICAL_DENSITY = Float32Array.from({ length: LOG_STEPS + 1 }, (_, i) => -Math.log(Math.max(i / LOG_STEPS, MIN_INTENSITY)));
const MAX_DENSITY = 12;
const EXP_STEPS = 8192;
/** exp(−od) at od = i·MAX_DENSITY/EXP_STEPS. */
const TRANSMISSION = Float32Array.from({ length: EXP_STEPS + 1 }, (_, i) => Math.exp(-(i * MAX_DENSITY) / EXP_STEPS));
const GAMMA_STEPS = 4096;
const gammaTable = new Float32Array(GAMMA_STEPS + 1);
/** Standard normal deviates, indexed by a fast integer generator for noise. */
const NORMAL_TABLE_BITS = 12;
const NORMAL_TABLE = (() => {
  const rng = new Random(0x6e6f6973);
  return Float32Array.from({ length: 1 << NORMAL_TABLE_BITS }, () => rng.normal());
})();

/**
 * v clipped to [0, high] without branches: saturated pixels are common in smears (white
 * background), and mispredicted branches would cost more than the arithmetic.
 */
function clip(v: number, high: number): number {
  return 0.5 * (Math.abs(v) - Math.abs(v - high) + high);
}

/** Optical density of an intensity via the table (intensities outside [0, 1] are clipped). */
function density(v: number): number {
  return OPTICAL_DENSITY[(clip(v, 1) * LOG_STEPS + 0.5) | 0];
}

/** Intensity of an optical density via the table. */
function transmit(od: number): number {
  return TRANSMISSION[(clip(od, MAX_DENSITY) * (EXP_STEPS / MAX_DENSITY) + 0.5) | 0];
}

/** Stain jitter of a planar RGB image `[3, H, W]`, in place (intensities below 1/256 count as 1/256). */
export function applyStainJitter(data: Float32Array, scale: readonly number[], shift: readonly number[]): void {
  const { matrix: k, offset } = stainMatrix(scale, shift);
  const k0 = k[0],
    k1 = k[1],
    k2 = k[2],
    k3 = k[3],
    k4 = k[4],
    k5 = k[5],
    k6 = k[6],
    k7 = k[7],
    k8 = k[8];
  const b0 = offset[0],
    b1 = offset[1],
    b2 = offset[2];
  const plane = data.length / 3;
  for (let i = 0; i < plane; i++) {
    const r = density(data[i]);
    const g = density(data[i + plane]);
    const b = density(data[i + 2 * plane]);
    data[i] = transmit(r * k0 + g * k3 + b * k6 + b0);
    data[i + plane] = transmit(r * k1 + g * k4 + b * k7 + b1);
    data[i + 2 * plane] = transmit(r * k2 + g * k5 + b * k8 + b2);
  }
}

/** Clips to [0, 1], then applies the gamma table when `useGamma`. */
function finish(v: number, useGamma: boolean): number {
  const clipped = clip(v, 1);
  return useGamma ? gammaTable[(clipped * GAMMA_STEPS + 0.5) | 0] : clipped;
}

/** A final per-channel map `(v − offset[c]) · scale[c]`, e.g. the network's input normalisation. */
export interface ChannelAffine {
  offset: ArrayLike<number>;
  scale: ArrayLike<number>;
}

const IDENTITY_AFFINE: ChannelAffine = { offset: [0, 0, 0, 0], scale: [1, 1, 1, 1] };

/** Applies a {@link ChannelAffine} to a planar `[C, H, W]` image in place. */
export function applyChannelAffine(data: Float32Array, channels: number, affine: ChannelAffine): void {
  const plane = data.length / channels;
  for (let c = 0; c < channels; c++) {
    const o = affine.offset[c];
    const s = affine.scale[c];
    for (let i = c * plane; i < (c + 1) * plane; i++) data[i] = (data[i] - o) * s;
  }
}

/**
 * Hue/saturation, contrast and brightness fused into one affine map per pixel, then clipping to
 * [0, 1] and gamma, in place, on a planar `[C, H, W]` image. Contrast is about each channel's
 * patch mean (after the hue change). `output`, when given, is applied last in the same pass.
 */
export function applyToneAndColor(
  data: Float32Array,
  channels: number,
  params: PhotometricParams,
  output: ChannelAffine = IDENTITY_AFFINE,
): void {
  const { brightness, contrast, gamma } = params;
  const plane = data.length / channels;
  const mean = new Float64Array(channels);
  if (contrast !== 1) {
    // The pivot needs no precision: every 7th value (7 shares no factor with row lengths that
    // are powers of two, so the sample spreads over all columns) is plenty.
    const step = plane >= 4096 ? 7 : 1;
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      let count = 0;
      for (let i = c * plane; i < (c + 1) * plane; i += step, count++) sum += data[i];
      mean[c] = sum / count;
    }
  }
  const useGamma = gamma !== 1;
  if (useGamma) for (let i = 0; i <= GAMMA_STEPS; i++) gammaTable[i] = (i / GAMMA_STEPS) ** gamma;
  if (channels === 3 && (params.hueRadians !== 0 || params.saturation !== 1)) {
    const m = hueSaturationMatrix(params.hueRadians, params.saturation);
    const a0 = m[0] * contrast,
      a1 = m[1] * contrast,
      a2 = m[2] * contrast;
    const a3 = m[3] * contrast,
      a4 = m[4] * contrast,
      a5 = m[5] * contrast;
    const a6 = m[6] * contrast,
      a7 = m[7] * contrast,
      a8 = m[8] * contrast;
    // mean(M·v) = M·mean(v), so the contrast pivot needs no second pass.
    const t0 = (1 - contrast) * (m[0] * mean[0] + m[1] * mean[1] + m[2] * mean[2]) + brightness;
    const t1 = (1 - contrast) * (m[3] * mean[0] + m[4] * mean[1] + m[5] * mean[2]) + brightness;
    const t2 = (1 - contrast) * (m[6] * mean[0] + m[7] * mean[1] + m[8] * mean[2]) + brightness;
    const o0 = output.offset[0],
      o1 = output.offset[1],
      o2 = output.offset[2];
    const s0 = output.scale[0],
      s1 = output.scale[1],
      s2 = output.scale[2];
    for (let i = 0; i < plane; i++) {
      const r = data[i];
      const g = data[i + plane];
      const b = data[i + 2 * plane];
      data[i] = (finish(a0 * r + a1 * g + a2 * b + t0, useGamma) - o0) * s0;
      data[i + plane] = (finish(a3 * r + a4 * g + a5 * b + t1, useGamma) - o1) * s1;
      data[i + 2 * plane] = (finish(a6 * r + a7 * g + a8 * b + t2, useGamma) - o2) * s2;
    }
    return;
  }
  for (let c = 0; c < channels; c++) {
    const offset = (1 - contrast) * mean[c] + brightness;
    const o = output.offset[c];
    const s = output.scale[c];
    for (let i = c * plane; i < (c + 1) * plane; i++) data[i] = (finish(contrast * data[i] + offset, useGamma) - o) * s;
  }
}

/**
 * Adds N(0, sigma²) noise to every value of a planar `[C, H, W]` image, in place, and clips to
 * [0, 1]; then applies `output` when given.
 */
export function addGaussianNoise(
  data: Float32Array,
  sigma: number,
  seed: number,
  options: { channels?: number; output?: ChannelAffine } = {},
): void {
  const channels = options.channels ?? 1;
  const output = options.output ?? IDENTITY_AFFINE;
  const plane = data.length / channels;
  let state = seed | 0 || 0x2545f491;
  const mask = (1 << NORMAL_TABLE_BITS) - 1;
  for (let c = 0; c < channels; c++) {
    const o = output.offset[c];
    const s = output.scale[c];
    const end = (c + 1) * plane;
    for (let i = c * plane; i < end; i += 2) {
      // xorshift32, whose two 16-bit halves index the table for two values: no allocation,
      // a few integer operations per value.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      data[i] = (clip(data[i] + sigma * NORMAL_TABLE[state & mask], 1) - o) * s;
      if (i + 1 < end) data[i + 1] = (clip(data[i + 1] + sigma * NORMAL_TABLE[(state >>> 16) & mask], 1) - o) * s;
    }
  }
}

/**
 * Applies the photometric changes to a planar `[C, H, W]` patch in place, in the order
 * stain → hue/saturation, contrast, brightness, gamma → blur → noise, then `output` (e.g. the
 * normalisation), fused into the last pass that runs. Colour steps need C = 3 and are skipped
 * for other channel counts.
 */
export function applyPhotometric(image: PlanarImage<Float32Array>, params: PhotometricParams, output?: ChannelAffine): void {
  const { data, channels } = image;
  if (channels === 3 && params.stainScale) applyStainJitter(data, params.stainScale, params.stainShift);
  const tone =
    params.brightness !== 0 ||
    params.contrast !== 1 ||
    params.gamma !== 1 ||
    (channels === 3 && (params.hueRadians !== 0 || params.saturation !== 1));
  const blur = params.blurSigmaPx > 0;
  const noise = params.noiseSigma > 0;
  if (tone) applyToneAndColor(data, channels, params, blur || noise ? undefined : output);
  if (blur) gaussianBlur(image, params.blurSigmaPx);
  if (noise) addGaussianNoise(data, params.noiseSigma, params.noiseSeed, { channels, output });
  if (output && !noise && (blur || !tone)) applyChannelAffine(data, channels, output);
}
