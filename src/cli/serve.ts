import type { TrainOptions } from '../train/options.js';
import { SERVE_OPTIONS } from '../workflows/serve/options.js';
import { startServer } from '../workflows/serve/server.js';
import { defineCommand } from './args.js';
import { readJsonOptions } from './common.js';

const spec = {
  name: 'serve',
  summary:
    "A local web app: look at a dataset's images, predict and count cells, correct masks (saved into the dataset, originals kept in .orig/), and retrain or fine-tune in the background.",
  usage: 'pyocyte serve --data DIR [--model RUN] [options]',
  options: SERVE_OPTIONS,
} as const;

/** `pyocyte serve`: prints the address and serves until Ctrl-C. */
export const command = defineCommand(spec, async ({ options: { trainConfig, open: openPage, ...options } }) => {
  const train = trainConfig === undefined ? undefined : (readJsonOptions(trainConfig) as Partial<TrainOptions>);
  const server = await startServer({ ...options, train });
  console.log(`pyocyte serve: open ${server.url}`);
  console.log('pyocyte serve: Ctrl-C stops the server');
  if (openPage ?? (process.stdout.isTTY === true && !process.env.CI)) {
    const { default: open } = await import('open');
    await open(server.url).catch((error: Error) =>
      console.error(`pyocyte serve: could not open a browser (${error.message}); open the address above`),
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
});
