/**
 * Test-time augmentation over the symmetries of the square (the dihedral group D4): each tile is
 * turned or flipped before the network and its output turned back, and the outputs are averaged.
 * Tiles are channel-planar `[C, H, W]` arrays, one NCHW sample.
 */
import { fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';

/**
 * One symmetry of the square (an element of the dihedral group D4) that test-time augmentation
 * applies to a tile: an optional transpose (swap x and y), then optional flips.
 */
export interface Symmetry {
  transpose: boolean;
  horizontal: boolean;
  vertical: boolean;
}

const FLIPS = [
  { horizontal: false, vertical: false },
  { horizontal: true, vertical: false },
  { horizontal: false, vertical: true },
  { horizontal: true, vertical: true },
] as const;

/**
 * Test-time augmentation modes: `flips` averages the four flips (nnU-Net's mirroring),
 * `dihedral` adds their transposes, which makes all eight quarter turns and reflections.
 */
export const TTA_MODES = {
  none: [{ transpose: false, horizontal: false, vertical: false }],
  flips: FLIPS.map((flip) => ({ transpose: false, ...flip })),
  dihedral: [false, true].flatMap((transpose) => FLIPS.map((flip) => ({ transpose, ...flip }))),
} as const satisfies Record<string, readonly Symmetry[]>;
export type TtaModeName = keyof typeof TTA_MODES;

/** The symmetries a TTA mode averages (`'none'` → the identity only). */
export function ttaSymmetries(mode: string): readonly Symmetry[] {
  return lookup(TTA_MODES, mode, 'TTA mode');
}

/**
 * Applies a symmetry to a planar `[C, H, W]` array (a tile input); a transpose needs H = W.
 * The identity returns `data` itself, uncopied. {@link invertSymmetry} maps the network's output back.
 */
export function applySymmetry(data: Float32Array, channels: number, height: number, width: number, symmetry: Symmetry): Float32Array {
  const turned = symmetry.transpose ? transposePlanar(data, channels, height, width) : data;
  return symmetry.horizontal || symmetry.vertical ? flipPlanar(turned, channels, height, width, symmetry) : turned;
}

/** Undoes {@link applySymmetry}: the flips (each its own inverse) first, then the transpose. */
export function invertSymmetry(data: Float32Array, channels: number, height: number, width: number, symmetry: Symmetry): Float32Array {
  const flipped = symmetry.horizontal || symmetry.vertical ? flipPlanar(data, channels, height, width, symmetry) : data;
  return symmetry.transpose ? transposePlanar(flipped, channels, height, width) : flipped;
}

/** Swaps rows and columns of a planar `[C, S, S]` array. */
export function transposePlanar(data: Float32Array, channels: number, height: number, width: number): Float32Array {
  if (height !== width) fail(`transposePlanar: tiles must be square, got ${height}×${width}`);
  if (data.length !== channels * height * width) fail(`transposePlanar: ${data.length} values is not ${channels}×${height}×${width}`);
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[c * plane + x * width + y] = data[c * plane + y * width + x];
  }
  return out;
}

/**
 * Flips a planar `[C, H, W]` array. A flip is its own inverse: flip the input, run the network,
 * flip the output the same way to map it back.
 */
export function flipPlanar(
  data: Float32Array,
  channels: number,
  height: number,
  width: number,
  flip: { horizontal: boolean; vertical: boolean },
): Float32Array {
  if (data.length !== channels * height * width) fail(`flipPlanar: ${data.length} values is not ${channels}×${height}×${width}`);
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const sourceRow = c * plane + (flip.vertical ? height - 1 - y : y) * width;
      const targetRow = c * plane + y * width;
      if (flip.horizontal) {
        for (let x = 0; x < width; x++) out[targetRow + x] = data[sourceRow + width - 1 - x];
      } else {
        out.set(data.subarray(sourceRow, sourceRow + width), targetRow);
      }
    }
  }
  return out;
}
