/**
 * Corrected masks: each image's editable labels (from its dataset mask, or empty), undo and redo,
 * and saving back into the dataset in the dataset's own mask convention, atomically, with the
 * original annotation kept in `.orig/` beside it before it is first overwritten.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { labelComponents } from '../../image/components.js';
import type { RasterImage } from '../../image/types.js';
import { maskToLabels, resolveMaskOptions, surveyMask, type MaskOptions } from '../../data/masks.js';
import { labelsToMask } from '../../data/value-map.js';
import { readImage, writeImage } from '../../io/image/image-io.js';
import {
  type LabelState,
  type Patch,
  type Point,
  applyPatch,
  deleteCell,
  fillPolygon,
  fillRegion,
  nextCellId,
  paintStroke,
  replaceAll,
  setCellClass,
} from './edit-ops.js';
import type { AnnotationSummary } from './api-types.js';
import { HttpError } from './security.js';
import type { Workspace } from './workspace.js';

/** The folder beside a mask where its original is kept before the first overwrite. */
export const ORIGINALS_FOLDER = '.orig';

/** One correction, as the page sends it. Coordinates are image pixels. */
export type EditRequest =
  | { op: 'brush'; points: Point[]; radius: number; classIndex: number }
  | { op: 'erase'; points: Point[]; radius: number }
  | { op: 'fill'; point: Point; classIndex: number }
  | { op: 'delete'; point: Point }
  | { op: 'polygon'; points: Point[]; classIndex: number }
  | { op: 'setClass'; point: Point; classIndex: number }
  | { op: 'usePrediction' }
  | { op: 'undo' }
  | { op: 'redo' };

interface Annotation extends LabelState {
  undo: Patch[];
  redo: Patch[];
  version: number;
  dirty: boolean;
  /** The mask was an instance label image: saved as cell ids, not classes. */
  instanceImage: boolean;
}

const MAX_UNDO = 100;
let versions = 0;

export class Annotations {
  private states = new Map<string, Promise<Annotation>>();
  private rules?: Promise<MaskOptions & { extremes?: [number, number] }>;

  constructor(
    private readonly workspace: Workspace,
    private readonly predictionOf: (id: string) => Promise<{ labels: Uint8Array; instances: Int32Array }>,
  ) {}

  /** Class names of the annotation: the model's, else the dataset's, else binary. */
  classNames(): string[] {
    return this.workspace.slot.model?.metadata.classNames ?? this.workspace.dataset.classNames ?? ['background', 'foreground'];
  }

  /**
   * How the dataset's masks map to classes, fixed once over all its masks (as training does):
   * the model's mask rules when there is a model, else the dataset's value map, else binary with
   * the background chosen over all masks.
   */
  private maskRules(): Promise<MaskOptions & { extremes?: [number, number] }> {
    this.rules ??= (async () => {
      const meta = this.workspace.slot.model?.metadata;
      const { dataset } = this.workspace;
      const valueMap = meta?.mask?.valueMap ?? dataset.valueMap;
      const base: MaskOptions = valueMap
        ? { task: 'multiclass', valueMap }
        : { task: 'binary', polarity: meta?.mask?.polarity ?? dataset.maskPolarity ?? 'auto' };
      const masks = dataset.pairs.filter((p) => p.maskPath);
      const surveys = [];
      for (const pair of masks) surveys.push(surveyMask(await readImage(pair.maskPath!), pair.maskPath));
      const values = surveys.flatMap((survey) => [survey.histogram.values[0], survey.histogram.values[survey.histogram.values.length - 1]]);
      const extremes: [number, number] | undefined = values.length ? [Math.min(...values), Math.max(...values)] : undefined;
      return { ...resolveMaskOptions(surveys, base).options, extremes };
    })();
    this.rules.catch(() => (this.rules = undefined));
    return this.rules;
  }

  private state(id: string): Promise<Annotation> {
    let state = this.states.get(id);
    if (!state) {
      state = this.load(id);
      state.catch(() => this.states.delete(id));
      this.states.set(id, state);
    }
    return state;
  }

  private async load(id: string): Promise<Annotation> {
    const image = this.workspace.image(id);
    const { width, height } = image;
    const fresh = { undo: [], redo: [], version: ++versions, dirty: false, width, height };
    if (!image.maskPath) {
      return { ...fresh, labels: new Uint8Array(width * height), instances: new Int32Array(width * height), instanceImage: false };
    }
    const mask = await readImage(image.maskPath);
    if (mask.width !== width || mask.height !== height)
      throw new HttpError(422, `${image.maskPath} is ${mask.width}×${mask.height} but its image is ${width}×${height}`);
    const { extremes: _, ...rules } = await this.maskRules();
    const converted = maskToLabels(mask, { ...rules, file: image.maskPath });
    const foreground = converted.labels.map((v) => (v > 0 ? 1 : 0));
    const instances = converted.instances ?? labelComponents({ width, height, data: foreground }, { connectivity: 4 }).data;
    return { ...fresh, labels: converted.labels, instances, instanceImage: converted.instances !== undefined };
  }

  /** The labels of an image's annotation, for overlays. */
  async source(id: string): Promise<LabelState & { version: number }> {
    return this.state(id);
  }

  async summary(id: string): Promise<AnnotationSummary> {
    const s = await this.state(id);
    return {
      image: id,
      cells: countCells(s.instances),
      version: s.version,
      dirty: s.dirty,
      canUndo: s.undo.length > 0,
      canRedo: s.redo.length > 0,
      hasMask: this.workspace.image(id).maskPath !== undefined,
    };
  }

