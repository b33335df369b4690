/**
 * The JSON routes of `pyocyte serve`: the session, the gallery, predictions, corrections, uploads,
 * jobs (predict all, train) and the event stream. Each route checks its input and calls the
 * library; errors are JSON `{ error }` with a message (see server.ts).
 */
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { EditRequest } from './annotations.js';
import type { GalleryEntry, PredictionResult, Session } from './api-types.js';
import { cellAt } from './edit-ops.js';
import type { ServeContext } from './server.js';
import { HttpError } from './security.js';
import { OVERLAY_LAYERS, TILE_SIZE, maxLevelOf } from './tiles.js';
import type { GalleryImage } from './workspace.js';

type Params = Record<string, string>;

function numberOrUndefined(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new HttpError(400, `${name} must be a number, got '${String(value)}'`);
  return n;
}

function body(request: { body: unknown }): Record<string, unknown> {
  const value = request.body ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'the request body must be a JSON object');
  return value as Record<string, unknown>;
}

export function registerRoutes(app: FastifyInstance, context: ServeContext): void {
  const { workspace, predictions, annotations, events, options } = context;

  /** An image as the gallery lists it; `results` are the predictions made with the model in use. */
  const galleryEntry = async (image: GalleryImage, results?: PredictionResult[]): Promise<GalleryEntry> => {
    const predicted = (results ?? (await predictions.results())).find((r) => r.image === image.id);
    return {
      id: image.id,
      name: image.name,
      width: image.width,
      height: image.height,
      source: image.source,
      hasMask: image.maskPath !== undefined,
      maxLevel: maxLevelOf(image.width, image.height),
      tileSize: TILE_SIZE,
      total: predicted?.total,
      counts: predicted?.counts,
    };
  };

  app.get('/api/session', async (): Promise<Session> => {
    const model = workspace.slot.model;
    return {
      dataset: { path: options.data, name: basename(options.data), convention: workspace.dataset.convention },
      model: model && {
        path: workspace.slot.path ?? '',
        name: basename(workspace.modelRunFolder() ?? workspace.slot.path ?? ''),
        version: workspace.slot.version,
        task: model.metadata.task,
        classNames: model.metadata.classNames,
        threshold: model.metadata.threshold,
        pixelSizeUm: model.metadata.pixelSizeUm,
        training: model.metadata.training,
      },
      classNames: annotations.classNames(),
      layers: OVERLAY_LAYERS,
      limits: { maxUploadMb: options.maxUploadMb, maxMegapixels: options.maxMegapixels },
      training: context.training.status,
      comparison: context.comparison,
      predictingAll: context.predictAll.running,
    };
  });

  app.get('/api/images', async () => {
    const results = await predictions.results();
    return Promise.all([...workspace.images.values()].map((image) => galleryEntry(image, results)));
  });

  app.post('/api/images/:id/predict', async (request) => {
    const { id } = request.params as Params;
    const b = body(request);
    workspace.image(id);
    const params = { threshold: numberOrUndefined(b.threshold, 'threshold'), minSizePx: numberOrUndefined(b.minSizePx, 'minSizePx') };
    // Tiles done of a large image, for the page's progress bar.
    return predictions.predict(id, params, (done, total) => events.emit('tiles', { image: id, done, total }));
  });

  app.get('/api/images/:id/prediction', async (request) => {
    const { id } = request.params as Params;
    if (!(await predictions.has(id))) throw new HttpError(404, `${workspace.image(id).name} has not been predicted with this model yet`);
    return predictions.predict(id);
  });

  app.get('/api/images/:id/cell-at', async (request) => {
    const { id } = request.params as Params;
    const query = request.query as Params;
    const x = numberOrUndefined(query.x, 'x') ?? 0;
    const y = numberOrUndefined(query.y, 'y') ?? 0;
    const source = query.source === 'annotation' ? await annotations.source(id) : await predictions.source(id);
    if (x < 0 || y < 0 || x >= source.width || y >= source.height) return { id: 0 };
    return { id: cellAt(source, [x, y]) };
  });

  app.get('/api/images/:id/annotation', async (request) => annotations.summary((request.params as Params).id));

  app.post('/api/images/:id/annotation/edit', async (request) => {
    const { id } = request.params as Params;
    const edit = body(request);
    if (typeof edit.op !== 'string')
      throw new HttpError(400, 'a correction needs an "op" (brush, erase, fill, delete, polygon, setClass, usePrediction, undo, redo)');
    return annotations.edit(id, edit as unknown as EditRequest);
  });

  app.post('/api/images/:id/annotation/save', async (request) => {
    const saved = await annotations.save((request.params as Params).id);
    events.emit('gallery', await galleryEntry(workspace.image((request.params as Params).id)));
    return saved;
  });

  app.post('/api/uploads', async (request) => {
    if (!request.isMultipart()) throw new HttpError(415, 'send images as multipart/form-data');
    const added = [];
    for await (const part of request.files()) {
      const bytes = await part.toBuffer();
      added.push(await galleryEntry(await workspace.addUpload(part.filename, bytes)));
    }
    if (added.length === 0) throw new HttpError(400, 'the upload holds no files');
    return { added };
  });

  app.post('/api/predict-all', async () => context.predictAll.start());
  app.post('/api/predict-all/cancel', async () => {
    context.predictAll.cancel();
    return { cancelled: true };
  });

  app.get('/api/train', async () => context.training.status);
  app.post('/api/train', async (request) => {
    const b = body(request);
    const mode = b.mode === 'finetune' ? 'finetune' : b.mode === 'train' ? 'train' : undefined;
    if (!mode) throw new HttpError(400, `mode must be "train" or "finetune", got ${JSON.stringify(b.mode)}`);
    return context.training.start(mode, numberOrUndefined(b.minutes, 'minutes') ?? 10);
  });
  app.post('/api/train/cancel', async () => context.training.cancel());

  app.get('/api/events', (_request, reply) => {
    reply.hijack();
    events.add(reply.raw);
  });
}
