import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PyocyteError } from '../util/errors.js';
import { MASK_POLARITIES, type MaskPolarity } from './masks.js';
import { parseValueMap } from './value-map.js';

/** What a dataset folder may declare about itself in `pyocyte.json` (or nnU-Net's `dataset.json`). */
export interface DatasetMetadata {
  /** Micrometres per pixel of the images. */
  pixelSizeUm?: number;
  /** File value → class index, from `valueMap` ("0:background,255:cell") or nnU-Net `labels`. */
  valueMap?: Record<number, number>;
  classNames?: string[];
  maskPolarity?: MaskPolarity;
  /** The file the metadata came from. */
  file?: string;
}

/** Keys `pyocyte.json` may hold, with what they mean (unknown keys fail, listing these). */
export const PYOCYTE_JSON_KEYS = {
  pixelSizeUm: 'micrometres per pixel, e.g. 0.25',
  valueMap: 'mask value → class, e.g. "0:background,128:cytoplasm,255:nucleus"',
  maskPolarity: 'auto, white or black',
  description: 'free text',
} as const;

function pixelSize(value: unknown, file: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new PyocyteError(`${file}: pixelSizeUm must be a positive number of micrometres per pixel, got ${JSON.stringify(value)}`, {
      file,
    });
  }
  return value;
}

/** nnU-Net labels: v2 `{"background": 0, "cell": 1}` or v1 `{"0": "background", "1": "cell"}`. */
function nnunetLabels(labels: unknown, file: string): Pick<DatasetMetadata, 'valueMap' | 'classNames'> {
  if (typeof labels !== 'object' || labels === null) return {};
  const pairs: [number, string][] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value === 'number') pairs.push([value, key]);
    else if (typeof value === 'string' && /^\d+$/.test(key)) pairs.push([Number(key), value]);
    else
      throw new PyocyteError(`${file}: cannot read label "${key}": ${JSON.stringify(value)} (region labels are not supported)`, { file });
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const valueMap: Record<number, number> = {};
  pairs.forEach(([value], index) => (valueMap[value] = index));
  return { valueMap, classNames: pairs.map(([, name]) => name) };
}

async function readJson(path: string, name: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new PyocyteError(`${name} is not valid JSON (${(error as Error).message}); fix or remove it`, { file: name });
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw new PyocyteError(`${name} must hold a JSON object`, { file: name });
  }
  return content as Record<string, unknown>;
}

/** Reads `pyocyte.json` (strict) or else nnU-Net's `dataset.json` (only the keys pyocyte uses). */
export async function readDatasetMetadata(root: string): Promise<DatasetMetadata> {
  const own = await readJson(join(root, 'pyocyte.json'), 'pyocyte.json');
  if (own) {
    const file = 'pyocyte.json';
    const unknown = Object.keys(own).filter((k) => !(k in PYOCYTE_JSON_KEYS));
    if (unknown.length > 0) {
      throw new PyocyteError(
        `${file} has unknown key${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}; valid keys are ${Object.keys(PYOCYTE_JSON_KEYS).join(', ')}`,
        { file },
      );
    }
    const metadata: DatasetMetadata = { file, pixelSizeUm: pixelSize(own.pixelSizeUm, file) };
    if (own.valueMap !== undefined) {
      if (typeof own.valueMap !== 'string')
        throw new PyocyteError(`${file}: valueMap must be a string like "0:background,255:cell"`, { file });
      Object.assign(metadata, parseValueMap(own.valueMap));
    }
    if (own.maskPolarity !== undefined) {
      if (typeof own.maskPolarity !== 'string' || !(own.maskPolarity in MASK_POLARITIES)) {
        throw new PyocyteError(`${file}: maskPolarity must be one of ${Object.keys(MASK_POLARITIES).join(', ')}`, { file });
      }
      metadata.maskPolarity = own.maskPolarity as MaskPolarity;
    }
    return metadata;
  }
  const nnunet = await readJson(join(root, 'dataset.json'), 'dataset.json');
  if (nnunet) {
    const file = 'dataset.json';
    return { file, pixelSizeUm: pixelSize(nnunet.pixelSizeUm, file), ...nnunetLabels(nnunet.labels, file) };
  }
  return {};
}
