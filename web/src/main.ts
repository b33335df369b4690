/**
 * The pyocyte web app: a gallery of the dataset's images, a deep-zoom viewer with overlays, and
 * three tabs — Count (predict, counts, cell table), Correct (edit and save masks) and Train
 * (retrain or fine-tune, live progress, before/after). Everything is computed by the server.
 */
import { type Comparison, type GalleryEntry, type PredictionResult, type Session, type TrainStatus, api, urls } from './api.js';
import { CorrectPanel } from './correct-panel.js';
import { CountPanel } from './count-panel.js';
import { TrainPanel } from './train-panel.js';
import { byId, guarded, h, showMessage } from './ui.js';
import { ImageViewer } from './viewer.js';

type Tab = 'count' | 'correct' | 'train';

let session: Session;
const gallery = new Map<string, GalleryEntry>();
let current: string | undefined;
let tab: Tab = 'count';

const viewer = new ImageViewer(byId('viewer'), byId<HTMLCanvasElement>('sketch'));
const count = new CountPanel(() => refreshOverlay(), (cell) => viewer.highlight(cell.box, true));
const correct = new CorrectPanel((tool) => viewer.setTool(tool), () => refreshOverlay(), () => void loadGallery());
const train = new TrainPanel(() => session?.model !== undefined);

function layers(): string[] {
  return [...document.querySelectorAll<HTMLInputElement>('input[name=layer]:checked')].map((input) => input.value);
}

/** Points the overlay layer at the labels the current tab shows, at their current version. */
function refreshOverlay(): void {
  if (!current) return viewer.setOverlay(undefined);
  const chosen = layers().join(',');
  if (tab === 'correct') {
    const s = correct.summary;
    viewer.setOverlay(s && chosen ? `source=annotation&layers=${chosen}&v=${s.version}` : undefined);
  } else {
    const r = count.result;
    viewer.setOverlay(r && chosen ? `source=prediction&layers=${chosen}&v=${r.version}` : undefined);
  }
}

function renderGallery(): void {
  const items = [...gallery.values()].map((entry) => {
    const label = entry.total === undefined ? '' : String(entry.total);
    const button = h('button', { class: `thumb${entry.id === current ? ' current' : ''}`, 'data-id': entry.id, title: entry.name },
      h('img', { src: urls.thumb(entry.id), alt: entry.name, loading: 'lazy' }),
      h('span', { class: 'count', text: label }), h('span', { text: entry.name }), entry.hasMask ? '' : h('span', { class: 'muted', text: ' (no mask)' }));
    button.addEventListener('click', () => void select(entry.id));
    return button;
  });
  byId('gallery').replaceChildren(...items);
}

async function loadGallery(): Promise<void> {
  const entries = await guarded(() => api.images());
  if (!entries) return;
  gallery.clear();
  for (const entry of entries) gallery.set(entry.id, entry);
  renderGallery();
}

async function select(id: string): Promise<void> {
  const entry = gallery.get(id);
  if (!entry) return;
  current = id;
  renderGallery();
  byId('viewer-empty').hidden = true;
  viewer.open(entry);
  count.reset(id, session.model?.task !== 'multiclass');
  const opened = correct.open(id);
  if (entry.total !== undefined) {
    const result = await guarded(() => api.prediction(id));
    if (result) count.show(result);
  }
  await opened;
  refreshOverlay();
}

function showResult(result: PredictionResult): void {
  count.show(result);
  const entry = gallery.get(result.image);
  if (entry) {
    Object.assign(entry, { total: result.total, counts: result.counts });
    renderGallery();
  }
}

async function predictCurrent(): Promise<void> {
  const id = current;
  if (!id) return showMessage('choose an image first');
  const button = byId<HTMLButtonElement>('predict');
  button.disabled = true;
  try {
    const result = await guarded(() => api.predict(id));
    if (result) showResult(result);
  } finally {
    button.disabled = false;
  }
}

function chooseTab(next: Tab): void {
  tab = next;
  for (const button of document.querySelectorAll<HTMLElement>('.tabs button')) button.classList.toggle('active', button.dataset.tab === next);
  for (const panel of document.querySelectorAll<HTMLElement>('[data-panel]')) panel.hidden = panel.dataset.panel !== next;
  void correct.activate(next === 'correct').then(refreshOverlay);
  refreshOverlay();
}

