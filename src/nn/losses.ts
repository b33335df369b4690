import type { LossTerm } from '../engine/types.js';
import { lookup } from '../util/registry.js';

/**
 * The training losses, as weighted sums of the engine's fused loss terms. Binary tasks use a
 * sigmoid and binary cross-entropy; multi-class tasks a softmax and categorical cross-entropy.
 * `weighted` is the U-Net paper's cross-entropy with a per-pixel weight map (w0 = 10, σ = 5 px)
 * that stresses the thin background between touching cells; the data loader supplies the map.
 */
export const LOSSES = {
  bce: { terms: [{ kind: 'crossEntropy', weight: 1 }], pixelWeights: false },
  dice: { terms: [{ kind: 'dice', weight: 1 }], pixelWeights: false },
  'bce+dice': { terms: [{ kind: 'crossEntropy', weight: 1 }, { kind: 'dice', weight: 1 }], pixelWeights: false },
  focal: { terms: [{ kind: 'focal', weight: 1 }], pixelWeights: false },
  weighted: { terms: [{ kind: 'crossEntropy', weight: 1 }], pixelWeights: true },
} as const satisfies Record<string, { terms: readonly LossTerm[]; pixelWeights: boolean }>;

export type LossName = keyof typeof LOSSES;

/** The loss definition for a name, or an error listing the valid names. */
export function lossDefinition(name: string): (typeof LOSSES)[LossName] {
  return lookup(LOSSES, name, 'loss');
}
