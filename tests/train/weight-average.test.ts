/**
 * The weight average (src/train/weight-average.ts) on a depth-1, 1-filter U-Net on the reference
 * engine, with its weights written as literals: the warm-up decay, the running average, swapping
 * it in and out, and its checkpoint tensors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEngine } from '../../src/engine/index.js';
import { type Model, unet } from '../../src/nn/model.js';
import { WeightAverage, averageDecay } from '../../src/train/weight-average.js';

function tinyModel(): Model {
  const engine = createEngine({ backend: 'reference' });
  return unet({ inChannels: 1, classes: 1, depth: 1, filters: 1 }, { engine });
}

/** Writes `value` into every averaged tensor of the model. */
function fill(model: Model, value: number): void {
  for (const p of model.network.parameters())
    model.engine.write(p.value, new Float32Array(p.value.shape.reduce((a, b) => a * b, 1)).fill(value));
  for (const b of model.network.buffers())
    model.engine.write(b.value, new Float32Array(b.value.shape.reduce((a, c) => a * c, 1)).fill(value));
}

/** A weight average of `decay` updated once after each of `values` is written into the model. */
async function averageOver(model: Model, decay: number, values: readonly number[]): Promise<WeightAverage> {
  const average = new WeightAverage(decay);
  for (const value of values) {
    fill(model, value);
    await average.update(model);
  }
  return average;
}

async function headWeights(model: Model): Promise<number[]> {
  const head = model.network.parameters().find((p) => p.name === 'head.weight')!;
  return Array.from(await model.engine.read(head.value));
}

describe('averageDecay: min(decay, (1 + t) / (10 + t))', () => {
  test('decay 0.999: 0.1 at t 0, 0.5 at t 8, 0.999 from t 9000 on', () => {
    assert.equal(averageDecay(0.999, 0), 0.1);
    assert.equal(averageDecay(0.999, 8), 0.5);
    assert.equal(averageDecay(0.999, 9000), 0.999);
    assert.equal(averageDecay(0.999, 100000), 0.999);
  });
});

describe('WeightAverage on a 1-filter U-Net (reference engine)', () => {
  test('weights 1 (copied), then 3 (t 1 keeps 2/11: 29/11), then 0 (t 2 keeps 3/12: 29/44)', async () => {
    const model = tinyModel();
    const average = await averageOver(model, 0.9, [1, 3, 0]);
    assert.equal(average.updates, 3);
    await average.swapIn(model);
    for (const w of await headWeights(model)) assert.ok(Math.abs(w - 29 / 44) < 1e-6, String(w));
    average.swapOut(model);
    assert.deepEqual(new Set(await headWeights(model)), new Set([0]));
  });

  test('with(): the work sees the average and the weights come back even when it throws', async () => {
    const model = tinyModel();
    const average = await averageOver(model, 0.5, [2]);
    fill(model, 5);
    await assert.rejects(
      average.with(model, async () => {
        assert.deepEqual(new Set(await headWeights(model)), new Set([2]));
        throw new Error('validation failed');
      }),
      /validation failed/,
    );
    assert.deepEqual(new Set(await headWeights(model)), new Set([5]));
  });

  test('checkpoint tensors round-trip through load(); a checkpoint lacking one is refused, naming it', async () => {
    const model = tinyModel();
    const average = await averageOver(model, 0.9, [4]);
    const tensors = average.checkpointTensors(model);
    assert.deepEqual(tensors['head.weight.average'].data.slice(0, 1), Float32Array.of(4));
    const restored = new WeightAverage(0.9);
    restored.load(model, tensors, 1, 'last/optimizer.safetensors');
    fill(model, 0);
    await restored.swapIn(model);
    assert.deepEqual(new Set(await headWeights(model)), new Set([4]));
    const { 'head.weight.average': _missing, ...incomplete } = tensors;
    assert.throws(
      () => new WeightAverage(0.9).load(model, incomplete, 1, 'last/optimizer.safetensors'),
      /last\/optimizer.safetensors lacks the weight average of 'head.weight'/,
    );
  });

  test('decay 1 or 0 is refused', () => {
    assert.throws(() => new WeightAverage(1), /between 0 and 1/);
    assert.throws(() => new WeightAverage(0), /between 0 and 1/);
  });
});
