/**
 * The shapes `pyocyte serve` sends to its page, shared by the server and the web app (web/src
 * imports these types, so both sides change together). Types only: no Node imports here.
 */
import type { ClassifiedCell } from '../../infer/cells.js';

/** One image of the gallery, as the page lists it. */
export interface GalleryEntry {
  id: string;
  name: string;
  width: number;
  height: number;
  source: 'dataset' | 'upload';
  hasMask: boolean;
  /** DeepZoom level of full resolution, and the tile side. */
  maxLevel: number;
  tileSize: number;
  /** Cells found, once predicted with the model in use. */
  total?: number;
  counts?: Record<string, number>;
}

/** The segmentation parameters a user can move. */
export interface SegmentParams {
  /** Foreground probability threshold (binary models). */
  threshold: number;
  /**
   * Cells smaller than this many pixels are merged or dropped. For a model trained for separation it
   * replaces its instance rule's minimum size, in the network's pixels (the image's unless it was rescaled).
   */
  minSizePx: number;
}

/** One row of the cell table. */
export interface CellRow extends ClassifiedCell {
  /** `[x0, y0, x1, y1)` in pixels. */
  box: [number, number, number, number];
}

/** A segmented image as the page shows it. */
export interface PredictionResult {
  image: string;
  width: number;
  height: number;
  params: SegmentParams;
  /** Cells per class name. */
  counts: Record<string, number>;
  total: number;
  foregroundFraction: number;
  cells: CellRow[];
  /** Changes whenever the labels change (for overlay tile URLs). */
  version: number;
}

/** What the page shows of an image's annotation. */
export interface AnnotationSummary {
  image: string;
  cells: number;
  version: number;
  dirty: boolean;
  canUndo: boolean;
  canRedo: boolean;
  hasMask: boolean;
}

/** What a finished training process reports. */
export interface TrainResultSummary {
  runDir: string;
  interrupted: boolean;
  epochs: number;
  steps: number;
  seconds: number;
  valDice?: number;
}

/** One epoch of RUN/log.jsonl, as far as the page reads it. */
export interface EpochEntry {
  epoch: number;
  train: { loss: number; dice: number };
  val?: { loss: number; dice: number };
}

/** What the page shows of a training job. */
export interface TrainStatus {
  state: 'idle' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';
  mode?: 'train' | 'finetune';
  run?: string;
  minutes?: number;
  step?: number;
  epochs: EpochEntry[];
  log: string[];
  elapsedSeconds?: number;
  /** Seconds left of the time budget (then the decision rule is chosen and the model saved). */
  etaSeconds?: number;
  message?: string;
  result?: TrainResultSummary;
}

/** One validation image before and after retraining. */
export interface ComparedImage {
  image: string;
  diceBefore?: number;
  diceAfter: number;
  cellsBefore?: number;
  cellsAfter: number;
  /** Cells in the image's mask. */
  cellsTrue: number;
  /** Figure names for `/api/train/figures/NAME` (only the first few images have them). */
  figureBefore?: string;
  figureAfter?: string;
}

/** Before/after figures of a retrained model on the validation images. */
export interface Comparison {
  run: string;
  diceBefore?: number;
  diceAfter?: number;
  images: ComparedImage[];
  /** Why there is nothing to compare (no validation images). */
  note?: string;
}

/** GET /api/session. */
export interface Session {
  dataset: { path: string; name: string; convention: string };
  model?: {
    path: string;
    name: string;
    version: number;
    task: string;
    classNames: string[];
    threshold: number;
    pixelSizeUm?: number;
    training?: Record<string, unknown>;
  };
  classNames: string[];
  layers: Record<string, string>;
  limits: { maxUploadMb: number; maxMegapixels: number };
  training: TrainStatus;
  comparison?: Comparison;
  predictingAll: boolean;
}
