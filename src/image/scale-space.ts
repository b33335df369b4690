/**
 * The characteristic scale of an image: the Gaussian σ at which the scale-normalised Laplacian of
 * Gaussian, σ²∇²(G_σ ∗ I), has the most energy (mean square over the image). This is Lindeberg's
 * automatic scale selection (T. Lindeberg, *Feature detection with automatic scale selection*,
 * IJCV 30, 1998) applied to a whole image: a bright or dark disc of radius r answers most strongly
 * at σ = r/√2, so an image of blobs peaks near their typical size. Unlike a network's first pass,
 * the measure is equivariant: the same image at twice the resolution peaks at exactly twice the σ,
 * however far that lies from anything a model has seen (infer/rescale.ts relies on this).
 */
import { gaussianBlurPlane } from './gaussian.js';
import { checkPlane, type Plane } from './plane.js';
import { resampleImage } from './resample.js';
import type { FloatImage } from './types.js';

/**
 * The σ grid, px: from `minSigmaPx` up in `stepsPerOctave` steps per doubling, while σ stays below
 * `maxSigmaFraction` of the image's shorter side (a blob wider than that is not seen whole).
 */
export const SCALE_SPACE = { minSigmaPx: 1, stepsPerOctave: 4, maxSigmaFraction: 1 / 4 } as const;

/** The energy of σ²∇²(G_σ ∗ I) at each σ of the grid. */
export interface LaplacianSpectrum {
  sigmasPx: number[];
  /** Mean over pixels of (σ²∇²(G_σ ∗ I))², intensities as given (the peak does not depend on their scale). */
  energies: number[];
}

/** The image's mean over channels `[H, W]`. */
function grayPlane(image: FloatImage): Plane<Float32Array> {
  const { width, height, channels, data } = image;
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += data[i * channels + c];
    out[i] = sum / channels;
  }
  return { width, height, data: out };
}

/** Mean of (s²·∇²)² of a blurred plane, with the 5-point Laplacian and clamped edges. */
function meanNormalisedLaplacianEnergy({ width, height, data }: Plane<Float32Array>, sigmaPx: number): number {
  const s2 = sigmaPx * sigmaPx;
  let sum = 0;
  for (let y = 0; y < height; y++) {
    const up = y > 0 ? -width : 0;
    const down = y < height - 1 ? width : 0;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const left = x > 0 ? data[i - 1] : data[i];
      const right = x < width - 1 ? data[i + 1] : data[i];
      const v = s2 * (left + right + data[i + up] + data[i + down] - 4 * data[i]);
      sum += v * v;
    }
  }
  return sum / (width * height);
}

/**
 * The Laplacian energy spectrum of an image `[H, W, C]` (channels averaged). Large σ are measured
 * on a copy shrunk by a power of two (area averaging) so that σ stays 2–4 px there: the normalised
 * Laplacian is the same quantity at every resolution, and the cost stays near a few full-size blurs.
 */
export function laplacianSpectrum(image: FloatImage): LaplacianSpectrum {
  checkPlane(image, 'laplacianSpectrum', { channels: image.channels });
  const { minSigmaPx, stepsPerOctave, maxSigmaFraction } = SCALE_SPACE;
  const maxSigmaPx = Math.min(image.width, image.height) * maxSigmaFraction;
  const levels = new Map<number, Plane<Float32Array>>();
  const level = (shrink: number): Plane<Float32Array> => {
    let plane = levels.get(shrink);
    if (!plane) {
      const width = Math.max(1, Math.round(image.width / shrink));
      const height = Math.max(1, Math.round(image.height / shrink));
      plane = grayPlane(shrink === 1 ? image : resampleImage(image, { width, height }));
      levels.set(shrink, plane);
    }
    return plane;
  };
  const sigmasPx: number[] = [];
  const energies: number[] = [];
  for (let k = 0; ; k++) {
    const sigmaPx = minSigmaPx * 2 ** (k / stepsPerOctave);
    if (sigmaPx > maxSigmaPx) break;
    const shrink = 2 ** Math.max(0, Math.floor(Math.log2(sigmaPx / 2)));
    const source = level(shrink);
    const plane = { ...source, data: Float32Array.from(source.data) };
    const sigmaAtLevel = sigmaPx / shrink;
    gaussianBlurPlane(plane, sigmaAtLevel, new Float32Array(plane.data.length));
    sigmasPx.push(sigmaPx);
    energies.push(meanNormalisedLaplacianEnergy(plane, sigmaAtLevel));
  }
  return { sigmasPx, energies };
}

/**
 * The σ, px, at which an image's Laplacian energy peaks (see the module comment), refined by a
 * parabola through the peak and its neighbours in log σ. Undefined when the peak is at either end
 * of the grid: at the smallest σ it is pixel noise or texture, at the largest the objects are as
 * large as the image and their size cannot be read off it; also for flat or tiny images.
 * @param image `[H, W, C]`, any intensity range.
 */
export function characteristicScale(image: FloatImage): number | undefined {
  const { sigmasPx, energies } = laplacianSpectrum(image);
  let peak = 0;
  for (let k = 1; k < energies.length; k++) if (energies[k] > energies[peak]) peak = k;
  if (peak === 0 || peak === energies.length - 1 || !(energies[peak] > 0)) return undefined;
  const [before, at, after] = [energies[peak - 1], energies[peak], energies[peak + 1]];
  const curvature = before - 2 * at + after;
  const offset = curvature < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (before - after)) / curvature)) : 0;
  return sigmasPx[peak] * 2 ** (offset / SCALE_SPACE.stepsPerOctave);
}
