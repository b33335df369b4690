/**
 * Chooses a model's count rule (infer/count-rule.ts) on validation images annotated with boxes
 * and points: per class, the minimum score, area and edge distance that maximise detection F1
 * against the true boxes and points (metrics/counting.ts's matching), searched on a small grid. F1
 * weighs missed and spurious cells alike, as a count error does.
 */
import type { ImageAnnotations } from '../data/annotations/types.js';
import { classifyCells } from '../infer/cells.js';
import { edgeDistancePx, type Frame } from '../infer/count-rule.js';
import type { ProbabilityMap } from '../infer/predict.js';
import { type SegmentOptions, segment } from '../infer/segment.js';
import { describeCountRule } from '../io/count-report.js';
import { type WeakTruth, centroidPoint, detectionScores, matchWeakTruth, weakTruthOf } from '../metrics/counting.js';
import type { CountRule, InstanceRule, Model } from '../nn/model.js';

/** Scores tried: a cell's mean class probability must reach this. */
export const COUNT_RULE_SCORES = [0, 0.5, 0.6, 0.7, 0.8, 0.9] as const;
/** Areas tried, as fractions of the class's typical cell area π·r² (r: its point radius, from its boxes). */
export const COUNT_RULE_AREA_FRACTIONS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8] as const;
/**
 * The edge distance a count rule starts from, as a fraction of the class's radius: 4/(3π), the
 * distance from its straight edge to the centroid of a half disc. A cell of the typical radius
 * whose centroid (of the part inside the image) lies nearer the edge than this has its centre
 * outside the image. Counting a cell only when its centre lies inside is the associated-point
 * rule of stereology (Howard and Reed, "Unbiased Stereology", 2005), which, like Gundersen's
 * counting frame (J. Microsc. 111:219, 1977), counts each cell of a slide once when fields of view
 * tile it, up to the error of placing a cut cell's centre.
 * UMID's annotators leave such cut cells unboxed: on its 68 validation and test images, of the 26
 * cells a 10-minute model counted there (under its score and area floors), 21 were false
 * positives, 3 lay in `missedlabel` boxes and 2 were true.
 */
export const CENTRE_IN_FRAME_FRACTION = 4 / (3 * Math.PI);
/** Edge distances tried after score and area, as fractions of the class's radius. */
export const COUNT_RULE_EDGE_FRACTIONS = [0, 0.25, CENTRE_IN_FRAME_FRACTION, 0.5, 0.75, 1] as const;

/**
 * One validation image: its candidate cells (centroids in the annotations' convention), its truth,
 * and its size (without one, no edge distance is tried).
 */
export interface CountRuleImage {
  cells: readonly { className: string; score: number; areaPx: number; x: number; y: number }[];
  truth: WeakTruth;
  frame?: Frame;
}

/** An edge distance of the grid, px: `fraction` of the class's radius, to 0.1 px. */
export function edgeDistanceOfFraction(fraction: number, radiusPx: number): number {
  return Math.round(fraction * radiusPx * 10) / 10;
}

/**
 * The detection F1 of class `name` pooled over `images` as a function of its rule's minimum
 * score, area and edge distance (cells of images without a frame are never too near the edge);
 * undefined when these images hold no true cell of the class.
 */
