/**
 * Synthetic 100× bright-field smears of pus (Giemsa-like stain) with exact masks: pyocyte's
 * built-in dataset for the demo and the tests, so no real data has to be committed.
 *
 * - {@link synthesizeSmear} (here) draws one image with its binary, three-class and instance masks.
 * - `writeSyntheticDataset` (dataset.ts) writes a whole dataset folder (`pyocyte synth`).
 *
 * The folder is split by job: scene.ts (what is where), shapes.ts (outlines), labels.ts (hard
 * masks), render.ts (stain, optics, camera), noise.ts (textures, blur), dataset.ts (files).
 */
import { fail } from '../util/errors.js';
import { Random } from '../util/random.js';
import type { RasterImage } from '../image/types.js';
import { compactInstanceIds, renderCellLayers } from './labels.js';
import { renderImage } from './render.js';
import { REFERENCE_AREA_UM2, sampleScene, type SceneSettings } from './scene.js';

/** Options of {@link synthesizeSmear}; every field has a default. */
export interface SynthOptions {
  /** Image width in pixels (default 512). */
  width?: number;
  /** Image height in pixels (default 384). */
  height?: number;
  /** Any integer; the same seed gives the same image byte for byte (default 1). */
  seed?: number;
  /** Micrometres per pixel (default 0.25, so a 12 µm neutrophil is ≈ 48 px across). */
  pixelSizeUm?: number;
  /** Pus cells per image outside clumps, [min, max] inclusive (default [12, 28] per 128 × 96 µm field, scaled by area). */
  cellCount?: [number, number];
  /** Red cells per image, [min, max] inclusive (default [15, 40] per 128 × 96 µm field, scaled by area). */
  redCellCount?: [number, number];
  /** Probability that a pus cell is placed pressed against an earlier one (default 0.3). */
  touchingFraction?: number;
  /** Clumps of 2–6 touching, overlapping pus cells per image, [min, max] (default [1, 3] per 128 × 96 µm field, scaled by area). */
  clumpCount?: [number, number];
  /** Defocus blur, Gaussian sigma in pixels, drawn per image from [min, max] (default [0.4, 1.2]). */
  blurSigmaPx?: [number, number];
  /** Camera noise standard deviation in 8-bit grey levels at full brightness (default 3). */
  noiseStd?: number;
  /** Strength of the uneven illumination, 0 = flat (default 0.2). */
  illumination?: number;
}

/** One synthetic smear with its masks. All masks are `[H, W]` row-major, matching `image`. */
export interface SynthImage {
  /** RGB, 8-bit. */
  image: RasterImage;
  /** 1 on pus cells (whole cell, nuclei included), 0 elsewhere (red cells, debris, background). */
  binary: Uint8Array;
  /** 0 background, 1 pus cell cytoplasm, 2 pus cell nucleus. */
  threeClass: Uint8Array;
  /** Pus cell id 1…cells per pixel, 0 elsewhere; touching cells keep distinct ids. */
  instances: Uint16Array;
  /** Number of pus cells (instance ids) in the image. */
  cells: number;
}

/** {@link SynthOptions} with defaults applied and checked. */
export interface ResolvedSynthOptions extends SceneSettings {
  seed: number;
  noiseStd: number;
}

function checkRange(name: string, value: [number, number], low: number, high: number, integer: boolean): [number, number] {
  const ok =
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((v) => Number.isFinite(v) && v >= low && v <= high && (!integer || Number.isInteger(v))) &&
    value[0] <= value[1];
  if (!ok)
    fail(`synth: ${name} must be [min, max] with ${low} ≤ min ≤ max ≤ ${high}${integer ? ', integers' : ''}; got ${JSON.stringify(value)}`);
  return [value[0], value[1]];
}

function checkNumber(name: string, value: number, low: number, high: number, integer = false): number {
  if (!Number.isFinite(value) || value < low || value > high || (integer && !Number.isInteger(value))) {
    fail(`synth: ${name} must be ${integer ? 'an integer' : 'a number'} from ${low} to ${high}; got ${value}`);
  }
  return value;
}

/** Applies defaults and checks every option, failing with the option's name and valid range. */
export function resolveSynthOptions(options: SynthOptions = {}): ResolvedSynthOptions {
  const width = checkNumber('width', options.width ?? 512, 8, 16384, true);
  const height = checkNumber('height', options.height ?? 384, 8, 16384, true);
  const pixelSizeUm = checkNumber('pixelSizeUm', options.pixelSizeUm ?? 0.25, 0.02, 5);
  const areaFactor = (width * height * pixelSizeUm * pixelSizeUm) / REFERENCE_AREA_UM2;
  const byArea = (low: number, high: number): [number, number] => {
    const max = Math.min(65535, Math.max(1, Math.round(high * areaFactor)));
    return [Math.min(max, Math.round(low * areaFactor)), max];
  };
  return {
    width,
    height,
    pixelSizeUm,
    seed: checkNumber('seed', options.seed ?? 1, -(2 ** 31), 2 ** 32 - 1, true),
    cellCount: checkRange('cellCount', options.cellCount ?? byArea(12, 28), 0, 65535, true),
    redCellCount: checkRange('redCellCount', options.redCellCount ?? byArea(15, 40), 0, 1e6, true),
    touchingFraction: checkNumber('touchingFraction', options.touchingFraction ?? 0.3, 0, 1),
    clumpCount: checkRange('clumpCount', options.clumpCount ?? (options.cellCount?.[1] === 0 ? [0, 0] : byArea(1, 3)), 0, 10000, true),
    blurSigmaPx: checkRange('blurSigmaPx', options.blurSigmaPx ?? [0.4, 1.2], 0, 20, false),
    noiseStd: checkNumber('noiseStd', options.noiseStd ?? 3, 0, 100),
    illumination: checkNumber('illumination', options.illumination ?? 0.2, 0, 1),
  };
}

/**
 * Generates one synthetic 100× bright-field smear of pus (Giemsa-like stain): pus cells with
 * 2–5 purple nuclear lobes and granular lilac cytoplasm, some pressed together and some in clumps of 2–6; pink red cells
 * with pale centres; debris, bacteria and fibres; uneven light, defocus and camera noise.
 * Pure and deterministic: the same options give the same bytes on every machine.
 *
 * ```ts
 * const { image, binary, instances, cells } = synthesizeSmear({ seed: 7, width: 256, height: 192 });
 * ```
 */
export function synthesizeSmear(options: SynthOptions = {}): SynthImage {
  const settings = resolveSynthOptions(options);
  const { width, height } = settings;
  const random = new Random(settings.seed);
  const scene = sampleScene(random.fork(1), settings);
  const layers = renderCellLayers(scene, { width, height });
  const pixels = renderImage(scene, layers, random.fork(2), settings);
  const cells = compactInstanceIds(layers.instances);
  const binary = new Uint8Array(width * height);
  for (let p = 0; p < binary.length; p++) binary[p] = layers.instances[p] > 0 ? 1 : 0;
  return {
    image: { width, height, channels: 3, bitDepth: 8, data: pixels },
    binary,
    threeClass: layers.threeClass,
    instances: layers.instances,
    cells,
  };
}
