/**
 * Training-time augmentation: options with defaults for stained-smear cell segmentation, presets,
 * seeded drawing of each patch's transform, and {@link augmentPatch}, which warps image, labels
 * and weight map with one shared coordinate map, then changes the image's colours.
 */
import { PyocyteErrors } from '../util/errors.js';
import type { Random } from '../util/random.js';
import { checkName, lookup } from '../util/registry.js';
import { applyPhotometric, IDENTITY_PHOTOMETRIC, type ChannelAffine, type PhotometricParams } from './color.js';
import { elasticGrid, IDENTITY_GEOMETRY, type GeometryParams } from './geometry.js';
import { warpPatch } from './warp.js';
import type { FloatImage } from '../image/types.js';

type Range = readonly [number, number];

/**
 * What each transform does and how often (`p`, the probability per patch). All fields are
 * required here; build partial variants with {@link augmentOptions}.
 */
export interface AugmentOptions {
  /** Mirror each axis independently with probability p. */
  flip: { p: number };
  /** With probability p, turn by 0–3 quarter turns (uniform). */
  rotate90: { p: number };
  /** Rotate by a uniform angle in ±maxDegrees about the patch centre. */
  rotate: { p: number; maxDegrees: number };
  /** Zoom by a log-uniform factor in `range` (>1 magnifies). */
  scale: { p: number; range: Range };
  /** The U-Net paper's elastic deformation: a gridSize² grid of N(0, sigmaPx²) displacements. */
  elastic: { p: number; gridSize: number; sigmaPx: number };
  /** Add a uniform shift in ±maxShift to intensities in [0, 1]. */
  brightness: { p: number; maxShift: number };
  /** Scale distances from the channel mean by a factor in `range`. */
  contrast: { p: number; range: Range };
  /** Raise intensities to a log-uniform power in `range`. */
  gamma: { p: number; range: Range };
  /** RGB only: rotate hue by ±maxHueDegrees and scale chroma by a factor in `saturationRange`. */
  hueSaturation: { p: number; maxHueDegrees: number; saturationRange: Range };
  /** RGB only: stain jitter, each H/E/D concentration × U(1 ± maxScale) + U(±maxShift) optical density. */
  stain: { p: number; maxScale: number; maxShift: number };
  /** Additive Gaussian noise with a standard deviation drawn from `sigmaRange`. */
  noise: { p: number; sigmaRange: Range };
  /** Gaussian blur with a standard deviation in pixels drawn from `sigmaRangePx`. */
  blur: { p: number; sigmaRangePx: Range };
}

/**
 * The defaults, tuned for stained smears at 40–100×: cells have no preferred orientation (all
 * flips, turns and angles), sizes vary modestly between patients and scanners (±25 %), stain
 * intensity and hue vary between batches, and focus varies a little (blur).
 */
export const DEFAULT_AUGMENT: AugmentOptions = Object.freeze({
  flip: { p: 0.5 },
  rotate90: { p: 1 },
  rotate: { p: 0.5, maxDegrees: 180 },
  scale: { p: 0.3, range: [0.8, 1.25] as const },
  elastic: { p: 0.3, gridSize: 3, sigmaPx: 10 },
  brightness: { p: 0.5, maxShift: 0.15 },
  contrast: { p: 0.5, range: [0.85, 1.15] as const },
  gamma: { p: 0.3, range: [0.8, 1.25] as const },
  hueSaturation: { p: 0.3, maxHueDegrees: 10, saturationRange: [0.8, 1.2] as const },
  stain: { p: 0.3, maxScale: 0.1, maxShift: 0.05 },
  noise: { p: 0.2, sigmaRange: [0.005, 0.03] as const },
  blur: { p: 0.2, sigmaRangePx: [0.5, 1.2] as const },
});

/**
 * The transforms and what they touch: geometric ones move image, labels and weights together;
 * photometric ones change the image only. Each is a key of {@link AugmentOptions}.
 */
export const TRANSFORMS = {
  flip: 'geometric',
  rotate90: 'geometric',
  rotate: 'geometric',
  scale: 'geometric',
  elastic: 'geometric',
  brightness: 'photometric',
  contrast: 'photometric',
  gamma: 'photometric',
  hueSaturation: 'photometric',
  stain: 'photometric',
  noise: 'photometric',
  blur: 'photometric',
} as const satisfies Record<keyof AugmentOptions, 'geometric' | 'photometric'>;
export type TransformName = keyof typeof TRANSFORMS;

/** Overrides per transform, e.g. `{ rotate: { p: 0 }, elastic: { sigmaPx: 6 } }`. */
export type AugmentOverrides = { [K in TransformName]?: Partial<AugmentOptions[K]> };

const withProbabilities = (base: AugmentOptions, p: Partial<Record<TransformName, number>>): AugmentOptions =>
  Object.fromEntries(Object.entries(base).map(([name, t]) => [name, { ...t, p: p[name as TransformName] ?? 0 }])) as never;

