/**
 * Object scores of a trained model on a dataset subset with instance labels, as StarDist's
 * `matching` and the DSB2018 challenge define them: one-to-one matches at IoU τ, AP(τ) =
 * ΣTP / Σ(TP + FP + FN) pooled over the images, the DSB2018 score (AP averaged over τ = 0.5,
 * 0.55, …, 0.95), and the mean absolute error of the per-image cell count. Predictions use the
 * model's stored decision and instance rules, as `pyocyte predict` does.
 */
import { openDataset } from '../src/data/prepare.js';
import { createEngine } from '../src/engine/index.js';
import { labelComponents } from '../src/image/components.js';
import { predictProbabilities } from '../src/infer/predict.js';
import { segment } from '../src/infer/segment.js';
import { loadModel } from '../src/io/model-file.js';
import { matchInstances } from '../src/metrics/objects.js';

/** τ = 0.5, 0.55, …, 0.95: the DSB2018 score's thresholds. */
const DSB_THRESHOLDS = Array.from({ length: 10 }, (_, k) => Math.round((0.5 + 0.05 * k) * 100) / 100);

export async function instanceScores(
  modelDir: string,
  dataDir: string,
  subset: 'test' | 'val',
): Promise<{ ap50: number; ap75: number; ap90: number; dsb2018: number; countMae: number; images: number; method: string }> {
  const model = await loadModel(modelDir, { engine: createEngine() });
  const samples = await (await openDataset(dataDir)).load(subset);
  const tp = new Map<number, number>();
  const errors = new Map<number, number>();
  let countError = 0;
  for (const sample of samples) {
    const { width, height } = sample.image;
    const truth = sample.instances ?? labelComponents({ width, height, data: sample.labels }).data;
    const map = await predictProbabilities(model, sample.image);
    const { instances } = segment(map, { threshold: model.metadata.threshold, postprocessing: model.metadata.postprocessing });
    for (const iouThreshold of [...DSB_THRESHOLDS, 0.9]) {
      const match = matchInstances(instances.data, truth, { iouThreshold });
      tp.set(iouThreshold, (tp.get(iouThreshold) ?? 0) + match.truePositives);
      errors.set(iouThreshold, (errors.get(iouThreshold) ?? 0) + match.falsePositives + match.falseNegatives);
    }
    countError += Math.abs(instances.count - new Set(truth.filter((id) => id > 0)).size);
  }
  const ap = (t: number) => (tp.get(t) ?? 0) / Math.max(1, (tp.get(t) ?? 0) + (errors.get(t) ?? 0));
  return {
    ap50: ap(0.5),
    ap75: ap(0.75),
    ap90: ap(0.9),
    dsb2018: DSB_THRESHOLDS.reduce((sum, t) => sum + ap(t), 0) / DSB_THRESHOLDS.length,
    countMae: countError / Math.max(1, samples.length),
    images: samples.length,
    method: model.metadata.instances ? `${model.metadata.instances.method} → ${model.metadata.instances.decoder}` : 'watershed',
  };
}
