import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Batch } from '../../src/nn/types.js';
import { createEngine } from '../../src/engine/index.js';
import { modelTensors } from '../../src/io/model-file.js';
import { type Model, unet } from '../../src/nn/model.js';
import type { OptimizerName } from '../../src/nn/optimizers.js';
import { CHECKPOINTS, type TrainerState, loadLastCheckpoint, saveBestCheckpoint, saveLastCheckpoint } from '../../src/train/checkpoint.js';
import { PyocyteError } from '../../src/util/errors.js';
import { recoverAtomicWrites } from '../../src/util/fs.js';
import { Random } from '../../src/util/random.js';
import { assertBitExact } from '../engine/helpers.js';
import { TEST_ENGINE, tempFolder } from '../cli/helpers.js';

const SIZE = 16;

function randomBatch(seed: number): Batch {
  const rng = new Random(seed);
  return {
    x: Float32Array.from({ length: 2 * 3 * SIZE * SIZE }, () => rng.normal()),
    y: Float32Array.from({ length: 2 * SIZE * SIZE }, () => rng.int(0, 2)),
    inputShape: [2, 3, SIZE, SIZE],
    targetShape: [2, SIZE, SIZE],
  };
}

/** A depth-2, 4-filter net with dropout, configured for training and stepped `steps` times. */
async function steppedModel(steps: number, optimizer: OptimizerName = 'adamw'): Promise<Model> {
  const model = unet(
    { inChannels: 3, classes: 1, depth: 2, filters: 4, dropout: 0.2 },
    { engine: createEngine({ backend: TEST_ENGINE }), seed: 2 },
  );
  model.configureTraining({ loss: 'bce+dice', optimizer, seed: 9 });
  for (let i = 0; i < steps; i++) await model.trainStep(randomBatch(i), { learningRate: 1e-2 });
  return model;
}

const state: TrainerState = {
  step: 3,
  epoch: 1,
  totalSteps: 10,
  stepsPerEpoch: 2,
  elapsedSeconds: 1.25,
  bestDice: 0.4,
  bestEpoch: 1,
  epochsWithoutImprovement: 0,
  epochSums: { loss: 0.75, steps: 1, counts: [10, 20, 1, 2, 3] },
  history: [{ epoch: 1, step: 2, seconds: 1, learningRate: 1e-3, train: { loss: 1, accuracy: 0.5, dice: 0.25, iou: 0.125 }, best: true }],
};

async function assertSameTensors(a: Model, b: Model, what: string): Promise<void> {
  const [ta, tb] = [await modelTensors(a), await modelTensors(b)];
  assert.deepEqual(Object.keys(tb).sort(), Object.keys(ta).sort());
  for (const name of Object.keys(ta)) {
    if (ta[name].data instanceof Float32Array) assertBitExact(tb[name].data as Float32Array, ta[name].data, `${what} ${name}`);
    else assert.deepEqual(tb[name].data, ta[name].data, `${what} ${name}`);
  }
}

