#!/usr/bin/env node
import { PyocyteError } from '../util/errors.js';

/** Each command lives in its own file and exports `command: Command`. Loaded lazily so `--help` is instant. */
const COMMANDS = {
  demo: () => import('./demo.js'),
  train: () => import('./train.js'),
  evaluate: () => import('./evaluate.js'),
  predict: () => import('./predict.js'),
  export: () => import('./export.js'),
  data: () => import('./data.js'),
  patchify: () => import('./patchify.js'),
  synth: () => import('./synth.js'),
  worker: () => import('./worker.js'),
  queue: () => import('./queue.js'),
  serve: () => import('./serve.js'),
} as const;
type CommandName = keyof typeof COMMANDS;

const USAGE = `pyocyte: train U-Nets that segment microscopy cells, on a CPU

Usage: pyocyte <command> [options]

Commands:
  demo        synthesise stained smears, train, evaluate and predict, end to end
  train       train a U-Net on a folder of images and masks
  evaluate    score a trained model on a dataset (Dice, IoU, object counts)
  predict     segment images of any size; masks, overlays, instances, cells.csv
  export      export a trained model to ONNX
  data check  check a dataset folder and summarise it
  patchify    cut images and masks into overlapping patches on disk
  synth       generate a synthetic stained-smear dataset
  worker      take prediction jobs from a Redis queue (predict --queue)
  queue status  jobs and workers of a Redis prediction queue
  serve       a local web app to look, count, correct masks and retrain

Run 'pyocyte <command> --help' for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  if (name === '--version') {
    const { createRequire } = await import('node:module');
    console.log(createRequire(import.meta.url)('../../package.json').version);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    throw new PyocyteError(`unknown command '${name}'; valid commands are: ${Object.keys(COMMANDS).join(', ')}`);
  }
  const module = await COMMANDS[name as CommandName]();
  return module.command(rest);
}

function report(error: unknown): number {
  if (error instanceof PyocyteError) {
    console.error(`pyocyte: ${error.message}`);
    return 1;
  }
  // Anything else is our bug: one line by default, the stack with PYOCYTE_DEBUG=1.
  const message = error instanceof Error ? error.message : String(error);
  console.error(`pyocyte: internal error: ${message}`);
  if (process.env.PYOCYTE_DEBUG) console.error(error);
  else console.error('pyocyte: this is a bug; rerun with PYOCYTE_DEBUG=1 for details and report it');
  return 70;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.exitCode = report(error);
  },
);
