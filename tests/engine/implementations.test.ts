/**
 * Which oneDNN code runs each kernel. A layout this engine fixes that oneDNN's JIT kernels do not
 * take on the CPU at hand sends a primitive to oneDNN's reference code ("ref:any"), which computes
 * right but 100–300× slower: until 2026-11-30 the up-convolution wrote nChw16c on AVX2 CPUs, where
 * it ran at 0.5 GFLOP/s and took 75 % of a training step. Correct results cannot catch that, and
 * timed tests are not allowed here, so this checks the implementation names.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NativeEngine, createEngine, nativeAvailability } from '../../src/engine/index.js';
import { unet } from '../../src/nn/model.js';
import { randomArray } from './helpers.js';

const availability = nativeAvailability();
const skip = availability.available ? false : `native engine unavailable: ${availability.reason}`;

describe('native primitives on JIT code', { skip }, () => {
  test('U-Net depth 4, 16 filters, BatchNorm, [2,3,128,128]: a training step and inference use no oneDNN reference implementation', async () => {
    const engine = createEngine({ backend: 'native' });
    assert.ok(engine instanceof NativeEngine);
    const model = unet({ inChannels: 3, classes: 1, depth: 4, filters: 16, padding: 'same', norm: 'batch' }, { engine, seed: 0 });
    model.configureTraining({ loss: 'bce', optimizer: 'adam' });
    const size = 128;
    const n = 2 * size * size;
    const batch = {
      x: randomArray(3 * n, 1),
      y: Float32Array.from(randomArray(n, 2), (v) => (v > 0 ? 1 : 0)),
      inputShape: [2, 3, size, size] as [number, number, number, number],
      targetShape: [2, size, size] as [number, number, number],
    };
    await model.trainStep(batch, { learningRate: 1e-3 });
    await model.predictLogits(batch.x, batch.inputShape);
    const used = engine.implementations();
    for (const label of ['conv3x3.fwd', 'conv3x3.bwd_data', 'conv3x3.bwd_weights', 'upconv.fwd', 'upconv.bwd_data', 'upconv.bwd_weights']) {
      assert.ok(used[label]?.length, `${label} was built (built: ${Object.keys(used).join(', ')})`);
    }
    const reference = Object.entries(used).filter(([, names]) => names.some((name) => name.startsWith('ref')));
    assert.deepEqual(reference, [], `on ${engine.description}: ${JSON.stringify(used)}`);
  });
});
