import type { Sample } from '../data/types.js';
import { KERNEL_DEFAULTS } from '../engine/defaults.js';
import { LossTermSums } from '../engine/loss-terms.js';
import { IGNORE_LABEL } from '../image/ignore.js';
import { type PostprocessingName, choosePostprocessing } from '../infer/postprocess.js';
import type { TtaModeName } from '../infer/symmetry.js';
import { type PredictOptions, type ProbabilityMap, predictProbabilities, probabilitiesToLabels } from '../infer/predict.js';
import { bestThreshold, confusionMatrix, summarizeImages } from '../metrics/pixel.js';
import { type LossName, lossDefinition } from '../nn/losses.js';
import type { Model } from '../nn/model.js';

/** Scores of a model on whole images, as logged per epoch. */
export interface ValidationScores {
  /** The training loss's terms evaluated on the blended probabilities (the weighted loss as plain cross-entropy). */
  loss: number;
  accuracy: number;
  /** Pooled Dice over all pixels, mean over foreground classes. */
  dice: number;
  iou: number;
  /** Per foreground class (binary: one value). */
  dicePerClass: number[];
}

/**
 * The training loss's terms on blended probabilities, summed over a set of images: the formulas
 * of {@link LossTermSums}, with the kernel's default focal γ and Dice smoothing.
 */
export class ProbabilityLoss {
  private readonly sums: LossTermSums;

  /** `classes` as the model counts them: 1 for binary, K ≥ 2 for a softmax. */
  constructor(classes: number) {
    this.sums = new LossTermSums(classes, KERNEL_DEFAULTS.loss);
  }

  /** One image's probabilities and its `[H, W]` class labels. */
  add(map: ProbabilityMap, labels: Uint8Array): void {
    const plane = map.width * map.height;
    const classes = this.sums.total.length;
    for (let i = 0; i < plane; i++) {
      const t = labels[i];
      if (t === IGNORE_LABEL) continue;
      const p1 = map.data[i];
      // Blended float32 probabilities reach exactly 0 and 1; clamped, −ln pt stays finite.
      const pt = Math.min(1 - 1e-7, Math.max(1e-7, map.channels === 1 ? (t === 1 ? p1 : 1 - p1) : map.data[t * plane + i]));
      this.sums.addPixel(pt, -Math.log(pt));
      for (let c = 1; c < classes; c++) this.sums.addOverlap(c, map.channels === 1 ? p1 : map.data[c * plane + i], t === c);
    }
  }

  /** The loss `lossName` (its pixel weights, if any, left out) over the images added. */
  value(lossName: LossName): number {
    return this.sums.value(lossDefinition(lossName).terms);
  }
}

/**
 * Predicts every sample whole (overlap-tile, as `pyocyte predict` does) and scores it at the
 * model's decision rule.
 */
export async function validate(
  model: Model,
  samples: readonly Sample[],
  options: { lossName: LossName; threshold?: number; predict?: PredictOptions },
): Promise<{ scores: ValidationScores }> {
  const classes = Math.max(model.taskClasses, 2);
  const loss = new ProbabilityLoss(model.taskClasses);
  const confusions: Float64Array[] = [];
  for (const sample of samples) {
    const map = await predictProbabilities(model, sample.image, options.predict);
    loss.add(map, sample.labels);
    const predicted = probabilitiesToLabels(map, options.threshold ?? 0.5);
    confusions.push(confusionMatrix(predicted, sample.labels, { classes }));
  }
  const { global } = summarizeImages(confusions, { classes });
  return {
    scores: {
      loss: loss.value(options.lossName),
      accuracy: global.accuracy,
      dice: global.meanDice,
      iou: global.meanIou,
      dicePerClass: global.perClass.slice(1).map((c) => c.dice),
    },
  };
}

/** How a saved model turns probabilities into classes; chosen by {@link chooseDecisionRule}. */
export interface DecisionRule {
  /** Binary foreground threshold (0.5 for multi-class, which takes the argmax). */
  threshold: number;
  postprocessing: PostprocessingName;
  /** 'dihedral' (average the eight symmetries of the square at prediction time) or 'none'. */
  tta: TtaModeName;
  /** Validation Dice under this rule. */
  dice: number;
  /** One line saying what was compared. */
  summary: string;
  /** With `keepMaps`: each validation image's probabilities under this rule's TTA, in sample order. */
  maps?: ProbabilityMap[];
}

/**
 * Chooses the decision rule on the validation images, nnU-Net style: with and without TTA, the
 * binary threshold that maximises Dice (when the images have foreground; otherwise every high
 * threshold would score a perfect Dice), then the post-processing that helps. TTA averages the
 * eight quarter turns and reflections (training augments with all of them). nnU-Net's four flips
 * added 0.001–0.002 test Dice on the bench:quality tasks and the transposes another 0.0004–0.0013,
 * so TTA is kept unless it lowers the validation Dice; it makes prediction eight times slower.
 */
export async function chooseDecisionRule(
  model: Model,
  samples: readonly Sample[],
  options: { predict?: PredictOptions; keepMaps?: boolean } = {},
): Promise<DecisionRule> {
  const binary = model.taskClasses === 1;
  const tuneThreshold = binary && samples.some((s) => s.labels.some((v) => v > 0));
  const rules: DecisionRule[] = [];
  for (const tta of ['none', 'dihedral'] as const) {
    const maps: ProbabilityMap[] = [];
    for (const sample of samples) maps.push(await predictProbabilities(model, sample.image, { ...options.predict, tta }));
    const threshold = tuneThreshold
      ? bestThreshold(
          maps.map((m) => m.data),
          samples.map((s) => s.labels),
        ).threshold
      : 0.5;
    const chosen = choosePostprocessing(maps, samples, { threshold, classes: Math.max(2, model.taskClasses) });
    const dice = chosen.dice[chosen.name];
    rules.push({ threshold, postprocessing: chosen.name, tta, dice, summary: '', ...(options.keepMaps ? { maps } : {}) });
  }
  const [plain, turned] = rules;
  const rule = turned.dice >= plain.dice ? turned : plain;
  (rule === turned ? plain : turned).maps = undefined;
  const f = (v: number) => v.toFixed(4);
  rule.summary =
    `decision rule: threshold ${rule.threshold}, post-processing ${rule.postprocessing}, TTA ${rule.tta} ` +
    `(validation Dice ${f(plain.dice)} without TTA, ${f(turned.dice)} with)`;
  return rule;
}

/** Training-batch scores from the loss kernel's confusion counts, summed over an epoch. */
export function countsToScores(counts: readonly number[]): { accuracy: number; dice: number; iou: number } {
  const [correct, pixels] = counts;
  let dice = 0;
  let iou = 0;
  const classes = (counts.length - 2) / 3;
  for (let c = 0; c < classes; c++) {
    const [tp, fp, fn] = counts.slice(2 + 3 * c, 5 + 3 * c);
    dice += tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
    iou += tp + fp + fn === 0 ? 1 : tp / (tp + fp + fn);
  }
  return { accuracy: pixels > 0 ? correct / pixels : 1, dice: dice / classes, iou: iou / classes };
}
