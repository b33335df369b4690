import type { LossTerm } from '../engine/types.js';
import { lookup } from '../util/registry.js';

/** A loss: its terms, and whether it weighs pixels by a border weight map built with `weightMap`. */
export interface LossDefinition {
  terms: readonly LossTerm[];
  pixelWeights: boolean;
  weightMap?: { w0: number; sigmaPx: number };
}

/**
 * The training losses, as weighted sums of the engine's fused loss terms. Binary tasks use a
 * sigmoid and binary cross-entropy; multi-class tasks a softmax and categorical cross-entropy.
 * `weighted` is the U-Net paper's cross-entropy with a per-pixel weight map that stresses the thin
 * background between touching cells; the data loader builds the map with the entry's `weightMap`
 * (the paper's w0 = 10 and σ = 5 px, see `borderWeightMap`).
 */
export const LOSSES = {
  bce: { terms: [{ kind: 'crossEntropy', weight: 1 }], pixelWeights: false },
  dice: { terms: [{ kind: 'dice', weight: 1 }], pixelWeights: false },
  'bce+dice': {
    terms: [
      { kind: 'crossEntropy', weight: 1 },
      { kind: 'dice', weight: 1 },
    ],
    pixelWeights: false,
  },
  focal: { terms: [{ kind: 'focal', weight: 1 }], pixelWeights: false },
  weighted: { terms: [{ kind: 'crossEntropy', weight: 1 }], pixelWeights: true, weightMap: { w0: 10, sigmaPx: 5 } },
} as const satisfies Record<string, LossDefinition>;

export type LossName = keyof typeof LOSSES;

/** The loss definition for a name, or an error listing the valid names. */
export function lossDefinition(name: string): (typeof LOSSES)[LossName] {
  return lookup(LOSSES, name, 'loss');
}
