/**
 * Predictions of the gallery's images with the model in use: the network runs once per image and
 * model; the threshold and minimum cell size re-segment the cached probabilities (fast).
 */
import { classifyCells, countByClass } from '../../infer/cells.js';
import { countCells } from '../../infer/count-rule.js';
import type { ProbabilityMap } from '../../infer/predict.js';
import { predictAtObjectScale } from '../../infer/rescale.js';
import { segment, type Segmentation } from '../../infer/segment.js';
import { modelInput } from '../../infer/model-input.js';
import { PREDICT_DEFAULTS } from '../../infer/options.js';
import type { Model } from '../../nn/model.js';
import type { CellRow, PredictionResult, SegmentParams } from './api-types.js';
import { HttpError } from './security.js';
import type { OverlaySource } from './tiles.js';
import type { Workspace } from './workspace.js';

interface Cached {
  modelVersion: number;
  map: ProbabilityMap;
  /** The factor the image was resampled by for the network (object-size rescaling; 1: native). */
  scale: number;
  /** Probability of not being background, `[H, W]`. */
  foreground: Float32Array;
  segmentation?: Segmentation;
  result?: PredictionResult;
}

const MAX_CACHED_PIXELS = 64e6;
let versions = 0;

/** Probability of not being background per pixel, for binary and multi-class maps alike. */
function foregroundOf(map: ProbabilityMap): Float32Array {
  const plane = map.width * map.height;
  if (map.channels === 1) return map.data.subarray(0, plane);
  const out = new Float32Array(plane);
  for (let i = 0; i < plane; i++) out[i] = 1 - map.data[i];
  return out;
}

/** The cell table of a segmentation: infer/cells.ts's classifyCells plus the box `[x0, y0, x1, y1)` the page highlights. */
export function cellRows(segmentation: Segmentation, map: ProbabilityMap, classNames: readonly string[], pixelSizeUm?: number): CellRow[] {
  return classifyCells(segmentation, map, classNames, { pixelSizeUm }).map((cell) => ({
    ...cell,
    box: [cell.bboxXmin, cell.bboxYmin, cell.bboxXmax + 1, cell.bboxYmax + 1],
  }));
}