export function classRuleScorer(
  images: readonly CountRuleImage[],
  name: string,
  pointRadiusPx: Readonly<Record<string, number>>,
): ((minScore: number, minAreaPx: number, minEdgeDistancePx: number) => number) | undefined {
  const truths = images.map((image) => ({
    boxes: image.truth.boxes.filter((b) => b.className === name),
    points: image.truth.points.filter((p) => p.className === name),
    ignoreBoxes: image.truth.ignoreBoxes,
  }));
  if (truths.every((t) => t.boxes.length + t.points.length === 0)) return undefined;
  const candidates = images.map((image) =>
    image.cells
      .filter((c) => c.className === name)
      .map((c) => ({ ...c, edgePx: image.frame ? edgeDistancePx(c.x, c.y, image.frame) : Number.POSITIVE_INFINITY })),
  );
  return (minScore, minAreaPx, minEdgeDistancePx) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const [i, cells] of candidates.entries()) {
      const kept = cells.filter((c) => c.score >= minScore && c.areaPx >= minAreaPx && c.edgePx >= minEdgeDistancePx);
      const counts = matchWeakTruth(kept, truths[i], { pointRadiusPx }).perClass[name];
      if (!counts) continue;
      tp += counts.truePositives;
      fp += counts.falsePositives;
      fn += counts.falseNegatives;
    }
    return detectionScores(tp, fp, fn).f1;
  };
}

/**
 * Per class of `classNames`, the (minScore, minAreaPx) of the grid with the highest F1 pooled over
 * the images, cells counted only with their centre in the frame ({@link CENTRE_IN_FRAME_FRACTION});
 * then the minEdgeDistancePx that raises F1 most with those two. Ties go to the looser score and
 * area, and keep the centre-in-frame edge distance. A class with no true cells on these images is
 * left out of the rule (nothing to tune it on). Edge distances apply only when every image has a
 * frame (otherwise the rule has none).
 * @param pointRadiusPx per class, the typical cell radius in pixels (the matching radius of
 *   points, and the unit of the area and edge grids).
 */
export function chooseCountRule(
  images: readonly CountRuleImage[],
  classNames: readonly string[],
  pointRadiusPx: Readonly<Record<string, number>>,
): CountRule {
  const rule: CountRule = { perClass: {}, validationF1: {} };
  const framed = images.every((image) => image.frame);
  for (const name of classNames) {
    const f1Of = classRuleScorer(images, name, pointRadiusPx);
    if (!f1Of) continue;
    const radius = pointRadiusPx[name] ?? 0;
    const typicalArea = Math.PI * radius * radius;
    const all = f1Of(0, 0, 0);
    const edgeOf = (fraction: number) => edgeDistanceOfFraction(fraction, radius);
    const startEdge = framed ? edgeOf(CENTRE_IN_FRAME_FRACTION) : 0;
    let best = { minScore: 0, minAreaPx: 0, minEdgeDistancePx: startEdge, f1: f1Of(0, 0, startEdge) };
    for (const minScore of COUNT_RULE_SCORES) {
      for (const areaFraction of COUNT_RULE_AREA_FRACTIONS) {
        const minAreaPx = Math.round(areaFraction * typicalArea);
        const f1 = f1Of(minScore, minAreaPx, startEdge);
        if (f1 > best.f1 + 1e-9) best = { minScore, minAreaPx, minEdgeDistancePx: startEdge, f1 };
      }
    }
    // The edge distance moves from the centre-in-frame rule only when validation gains by it, and
    // after score and area, not with them: a joint search of 240 rules on a few dozen images found
    // rules that fit validation and not new images (UMID: validation pus F1 +0.017, test −0.023).
    for (const edgeFraction of framed ? COUNT_RULE_EDGE_FRACTIONS : []) {
      const minEdgeDistancePx = edgeOf(edgeFraction);
      const f1 = f1Of(best.minScore, best.minAreaPx, minEdgeDistancePx);
      if (f1 > best.f1 + 1e-9) best = { ...best, minEdgeDistancePx, f1 };
    }
    const { f1, ...thresholds } = best;
    rule.perClass[name] = thresholds;
    rule.validationF1![name] = { rule: f1, all };
  }
  return rule;
}

/**
 * The candidate cells and truth of a model's validation images, as the count rule is chosen on
 * them: cells drawn from each probability map (at the model's scale, as validation predicts them)
 * by the model's instance rule, with their centroids, scores and areas; the annotations in the
 * same pixels.
 */
