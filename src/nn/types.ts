/** What the network is trained on and what a model records about its inputs. */

/** The segmentation task: one foreground class (sigmoid head) or several classes (softmax head). */
export type Task = 'binary' | 'multiclass';

/** How stored values become floats before normalisation (see io/image/convert.ts `INTENSITY_SCALINGS`). */
export type IntensityScaling = 'range' | 'bitDepth';

/**
 * How image intensities are normalised before the network sees them; stored in the model file.
 * `percentile`: each image's own `low`/`high` percentiles (per channel, whole image) map to 0/1.
 * `meanStd`: one per-channel mean/std of the training set, on values scaled by `intensityScaling`
 * (absent in model files written before it existed: 'bitDepth').
 */
export type Normalization =
  | { kind: 'meanStd'; mean: number[]; std: number[]; intensityScaling?: IntensityScaling }
  | { kind: 'percentile'; low: number; high: number };

/** How a model's images must be scaled to floats: its recorded rule (older meanStd models: 'bitDepth'). */
export function intensityScalingOf(normalization: Normalization): IntensityScaling {
  return normalization.kind === 'meanStd' ? (normalization.intensityScaling ?? 'bitDepth') : 'range';
}

/**
 * A training batch in the engine's layout.
 * `x` is `[N, C, H, W]`, normalised. `y` is `[N, h, w]` class indices as floats; `h, w` equal
 * `H, W` for the padded U-Net and are smaller (centre crop) for the unpadded one.
 * `weights`, when present, is `[N, h, w]` per-pixel cross-entropy weights: the U-Net paper's border
 * map, an instance method's class weights (the three-class boundary), or their product.
 */
export interface Batch {
  x: Float32Array;
  y: Float32Array;
  weights?: Float32Array;
  /** `[N, R, h, w]` targets of the network's regression channels (see `UNetConfig.regressionChannels`). */
  regression?: Float32Array;
  /** `[N, C, H, W]` of `x`. */
  inputShape: [number, number, number, number];
  /** `[N, h, w]` of `y`. */
  targetShape: [number, number, number];
}
