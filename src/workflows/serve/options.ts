import { resolve } from 'node:path';
import type { BackendName } from '../../engine/index.js';
import type { TrainOptions } from '../../train/options.js';
import { fail } from '../../util/errors.js';
import { isLoopbackHost } from './security.js';

/** Everything `pyocyte serve` can be told; every field but `data` has a default in {@link SERVE_DEFAULTS}. */
export interface ServeOptions {
  /** The dataset folder whose images the gallery shows and whose masks corrections are saved into. */
  data: string;
  /** A training run folder (or model.json) to predict with; without one, train first. */
  model?: string;
  /** Where new training runs and uploaded images go. */
  runs: string;
  /** Address to listen on; anything but loopback needs the access token. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** The access token; generated when the server is bound beyond localhost and none is given. */
  token?: string;
  /** More host names the browser may use to reach the server (e.g. a name in /etc/hosts). */
  allowHosts: string[];
  /** Largest upload, in megabytes per file. */
  maxUploadMb: number;
  /** Largest image, in megapixels, for uploads and dataset images alike. */
  maxMegapixels: number;
  engine?: BackendName;
  threads?: number;
  /** Training options used by "Train" and "Fine-tune" besides the data, run folder and minutes. */
  train: Partial<TrainOptions>;
  /** Where messages go; default stderr. */
  log: (line: string) => void;
}

/** Defaults of {@link ServeOptions}, in one place. */
export const SERVE_DEFAULTS = {
  runs: 'runs',
  host: '127.0.0.1',
  port: 8765,
  allowHosts: [] as string[],
  maxUploadMb: 200,
  maxMegapixels: 100,
  train: {},
} as const;

/** Applies defaults and checks the options, failing with what to do. */
export function resolveServeOptions(options: Partial<ServeOptions> & { data: string }): ServeOptions {
  const o = {
    ...SERVE_DEFAULTS,
    log: (line: string) => process.stderr.write(`${line}\n`),
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    data: options.data,
  } as ServeOptions;
  if (!o.data) fail('serve needs --data DIR, the dataset folder to show');
  o.data = resolve(o.data);
  o.runs = resolve(o.runs);
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) fail(`--port must be a whole number from 0 to 65535, got ${o.port}`);
  if (!(o.maxUploadMb > 0)) fail(`--max-upload-mb must be a positive number, got ${o.maxUploadMb}`);
  if (!(o.maxMegapixels > 0)) fail(`--max-megapixels must be a positive number, got ${o.maxMegapixels}`);
  if (o.token !== undefined && o.token.length < 16) fail('--token must be at least 16 characters long');
  if (!o.host) fail('--host needs an address, e.g. 127.0.0.1');
  return o;
}

/** Whether the server must ask for its token: bound beyond localhost, or a token was given. */
export function needsToken(options: Pick<ServeOptions, 'host' | 'token'>): boolean {
  return options.token !== undefined || !isLoopbackHost(options.host);
}
