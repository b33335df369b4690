/** `planInitialWeights` and `adaptInputConvolution` on literal shapes and weights. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEngine } from '../../src/engine/index.js';
import { modelTensors } from '../../src/io/model-file.js';
import { unet } from '../../src/nn/model.js';
import { resolveUNetConfig } from '../../src/nn/unet.js';
import {
  type PlannedModel,
  adaptInputConvolution,
  initialWeightsOf,
  loadInitialWeights,
  planInitialWeights,
} from '../../src/train/initial-weights.js';

/** A depth-1 U-Net's tensors as three names: the first convolution, one body tensor, the head. */
function planned(
  options: { inChannels?: number; classes?: number; filters?: number; classNames?: string[]; method?: string } = {},
): PlannedModel {
  const { inChannels = 1, classes = 3, filters = 4, classNames = ['background', 'interior', 'boundary'], method = 'threeClass' } = options;
  return {
    config: resolveUNetConfig({ inChannels, classes, depth: 1, filters }),
    metadata: { task: 'multiclass', classNames, instances: { method } },
    shapes: {
      'down.0.0.weight': [filters, inChannels, 3, 3],
      'mid.0.weight': [2 * filters, filters, 3, 3],
      'head.weight': [classes, filters, 1, 1],
    },
  };
}

describe('planInitialWeights', () => {
  test('the same model: every tensor loaded, the head too', () => {
    const plan = planInitialWeights(planned(), planned(), 'start');
    assert.deepEqual(plan.starts, { 'down.0.0.weight': 'loaded', 'mid.0.weight': 'loaded', 'head.weight': 'loaded' });
    assert.equal(plan.summary, 'fine-tuning from start: 3 of 3 tensors loaded');
  });

  test('a start of 3 classes for a run of background/pus/rbc/ep: the head starts fresh, the summary says why', () => {
    const target = planned({ classes: 4, classNames: ['background', 'pus', 'rbc', 'ep'], method: 'cores' });
    const plan = planInitialWeights(target, planned(), 'start');
    assert.equal(plan.starts['head.weight'], 'fresh');
    assert.equal(plan.starts['mid.0.weight'], 'loaded');
    assert.match(
      plan.summary,
      /2 of 3 tensors loaded; output head starts fresh \(start predicts multiclass: background\/interior\/boundary \(threeClass\); this run multiclass: background\/pus\/rbc\/ep \(cores\)\)/,
    );
  });

  test('the same head shape but other class names: the head starts fresh', () => {
    const plan = planInitialWeights(planned({ classNames: ['background', 'pus', 'rbc'] }), planned(), 'start');
    assert.equal(plan.starts['head.weight'], 'fresh');
  });

  test('a 1-channel start for a 3-channel run: the first convolution is adapted', () => {
    const plan = planInitialWeights(planned({ inChannels: 3 }), planned(), 'start');
    assert.equal(plan.starts['down.0.0.weight'], 'adapted');
    assert.match(plan.summary, /first convolution adapted from 1 to 3 input channels/);
  });

  test('8 filters against 4: a one-line error naming the flag to pass', () => {
    assert.throws(
      () => planInitialWeights(planned(), planned({ filters: 8 }), 'start'),
      /^PyocyteError: start is a U-Net with filters 8 but this run's has filters 4: pass --filters 8 to fine-tune it$/,
    );
  });

  test('a body tensor missing from the start: named', () => {
    const start = planned();
    delete (start.shapes as Record<string, unknown>)['mid.0.weight'];
    assert.throws(() => planInitialWeights(planned(), start, 'start'), /start does not fit this run's model: 'mid.0.weight' is missing/);
  });
});

describe('adaptInputConvolution', () => {
  test('[1, 1, 1, 1] weight 0.6 to 3 channels: 0.2 each, so a gray image gives the same response', () => {
    assert.deepEqual(
      [...adaptInputConvolution(Float32Array.of(0.6), [1, 1, 1, 1], 3)].map((v) => +v.toFixed(6)),
      [0.2, 0.2, 0.2],
    );
  });

  test('[1, 3, 1, 1] weights 1, 2, 3 to 1 channel: their sum, 6', () => {
    assert.deepEqual([...adaptInputConvolution(Float32Array.of(1, 2, 3), [1, 3, 1, 1], 1)], [6]);
  });

  test('[2, 2, 1, 2] to 3 channels: channel c takes saved channel c mod 2, scaled by 2/3', () => {
    const adapted = adaptInputConvolution(Float32Array.of(3, 6, 9, 12, 15, 18, 21, 24), [2, 2, 1, 2], 3);
    assert.deepEqual(
      [...adapted].map((v) => +v.toFixed(5)),
      [2, 4, 6, 8, 2, 4, 10, 12, 14, 16, 10, 12],
    );
  });
});

describe('loadInitialWeights: a 1-channel binary U-Net (depth 2, 4 filters) into a 3-channel 4-class one', () => {
  const engine = createEngine({ backend: 'reference' });
  const start = unet({ inChannels: 1, classes: 1, depth: 2, filters: 4 }, { engine, seed: 1 });
  const model = unet({ inChannels: 3, classes: 4, depth: 2, filters: 4 }, { engine, seed: 2 });

  test('body tensors equal the start, the head keeps its own initialisation, the first convolution is the start/3 per channel', async () => {
    const before = await modelTensors(model);
    const saved = await modelTensors(start);
    loadInitialWeights(model, { config: start.config, metadata: start.metadata, tensors: saved }, 'start');
    const after = await modelTensors(model);
    assert.deepEqual(after['mid.0.weight'].data, saved['mid.0.weight'].data);
    assert.deepEqual(after['dec.1.1.running_var'].data, saved['dec.1.1.running_var'].data);
    assert.deepEqual(after['head.weight'].data, before['head.weight'].data);
    const first = after['down.0.0.weight'].data as Float32Array;
    const original = saved['down.0.0.weight'].data as Float32Array;
    // Weight [4, 3, 3, 3]: output 1, channel 2, tap 5 comes from the start's output 1, tap 5.
    assert.ok(Math.abs(first[(1 * 3 + 2) * 9 + 5] - original[1 * 9 + 5] / 3) < 1e-7);
    assert.equal(model.metadata.normalization.kind, 'meanStd');
    assert.equal((model.metadata.normalization as { mean: number[] }).mean.length, 3);
  });
});

describe('initialWeightsOf', () => {
  const defaults = { depth: 4, filters: 16, padding: 'same', norm: 'batch' } as const;

  test('a path given: that path; none: from scratch', () => {
    assert.equal(initialWeightsOf({ ...defaults, initialWeights: 'runs/a' }, true), 'runs/a');
    assert.equal(initialWeightsOf({ ...defaults, initialWeights: 'none' }, true), undefined);
  });

  test('boxes and points at the default architecture: the shipped nuclei model', () => {
    assert.equal(initialWeightsOf(defaults, true), 'nuclei');
  });

  test('boxes and points with 8 filters, or masks: from scratch', () => {
    assert.equal(initialWeightsOf({ ...defaults, filters: 8 }, true), undefined);
    assert.equal(initialWeightsOf(defaults, false), undefined);
  });
});
