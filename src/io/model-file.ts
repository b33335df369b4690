/**
 * The model file: `model.json` (architecture + metadata: normalisation, threshold, class names,
 * pixel size, mask polarity) beside `model.safetensors` (weights and BatchNorm statistics, named as
 * in PyTorch's state_dict of the reference U-Net, so torch can load them too).
 * A folder of files is written as a unit: into a temporary sibling, then swapped in by rename.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Engine } from '../engine/types.js';
import { Model, type ModelMetadata } from '../nn/model.js';
import { type UNetConfig, resolveUNetConfig } from '../nn/unet.js';
import { fail } from '../util/errors.js';
import { writeFolderAtomic } from '../util/fs.js';
import { type SafetensorsTensor, decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { SHIPPED_MODEL_NAMES, shippedModelFolder } from './shipped-models.js';

export const MODEL_FORMAT = 'pyocyte-model';
export const MODEL_FORMAT_VERSION = 1;
/** A training run keeps its final model in this sub-folder: RUN/model/model.json. */
export const MODEL_FOLDER = 'model';

export interface ModelFileJson {
  format: typeof MODEL_FORMAT;
  version: number;
  architecture: { name: 'unet' } & UNetConfig;
  metadata: ModelMetadata;
  weights: string;
  createdAt: string;
}

/** Every weight and statistic of a model as plain float32 data, by state_dict name. */
export async function modelTensors(model: Model): Promise<Record<string, SafetensorsTensor>> {
  const tensors: Record<string, SafetensorsTensor> = {};
  const engine = model.engine;
  for (const { name, value } of model.network.stateTensors()) tensors[name] = { shape: [...value.shape], data: await engine.read(value) };
  for (const norm of model.network.norms()) {
    tensors[`${norm.name}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(norm.batchesTracked)) };
  }
  return tensors;
}

/**
 * A tensor's values as float32: F32 as stored, BF16 widened (the upper half of a float32's bits;
 * shipped models are stored so, at half the size), anything else undefined.
 */
export function float32Of(tensor: SafetensorsTensor): Float32Array | undefined {
  if (tensor.data instanceof Float32Array) return tensor.data;
  if (tensor.dtype !== 'BF16' || !(tensor.data instanceof Uint16Array)) return undefined;
  const bits = new Uint32Array(tensor.data.length);
  for (let i = 0; i < bits.length; i++) bits[i] = tensor.data[i] << 16;
  return new Float32Array(bits.buffer);
}

/** Writes weights into a model; every tensor the model has must be present with its shape. */
export function loadModelTensors(model: Model, tensors: Record<string, SafetensorsTensor>, file: string): void {
  const targets = model.network.stateTensors();
  const problems: string[] = [];
  for (const { name, value } of targets) {
    const saved = tensors[name];
    if (!saved) problems.push(`'${name}' is missing`);
    else if (saved.shape.join('x') !== value.shape.join('x'))
      problems.push(`'${name}' is [${saved.shape}] but the model expects [${value.shape}]`);
    else if (!float32Of(saved)) problems.push(`'${name}' is ${saved.dtype ?? 'not float32'}, not F32 or BF16`);
  }
  failOnTensorProblems(`${file} does not fit the model in its model.json`, problems);
  for (const { name, value } of targets) model.engine.write(value, float32Of(tensors[name])!);
  restoreBatchesTracked(model, tensors);
}

/** Fails with `context: ` and the first five problems (and how many more), when there are any. */
export function failOnTensorProblems(context: string, problems: readonly string[]): void {
  if (problems.length === 0) return;
  fail(`${context}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
}

/** Sets each BatchNorm's count of training batches from its `<name>.num_batches_tracked` tensor, where saved. */
export function restoreBatchesTracked(model: Model, tensors: Record<string, SafetensorsTensor>): void {
  for (const norm of model.network.norms()) {
    const tracked = tensors[`${norm.name}.num_batches_tracked`]?.data;
    if (tracked instanceof BigInt64Array) norm.batchesTracked = Number(tracked[0]);
  }
}

/** The files of a saved model, for `writeFolderAtomic` or to bundle into a checkpoint. */
export async function modelFiles(model: Model): Promise<Record<string, string | Uint8Array>> {
  const json: ModelFileJson = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    architecture: { name: 'unet', ...model.config },
    metadata: model.metadata,
    weights: 'model.safetensors',
    createdAt: new Date().toISOString(),
  };
  const weights = encodeSafetensors(await modelTensors(model), { metadata: { format: 'pt', producer: 'pyocyte' } });
  return { 'model.json': `${JSON.stringify(json, null, 2)}\n`, 'model.safetensors': weights };
}

/**
 * Saves a model as a folder of its own (`model.json` + `model.safetensors`), replaced atomically:
 * the folder is swapped as a whole, so never give a folder holding other files.
 */
export async function saveModel(dir: string, model: Model): Promise<void> {
  await writeFolderAtomic(dir, await modelFiles(model));
}

/**
 * Where the model of a path lives: a folder with model.json (a training run's output or a
 * checkpoint), a model.json file itself, or the name of a shipped model (io/shipped-models.ts).
 */
export function resolveModelPath(path: string): string {
  if (!existsSync(path)) {
    const shipped = shippedModelFolder(path);
    if (shipped) return join(shipped, 'model.json');
    fail(
      `no model at ${path}: the path does not exist (train one with 'pyocyte train --out ${path}', or name a model that ships with pyocyte: ${SHIPPED_MODEL_NAMES})`,
    );
  }
  if (statSync(path).isFile()) return path;
  for (const json of [join(path, 'model.json'), join(path, MODEL_FOLDER, 'model.json')]) if (existsSync(json)) return json;
  fail(`no model in ${path}: expected ${join(path, MODEL_FOLDER, 'model.json')} (written by 'pyocyte train')`);
}

/** The training run a model belongs to (RUN for RUN/model/model.json), else the model's own folder. */
export function runFolderOf(path: string): string {
  const folder = dirname(resolveModelPath(path));
  return basename(folder) === MODEL_FOLDER ? dirname(folder) : folder;
}

/** Reads a model's JSON and checks its format. */
export async function readModelJson(path: string): Promise<{ json: ModelFileJson; file: string }> {
  const file = resolveModelPath(path);
  let json: ModelFileJson;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as ModelFileJson;
  } catch (error) {
    return fail(`${file} is not valid JSON: ${(error as Error).message}`, { file });
  }
  if (json.format !== MODEL_FORMAT) fail(`${file} is not a pyocyte model file (format '${String(json.format)}')`, { file });
  if (json.version > MODEL_FORMAT_VERSION)
    fail(`${file} was written by a newer pyocyte (format version ${json.version}); upgrade pyocyte`, { file });
  return { json, file };
}

/** Loads a model saved by {@link saveModel} onto an engine. */
export async function loadModel(path: string, options: { engine: Engine }): Promise<Model> {
  const { json, file } = await readModelJson(path);
  const { name: _architecture, ...config } = json.architecture;
  const model = new Model(options.engine, resolveUNetConfig(config), json.metadata);
  const weightsFile = join(dirname(file), json.weights);
  if (!existsSync(weightsFile)) fail(`${file} names weights ${weightsFile}, which is missing`, { file: weightsFile });
  const { tensors } = decodeSafetensors(await readFile(weightsFile), { file: weightsFile });
  loadModelTensors(model, tensors, weightsFile);
  return model;
}
