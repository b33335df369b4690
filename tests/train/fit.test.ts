/**
 * `train` and `resumeTraining` on a tiny synthetic dataset (6 images of 64×64, split 4/1/1) with
 * a depth-2, 4-filter net on 32-px patches: 4 steps per epoch, on the native engine when it is
 * built (else the reference), so the resume tests check the engine users train on.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDataset } from '../../src/data/prepare.js';
import { createEngine } from '../../src/engine/index.js';
import { loadModel } from '../../src/io/model-file.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { DEFAULT_THRESHOLD_CANDIDATES, bestThreshold } from '../../src/metrics/pixel.js';
import type { TrainerState } from '../../src/train/checkpoint.js';
import { type TrainHooks, type TrainResult, resumeTraining, train } from '../../src/workflows/train.js';
import type { TrainOptions } from '../../src/train/options.js';
import { chooseDecisionRule } from '../../src/train/validate.js';
import { predictProbabilities } from '../../src/infer/predict.js';
import { assertBitExact } from '../engine/helpers.js';
import { QUIET, TEST_ENGINE, TINY_TRAINING, tempFolder, tinyDataset } from '../cli/helpers.js';

const STEPS_PER_EPOCH = 4;

/** Hooks that abort once the run reaches `step` (the step completes; the run then saves and stops). */
function abortAt(step: number): TrainHooks {
  const controller = new AbortController();
  return { ...QUIET, signal: controller.signal, onStep: (s) => (s === step ? controller.abort() : undefined) };
}

function readLog(run: string): Record<string, unknown>[] {
  return readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((line) => {
    const { seconds: _seconds, ...entry } = JSON.parse(line) as Record<string, unknown>;
    return entry;
  });
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Every tensor of two runs' model.safetensors, compared bit for bit. */
function assertSameWeights(runA: string, runB: string): void {
  const read = (run: string) => decodeSafetensors(readFileSync(join(run, 'model', 'model.safetensors'))).tensors;
  const [a, b] = [read(runA), read(runB)];
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const name of Object.keys(a)) {
    if (a[name].data instanceof Float32Array) assertBitExact(b[name].data as Float32Array, a[name].data, name);
    else assert.deepEqual(b[name].data, a[name].data, name);
  }
}

function assertSameRun(a: TrainResult, b: TrainResult): void {
  assert.deepEqual([b.interrupted, b.epochs, b.steps, b.bestEpoch, b.valDice, b.threshold], [false, a.epochs, a.steps, a.bestEpoch, a.valDice, a.threshold]);
  assertSameWeights(a.runDir, b.runDir);
  assert.deepEqual(readLog(b.runDir), readLog(a.runDir));
  const metadata = (run: string) => readJson<{ metadata: Record<string, unknown> }>(join(run, 'model', 'model.json')).metadata;
  const { training: trainingA, ...restA } = metadata(a.runDir);
  const { training: trainingB, ...restB } = metadata(b.runDir);
  assert.deepEqual(restB, restA);
  const pick = (t: unknown) => { const { seconds: _s, data: _d, ...rest } = t as Record<string, unknown>; return rest; };
  assert.deepEqual(pick(trainingB), pick(trainingA));
}

