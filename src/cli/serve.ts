import type { TrainOptions } from '../train/options.js';
import { SERVE_DEFAULTS } from '../workflows/serve/options.js';
import { startServer } from '../workflows/serve/server.js';
import { fail } from '../util/errors.js';
import { type CommandSpec, defineCommand } from './args.js';
import { ENGINE_FLAGS, defined, readJsonOptions } from './common.js';

const d = SERVE_DEFAULTS;
const spec: CommandSpec = {
  name: 'serve',
  summary: 'A local web app: look at a dataset\'s images, predict and count cells, correct masks (saved into the dataset, originals kept in .orig/), and retrain or fine-tune in the background.',
  usage: 'pyocyte serve --data DIR [--model RUN] [options]',
  flags: {
    data: { type: 'string', description: 'dataset folder whose images to show and whose masks to correct' },
    model: { type: 'string', short: 'm', description: 'a training run folder (or its model.json) to predict with' },
    runs: { type: 'string', description: 'folder for new training runs and uploaded images', defaultText: d.runs },
    host: { type: 'string', description: 'address to listen on; any other than localhost needs the printed token', defaultText: d.host },
    port: { type: 'number', description: 'TCP port (0 picks a free one)', defaultText: String(d.port) },
    token: { type: 'string', description: 'access token to require', defaultText: 'a random one when --host is not localhost' },
    'allow-host': { type: 'strings', description: 'more host names the browser may use, comma-separated' },
    'max-upload-mb': { type: 'number', description: 'largest upload per file, in MB', defaultText: String(d.maxUploadMb) },
    'max-megapixels': { type: 'number', description: 'largest image, in megapixels', defaultText: String(d.maxMegapixels) },
    'train-config': { type: 'string', description: 'JSON file of training options for Train and Fine-tune (camelCase keys, as train --config)' },
    open: { type: 'boolean', description: 'open the page in the default browser', defaultText: 'on a terminal' },
    ...ENGINE_FLAGS,
  },
};

/** `pyocyte serve`: prints the address and serves until Ctrl-C. */
export const command = defineCommand(spec, async ({ flags: f }) => {
  if (typeof f.data !== 'string') fail(`serve needs --data DIR; usage: ${spec.usage}`);
  const server = await startServer(defined({
    data: f.data, model: f.model as string | undefined, runs: f.runs as string | undefined, host: f.host as string | undefined,
    port: f.port as number | undefined, token: f.token as string | undefined, allowHosts: f.allowHost as string[] | undefined,
    maxUploadMb: f.maxUploadMb as number | undefined, maxMegapixels: f.maxMegapixels as number | undefined,
    train: typeof f.trainConfig === 'string' ? (readJsonOptions(f.trainConfig) as Partial<TrainOptions>) : undefined,
    engine: f.engine as 'auto' | undefined, threads: f.threads as number | undefined,
  }) as Parameters<typeof startServer>[0]);
  console.log(`pyocyte serve: open ${server.url}`);
  console.log('pyocyte serve: Ctrl-C stops the server');
  if (f.open ?? (process.stdout.isTTY === true && !process.env.CI)) {
    const { default: open } = await import('open');
    await open(server.url).catch((error: Error) => console.error(`pyocyte serve: could not open a browser (${error.message}); open the address above`));
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
});