/**
 * Named presets: `none`; `light` (flips, turns, mild brightness/contrast); `multiscale` (`light`
 * plus a zoom of ×0.5–×2 on half the patches, for images whose resolution varies or is unknown); `default`
 * ({@link DEFAULT_AUGMENT}); `strong` (more often, wider ranges: small or varied datasets).
 */
const LIGHT = merge(withProbabilities(DEFAULT_AUGMENT, { flip: 0.5, rotate90: 1, brightness: 0.3, contrast: 0.3 }), {
  brightness: { maxShift: 0.1 },
  contrast: { range: [0.9, 1.1] },
});

export const AUGMENT_PRESETS = {
  none: withProbabilities(DEFAULT_AUGMENT, {}),
  light: LIGHT,
  multiscale: merge(LIGHT, { scale: { p: 0.5, range: [0.5, 2] } }),
  default: DEFAULT_AUGMENT,
  strong: merge(DEFAULT_AUGMENT, {
    rotate: { p: 0.7 },
    scale: { p: 0.5, range: [0.7, 1.4] },
    elastic: { p: 0.5, sigmaPx: 12 },
    brightness: { p: 0.7, maxShift: 0.25 },
    contrast: { p: 0.7, range: [0.7, 1.3] },
    gamma: { p: 0.5, range: [0.7, 1.5] },
    hueSaturation: { p: 0.5, maxHueDegrees: 20, saturationRange: [0.6, 1.4] },
    stain: { p: 0.5, maxScale: 0.2, maxShift: 0.1 },
    noise: { p: 0.3, sigmaRange: [0.005, 0.05] },
    blur: { p: 0.3, sigmaRangePx: [0.5, 1.5] },
  }),
} as const;
export type AugmentPresetName = keyof typeof AUGMENT_PRESETS;

function merge(base: AugmentOptions, overrides: AugmentOverrides): AugmentOptions {
  const out = { ...base } as Record<string, unknown>;
  for (const [name, values] of Object.entries(overrides)) {
    checkName(TRANSFORMS, name, 'augmentation transform');
    out[name] = { ...(base[name as TransformName] as object), ...values };
  }
  return out as unknown as AugmentOptions;
}

/** Checks every probability and range, reporting all problems at once. */
export function checkAugmentOptions(options: AugmentOptions): void {
  const problems: string[] = [];
  for (const name of Object.keys(TRANSFORMS) as TransformName[]) {
    const t = options[name] as unknown as Record<string, unknown> | undefined;
    if (!t) {
      problems.push(`${name}: missing (give every transform, or start from a preset with augmentOptions())`);
      continue;
    }
    if (!(typeof t.p === 'number' && t.p >= 0 && t.p <= 1)) problems.push(`${name}.p must be a probability in [0, 1], got ${t.p}`);
    for (const [key, value] of Object.entries(t)) {
      if (Array.isArray(value) && !(value.length === 2 && value[0] <= value[1] && value.every(Number.isFinite))) {
        problems.push(`${name}.${key} must be [low, high] with low ≤ high, got ${JSON.stringify(value)}`);
      } else if (typeof value === 'number' && !(Number.isFinite(value) && value >= 0)) {
        problems.push(`${name}.${key} must be a finite number ≥ 0, got ${value}`);
      }
    }
  }
  const positive: [string, number][] = [
    ['scale.range', options.scale?.range?.[0]],
    ['gamma.range', options.gamma?.range?.[0]],
  ];
  for (const [label, low] of positive) if (low !== undefined && !(low > 0)) problems.push(`${label} must be > 0, got ${low}`);
  if (options.elastic && !(Number.isInteger(options.elastic.gridSize) && options.elastic.gridSize >= 2)) {
    problems.push(`elastic.gridSize must be an integer ≥ 2, got ${options.elastic.gridSize}`);
  }
  if (problems.length > 0) throw new PyocyteErrors('invalid augmentation options', problems);
}

/**
 * Options from a preset (default `'default'`) with per-transform overrides, checked:
 * `augmentOptions({ elastic: { p: 0 } }, 'strong')`.
 */
export function augmentOptions(overrides: AugmentOverrides = {}, preset: AugmentPresetName | string = 'default'): AugmentOptions {
  const options = merge(lookup(AUGMENT_PRESETS, preset, 'augmentation preset') as AugmentOptions, overrides);
  checkAugmentOptions(options);
  return options;
}

/** Options from a preset name, full options, or `false` (no augmentation). */
export function resolveAugment(spec: AugmentOptions | AugmentPresetName | string | false): AugmentOptions {
  if (spec === false) return AUGMENT_PRESETS.none;
  if (typeof spec === 'string') return lookup(AUGMENT_PRESETS, spec, 'augmentation preset') as AugmentOptions;
  checkAugmentOptions(spec);
  return spec;
}

/** The same options with every transform applied to every patch (p = 1), for benchmarks. */
export function forceAllTransforms(options: AugmentOptions = DEFAULT_AUGMENT): AugmentOptions {
  return withProbabilities(options, Object.fromEntries(Object.keys(TRANSFORMS).map((n) => [n, 1])));
}

