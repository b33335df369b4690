import { POSTPROCESSING } from '../infer/postprocess.js';
import type { PredictOptions } from '../infer/predict.js';
import type { FlagSpec, FlagValue } from './args.js';
import { parseChannels } from './common.js';

/** Inference flags shared by predict and evaluate. */
export const PREDICT_FLAGS: Record<string, FlagSpec> = {
  tta: { type: 'boolean', description: 'average the eight quarter turns and reflections of every tile (8× slower); --no-tta turns it off', defaultText: 'as the model chose on its validation images' },
  'tile-size': { type: 'number', description: 'tile side for large images', defaultText: '512' },
  overlap: { type: 'number', description: 'fraction of each tile shared with its neighbour', defaultText: '0.25' },
  threshold: { type: 'number', description: "foreground probability threshold", defaultText: "the model's tuned threshold" },
  'min-size': { type: 'number', description: 'smallest cell kept, in pixels', defaultText: '30' },
  postprocessing: { type: 'string', choices: Object.keys(POSTPROCESSING), description: 'clean-up of the class map', defaultText: "the one the model chose on its validation images" },
  'pixel-size': { type: 'number', description: 'micrometres per pixel of the images (they are rescaled to the model\'s)' },
  channels: { type: 'string', description: "the image files' channels to feed the model, 0-based (e.g. 0,2)", defaultText: 'the channels the model was trained on' },
};

/** Predict options from parsed flags. */
export function predictOptions(f: Record<string, FlagValue | undefined>): PredictOptions & { threshold?: number; minSizePx?: number; postprocessing?: string; channels?: number[] } {
  const num = (v: FlagValue | undefined) => (typeof v === 'number' ? v : undefined);
  return {
    tta: typeof f.tta === 'boolean' ? f.tta : undefined,
    tileSize: num(f.tileSize),
    overlapFraction: num(f.overlap),
    threshold: num(f.threshold),
    minSizePx: num(f.minSize),
    postprocessing: typeof f.postprocessing === 'string' ? f.postprocessing : undefined,
    pixelSizeUm: num(f.pixelSize),
    channels: parseChannels(typeof f.channels === 'string' ? f.channels : undefined),
  };
}