  /** Applies one correction (or undo/redo) and returns the new summary. */
  async edit(id: string, request: EditRequest): Promise<AnnotationSummary> {
    const s = await this.state(id);
    const classCount = this.classNames().length;
    const checkClass = (c: number) => {
      if (!(Number.isInteger(c) && c >= 1 && c < classCount))
        throw new HttpError(400, `class ${c} does not exist; this model has classes 1 to ${classCount - 1}`);
      return c;
    };
    let patch: Patch | undefined;
    switch (request.op) {
      case 'undo':
      case 'redo': {
        const from = request.op === 'undo' ? s.undo : s.redo;
        const to = request.op === 'undo' ? s.redo : s.undo;
        const last = from.pop();
        if (last) {
          applyPatch(s, last, request.op === 'undo' ? 'before' : 'after');
          to.push(last);
          s.version = ++versions;
          s.dirty = true;
        }
        return this.summary(id);
      }
      case 'brush': {
        const [x, y] = (request.points[0] ?? [-1, -1]).map(Math.round);
        const under = x >= 0 && y >= 0 && x < s.width && y < s.height ? s.instances[y * s.width + x] : 0;
        patch = paintStroke(s, request.points, request.radius, checkClass(request.classIndex), under > 0 ? under : nextCellId(s.instances));
        break;
      }
      case 'erase':
        patch = paintStroke(s, request.points, request.radius, 0, 0);
        break;
      case 'fill':
        patch = fillRegion(s, request.point, checkClass(request.classIndex), nextCellId(s.instances));
        break;
      case 'delete':
        patch = deleteCell(s, request.point);
        break;
      case 'polygon':
        patch = fillPolygon(s, request.points, checkClass(request.classIndex), nextCellId(s.instances));
        break;
      case 'setClass':
        patch = setCellClass(s, request.point, checkClass(request.classIndex));
        break;
      case 'usePrediction': {
        const predicted = await this.predictionOf(id);
        patch = replaceAll(s, predicted.labels, predicted.instances);
        break;
      }
      default:
        throw new HttpError(
          400,
          `unknown correction '${(request as { op: string }).op}'; use brush, erase, fill, delete, polygon, setClass, usePrediction, undo or redo`,
        );
    }
    if (patch) {
      s.undo.push(patch);
      if (s.undo.length > MAX_UNDO) s.undo.shift();
      s.redo = [];
      s.version = ++versions;
      s.dirty = true;
    }
    return this.summary(id);
  }

  /**
   * Writes the annotation into the dataset as the image's mask, drawn like the dataset's other
   * masks. An existing mask is first kept as `.orig/<name>` beside it (once: a later save does
   * not replace the original). Masks in formats pyocyte does not write (JPEG, BMP, WebP) are moved
   * there and replaced by a PNG of the same name.
   */
  async save(id: string): Promise<{ mask: string; original?: string; summary: AnnotationSummary }> {
    const s = await this.state(id);
    const image = this.workspace.image(id);
    let target = await this.workspace.maskTarget(image);
    let original: string | undefined;
    if (image.maskPath && existsSync(image.maskPath)) {
      original = join(dirname(image.maskPath), ORIGINALS_FOLDER, basename(image.maskPath));
      const writable = ['.png', '.tif', '.tiff'].includes(extname(image.maskPath).toLowerCase());
      await mkdir(dirname(original), { recursive: true });
      if (!writable) {
        target = join(dirname(image.maskPath), `${basename(image.maskPath, extname(image.maskPath))}.png`);
        if (!existsSync(original)) await rename(image.maskPath, original);
      } else if (!existsSync(original)) {
        await copyFile(image.maskPath, original);
      }
    }
    await writeImage(target, await this.maskRaster(s));
    image.maskPath = target;
    s.dirty = false;
    return { mask: target, original, summary: await this.summary(id) };
  }

  /** The annotation as a mask file's raster, in the dataset's convention. */
  private async maskRaster(s: Annotation): Promise<RasterImage> {
    const { width, height } = s;
    if (s.instanceImage) {
      const ids = compactIds(s.instances);
      if (ids.count > 65535) throw new HttpError(422, `${ids.count} cells do not fit a 16-bit instance image`);
      return { width, height, channels: 1, bitDepth: 16, data: Uint16Array.from(ids.labels) };
    }
    const rules = await this.maskRules();
    if (rules.valueMap) return labelsToMask({ width, height, data: s.labels }, { valueMap: rules.valueMap });
    // Objects are written in the value the dataset's masks use for them (e.g. 1 in 0/1 masks).
    const [low, high] = rules.extremes ?? [0, 255];
    const background = rules.background ?? (rules.polarity === 'black' ? 255 : 0);
    const foreground = low === high ? (background === 0 ? 255 : 0) : background === low ? high : low;
    const binary = s.labels.map((v) => (v > 0 ? 1 : 0));
    return labelsToMask({ width, height, data: binary }, { valueMap: { [background]: 0, [foreground]: 1 } });
  }

  /** Forgets cached annotations (after the model changed, class names may differ). */
  reset(): void {
    for (const [id, state] of this.states) {
      void state.then(
        (s) => {
          if (!s.dirty) this.states.delete(id);
        },
        () => this.states.delete(id),
      );
    }
    this.rules = undefined;
  }
}

function countCells(instances: Int32Array): number {
  const ids = new Set<number>();
  for (let i = 0; i < instances.length; i++) if (instances[i] > 0) ids.add(instances[i]);
  return ids.size;
}

/** Renumbers cell ids to 1..n in order of first appearance. */
function compactIds(instances: Int32Array): { labels: Int32Array; count: number } {
  const map = new Map<number, number>();
  const labels = new Int32Array(instances.length);
  for (let i = 0; i < instances.length; i++) {
    const id = instances[i];
    if (id === 0) continue;
    let k = map.get(id);
    if (k === undefined) map.set(id, (k = map.size + 1));
    labels[i] = k;
  }
  return { labels, count: map.size };
}