/** Everything random about one augmented patch. */
export interface AugmentParams {
  geometry: GeometryParams;
  photometric: PhotometricParams;
}

/** The identity: a plain crop. */
export const IDENTITY_AUGMENT: AugmentParams = Object.freeze({ geometry: IDENTITY_GEOMETRY, photometric: IDENTITY_PHOTOMETRIC });

const logUniform = (rng: Random, [low, high]: Range) => Math.exp(rng.uniform(Math.log(low), Math.log(high)));

/** Draws one patch's transform from `options` with `rng`: the same rng state gives the same draw. */
export function drawAugmentation(options: AugmentOptions, rng: Random): AugmentParams {
  const o = options;
  const geometry: GeometryParams = {
    flipX: rng.chance(o.flip.p),
    flipY: rng.chance(o.flip.p),
    quarterTurns: (rng.chance(o.rotate90.p) ? rng.int(0, 4) : 0) as 0 | 1 | 2 | 3,
    angleRadians: rng.chance(o.rotate.p) ? (rng.uniform(-1, 1) * o.rotate.maxDegrees * Math.PI) / 180 : 0,
    scale: rng.chance(o.scale.p) ? logUniform(rng, o.scale.range) : 1,
    elasticGrid: rng.chance(o.elastic.p) ? elasticGrid({ gridSize: o.elastic.gridSize, sigmaPx: o.elastic.sigmaPx, rng }) : null,
    elasticGridSize: o.elastic.gridSize,
  };
  const stain = rng.chance(o.stain.p);
  const hue = rng.chance(o.hueSaturation.p);
  const photometric: PhotometricParams = {
    stainScale: stain ? ([0, 1, 2].map(() => 1 + rng.uniform(-1, 1) * o.stain.maxScale) as never) : null,
    stainShift: stain ? ([0, 1, 2].map(() => rng.uniform(-1, 1) * o.stain.maxShift) as never) : [0, 0, 0],
    hueRadians: hue ? (rng.uniform(-1, 1) * o.hueSaturation.maxHueDegrees * Math.PI) / 180 : 0,
    saturation: hue ? rng.uniform(...o.hueSaturation.saturationRange) : 1,
    brightness: rng.chance(o.brightness.p) ? rng.uniform(-1, 1) * o.brightness.maxShift : 0,
    contrast: rng.chance(o.contrast.p) ? rng.uniform(...o.contrast.range) : 1,
    gamma: rng.chance(o.gamma.p) ? logUniform(rng, o.gamma.range) : 1,
    blurSigmaPx: rng.chance(o.blur.p) ? rng.uniform(...o.blur.sigmaRangePx) : 0,
    noiseSigma: rng.chance(o.noise.p) ? rng.uniform(...o.noise.sigmaRange) : 0,
    noiseSeed: rng.nextUint32(),
  };
  return { geometry, photometric };
}

/** What is warped: the whole sample, so rotated patches see real context, not padding. */
export interface AugmentSource {
  /** `[H, W, C]` in [0, 1]. */
  image: FloatImage;
  /** `[H, W]` class indices; resampled by nearest neighbour. */
  labels?: Uint8Array;
  /** `[H, W]` loss weights; resampled bilinearly. */
  weights?: Float32Array;
}

/** Where the patch is: its untransformed top-left corner, input side and target side. */
export interface AugmentRegion {
  x: number;
  y: number;
  patchSize: number;
  /** Side of the target crop (labels, weights); default `patchSize`. */
  outputSize?: number;
}

/** An augmented patch: image channel-planar `[C, P, P]`, labels and weights `[o, o]` (the centre crop). */
export interface AugmentedPatch {
  image: Float32Array;
  labels?: Uint8Array;
  weights?: Float32Array;
}

/** Options of {@link augmentPatch}. */
export interface AugmentPatchOptions {
  /** Buffers to write into (e.g. a batch's slice), instead of new arrays. */
  out?: AugmentedPatch;
  /** Applied to the image last, fused into the final pass: the network's input normalisation. */
  normalize?: ChannelAffine;
}

/**
 * Warps image, labels and weights through one shared coordinate map in one pass, then applies
 * the photometric changes to the image only. The image comes out channel-planar (`[C, P, P]`,
 * the engine's layout).
 */
export function augmentPatch(
  source: AugmentSource,
  region: AugmentRegion,
  params: AugmentParams,
  options: AugmentPatchOptions = {},
): AugmentedPatch {
  const { patchSize } = region;
  const outputSize = region.outputSize ?? patchSize;
  const { image } = source;
  const { out } = options;
  const result: AugmentedPatch = { image: out?.image ?? new Float32Array(patchSize * patchSize * image.channels) };
  if (source.labels) result.labels = out?.labels ?? new Uint8Array(outputSize * outputSize);
  if (source.weights) result.weights = out?.weights ?? new Float32Array(outputSize * outputSize);
  warpPatch(source, params.geometry, region, result);
  applyPhotometric(
    { data: result.image, width: patchSize, height: patchSize, channels: image.channels },
    params.photometric,
    options.normalize,
  );
  return result;
}