async function loadSession(): Promise<void> {
  session = await api.session();
  byId('dataset-name').textContent = session.dataset.name;
  byId('model-name').textContent = session.model ? `model ${session.model.name}` : 'no model yet: train one on the Train tab';
  byId<HTMLButtonElement>('predict').disabled = !session.model;
  byId<HTMLButtonElement>('predict-all').disabled = !session.model;
  correct.setClasses(session.classNames);
  train.show(session.training);
  train.showComparison(session.comparison);
}

async function upload(files: FileList | File[]): Promise<void> {
  if (files.length === 0) return;
  const result = await guarded(() => api.upload(files));
  if (!result) return;
  for (const entry of result.added) gallery.set(entry.id, entry);
  renderGallery();
  showMessage(`added ${result.added.map((e) => e.name).join(', ')}`, 'info');
  await select(result.added[0].id);
}

function listen(): void {
  const events = new EventSource('/api/events');
  const progress = byId<HTMLProgressElement>('predict-progress');
  events.addEventListener('predict-progress', (e) => {
    const data = JSON.parse((e as MessageEvent).data) as { done: number; total: number; image: string; cells?: number; counts?: Record<string, number>; error?: string };
    progress.hidden = false;
    progress.value = data.done / data.total;
    const entry = gallery.get(data.image);
    if (entry && data.cells !== undefined) Object.assign(entry, { total: data.cells, counts: data.counts });
    renderGallery();
    if (data.image === current && data.cells !== undefined) void guarded(() => api.prediction(data.image)).then((r) => r && count.show(r));
  });
  events.addEventListener('tiles', (e) => {
    const data = JSON.parse((e as MessageEvent).data) as { image: string; done: number; total: number };
    progress.hidden = data.done >= data.total;
    progress.value = data.done / data.total;
  });
  events.addEventListener('predict-done', () => {
    progress.hidden = true;
    byId<HTMLButtonElement>('predict-all').disabled = false;
  });
  events.addEventListener('train', (e) => train.show(JSON.parse((e as MessageEvent).data) as TrainStatus));
  events.addEventListener('train-compare', (e) => void afterTraining(JSON.parse((e as MessageEvent).data) as Comparison));
  events.addEventListener('gallery', (e) => {
    const entry = JSON.parse((e as MessageEvent).data) as GalleryEntry;
    gallery.set(entry.id, { ...gallery.get(entry.id), ...entry });
    renderGallery();
  });
}

/** A new model: counts of the old one are gone; re-predict the image on screen and show before/after. */
async function afterTraining(comparison: Comparison): Promise<void> {
  await loadSession();
  train.showComparison(comparison);
  for (const entry of gallery.values()) Object.assign(entry, { total: undefined, counts: undefined });
  renderGallery();
  if (current) {
    count.reset(current, session.model?.task !== 'multiclass');
    refreshOverlay();
    await predictCurrent();
  }
}

async function main(): Promise<void> {
  await loadSession();
  await loadGallery();
  listen();
  for (const button of document.querySelectorAll<HTMLElement>('.tabs button')) button.addEventListener('click', () => chooseTab(button.dataset.tab as Tab));
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name=layer]')) input.addEventListener('change', refreshOverlay);
  byId<HTMLInputElement>('opacity').addEventListener('input', (e) => viewer.setOpacity(Number((e.target as HTMLInputElement).value)));
  byId('predict').addEventListener('click', () => void predictCurrent());
  byId('predict-all').addEventListener('click', () => void guarded(async () => {
    byId<HTMLButtonElement>('predict-all').disabled = true;
    await api.predictAll();
  }));
  byId<HTMLInputElement>('upload').addEventListener('change', (e) => void upload((e.target as HTMLInputElement).files ?? []));
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    void upload(e.dataTransfer?.files ?? []);
  });
  viewer.onClick = (x, y) => {
    const id = current;
    if (!id || tab === 'correct' || !count.result) return;
    void guarded(async () => {
      const cell = await api.cellAt(id, Math.floor(x), Math.floor(y), 'prediction');
      const found = count.select(cell.id);
      viewer.highlight(found?.box);
    });
  };
  chooseTab('count');
  const first = gallery.keys().next();
  if (!first.done) await select(first.value);
  document.body.dataset.ready = 'true';
}

void main().catch((error: Error) => showMessage(`pyocyte could not start: ${error.message}`));
