/**
 * Which segmented objects count as cells, per class: a minimum score (the cell's mean class
 * probability), a minimum area, and a minimum distance of the centroid from the image's edge. A
 * model trained from boxes and points marks many faint or small blobs (debris, cell fragments,
 * out-of-focus cells nobody boxed) and cells cut by the frame, which annotators often leave
 * unboxed (as CellProfiler's "discard objects touching the border"); a lab's count is judged
 * on the cells it reports, so the rule is chosen on the validation images' boxes and points
 * (train/count-rule.ts) and stored in the model, like the pixel decision rule.
 */
import type { InstanceLabels } from '../image/components.js';
import type { Plane } from '../image/plane.js';
import type { CountRule } from '../nn/model.js';
import { fail } from '../util/errors.js';

/** What {@link applyCountRule} reads of a cell. */
export interface CountableCell {
  className: string;
  /** Mean class probability over the cell's pixels. */
  score: number;
  areaPx: number;
  /** Centroid in pixel indices (the centre of pixel (0, 0) is (0, 0)); read only by an edge distance rule. */
  centroidX?: number;
  centroidY?: number;
}

/** An image's size in pixels: the frame whose edges an edge distance rule measures from. */
export interface Frame {
  width: number;
  height: number;
}

/**
 * Distance in pixels from a point to the nearest edge of `frame`, in continuous coordinates (the
 * image spans [0, width] × [0, height], so a pixel centre is at index + 0.5).
 */
export function edgeDistancePx(x: number, y: number, frame: Frame): number {
  return Math.min(x, y, frame.width - x, frame.height - y);
}

/**
 * The cells that pass `rule` (all of them without a rule), in their order.
 * @param toModelScale the factor that resamples the segmentation's pixels to the model's (an image
 *   of 1 µm/px for a model of 2 µm/px: 0.5, so its areas count ×0.25 and its distances ×0.5). Default 1.
 * @param frame the segmentation's size, needed when the rule has an edge distance; its cells must
 *   then carry centroids.
 */
export function applyCountRule<T extends CountableCell>(
  cells: readonly T[],
  rule: CountRule | undefined,
  toModelScale = 1,
  frame?: Frame,
): T[] {
  if (!rule) return [...cells];
  const toModelArea = toModelScale * toModelScale;
  return cells.filter((cell) => {
    const classRule = rule.perClass[cell.className];
    if (!classRule) return true;
    if (cell.score < classRule.minScore || cell.areaPx * toModelArea < classRule.minAreaPx) return false;
    const minEdge = classRule.minEdgeDistancePx ?? 0;
    if (minEdge <= 0) return true;
    if (!frame || cell.centroidX === undefined || cell.centroidY === undefined)
      fail(`the count rule's ${cell.className} edge distance needs the image size and the cells' centroids`);
    return edgeDistancePx(cell.centroidX + 0.5, cell.centroidY + 0.5, frame) * toModelScale >= minEdge;
  });
}

/**
 * Erases, in place, the instances whose ids are not in `kept` from an instance map and its class
 * labels, so masks, overlays and instance images show the cells that were counted, and renumbers
 * the rest 1..k in the order of their old ids (instance maps keep ids 1..count).
 * @returns old id → new id, for the kept cells.
 */
export function keepInstances(instances: InstanceLabels, labels: Plane<Uint8Array>, kept: ReadonlySet<number>): Map<number, number> {
  const renumber = new Map([...kept].sort((a, b) => a - b).map((id, k) => [id, k + 1]));
  for (let i = 0; i < instances.data.length; i++) {
    const id = instances.data[i];
    if (id === 0) continue;
    const next = renumber.get(id);
    if (next === undefined) {
      instances.data[i] = 0;
      labels.data[i] = 0;
    } else instances.data[i] = next;
  }
  instances.count = renumber.size;
  return renumber;
}

/**
 * The cells of a segmentation that pass `rule`, renumbered as {@link keepInstances} renumbers the
 * segmentation, which it edits in place so its maps show only those cells. Without a rule, or when
 * every cell passes, the cells and the segmentation stay as they are.
 */
export function countCells<T extends CountableCell & { id: number }>(
  cells: readonly T[],
  segmentation: { instances: InstanceLabels; labels: Plane<Uint8Array> },
  rule: CountRule | undefined,
  toModelScale = 1,
): T[] {
  const counted = applyCountRule(cells, rule, toModelScale, segmentation.instances);
  if (counted.length === cells.length) return counted;
  const renumber = keepInstances(segmentation.instances, segmentation.labels, new Set(counted.map((cell) => cell.id)));
  return counted.map((cell) => ({ ...cell, id: renumber.get(cell.id)! }));
}