export function countRuleImages(
  model: Pick<Model, 'metadata'>,
  maps: readonly ProbabilityMap[],
  annotations: readonly ImageAnnotations[],
  segmentOptions: SegmentOptions,
): CountRuleImage[] {
  const classNames = model.metadata.classNames.slice(1);
  const { instances } = model.metadata;
  return maps.map((raw, i) => {
    // The maps were predicted before validation chose the instance rule (train.ts keeps the
    // decision rule's maps), so they carry the initial one: cells are drawn by the model's rule,
    // as predict will draw them.
    const map = raw.instanceRule && instances ? { ...raw, instanceRule: instances } : raw;
    return {
      cells: classifyCells(segment(map, segmentOptions), map, model.metadata.classNames).map((c) => ({
        ...centroidPoint(c),
        score: c.score,
        areaPx: c.areaPx,
      })),
      truth: weakTruthOf(annotations[i], classNames),
      frame: { width: map.width, height: map.height },
    };
  });
}

/**
 * The count rule of a model on its validation images' probability maps and their annotations
 * (see {@link countRuleImages}).
 * @returns the rule and one line for the log.
 */
export function chooseCountRuleFromMaps(
  model: Pick<Model, 'metadata'>,
  maps: readonly ProbabilityMap[],
  annotations: readonly ImageAnnotations[],
  options: { pointRadiusPx: Record<string, number>; segment: SegmentOptions },
): { rule: CountRule; summary: string } {
  const images = countRuleImages(model, maps, annotations, options.segment);
  const rule = chooseCountRule(images, model.metadata.classNames.slice(1), options.pointRadiusPx);
  return { rule, summary: describeCountRule(rule) };
}

/**
 * Seed thresholds a `centres` model's instance rule is chosen from (heights of its heatmap, whose
 * peaks are 1). Growing cells instead from the heatmap's h-maxima (prominence 0.15 or 0.3) was
 * tried on the 2026-12-03 UMID model and never chosen on validation.
 */
export const CENTRE_SEED_THRESHOLDS = [0.2, 0.3, 0.4, 0.5, 0.6] as const;

/**
 * A model's count rule on its validation maps ({@link chooseCountRuleFromMaps}); for a `centres`
 * model with its seed threshold, chosen together: for each threshold of
 * {@link CENTRE_SEED_THRESHOLDS}, the count rule chosen with it, scored by its validation F1
 * averaged over the classes; ties keep the lower threshold.
 * @returns the count rule, the instance rule when it was chosen too, and one line for the log.
 */
export function chooseModelCountRule(
  model: Pick<Model, 'metadata'>,
  maps: readonly ProbabilityMap[],
  annotations: readonly ImageAnnotations[],
  options: { pointRadiusPx: Record<string, number>; segment: SegmentOptions },
): { instances?: InstanceRule; rule: CountRule; summary: string } {
  const current = model.metadata.instances;
  if (current?.decoder !== 'centres') return chooseCountRuleFromMaps(model, maps, annotations, options);
  let best: { instances: InstanceRule; rule: CountRule; summary: string; f1: number } | undefined;
  for (const seedThreshold of CENTRE_SEED_THRESHOLDS) {
    const instances = { ...current, seedThreshold };
    const chosen = chooseCountRuleFromMaps({ metadata: { ...model.metadata, instances } }, maps, annotations, options);
    const f1s = Object.values(chosen.rule.validationF1 ?? {}).map((v) => v.rule);
    const f1 = f1s.length > 0 ? f1s.reduce((a, b) => a + b, 0) / f1s.length : 0;
    if (!best || f1 > best.f1 + 1e-9) best = { instances, ...chosen, f1 };
  }
  const { instances, rule, summary } = best!;
  return {
    instances,
    rule,
    summary: `centre seeds: regions above ${instances.seedThreshold} (mean validation F1 ${best!.f1.toFixed(3)}); ${summary}`,
  };
}
