/**
 * A decoded image file as a model takes it: the channels it was trained on, intensities scaled as
 * in training, NaN/Inf filled with a warning (a prediction should not fail on a few bad pixels,
 * but training and evaluation data refuse them: see io/image/convert.ts).
 */
import { intensityScalingOf } from '../nn/types.js';
import type { FloatImage, RasterImage } from '../image/types.js';
import { toFloatImage } from '../io/image/convert.js';
import type { Model } from '../nn/model.js';

/** Options of {@link modelInput}. */
export interface ModelInputOptions {
  /** How messages name the file. */
  file?: string;
  /** The file's channels to feed the model, 0-based. Default: the model's own (`metadata.channels`), else all but alpha. */
  channels?: readonly number[];
  /** Receives warnings (non-finite values filled), each naming the file. */
  onWarning?: (message: string) => void;
}

/**
 * Converts a decoded image for prediction with `model`.
 * @returns `[H, W, C]` floats, C the model's input channels when the file has them.
 * @throws PyocyteError when the image lacks a channel the model takes, or alpha hides pixels.
 */
export function modelInput(raster: RasterImage, model: Model, options: ModelInputOptions = {}): FloatImage {
  const { metadata } = model;
  return toFloatImage(raster, {
    file: options.file,
    channels: options.channels ?? metadata.channels,
    scaling: intensityScalingOf(metadata.normalization),
    nonFinite: 'fill',
    onWarning: options.onWarning,
  });
}