describe('train / resumeTraining on 6 synthetic 64x64 images, 4 steps per epoch, 2 epochs, dropout 0.2', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data = '';
  let uninterrupted: TrainResult;
  const options = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({ data, out: join(tmp.dir, out), ...TINY_TRAINING, dropout: 0.2, epochs: 2, ...extra });

  before(async () => {
    tmp = tempFolder('fit');
    data = await tinyDataset(join(tmp.dir, 'data'));
    uninterrupted = await train(options('A'), QUIET);
  });
  after(() => tmp.remove());

  test('uninterrupted: 2 epochs of 4 steps, model + checkpoints + 2 log lines with train and val scores', () => {
    assert.deepEqual([uninterrupted.interrupted, uninterrupted.epochs, uninterrupted.steps], [false, 2, 2 * STEPS_PER_EPOCH]);
    for (const file of ['model/model.json', 'model/model.safetensors', 'checkpoints/last/trainer.json', 'checkpoints/best/model.json', 'curves.png', 'config.json']) {
      assert.ok(existsSync(join(uninterrupted.runDir, file)), file);
    }
    const log = readLog(uninterrupted.runDir) as { epoch: number; step: number; train: Record<string, number>; val: Record<string, number> }[];
    assert.deepEqual(log.map((e) => [e.epoch, e.step]), [[1, 4], [2, 8]]);
    for (const e of log) for (const key of ['loss', 'dice', 'iou', 'accuracy']) assert.ok(Number.isFinite(e.train[key]) && Number.isFinite(e.val[key]), key);
  });

  test('the decision rule (threshold, post-processing, TTA) in model.json is what the validation images pick', async () => {
    type Metadata = { threshold: number; postprocessing: string; tta: string; training: { valDice: number } };
    const { metadata } = readJson<{ metadata: Metadata }>(join(uninterrupted.runDir, 'model', 'model.json'));
    assert.ok(DEFAULT_THRESHOLD_CANDIDATES.includes(metadata.threshold), String(metadata.threshold));
    assert.equal(metadata.threshold, uninterrupted.threshold);
    assert.equal(metadata.training.valDice, uninterrupted.valDice);
    const model = await loadModel(join(uninterrupted.runDir, 'model'), { engine: createEngine({ backend: TEST_ENGINE }) });
    const valSamples = await (await openDataset(data)).load('val');
    const rule = await chooseDecisionRule(model, valSamples);
    assert.deepEqual([metadata.threshold, metadata.postprocessing, metadata.tta], [rule.threshold, rule.postprocessing, rule.tta]);
    assert.equal(rule.dice, uninterrupted.valDice);
    // The plain rule's own threshold search is what bestThreshold finds on the maps.
    if (rule.tta === 'none') {
      const maps = [];
      for (const sample of valSamples) maps.push(await predictProbabilities(model, sample.image, { tta: false }));
      assert.equal(rule.threshold, bestThreshold(maps.map((m) => m.data), valSamples.map((s) => s.labels)).threshold);
    }
  });

  test('interrupted at step 2 of 8: returns interrupted, leaves checkpoints/last at step 2 and no model yet', async () => {
    const result = await train(options('B'), abortAt(2));
    assert.deepEqual([result.interrupted, result.steps, result.epochs], [true, 2, 0]);
    const state = readJson<TrainerState>(join(result.runDir, 'checkpoints', 'last', 'trainer.json'));
    assert.deepEqual([state.step, state.epoch, state.totalSteps, state.stepsPerEpoch, state.epochSums.steps], [2, 0, 8, 4, 2]);
    assert.ok(!existsSync(join(result.runDir, 'model', 'model.json')));
  });

  test('resumed after the step-2 interruption: not interrupted, and the same weights, log and threshold as the uninterrupted run', async () => {
    const resumed = await resumeTraining(join(tmp.dir, 'B'), {}, QUIET);
    assertSameRun(uninterrupted, resumed);
  });

  test('interrupted at the epoch boundary (step 4), resumed, interrupted at step 6, resumed: same as uninterrupted', async () => {
    const first = await train(options('C'), abortAt(4));
    assert.deepEqual([first.interrupted, first.steps, first.epochs], [true, 4, 1]);
    assert.equal(readLog(first.runDir).length, 1);
    const second = await resumeTraining(first.runDir, {}, abortAt(6));
    assert.deepEqual([second.interrupted, second.steps, second.epochs], [true, 6, 1]);
    const last = await resumeTraining(first.runDir, {}, QUIET);
    assertSameRun(uninterrupted, last);
  });

  test('precision bf16 (the default where the CPU has it), 16 filters: resumed after step 3 equals uninterrupted', async () => {
    const bf16 = { precision: 'bf16', filters: 16 } as const;
    const whole = await train(options('D', bf16), QUIET);
    await train(options('E', bf16), abortAt(3));
    const resumed = await resumeTraining(join(tmp.dir, 'E'), {}, QUIET);
    assertSameRun(whole, resumed);
  });
});

describe('train stopping rules on 6 synthetic 64x64 images', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data = '';
  before(async () => {
    tmp = tempFolder('fit-stop');
    data = await tinyDataset(join(tmp.dir, 'data'));
  });
  after(() => tmp.remove());

  test('minutes 0.02 (1.2 s budget, no epochs): plans ≥ 1 whole epoch, finishes and writes the model', async () => {
    const result = await train({ data, out: join(tmp.dir, 'budget'), ...TINY_TRAINING, minutes: 0.02 }, QUIET);
    assert.equal(result.interrupted, false);
    assert.ok(result.epochs >= 1, `epochs ${result.epochs}`);
    const state = readJson<TrainerState>(join(result.runDir, 'checkpoints', 'last', 'trainer.json'));
    assert.equal(result.steps, state.totalSteps);
    assert.equal(state.totalSteps, result.epochs * state.stepsPerEpoch);
    assert.equal(readLog(result.runDir).length, result.epochs);
    assert.ok(existsSync(join(result.runDir, 'model', 'model.safetensors')));
    assert.ok(result.seconds < 30, `took ${result.seconds} s for a 1.2 s budget`);
    const config = readJson<Record<string, unknown>>(join(result.runDir, 'config.json'));
    assert.deepEqual([config.minutes, config.epochs], [0.02, undefined]);
  });

  test('patience 1, lr 1e-9 constant, no BatchNorm: validation Dice cannot improve, stops after epoch 2 of 5', async () => {
    const result = await train({
      data, out: join(tmp.dir, 'patience'), ...TINY_TRAINING, norm: 'none', learningRate: 1e-9, schedule: 'constant', epochs: 5, patience: 1,
    }, QUIET);
    assert.equal(result.interrupted, false);
    assert.deepEqual([result.epochs, result.steps, result.bestEpoch], [2, 2 * STEPS_PER_EPOCH, 1]);
    const log = readLog(result.runDir) as { best: boolean; val: { dice: number } }[];
    assert.deepEqual(log.map((e) => e.best), [true, false]);
    assert.equal(log[1].val.dice, log[0].val.dice);
    assert.ok(existsSync(join(result.runDir, 'model', 'model.json')));
  });
});
