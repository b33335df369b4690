/** The server's JSON API, as the page uses it. Shapes mirror src/workflows/serve/. */

export interface GalleryEntry {
  id: string;
  name: string;
  width: number;
  height: number;
  source: 'dataset' | 'upload';
  hasMask: boolean;
  maxLevel: number;
  tileSize: number;
  total?: number;
  counts?: Record<string, number>;
}

export interface CellRow {
  id: number;
  centroidX: number;
  centroidY: number;
  areaPx: number;
  areaUm2?: number;
  equivalentDiameterPx: number;
  equivalentDiameterUm?: number;
  circularity: number;
  classIndex: number;
  className: string;
  score: number;
  box: [number, number, number, number];
}

export interface PredictionResult {
  image: string;
  width: number;
  height: number;
  params: { threshold: number; minSizePx: number };
  counts: Record<string, number>;
  total: number;
  cells: CellRow[];
  version: number;
}

export interface AnnotationSummary {
  image: string;
  cells: number;
  version: number;
  dirty: boolean;
  canUndo: boolean;
  canRedo: boolean;
  hasMask: boolean;
}

export interface TrainStatus {
  state: 'idle' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';
  mode?: string;
  run?: string;
  minutes?: number;
  step?: number;
  epochs: { epoch: number; train: { loss: number; dice: number }; val?: { loss: number; dice: number } }[];
  log: string[];
  elapsedSeconds?: number;
  etaSeconds?: number;
  message?: string;
}

export interface Comparison {
  run: string;
  diceBefore?: number;
  diceAfter?: number;
  note?: string;
  images: { image: string; diceBefore?: number; diceAfter: number; cellsBefore?: number; cellsAfter: number; cellsTrue: number; figureBefore?: string; figureAfter?: string }[];
}

export interface Session {
  dataset: { path: string; name: string; convention: string };
  model?: { path: string; name: string; version: number; task: string; classNames: string[]; threshold: number; pixelSizeUm?: number };
  classNames: string[];
  layers: Record<string, string>;
  limits: { maxUploadMb: number; maxMegapixels: number };
  training: TrainStatus;
  comparison?: Comparison;
  predictingAll: boolean;
}

/** A failed request, with the server's message. */
export class ApiError extends Error {}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin' };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let value: unknown;
  try {
    value = text ? JSON.parse(text) : undefined;
  } catch {
    value = undefined;
  }
  if (!response.ok) {
    const message = (value as { error?: string } | undefined)?.error ?? `${response.status} ${response.statusText}`;
    throw new ApiError(message);
  }
  return value as T;
}

export const api = {
  session: () => request<Session>('GET', '/api/session'),
  images: () => request<GalleryEntry[]>('GET', '/api/images'),
  predict: (id: string, params: { threshold?: number; minSizePx?: number } = {}) =>
    request<PredictionResult>('POST', `/api/images/${encodeURIComponent(id)}/predict`, params),
  prediction: (id: string) => request<PredictionResult>('GET', `/api/images/${encodeURIComponent(id)}/prediction`),
  cellAt: (id: string, x: number, y: number, source: string) =>
    request<{ id: number }>('GET', `/api/images/${encodeURIComponent(id)}/cell-at?x=${x}&y=${y}&source=${source}`),
  annotation: (id: string) => request<AnnotationSummary>('GET', `/api/images/${encodeURIComponent(id)}/annotation`),
  edit: (id: string, edit: Record<string, unknown>) => request<AnnotationSummary>('POST', `/api/images/${encodeURIComponent(id)}/annotation/edit`, edit),
  save: (id: string) => request<{ mask: string; original?: string; summary: AnnotationSummary }>('POST', `/api/images/${encodeURIComponent(id)}/annotation/save`, {}),
  upload: (files: FileList | File[]) => {
    const form = new FormData();
    for (const file of Array.from(files)) form.append('file', file, file.name);
    return request<{ added: GalleryEntry[] }>('POST', '/api/uploads', form);
  },
  predictAll: () => request<{ total: number }>('POST', '/api/predict-all', {}),
  train: (mode: 'train' | 'finetune', minutes: number) => request<TrainStatus>('POST', '/api/train', { mode, minutes }),
  cancelTraining: () => request<TrainStatus>('POST', '/api/train/cancel', {}),
};

/** URLs of an image's files. */
export const urls = {
  thumb: (id: string) => `/api/images/${encodeURIComponent(id)}/thumb.jpg`,
  tile: (id: string, level: number, x: number, y: number) => `/api/images/${encodeURIComponent(id)}/tiles/${level}/${x}_${y}.jpeg`,
  overlay: (id: string, level: number, x: number, y: number, query: string) => `/api/images/${encodeURIComponent(id)}/overlay/${level}/${x}_${y}.png?${query}`,
  download: (id: string, kind: string) => `/api/images/${encodeURIComponent(id)}/download/${kind}`,
  figure: (name: string) => `/api/train/figures/${encodeURIComponent(name)}`,
};
