import { readFileSync } from 'node:fs';
import { MASK_POLARITIES, STRAY_VALUE_POLICIES, type MaskPolarity, type StrayValuePolicy } from '../data/masks.js';
import type { DatasetOptions } from '../data/prepare.js';
import type { Task } from '../nn/types.js';
import { BACKENDS, PRECISIONS } from '../engine/index.js';
import { fail } from '../util/errors.js';
import type { FlagSpec, FlagValue } from './args.js';

/** Flags that say how a dataset's files are read: shared by train and evaluate. */
export const DATASET_FLAGS: Record<string, FlagSpec> = {
  task: { type: 'string', choices: ['binary', 'multiclass'], description: 'binary (objects vs background) or multiclass', defaultText: 'binary, or multiclass with --value-map' },
  'mask-polarity': { type: 'string', choices: Object.keys(MASK_POLARITIES), description: 'which colour the objects are in two-valued masks', defaultText: 'auto (the minority)' },
  'value-map': { type: 'string', description: 'mask value → class, e.g. 0:background,128:cytoplasm,255:nucleus' },
  'stray-values': { type: 'string', choices: Object.keys(STRAY_VALUE_POLICIES), description: 'mask values missing from --value-map', defaultText: 'error' },
  'mask-threshold': { type: 'number', description: 'binarise gray masks at this value' },
  split: { type: 'string', description: 'a split.json of {train, val, test} image names', defaultText: 'DIR/split.json if present' },
  'split-counts': { type: 'string', description: 'train,val,test image counts when there is no split.json, e.g. 30,5,5', defaultText: '70/15/15 %' },
  'pixel-size': { type: 'number', description: 'micrometres per pixel of the images' },
  channels: { type: 'string', description: "the image files' channels to use, 0-based, in order (e.g. 0,2); stored in the model", defaultText: 'all but alpha' },
};

/** Engine flags shared by every command that computes. */
export const ENGINE_FLAGS: Record<string, FlagSpec> = {
  threads: { type: 'number', description: 'compute threads', defaultText: 'all cores' },
  engine: { type: 'string', choices: Object.keys(BACKENDS), description: 'compute engine', defaultText: 'auto (native oneDNN, else reference)' },
  precision: { type: 'string', choices: Object.keys(PRECISIONS), description: 'native arithmetic: fp32, bf16 (faster where the CPU has it) or auto', defaultText: 'fp32' },
};

type Flags = Record<string, FlagValue | undefined>;
const str = (v: FlagValue | undefined) => (typeof v === 'string' ? v : undefined);
const num = (v: FlagValue | undefined) => (typeof v === 'number' ? v : undefined);

function parseCounts(text: string | undefined): [number, number, number] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(/[,/]/).map(Number);
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 0)) fail(`--split-counts must be three whole numbers like 30,5,5; got '${text}'`);
  return parts as [number, number, number];
}

/** `--channels 0,2` → [0, 2]. */
export function parseChannels(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) fail(`--channels must list channel numbers from 0, like 0,2; got '${text}'`);
  return parts.map(Number);
}

/** DatasetOptions from parsed flags. */
export function datasetOptions(flags: Flags): DatasetOptions {
  return {
    task: str(flags.task) as Task | undefined,
    maskPolarity: str(flags.maskPolarity) as MaskPolarity | undefined,
    valueMap: str(flags.valueMap),
    strayValues: str(flags.strayValues) as StrayValuePolicy | undefined,
    maskThreshold: num(flags.maskThreshold),
    splitFile: str(flags.split),
    splitCounts: parseCounts(str(flags.splitCounts)),
    pixelSizeUm: num(flags.pixelSize),
    channels: parseChannels(str(flags.channels)),
  };
}

/** Reads a JSON options file (`--config`), failing with the file's name. */
export function readJsonOptions(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return fail(`cannot read the config file ${path}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${path} must hold a JSON object of options`);
    return value as Record<string, unknown>;
  } catch (error) {
    return fail(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Drops undefined values so they don't override defaults or config-file values. */
export function defined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Aborts on the first Ctrl-C (the job saves and stops cleanly); a second Ctrl-C quits at once. */
export function interruptSignal(what: string): AbortSignal {
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${what}: stopping after the current step and saving (Ctrl-C again to quit now)\n`);
    controller.abort();
  });
  return controller.signal;
}