describe(`saveLastCheckpoint + loadLastCheckpoint (${TEST_ENGINE} engine, depth 2, 4 filters, dropout 0.2)`, () => {
  let tmp: ReturnType<typeof tempFolder>;
  before(() => {
    tmp = tempFolder('checkpoint');
  });
  after(() => tmp.remove());

  test('adamw after 3 steps: weights, BatchNorm statistics, optimizer step, m and v and trainer state restore bit-exactly', async () => {
    const run = join(tmp.dir, 'adamw');
    const original = await steppedModel(3);
    await saveLastCheckpoint(run, original, state);
    assert.deepEqual(readdirSync(join(run, CHECKPOINTS.last)).sort(), [
      'model.json',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer.json',
    ]);
    const configure = (m: Model) => m.configureTraining({ loss: 'bce+dice', optimizer: 'adamw', seed: 9 });
    const { model, state: loaded } = await loadLastCheckpoint(run, createEngine({ backend: TEST_ENGINE }), configure);
    assert.deepEqual(loaded, state);
    await assertSameTensors(original, model, 'model');
    const [saved, restored] = [
      await original.trainingOptimizer!.stateDict(original.network.parameters()),
      await model.trainingOptimizer!.stateDict(model.network.parameters()),
    ];
    assert.equal(restored.step, 3);
    assert.equal(saved.step, 3);
    const names = Object.keys(saved.tensors).sort();
    assert.ok(names.includes('down.0.0.weight.m') && names.includes('head.bias.v'), names.join(' '));
    assert.deepEqual(Object.keys(restored.tensors).sort(), names);
    for (const name of names) assertBitExact(restored.tensors[name].data, saved.tensors[name].data, `optimizer ${name}`);
  });

  test('adamw: one more step from the original and from the restored checkpoint gives bit-identical weights (dropout seed included)', async () => {
    const run = join(tmp.dir, 'continue');
    const original = await steppedModel(2);
    await saveLastCheckpoint(run, original, state);
    const configure = (m: Model) => m.configureTraining({ loss: 'bce+dice', optimizer: 'adamw', seed: 9 });
    const { model } = await loadLastCheckpoint(run, createEngine({ backend: TEST_ENGINE }), configure);
    const a = await original.trainStep(randomBatch(7), { learningRate: 5e-3 });
    const b = await model.trainStep(randomBatch(7), { learningRate: 5e-3 });
    assert.equal(b.loss, a.loss);
    await assertSameTensors(original, model, 'after a step');
  });

  test('sgd after 2 steps: velocity restores bit-exactly', async () => {
    const run = join(tmp.dir, 'sgd');
    const original = await steppedModel(2, 'sgd');
    await saveLastCheckpoint(run, original, state);
    const { model } = await loadLastCheckpoint(run, createEngine({ backend: TEST_ENGINE }), (m) =>
      m.configureTraining({ optimizer: 'sgd', seed: 9 }),
    );
    const saved = await original.trainingOptimizer!.stateDict(original.network.parameters());
    const restored = await model.trainingOptimizer!.stateDict(model.network.parameters());
    assert.ok(Object.keys(saved.tensors).every((n) => n.endsWith('.velocity')));
    for (const name of Object.keys(saved.tensors)) assertBitExact(restored.tensors[name].data, saved.tensors[name].data, name);
  });

  test('an adamw checkpoint resumed with sgd fails naming optimizer.safetensors and both optimizers', async () => {
    const run = join(tmp.dir, 'mismatch');
    await saveLastCheckpoint(run, await steppedModel(1), state);
    await assert.rejects(
      loadLastCheckpoint(run, createEngine({ backend: TEST_ENGINE }), (m) => m.configureTraining({ optimizer: 'sgd' })),
      (e: unknown) => e instanceof PyocyteError && /optimizer\.safetensors holds adamw state but the run uses sgd/.test(e.message),
    );
  });

  test('a run folder without checkpoints/last/trainer.json fails saying it has no checkpoint', async () => {
    await assert.rejects(
      loadLastCheckpoint(join(tmp.dir, 'nothing'), createEngine({ backend: TEST_ENGINE }), () => {}),
      (e: unknown) => e instanceof PyocyteError && /it has no checkpoint \(.*checkpoints\/last\/trainer\.json is missing\)/.test(e.message),
    );
  });

  test('saveLastCheckpoint on a model never configured for training fails', async () => {
    const model = unet({ inChannels: 3, classes: 1, depth: 2, filters: 4 }, { engine: createEngine({ backend: TEST_ENGINE }) });
    await assert.rejects(saveLastCheckpoint(join(tmp.dir, 'unconfigured'), model, state), /has no optimizer/);
  });

  test('saveBestCheckpoint writes the model alone: model.json and model.safetensors', async () => {
    const run = join(tmp.dir, 'best');
    await saveBestCheckpoint(run, await steppedModel(1));
    assert.deepEqual(readdirSync(join(run, CHECKPOINTS.best)).sort(), ['model.json', 'model.safetensors']);
    assert.ok(!existsSync(join(run, CHECKPOINTS.last)));
  });

  test('killed between the two renames of writeFolderAtomic (last moved aside, the new one not in): recoverAtomicWrites puts last back and clears temporaries', async () => {
    const run = join(tmp.dir, 'window');
    await saveLastCheckpoint(run, await steppedModel(1), state);
    const checkpoints = join(run, 'checkpoints');
    renameSync(join(checkpoints, 'last'), join(checkpoints, '.last.old-4242-lq0abc1'));
    mkdirSync(join(checkpoints, '.last.new-4242-lq0abc0'));
    writeFileSync(join(checkpoints, '.last.new-4242-lq0abc0', 'model.json'), '{"torn');
    writeFileSync(join(run, '.log.jsonl.tmp-4242-lq0abc2'), '{"epoch":1,');
    assert.deepEqual(await recoverAtomicWrites(checkpoints), ['last']);
    assert.deepEqual(await recoverAtomicWrites(run), []);
    assert.deepEqual(readdirSync(checkpoints), ['last']);
    assert.deepEqual(readdirSync(run), ['checkpoints']);
    const { state: loaded } = await loadLastCheckpoint(run, createEngine({ backend: TEST_ENGINE }), (m) =>
      m.configureTraining({ seed: 9 }),
    );
    assert.deepEqual(loaded, state);
  });
});
