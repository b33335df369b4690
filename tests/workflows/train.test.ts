/**
 * `train` and `resumeTraining` on a tiny synthetic dataset (6 images of 64×64, split 4/1/1) with
 * a depth-2, 4-filter net on 32-px patches: 4 steps per epoch, on the native engine when it is
 * built (else the reference), so the resume tests check the engine users train on.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
import { NO_BF16, assertBitExact } from '../engine/helpers.js';
import { QUIET, TEST_ENGINE, TINY_TRAINING, tempFolder, tinyDataset } from '../cli/helpers.js';

const STEPS_PER_EPOCH = 4;

/** Hooks that abort once the run reaches `step` (the step completes; the run then saves and stops). */
function abortAt(step: number, base: TrainHooks = QUIET): TrainHooks {
  const controller = new AbortController();
  return {
    ...base,
    signal: controller.signal,
    onStep: (s) => {
      base.onStep?.(s);
      if (s === step) controller.abort();
    },
  };
}

function readLog(run: string): Record<string, unknown>[] {
  return readFileSync(join(run, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
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
  assert.deepEqual(
    [b.interrupted, b.epochs, b.steps, b.bestEpoch, b.valDice, b.threshold],
    [false, a.epochs, a.steps, a.bestEpoch, a.valDice, a.threshold],
  );
  assertSameWeights(a.runDir, b.runDir);
  assert.deepEqual(readLog(b.runDir), readLog(a.runDir));
  const metadata = (run: string) => readJson<{ metadata: Record<string, unknown> }>(join(run, 'model', 'model.json')).metadata;
  const { training: trainingA, ...restA } = metadata(a.runDir);
  const { training: trainingB, ...restB } = metadata(b.runDir);
  assert.deepEqual(restB, restA);
  const pick = (t: unknown) => {
    const { seconds: _s, data: _d, ...rest } = t as Record<string, unknown>;
    return rest;
  };
  assert.deepEqual(pick(trainingB), pick(trainingA));
}

describe('train / resumeTraining on 6 synthetic 64x64 images, 4 steps per epoch, 2 epochs, dropout 0.2', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data = '';
  let uninterrupted: TrainResult;
  const options = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
    data,
    out: join(tmp.dir, out),
    ...TINY_TRAINING,
    dropout: 0.2,
    epochs: 2,
    ...extra,
  });

  before(async () => {
    tmp = tempFolder('fit');
    data = await tinyDataset(join(tmp.dir, 'data'));
    uninterrupted = await train(options('A'), QUIET);
  });
  after(() => tmp.remove());

  test('uninterrupted: 2 epochs of 4 steps, model + checkpoints + 2 log lines with train and val scores', () => {
    assert.deepEqual([uninterrupted.interrupted, uninterrupted.epochs, uninterrupted.steps], [false, 2, 2 * STEPS_PER_EPOCH]);
    for (const file of [
      'model/model.json',
      'model/model.safetensors',
      'checkpoints/last/trainer.json',
      'checkpoints/best/model.json',
      'curves.png',
      'config.json',
    ]) {
      assert.ok(existsSync(join(uninterrupted.runDir, file)), file);
    }
    const log = readLog(uninterrupted.runDir) as {
      epoch: number;
      step: number;
      train: Record<string, number>;
      val: Record<string, number>;
    }[];
    assert.deepEqual(
      log.map((e) => [e.epoch, e.step]),
      [
        [1, 4],
        [2, 8],
      ],
    );
    for (const e of log)
      for (const key of ['loss', 'dice', 'iou', 'accuracy']) assert.ok(Number.isFinite(e.train[key]) && Number.isFinite(e.val[key]), key);
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
      assert.equal(
        rule.threshold,
        bestThreshold(
          maps.map((m) => m.data),
          valSamples.map((s) => s.labels),
        ).threshold,
      );
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

  test('a checkpoint from before budgets were measured (no epochEndStep in trainer.json) at step 6: resumes to the uninterrupted run', async () => {
    const interrupted = await train(options('F'), abortAt(6));
    const file = join(interrupted.runDir, 'checkpoints', 'last', 'trainer.json');
    const { epochEndStep: _epochEndStep, ...older } = readJson<TrainerState>(file);
    writeFileSync(file, JSON.stringify(older));
    assertSameRun(uninterrupted, await resumeTraining(interrupted.runDir, {}, QUIET));
  });

  test('emaDecay 0.9: the model is the weight average, not the last weights; interrupted at step 3 and resumed equals uninterrupted', async () => {
    const averaged = await train(options('G', { emaDecay: 0.9 }), QUIET);
    const read = (run: string, folder: string) => decodeSafetensors(readFileSync(join(run, folder, 'model.safetensors'))).tensors;
    const name = 'head.weight';
    const last = read(averaged.runDir, 'checkpoints/last');
    const saved = decodeSafetensors(readFileSync(join(averaged.runDir, 'checkpoints', 'last', 'optimizer.safetensors')));
    assert.equal(saved.metadata.averageUpdates, '8');
    // The final model is `best`, the average: it differs from the weights the last step left.
    assert.notDeepEqual(read(averaged.runDir, 'model')[name].data, last[name].data);
    assert.deepEqual(saved.tensors[`${name}.average`].shape, last[name].shape);
    await train(options('H', { emaDecay: 0.9 }), abortAt(3));
    assertSameRun(averaged, await resumeTraining(join(tmp.dir, 'H'), {}, QUIET));
  });

  test('precision bf16 (the default where the CPU has it), 16 filters: resumed after step 3 equals uninterrupted', {
    skip: NO_BF16,
  }, async () => {
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

  test('minutes 0.02 (1.2 s budget) on the real clock: finishes, writes the model, the budget record has a fraction per step', async () => {
    const result = await train({ data, out: join(tmp.dir, 'budget'), ...TINY_TRAINING, minutes: 0.02 }, QUIET);
    assert.equal(result.interrupted, false);
    assert.ok(result.epochs >= 1, `epochs ${result.epochs}`);
    const state = readJson<TrainerState>(join(result.runDir, 'checkpoints', 'last', 'trainer.json'));
    assert.equal(result.steps, state.totalSteps);
    assert.equal(state.budget!.fractions.length, result.steps);
    assert.equal(state.stopReason, `time budget of 0.02 min used after ${result.steps} steps`);
    assert.equal(readLog(result.runDir).length, result.epochs);
    assert.ok(existsSync(join(result.runDir, 'model', 'model.safetensors')));
    // Only the first epoch's validation is unmeasured when the budget is planned; a loose bound.
    assert.ok(result.seconds >= 0.5 * 1.2 && result.seconds < 30, `took ${result.seconds} s for a 1.2 s budget`);
    const config = readJson<Record<string, unknown>>(join(result.runDir, 'config.json'));
    assert.deepEqual([config.minutes, config.epochs], [0.02, undefined]);
  });

  test('patience 1, lr 1e-9 constant, no BatchNorm: validation Dice cannot improve, stops after epoch 2 of 5 and keeps epoch 2 (a tie)', async () => {
    const result = await train(
      {
        data,
        out: join(tmp.dir, 'patience'),
        ...TINY_TRAINING,
        norm: 'none',
        learningRate: 1e-9,
        schedule: 'constant',
        epochs: 5,
        patience: 1,
      },
      QUIET,
    );
    assert.equal(result.interrupted, false);
    assert.deepEqual([result.epochs, result.steps, result.bestEpoch], [2, 2 * STEPS_PER_EPOCH, 2]);
    const log = readLog(result.runDir) as { best: boolean; val: { dice: number } }[];
    assert.deepEqual(
      log.map((e) => e.best),
      [true, true],
    );
    assert.equal(log[1].val.dice, log[0].val.dice);
    assert.ok(existsSync(join(result.runDir, 'model', 'model.json')));
  });
});

/**
 * A training clock that moves only when the run reports progress: each step takes
 * `stepMs(step)` (step counted from 1), each validation pass as long as two of the latest steps
 * (other work slows both alike). The real time the steps take does not matter, so the test holds
 * on a busy machine.
 */
function fakeClock(stepMs: (step: number) => number): TrainHooks {
  let ms = 0;
  let latest = 0;
  return {
    ...QUIET,
    now: () => ms,
    onStep: (step) => {
      latest = step;
      ms += stepMs(step);
    },
    onPhase: (phase) => {
      if (phase === 'validation') ms += 2 * stepMs(latest);
    },
  };
}

describe('a 30 s budget on an injected clock, 6 synthetic 64x64 images (4 steps per natural epoch), validation as long as 2 steps', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data = '';
  const options = (out: string): TrainOptions => ({ data, out: join(tmp.dir, out), ...TINY_TRAINING, minutes: 0.5 });
  const budget = 30;
  let steady: TrainResult;
  before(async () => {
    tmp = tempFolder('fit-budget');
    data = await tinyDataset(join(tmp.dir, 'data'));
    steady = await train(
      options('steady'),
      fakeClock(() => 500),
    );
  });
  after(() => tmp.remove());

  /** Checks the budget use and the schedule's record; `lastStepSeconds` bounds the lateness and how far below 1 the last fraction may be. */
  const assertBudgetUsed = (result: TrainResult, lastStepSeconds: number) => {
    assert.equal(result.interrupted, false);
    assert.ok(
      result.seconds >= 0.95 * budget && result.seconds <= budget + lastStepSeconds,
      `trained ${result.seconds} s of a ${budget} s budget`,
    );
    const state = readJson<TrainerState>(join(result.runDir, 'checkpoints', 'last', 'trainer.json'));
    const fractions = state.budget!.fractions;
    assert.equal(fractions.length, result.steps);
    assert.ok(
      fractions.every((f, i) => i === 0 || f >= fractions[i - 1]),
      'fractions never go back',
    );
    assert.ok(fractions.at(-1)! >= 1 - (3 * lastStepSeconds) / budget, `last fraction ${fractions.at(-1)}`);
    assert.equal(readLog(result.runDir).at(-1)!.step, result.steps, 'the last step is validated and logged');
    return state;
  };

  test('steady machine (0.5 s steps): uses 95–100% of the budget (+ a step); epochs of 18 steps keep validation ≤ 10%', () => {
    const state = assertBudgetUsed(steady, 0.5);
    const log = readLog(steady.runDir) as { step: number }[];
    assert.deepEqual(
      log.slice(0, 3).map((e) => e.step),
      [4, 22, 40],
      'the first epoch is natural (4 steps), then 9 × 1 s / 0.5 s',
    );
    assert.equal(state.stepsPerEpoch, 4);
  });

  test('slow first steps (3 s for 5 steps), then fast (0.25 s): uses 95–100% of the budget (+ a step)', async () => {
    const result = await train(
      options('slow-first'),
      fakeClock((step) => (step <= 5 ? 3000 : 250)),
    );
    assertBudgetUsed(result, 0.25);
  });

  test('fast first steps (0.2 s for 50 steps), then slow (1.5 s): uses 95–100% of the budget (+ a step)', async () => {
    const result = await train(
      options('fast-first'),
      fakeClock((step) => (step <= 50 ? 200 : 1500)),
    );
    assertBudgetUsed(result, 1.5);
  });

  test('interrupted at step 30, resumed: the same fractions, weights, log and decision rule as the steady run', async () => {
    const interrupted = await train(
      options('resumed'),
      abortAt(
        30,
        fakeClock(() => 500),
      ),
    );
    assert.deepEqual([interrupted.interrupted, interrupted.steps], [true, 30]);
    const resumed = await resumeTraining(
      interrupted.runDir,
      {},
      fakeClock(() => 500),
    );
    assertSameRun(steady, resumed);
    const fractions = (run: string) => readJson<TrainerState>(join(run, 'checkpoints', 'last', 'trainer.json')).budget!.fractions;
    assert.deepEqual(fractions(resumed.runDir), fractions(steady.runDir));
  });
});

describe('train at a working diameter: 6 synthetic 96×96 images with instances/, their pixel size removed', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data = '';
  before(async () => {
    tmp = tempFolder('working-diameter');
    data = await tinyDataset(join(tmp.dir, 'data'), { width: 96, height: 96 });
    const description = readJson<Record<string, unknown>>(join(data, 'dataset.json'));
    description.pixelSizeUm = undefined;
    writeFileSync(join(data, 'dataset.json'), JSON.stringify(description));
  });
  after(() => tmp.remove());

  test('--working-diameter 16: the model stores 16 px, training objects near 16 px and a note on the scales', async () => {
    const lines: string[] = [];
    const result = await train(
      { data, out: join(tmp.dir, 'run'), ...TINY_TRAINING, epochs: 1, workingDiameterPx: 16 },
      { progressStream: null, log: (line) => lines.push(line) },
    );
    const model = await loadModel(result.runDir, { engine: createEngine({ backend: TEST_ENGINE }) });
    assert.equal(model.metadata.workingDiameterPx, 16);
    const sizes = model.metadata.objectDiameterPx!;
    assert.ok(Math.abs(sizes.medianPx - 16) < 3, `training median ${sizes.medianPx} px`);
    assert.match(lines.join('\n'), /note: working diameter 16 px: each training image resampled so its median object is 16 px across \(×/);
  });

  test('--working-diameter with the dataset pixel size given back: one error naming both', async () => {
    await assert.rejects(
      train({ data, out: join(tmp.dir, 'both'), ...TINY_TRAINING, epochs: 1, workingDiameterPx: 16, pixelSizeUm: 0.5 }, QUIET),
      /--working-diameter .*pixel size/,
    );
  });
});
