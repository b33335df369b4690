/**
 * Routes that send files and pictures: image tiles, overlay tiles, thumbnails, downloads of a
 * prediction's outputs, and files of the dataset and run folders (only inside them).
 */
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { labelsToMask } from '../../data/value-map.js';
import { drawOverlay } from '../../image/overlay.js';
import type { RasterImage } from '../../image/types.js';
import { cellsCsv, summaryCsv } from '../../io/prediction-outputs.js';
import sharp from 'sharp';
import type { ServeContext } from './server.js';
import { HttpError, resolveInside } from './security.js';
import { OVERLAY_LAYERS, type OverlayLayer, type OverlaySource, overlayTilePng } from './tiles.js';

type Params = Record<string, string>;

/** `level/column_row` from a tile request, checked. */
function tileAddress(params: Params): [number, number, number] {
  const match = /^(\d+)_(\d+)\.(jpeg|png)$/.exec(params.tile ?? '');
  const level = Number(params.level);
  if (!match || !Number.isInteger(level) || level > 40) throw new HttpError(400, `bad tile address ${params.level}/${params.tile}`);
  return [level, Number(match[1]), Number(match[2])];
}

/** Overlay layers named in a query (`contours,classes`), checked against {@link OVERLAY_LAYERS}. */
export function parseLayers(text: string | undefined): Set<OverlayLayer> {
  const names = (text ?? 'contours').split(',').filter((n) => n.length > 0);
  for (const name of names) {
    if (!Object.hasOwn(OVERLAY_LAYERS, name)) {
      throw new HttpError(400, `unknown overlay layer '${name}'; valid layers are ${Object.keys(OVERLAY_LAYERS).join(', ')}`);
    }
  }
  return new Set(names as OverlayLayer[]);
}

async function png(raster: RasterImage): Promise<Buffer> {
  const raw = { width: raster.width, height: raster.height, channels: raster.channels as 1 | 3 };
  const space = raster.bitDepth === 16 ? 'grey16' : raster.channels === 1 ? 'b-w' : 'srgb';
  return sharp(raster.data, { raw }).toColourspace(space).png().toBuffer();
}

export function registerFileRoutes(app: FastifyInstance, context: ServeContext): void {
  const { workspace, predictions, annotations } = context;

  app.get('/api/images/:id/thumb.jpg', async (request, reply) => {
    const { id } = request.params as Params;
    return reply
      .type('image/jpeg')
      .header('cache-control', 'max-age=3600')
      .send(await workspace.thumbnail(id));
  });

  app.get('/api/images/:id/tiles/:level/:tile', async (request, reply) => {
    const params = request.params as Params;
    const [level, column, row] = tileAddress(params);
    const dir = await workspace.pyramid(params.id);
    return reply.header('cache-control', 'max-age=3600').sendFile(`${level}/${column}_${row}.jpeg`, dir);
  });

  app.get('/api/images/:id/overlay/:level/:tile', async (request, reply) => {
    const params = request.params as Params;
    const query = request.query as Params;
    const [level, column, row] = tileAddress(params);
    const layers = parseLayers(query.layers);
    const source: OverlaySource = query.source === 'annotation' ? await annotations.source(params.id) : await predictions.source(params.id);
    return reply
      .type('image/png')
      .header('cache-control', 'max-age=600')
      .send(await overlayTilePng(source, layers, level, column, row));
  });

  app.get('/api/images/:id/download/:kind', async (request, reply) => {
    const { id, kind } = request.params as Params;
    const image = workspace.image(id);
    const model = workspace.slot.model!;
    const { map, segmentation, result } = await predictions.source(id);
    const { width, height } = result;
    let body: Buffer | string;
    let type = 'image/png';
    if (kind === 'mask.png') body = await png(labelsToMask(segmentation.labels, { ...model.metadata.mask, task: model.metadata.task }));
    else if (kind === 'instances.png') {
      if (segmentation.instances.count > 65535)
        throw new HttpError(422, `${segmentation.instances.count} cells do not fit a 16-bit PNG; use pyocyte predict, which writes a TIFF`);
      body = await png({ width, height, channels: 1, bitDepth: 16, data: Uint16Array.from(segmentation.instances.data) });
    } else if (kind === 'overlay.png') {
      const raster = await workspace.raster(id);
      const classes = map.channels === 1 ? undefined : segmentation.labels.data;
      const thickness = Math.max(1, Math.round(Math.min(width, height) / 400));
      body = await png(drawOverlay(raster, segmentation.instances.data, { thickness, classes }));
    } else if (kind === 'cells.csv') {
      body = cellsCsv(result.cells, { pixelSizeUm: model.metadata.pixelSizeUm, image: id });
      type = 'text/csv';
    } else {
      throw new HttpError(404, `no download '${kind}'; choose mask.png, instances.png, overlay.png or cells.csv`);
    }
    const name = `${basename(image.id)}_${kind.replace('.png', '')}${kind.endsWith('.csv') ? '' : '.png'}`;
    return reply
      .type(type)
      .header('content-disposition', `attachment; filename="${name.replace(/"/g, '')}"`)
      .send(body);
  });

  app.get('/api/summary.csv', async (_request, reply) => {
    const rows = (await predictions.results()).map((r) => ({
      image: r.image,
      width: r.width,
      height: r.height,
      cells: r.total,
      counts: r.counts,
      foregroundFraction: r.foregroundFraction,
    }));
    return reply.type('text/csv').header('content-disposition', 'attachment; filename="summary.csv"').send(summaryCsv(rows));
  });

  app.get('/api/train/figures/:name', async (request, reply) => {
    const figure = context.figures.get((request.params as Params).name);
    if (!figure) throw new HttpError(404, 'no such figure; train a model first');
    return reply.type('image/png').send(figure);
  });

  // Files of the dataset ("data") and of the model's run or the runs folder ("run", "runs").
  app.get('/files/:root/*', async (request, reply) => {
    const params = request.params as Params;
    const roots: Record<string, string | undefined> = {
      data: context.options.data,
      runs: context.options.runs,
      run: workspace.modelRunFolder(),
    };
    const root = Object.hasOwn(roots, params.root) ? roots[params.root] : undefined;
    if (!root) throw new HttpError(404, `no folder '${params.root}'; files are served from data, run and runs`);
    const real = await resolveInside(root, params['*'] ?? '');
    return reply.sendFile(basename(real), real.slice(0, real.length - basename(real).length), { dotfiles: 'allow' });
  });
}
