/**
 * `pyocyte serve`: a local web app over the library to look at a dataset's images, predict and
 * count cells, correct masks and retrain. A Fastify server with its own plugins for the static
 * front end (`dist/web`) and multipart uploads; the routes are in routes.ts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { PyocyteError, fail } from '../../util/errors.js';
import { Annotations } from './annotations.js';
import { EventHub, PredictAllJob, TrainingJob } from './jobs.js';
import type { Comparison } from './api-types.js';
import { type ServeOptions, needsToken, resolveServeOptions } from './options.js';
import { Predictions } from './predictions.js';
import { registerRoutes } from './routes.js';
import { registerFileRoutes } from './routes-files.js';
import { HttpError, allowedHostNames, checkHostAndOrigin, newToken, presentedToken, tokenMatches } from './security.js';
import { Workspace } from './workspace.js';
import { compareModels } from './compare.js';

/** A running server. */
export interface RunningServer {
  /** The address to open, with `?token=` when the server needs one. */
  url: string;
  port: number;
  /** The access token, when the server asks for one. */
  token?: string;
  app: FastifyInstance;
  /** Stops training, closes event streams and the server, and removes the tile cache. */
  close(): Promise<void>;
}

const COOKIE = 'pyocyte_token';

/** The built front end: dist/web beside the compiled server, or the repository's dist/web when run from source. */
export function webRoot(): string {
  for (const relative of ['../../web/', '../../../dist/web/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return fail('the pyocyte web app is not built (dist/web/index.html is missing); run `npm run build`');
}

/** The services the routes use. */
export interface ServeContext {
  options: ServeOptions;
  workspace: Workspace;
  predictions: Predictions;
  annotations: Annotations;
  events: EventHub;
  predictAll: PredictAllJob;
  training: TrainingJob;
  /** Before/after figures of the last training run, by name. */
  figures: Map<string, Buffer>;
  comparison?: Comparison;
}

/**
 * Starts the server on `options.host:options.port`. On loopback it needs no token; bound to any
 * other address it asks for one (given or generated) on every request, and accepts only Host
 * headers that name this machine.
 */
export async function startServer(input: Partial<ServeOptions> & { data: string }): Promise<RunningServer> {
  const options = resolveServeOptions(input);
  const web = webRoot();
  const cacheDir = await mkdtemp(join(tmpdir(), 'pyocyte-serve-'));
  const workspace = await Workspace.open(options, cacheDir).catch(async (error: unknown) => {
    await rm(cacheDir, { recursive: true, force: true });
    throw error;
  });
  const token = needsToken(options) ? (options.token ?? newToken()) : undefined;
  const allowed = allowedHostNames(options.host, options.allowHosts);
  const events = new EventHub();
  const predictions = new Predictions(workspace);
  const annotations = new Annotations(workspace, async (id) => predictions.source(id));
  const figures = new Map<string, Buffer>();
  // A finished run: use its model, then compare it with the one before on the validation images.
  const training = new TrainingJob(workspace, events, async (runDir) => {
    const before = workspace.slot.model;
    await workspace.useModel(runDir);
    annotations.reset();
    context.comparison = await compareModels(workspace, runDir, before, workspace.slot.model!, figures);
    return context.comparison;
  });
  const context: ServeContext = {
    options,
    workspace,
    predictions,
    annotations,
    events,
    figures,
    training,
    predictAll: new PredictAllJob(workspace, predictions, events),
  };

  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024, trustProxy: false });
  app.addHook('onRequest', async (request, reply) => {
    checkHostAndOrigin({ host: request.headers.host, origin: request.headers.origin }, request.method, allowed);
    if (token === undefined) return;
    const presented = presentedToken(request.query as Record<string, unknown>, request.headers, COOKIE);
    if (!tokenMatches(presented, token))
      throw new HttpError(401, 'this pyocyte server needs its access token: open the address with ?token=… that it printed at start');
    if ((request.query as Record<string, unknown>).token !== undefined) {
      reply.header('set-cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  });
  app.setErrorHandler((error, request, reply) => {
    const status =
      error instanceof HttpError
        ? error.statusCode
        : error instanceof PyocyteError
          ? 400
          : typeof (error as { statusCode?: number }).statusCode === 'number' && (error as { statusCode: number }).statusCode >= 400
            ? (error as { statusCode: number }).statusCode
            : 500;
    const message = status === 500 ? `internal error: ${(error as Error).message}` : (error as Error).message;
    if (status === 500) options.log(`pyocyte serve: ${request.method} ${request.url}: ${(error as Error).stack ?? String(error)}`);
    void reply
      .status(status)
      .type('application/json')
      .send({ error: status === 413 ? tooLarge(message, options.maxUploadMb) : message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .type('application/json')
      .send({ error: `nothing at ${request.url.split('?')[0]}` });
  });
  await app.register(fastifyMultipart, { limits: { fileSize: options.maxUploadMb * 1024 * 1024, files: 100, fields: 10, parts: 110 } });
  await app.register(fastifyStatic, {
    root: web,
    prefix: '/',
    index: 'index.html',
    wildcard: false,
    decorateReply: true,
    cacheControl: false,
  });
  registerRoutes(app, context);
  registerFileRoutes(app, context);

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  const url = `http://${shownHost}:${port}/${token ? `?token=${token}` : ''}`;
  return {
    url,
    port,
    token,
    app,
    async close() {
      context.predictAll.cancel();
      context.training.kill();
      events.close();
      await app.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

function tooLarge(message: string, maxUploadMb: number): string {
  return /too large|limit/i.test(message) && !/Mpx/.test(message)
    ? `the upload is larger than this server's limit of ${maxUploadMb} MB per file (--max-upload-mb)`
    : message;
}
