import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Batch } from '../../src/nn/types.js';
import { type Engine, createEngine, nativeAvailability } from '../../src/engine/index.js';
import { loadModel, loadModelTensors, modelTensors, resolveModelPath, runFolderOf, saveModel } from '../../src/io/model-file.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { type Model, type ModelMetadata, unet } from '../../src/nn/model.js';
import { saveBestCheckpoint } from '../../src/train/checkpoint.js';
import { PyocyteError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';
import { assertBitExact } from '../engine/helpers.js';
import { tempFolder } from '../cli/helpers.js';

const reference = () => createEngine({ backend: 'reference' });
const native = nativeAvailability();
const nativeSkip = native.available ? false : `native engine unavailable: ${native.reason}`;

const METADATA: ModelMetadata = {
  task: 'binary',
  classNames: ['background', 'pus cell'],
  normalization: { kind: 'meanStd', mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 0.125] },
  threshold: 0.375,
  pixelSizeUm: 0.25,
  mask: { polarity: 'black' },
  training: { epochs: 3, loss: 'bce+dice' },
};

/** A depth-2, 4-filter net trained 3 steps, so BatchNorm statistics and num_batches_tracked are not their initial values. */
async function trainedModel(engine: Engine, options: { classes?: number; metadata?: Partial<ModelMetadata> } = {}): Promise<Model> {
  const classes = options.classes ?? 1;
  const model = unet({ inChannels: 3, classes, depth: 2, filters: 4 }, { engine, seed: 4, metadata: { ...METADATA, ...options.metadata } });
  model.configureTraining({ loss: 'bce+dice' });
  const rng = new Random(5);
  const batch: Batch = {
    x: Float32Array.from({ length: 2 * 3 * 16 * 16 }, () => rng.normal()),
    y: Float32Array.from({ length: 2 * 16 * 16 }, () => rng.int(0, Math.max(2, classes))),
    inputShape: [2, 3, 16, 16],
    targetShape: [2, 16, 16],
  };
  for (let i = 0; i < 3; i++) await model.trainStep(batch, { learningRate: 1e-2 });
  return model;
}