export class Predictions {
  private cache = new Map<string, Promise<Cached>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly workspace: Workspace) {}

  private model(): Model {
    const model = this.workspace.slot.model;
    if (!model) throw new HttpError(409, 'no model yet: start pyocyte serve with --model RUN, or train one on the Train tab');
    return model;
  }

  /**
   * The parameters the model chose on its validation images, as the CLI uses them: a model trained
   * for separation keeps its instance rule's minimum size (in the network's pixels).
   */
  defaults(): SegmentParams {
    const { threshold, instances } = this.model().metadata;
    return { threshold, minSizePx: instances?.minSizePx ?? PREDICT_DEFAULTS.minSizePx };
  }

  /** Whether an image has been predicted with the model in use. */
  async has(id: string): Promise<boolean> {
    const cached = this.cache.get(id);
    return cached !== undefined && (await cached.catch(() => undefined))?.modelVersion === this.workspace.slot.version;
  }

  /** Runs the network on an image unless it already has with this model (one image at a time). */
  private probabilities(id: string, onProgress?: (done: number, total: number) => void): Promise<Cached> {
    const modelVersion = this.workspace.slot.version;
    const existing = this.cache.get(id);
    if (existing) {
      return existing.then((cached) => {
        if (cached.modelVersion === modelVersion) return cached;
        this.cache.delete(id);
        return this.probabilities(id, onProgress);
      });
    }
    const model = this.model();
    const run = this.queue.then(async () => {
      const raster = await this.workspace.raster(id);
      const image = modelInput(raster, model, { file: this.workspace.image(id).name });
      // The same object-size rescaling as `pyocyte predict` (infer/rescale.ts), so the counts agree.
      const segmentOptions = { threshold: model.metadata.threshold, postprocessing: model.metadata.postprocessing };
      const { map, scale } = await predictAtObjectScale(model, image, {
        onProgress,
        instancesOf: (probabilities) => segment(probabilities, segmentOptions).instances,
      });
      return { modelVersion, map, scale, foreground: foregroundOf(map) };
    });
    this.queue = run.catch(() => undefined);
    run.catch(() => this.cache.delete(id));
    this.cache.set(id, run);
    this.evict(id);
    return run;
  }

  private evict(keep: string): void {
    let pixels = 0;
    for (const id of [...this.cache.keys()].reverse()) {
      const image = this.workspace.images.get(id);
      pixels += image ? image.width * image.height : 0;
      if (pixels > MAX_CACHED_PIXELS && id !== keep) this.cache.delete(id);
    }
  }

  /**
   * Predicts (or re-segments) an image with the given parameters; missing parameters keep the
   * last ones used for this image, else the model's.
   */
  async predict(
    id: string,
    params: Partial<SegmentParams> = {},
    onProgress?: (done: number, total: number) => void,
  ): Promise<PredictionResult> {
    const cached = await this.probabilities(id, onProgress);
    const model = this.model();
    const chosen: SegmentParams = { ...this.defaults(), ...cached.result?.params, ...definedParams(params) };
    if (!(chosen.threshold > 0 && chosen.threshold < 1))
      throw new HttpError(400, `the threshold must be between 0 and 1, got ${chosen.threshold}`);
    if (!(chosen.minSizePx >= 0)) throw new HttpError(400, `the minimum cell size must be ≥ 0 px, got ${chosen.minSizePx}`);
    const same =
      cached.result && cached.result.params.threshold === chosen.threshold && cached.result.params.minSizePx === chosen.minSizePx;
    if (same) return cached.result!;
    const { map } = cached;
    const segmentation = segment(map, {
      threshold: chosen.threshold,
      minSizePx: chosen.minSizePx,
      // The slider moves the instance rule's minimum size too, which `minSizePx` alone would not.
      instanceMinSizePx: model.metadata.instances ? chosen.minSizePx : undefined,
      postprocessing: model.metadata.postprocessing,
      toModelScale: cached.scale,
    });
    const classNames = model.metadata.classNames;
    // The model's count rule, as `pyocyte predict` applies it, so the page's counts agree with the CLI's.
    const found = cellRows(segmentation, map, classNames, model.metadata.pixelSizeUm);
    const cells = countCells(found, segmentation, model.metadata.countRule, cached.scale);
    const counts = countByClass(cells, classNames);
    let foreground = 0;
    for (let i = 0; i < segmentation.labels.data.length; i++) foreground += segmentation.labels.data[i] > 0 ? 1 : 0;
    cached.segmentation = segmentation;
    cached.result = {
      image: id,
      width: map.width,
      height: map.height,
      params: chosen,
      counts,
      total: segmentation.instances.count,
      foregroundFraction: foreground / segmentation.labels.data.length,
      cells,
      version: ++versions,
    };
    return cached.result;
  }

  /** The labels, cells and probabilities of a predicted image, for overlays and downloads. */
  async source(id: string): Promise<OverlaySource & { map: ProbabilityMap; segmentation: Segmentation; result: PredictionResult }> {
    if (!(await this.has(id))) throw new HttpError(409, `${this.workspace.image(id).name} has not been predicted with this model yet`);
    const cached = await this.cache.get(id)!;
    const result = cached.result ?? (await this.predict(id));
    const segmentation = cached.segmentation!;
    return {
      width: result.width,
      height: result.height,
      labels: segmentation.labels.data,
      instances: segmentation.instances.data,
      probability: cached.foreground,
      map: cached.map,
      segmentation,
      result,
    };
  }

  /** The latest result of each predicted image (for the gallery's counts and summary.csv). */
  async results(): Promise<PredictionResult[]> {
    const out: PredictionResult[] = [];
    for (const [id, cached] of this.cache) {
      const value = await cached.catch(() => undefined);
      if (value?.result && value.modelVersion === this.workspace.slot.version && this.workspace.images.has(id)) out.push(value.result);
    }
    return out.sort((a, b) => (a.image < b.image ? -1 : 1));
  }
}

function definedParams(params: Partial<SegmentParams>): Partial<SegmentParams> {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined && Number.isFinite(v))) as Partial<SegmentParams>;
}
