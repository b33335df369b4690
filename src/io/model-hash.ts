/**
 * A model named by its content: the sha256 of its files. Queued jobs carry it so that a worker
 * never predicts with a different model than the one the batch was submitted with.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fail } from '../util/errors.js';
import { readModelJson } from './model-file.js';

/** The sha256 of a saved model and the files it covers. */
export interface ModelHash {
  /** 64 hex digits. */
  sha256: string;
  /** model.json and its weights file, absolute paths. */
  files: string[];
}

/**
 * The sha256 (hex) of a model's files: of the two lines `sha256sum model.json model.safetensors`
 * prints in the model's folder, so `sha256sum model.json model.safetensors | sha256sum` there gives
 * the same digits. `path` is a run folder, a model folder or a model.json, as everywhere.
 * @throws PyocyteError when there is no model at `path`.
 */
export async function modelSha256(path: string): Promise<ModelHash> {
  const { json, file } = await readModelJson(path);
  const folder = dirname(file);
  const names = [file.slice(folder.length + 1), json.weights];
  if (!existsSync(join(folder, json.weights))) fail(`${file} names weights ${join(folder, json.weights)}, which is missing`, { file });
  const lines: string[] = [];
  for (const name of names)
    lines.push(
      `${createHash('sha256')
        .update(await readFile(join(folder, name)))
        .digest('hex')}  ${name}\n`,
    );
  return { sha256: createHash('sha256').update(lines.join('')).digest('hex'), files: names.map((n) => join(folder, n)) };
}

/** The files' sizes and modification times: when these are unchanged, so is the hash. */
export async function modelFilesStamp(hash: ModelHash): Promise<string> {
  const stats = await Promise.all(hash.files.map((f) => stat(f)));
  return stats.map((s) => `${s.size}:${s.mtimeMs}`).join(',');
}