const INPUT_SHAPE = [1, 3, 24, 24] as const;
const input = (() => {
  const rng = new Random(11);
  return Float32Array.from({ length: 3 * 24 * 24 }, () => rng.normal());
})();

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function rejectsNaming(promise: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  return assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof PyocyteError, `not a PyocyteError: ${String(e)}`);
    assert.ok(e.message.includes(file), `'${e.message}' does not name ${file}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('model file: model.json + model.safetensors', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let saved: Model;
  let dir = '';
  before(async () => {
    tmp = tempFolder('model-file');
    saved = await trainedModel(reference());
    dir = join(tmp.dir, 'run', 'model');
    await saveModel(dir, saved);
  });
  after(() => tmp.remove());

  test('round trip on the reference engine: every parameter and BatchNorm statistic bit-exact, num_batches_tracked = 3, metadata equal', async () => {
    const loaded = await loadModel(dir, { engine: reference() });
    const [a, b] = [await modelTensors(saved), await modelTensors(loaded)];
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
    for (const name of Object.keys(a)) {
      if (a[name].data instanceof Float32Array) assertBitExact(b[name].data as Float32Array, a[name].data, name);
    }
    assert.deepEqual(b['down.0.1.num_batches_tracked'].data, BigInt64Array.of(3n));
    assert.ok(loaded.network.norms().every((n) => n.batchesTracked === 3));
    assert.deepEqual(loaded.metadata, METADATA);
    assert.deepEqual(loaded.config, saved.config);
  });

  test('round trip: predictions on a 24x24 input are bit-identical after reload', async () => {
    const loaded = await loadModel(dir, { engine: reference() });
    assertBitExact(await loaded.predict(input, INPUT_SHAPE), await saved.predict(input, INPUT_SHAPE), 'probabilities');
  });

  test('3 classes with a value map: classNames and mask.valueMap survive the round trip', async () => {
    const metadata = {
      task: 'multiclass' as const,
      classNames: ['background', 'cytoplasm', 'nucleus'],
      mask: { valueMap: { 0: 0, 128: 1, 255: 2 } },
    };
    const model = await trainedModel(reference(), { classes: 3, metadata });
    const path = join(tmp.dir, 'three', 'model');
    await saveModel(path, model);
    const loaded = await loadModel(path, { engine: reference() });
    assert.deepEqual(loaded.metadata, { ...METADATA, ...metadata });
    assert.equal(loaded.config.classes, 3);
    assertBitExact(await loaded.predict(input, INPUT_SHAPE), await model.predict(input, INPUT_SHAPE), 'probabilities');
  });

  test('reference → native: the same predictions within 1e-4', { skip: nativeSkip }, async () => {
    const loaded = await loadModel(dir, { engine: createEngine({ backend: 'native' }) });
    const difference = maxDifference(await loaded.predict(input, INPUT_SHAPE), await saved.predict(input, INPUT_SHAPE));
    assert.ok(difference < 1e-4, `max difference ${difference}`);
  });

  test('native → reference: a model trained and saved on native predicts the same on reference within 1e-4', {
    skip: nativeSkip,
  }, async () => {
    const model = await trainedModel(createEngine({ backend: 'native' }));
    const path = join(tmp.dir, 'native', 'model');
    await saveModel(path, model);
    const loaded = await loadModel(path, { engine: reference() });
    const difference = maxDifference(await loaded.predict(input, INPUT_SHAPE), await model.predict(input, INPUT_SHAPE));
    assert.ok(difference < 1e-4, `max difference ${difference}`);
  });

  test("tensor names are PyTorch state_dict names: the golden torch file's params and buffers, same shapes, plus I64 num_batches_tracked", () => {
    const { tensors, metadata } = decodeSafetensors(readFileSync(join(dir, 'model.safetensors')));
    const names = Object.keys(tensors);
    for (const name of ['down.0.0.weight', 'down.0.1.running_mean', 'up.0.weight', 'head.bias', 'down.0.1.num_batches_tracked'])
      assert.ok(names.includes(name), name);
    assert.deepEqual([tensors['down.0.1.num_batches_tracked'].dtype, tensors['down.0.1.num_batches_tracked'].shape], ['I64', []]);
    assert.equal(metadata.format, 'pt');
    const golden = decodeSafetensors(readFileSync(new URL('../golden/unet-binary-bn.safetensors', import.meta.url))).tensors;
    const torchNames = Object.keys(golden).filter((n) => /^(param|buffer)\./.test(n));
    const expected = torchNames.map((n) => n.replace(/^(param|buffer)\./, '')).sort();
    assert.deepEqual(names.filter((n) => !n.endsWith('.num_batches_tracked')).sort(), expected);
    for (const n of torchNames) assert.deepEqual(tensors[n.replace(/^(param|buffer)\./, '')].shape, golden[n].shape, n);
  });

  test('the golden PyTorch weights load by name into a depth-2, 4-filter model', () => {
    const golden = decodeSafetensors(readFileSync(new URL('../golden/unet-binary-bn.safetensors', import.meta.url))).tensors;
    const renamed = Object.fromEntries(
      Object.entries(golden)
        .filter(([n]) => /^(param|buffer)\./.test(n))
        .map(([n, t]) => [n.replace(/^(param|buffer)\./, ''), t]),
    );
    const model = unet({ inChannels: 3, classes: 1, depth: 2, filters: 4 }, { engine: reference() });
    assert.doesNotThrow(() => loadModelTensors(model, renamed, 'golden'));
  });

  test('a truncated model.safetensors fails with a PyocyteError naming the file', async () => {
    const path = join(tmp.dir, 'truncated', 'model');
    await saveModel(path, saved);
    const weights = join(path, 'model.safetensors');
    truncateSync(weights, readFileSync(weights).length - 100);
    await rejectsNaming(loadModel(path, { engine: reference() }), weights, /is truncated/);
  });

  test('weights of a 4-filter net under an 8-filter model.json fail naming the file, the mismatched tensors and both shapes', async () => {
    const path = join(tmp.dir, 'mismatch', 'model');
    await saveModel(path, saved);
    const jsonFile = join(path, 'model.json');
    const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as { architecture: { filters: number } };
    json.architecture.filters = 8;
    writeFileSync(jsonFile, JSON.stringify(json));
    await rejectsNaming(
      loadModel(path, { engine: reference() }),
      join(path, 'model.safetensors'),
      /does not fit the model in its model\.json: '[\w.]+' is \[[\d,]+\] but the model expects \[[\d,]+\];.* \(and \d+ more\)$/,
    );
  });

  test('model.json: invalid JSON, another format, a newer version, missing weights each fail naming the file', async () => {
    const write = (name: string, content: string) => {
      mkdirSync(join(tmp.dir, name), { recursive: true });
      writeFileSync(join(tmp.dir, name, 'model.json'), content);
      return join(tmp.dir, name, 'model.json');
    };
    const good = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    let file = write('not-json', '{ nope');
    await rejectsNaming(loadModel(file, { engine: reference() }), file, /is not valid JSON/);
    file = write('other-format', JSON.stringify({ ...good, format: 'keras' }));
    await rejectsNaming(loadModel(file, { engine: reference() }), file, /is not a pyocyte model file \(format 'keras'\)/);
    file = write('newer', JSON.stringify({ ...good, version: 99 }));
    await rejectsNaming(loadModel(file, { engine: reference() }), file, /newer pyocyte \(format version 99\)/);
    file = write('no-weights', JSON.stringify(good));
    await rejectsNaming(loadModel(file, { engine: reference() }), join(tmp.dir, 'no-weights', 'model.safetensors'), /which is missing/);
  });

  test('resolveModelPath accepts RUN, RUN/model, RUN/model/model.json and a checkpoint folder; runFolderOf gives RUN', async () => {
    const run = join(tmp.dir, 'run');
    const file = join(run, 'model', 'model.json');
    assert.equal(resolveModelPath(run), file);
    assert.equal(resolveModelPath(join(run, 'model')), file);
    assert.equal(resolveModelPath(file), file);
    await saveBestCheckpoint(run, saved);
    assert.equal(resolveModelPath(join(run, 'checkpoints', 'best')), join(run, 'checkpoints', 'best', 'model.json'));
    assert.equal(runFolderOf(run), run);
    assert.equal(runFolderOf(file), run);
  });

  test('resolveModelPath fails clearly on a missing path and on a folder without a model', () => {
    const missing = join(tmp.dir, 'nowhere');
    assert.throws(
      () => resolveModelPath(missing),
      (e: unknown) => e instanceof PyocyteError && e.message.startsWith(`no model at ${missing}: the path does not exist`),
    );
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    assert.throws(
      () => resolveModelPath(empty),
      (e: unknown) => e instanceof PyocyteError && e.message.includes(`expected ${join(empty, 'model', 'model.json')}`),
    );
  });
});
