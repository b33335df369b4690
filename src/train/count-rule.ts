/**
 * Chooses a model's count rule (infer/count-rule.ts) on validation images annotated with boxes
 * and points: per class, the minimum score and area that maximise detection F1 against the true
 * boxes and points (metrics/counting.ts's matching), searched on a small grid. F1 weighs missed
 * and spurious cells alike, as a count error does.
 */
import type { ImageAnnotations } from '../data/annotations/types.js';
import { classifyCells } from '../infer/cells.js';
import type { ProbabilityMap } from '../infer/predict.js';
import { type SegmentOptions, segment } from '../infer/segment.js';
import { describeCountRule } from '../io/count-report.js';
import { type WeakTruth, centroidPoint, detectionScores, matchWeakTruth, weakTruthOf } from '../metrics/counting.js';
import type { CountRule, Model } from '../nn/model.js';

/** Scores tried: a cell's mean class probability must reach this. */
export const COUNT_RULE_SCORES = [0, 0.5, 0.6, 0.7, 0.8, 0.9] as const;
/** Areas tried, as fractions of the class's typical cell area π·r² (r: its point radius, from its boxes). */
export const COUNT_RULE_AREA_FRACTIONS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8] as const;

/** One validation image: its candidate cells (centroids in the annotations' convention) and its truth. */
export interface CountRuleImage {
  cells: readonly { className: string; score: number; areaPx: number; x: number; y: number }[];
  truth: WeakTruth;
}

/**
 * Per class of `classNames`, the (minScore, minAreaPx) of the grid with the highest F1 pooled over
 * the images; ties go to the looser rule (lower score, then lower area). A class with no true
 * cells on these images is left out of the rule (nothing to tune it on).
 * @param pointRadiusPx per class, the typical cell radius in pixels (the matching radius of points, and the area unit).
 */
export function chooseCountRule(
  images: readonly CountRuleImage[],
  classNames: readonly string[],
  pointRadiusPx: Readonly<Record<string, number>>,
): CountRule {
  const rule: CountRule = { perClass: {}, validationF1: {} };
  for (const name of classNames) {
    const truths = images.map((image) => ({
      boxes: image.truth.boxes.filter((b) => b.className === name),
      points: image.truth.points.filter((p) => p.className === name),
      ignoreBoxes: image.truth.ignoreBoxes,
    }));
    if (truths.every((t) => t.boxes.length + t.points.length === 0)) continue;
    const radius = pointRadiusPx[name] ?? 0;
    const typicalArea = Math.PI * radius * radius;
    const f1Of = (minScore: number, minAreaPx: number) => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (const [i, image] of images.entries()) {
        const kept = image.cells.filter((c) => c.className === name && c.score >= minScore && c.areaPx >= minAreaPx);
        const counts = matchWeakTruth(kept, truths[i], { pointRadiusPx }).perClass[name];
        if (!counts) continue;
        tp += counts.truePositives;
        fp += counts.falsePositives;
        fn += counts.falseNegatives;
      }
      return detectionScores(tp, fp, fn).f1;
    };
    const all = f1Of(0, 0);
    let best = { minScore: 0, minAreaPx: 0, f1: all };
    for (const minScore of COUNT_RULE_SCORES) {
      for (const fraction of COUNT_RULE_AREA_FRACTIONS) {
        const minAreaPx = Math.round(fraction * typicalArea);
        const f1 = f1Of(minScore, minAreaPx);
        if (f1 > best.f1 + 1e-9) best = { minScore, minAreaPx, f1 };
      }
    }
    rule.perClass[name] = { minScore: best.minScore, minAreaPx: best.minAreaPx };
    rule.validationF1![name] = { rule: best.f1, all };
  }
  return rule;
}

/**
 * The count rule of a model on its validation images' probability maps (at the model's scale, as
 * validation predicts them) and their annotations in the same pixels.
 * @returns the rule and one line for the log.
 */
export function chooseCountRuleFromMaps(
  model: Model,
  maps: readonly ProbabilityMap[],
  annotations: readonly ImageAnnotations[],
  options: { pointRadiusPx: Record<string, number>; segment: SegmentOptions },
): { rule: CountRule; summary: string } {
  const classNames = model.metadata.classNames.slice(1);
  const { instances } = model.metadata;
  const images = maps.map((raw, i) => {
    // The maps were predicted before validation chose the instance rule (train.ts keeps the
    // decision rule's maps), so they carry the initial one: cells are drawn by the model's rule,
    // as predict will draw them.
    const map = raw.instanceRule && instances ? { ...raw, instanceRule: instances } : raw;
    return {
      cells: classifyCells(segment(map, options.segment), map, model.metadata.classNames).map((c) => ({
        ...centroidPoint(c),
        score: c.score,
        areaPx: c.areaPx,
      })),
      truth: weakTruthOf(annotations[i], classNames),
    };
  });
  const rule = chooseCountRule(images, classNames, options.pointRadiusPx);
  return { rule, summary: describeCountRule(rule) };
}
