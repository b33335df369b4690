/**
 * Models that ship with pyocyte, by name, as Cellpose ships `nuclei` and `cyto3`: wherever a
 * model path is asked for (`predict --model`, `evaluate --model`, `train --initial-weights`), a
 * name of this table that is not an existing path means the shipped model. Each is trained by
 * `npm run pretrain` (scripts/pretrain.ts) only on data whose licence lets its weights ship.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIPPED_MODELS = {
  nuclei: {
    doc: 'fluorescence nuclei (1 channel, three-class instances at a 24-px working diameter), trained for 20 minutes on the 446 training images of dsb2018-nuclei (Kaggle DSB2018 / BBBC038, CC0)',
    folder: 'models/nuclei',
    /** The recipe `npm run pretrain` follows: a dataset folder of ../shared/data and train's options. */
    recipe: { data: 'dsb2018-nuclei', licence: 'CC0 1.0 (BBBC038v1)', minutes: 20 },
  },
} as const;
export type ShippedModelName = keyof typeof SHIPPED_MODELS;

/** The package's root: models/ sits beside src/ and dist/. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The folder of the shipped model called `name`, or undefined when no model has that name. */
export function shippedModelFolder(name: string): string | undefined {
  if (!Object.hasOwn(SHIPPED_MODELS, name)) return undefined;
  const folder = join(PACKAGE_ROOT, SHIPPED_MODELS[name as ShippedModelName].folder);
  return existsSync(join(folder, 'model.json')) ? folder : undefined;
}

/** The names of the shipped models, for messages. */
export const SHIPPED_MODEL_NAMES = Object.keys(SHIPPED_MODELS).join(', ');
