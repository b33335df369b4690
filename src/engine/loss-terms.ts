import type { LossTerm, LossTermKind } from './types.js';

/**
 * The values of the loss terms from class probabilities, pixel by pixel: the one TypeScript
 * statement of their formulas. The reference loss kernel feeds it the output of its sigmoid or
 * softmax, and validation the blended probabilities of whole images; the native loss kernel
 * computes the same sums in C++ (native/loss.cc).
 *
 * With `pt` a pixel's probability of its true class, `ce` its cross-entropy (−ln pt), `w` its
 * weight (1 unless the loss has pixel weights) and P the number of pixels (pixels whose target is
 * IGNORE_LABEL, src/image/ignore.ts, are never added):
 * - cross-entropy: Σ w·ce / P;
 * - focal (Lin et al. 2017, "Focal loss for dense object detection"): Σ w·(1 − pt)^γ·ce / P;
 * - soft Dice: per foreground class c, 1 − (2·Σ p_c·[t = c] + s) / (Σ p_c + Σ [t = c] + s), over
 *   all pixels at once, then the mean over the foreground classes (binary: class 1 alone);
 * - regression: the mean squared error Σ (z − y)² / (P·R) of the R regression channels' raw
 *   outputs z against their targets y (the deep-watershed distance map, Bai & Urtasun 2017),
 *   unweighted; its gradient is 2(z − y) / (P·R).
 */
export class LossTermSums {
  private crossEntropy = 0;
  private focal = 0;
  private pixels = 0;
  private squaredError = 0;
  private regressionValues = 0;
  /** Per class c ≥ 1: Σ p_c·[t = c] (the soft intersection). */
  readonly intersection: Float64Array;
  /** Per class c ≥ 1: Σ p_c + Σ [t = c]. */
  readonly total: Float64Array;

  /** `classes` as the loss kernel counts them: 1 for binary (a sigmoid), K ≥ 2 for a softmax. */
  constructor(
    classes: number,
    private readonly options: { focalGamma: number; diceSmooth: number },
  ) {
    this.intersection = new Float64Array(Math.max(classes, 2));
    this.total = new Float64Array(Math.max(classes, 2));
  }

  /** One pixel: `pt` and `ce` of its true class, and its weight. Then its overlaps, with {@link addOverlap}. */
  addPixel(pt: number, ce: number, weight = 1): void {
    this.crossEntropy += weight * ce;
    this.focal += weight * ((1 - pt) ** this.options.focalGamma * ce);
    this.pixels += 1;
  }

  /** The pixel's probability `p` of foreground class `c` (≥ 1), and whether `c` is its true class. */
  addOverlap(c: number, p: number, isClass: boolean): void {
    this.intersection[c] += isClass ? p : 0;
    this.total[c] += p + (isClass ? 1 : 0);
  }

  /** One regression output `z` and its target `y`. */
  addRegression(z: number, y: number): void {
    this.squaredError += (z - y) ** 2;
    this.regressionValues += 1;
  }

  /** Each term's value over the pixels added so far. */
  values(): Record<LossTermKind, number> {
    let dice = 0;
    for (let c = 1; c < this.total.length; c++) {
      dice += 1 - (2 * this.intersection[c] + this.options.diceSmooth) / (this.total[c] + this.options.diceSmooth);
    }
    dice /= this.total.length - 1;
    // Pixels with an ignored target are never added; a batch of nothing else is worth 0.
    const pixels = Math.max(this.pixels, 1);
    const regression = this.regressionValues > 0 ? this.squaredError / this.regressionValues : 0;
    return { crossEntropy: this.crossEntropy / pixels, focal: this.focal / pixels, dice, regression };
  }

  /** The weighted sum of `terms`. */
  value(terms: readonly LossTerm[]): number {
    const values = this.values();
    return terms.reduce((sum, t) => sum + t.weight * values[t.kind], 0);
  }
}
