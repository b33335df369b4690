import { resolve } from 'node:path';
import type { BackendName } from '../../engine/index.js';
import { ENGINE_OPTIONS } from '../../engine/options.js';
import type { TrainOptions } from '../../train/options.js';
import { fail } from '../../util/errors.js';
import { type Fits, type OptionValues, defaultsOf, defineOptions, omitOptions } from '../../util/options.js';
import { isLoopbackHost } from './security.js';

/** `pyocyte serve`'s options (src/util/options.ts); `trainConfig` and `open` are the command line's own. */
export const SERVE_OPTIONS = defineOptions({
  data: { type: 'string', required: true, placeholder: 'DIR', doc: 'dataset folder whose images to show and whose masks to correct' },
  model: { type: 'string', short: 'm', placeholder: 'RUN', doc: 'a training run folder (or its model.json) to predict with' },
  runs: { type: 'string', placeholder: 'DIR', default: 'runs', doc: 'folder for new training runs and uploaded images' },
  host: { type: 'string', default: '127.0.0.1', doc: 'address to listen on; any other than localhost needs the printed token' },
  port: { type: 'number', default: 8765, doc: 'TCP port (0 picks a free one)' },
  token: { type: 'string', defaultText: 'a random one when --host is not localhost', doc: 'access token to require' },
  allowHosts: { type: 'list', flag: 'allow-host', doc: 'more host names the browser may use, comma-separated' },
  maxUploadMb: { type: 'number', default: 200, doc: 'largest upload per file, in MB' },
  maxMegapixels: { type: 'number', default: 100, doc: 'largest image, in megapixels, for uploads and dataset images alike' },
  trainConfig: {
    type: 'string',
    placeholder: 'FILE',
    doc: 'JSON file of training options for Train and Fine-tune (camelCase keys, as train --config)',
  },
  open: { type: 'boolean', defaultText: 'on a terminal', doc: 'open the page in the default browser' },
  ...omitOptions(ENGINE_OPTIONS, 'precision'),
});

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

/** Defaults of {@link ServeOptions}: the table's, and no extra hosts or training options. */
export const SERVE_DEFAULTS = { ...defaultsOf(SERVE_OPTIONS), allowHosts: [] as string[], train: {} } as const;

// ServeOptions is written by hand; this fails to compile when the table stops matching it.
export type ServeOptionsFit = Fits<Omit<OptionValues<typeof SERVE_OPTIONS>, 'trainConfig' | 'open'>, Partial<ServeOptions>>;

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
