/** The server's JSON API, as the page uses it. The shapes are the server's own (api-types.ts). */
import type {
  AnnotationSummary, GalleryEntry, PredictionResult, Session, TrainStatus,
} from '../../src/workflows/serve/api-types.js';

export type {
  AnnotationSummary, CellRow, Comparison, GalleryEntry, PredictionResult, Session, TrainStatus,
} from '../../src/workflows/serve/api-types.js';

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
