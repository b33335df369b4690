/**
 * The native engine in steady state: a training step allocates nothing, memory stays flat over
 * a thousand steps, compute runs off the JS thread, and the thread count does not change results.
 * Native only (the reference engine computes on the JS thread by design).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEngine, nativeAvailability, type Engine } from '../../src/engine/index.js';
import type { Batch } from '../../src/nn/types.js';
import { unet, type Model } from '../../src/nn/model.js';
import { Random } from '../../src/util/random.js';
import { randomArray } from './helpers.js';

const availability = nativeAvailability();
const skip = availability.available ? false : `native engine unavailable: ${availability.reason}`;

function randomBatch(model: Model, N: number, size: number, seed: number): Batch {
  const out = model.outputSize(size)!;
  const rng = new Random(seed);
  return {
    x: randomArray(N * model.config.inChannels * size * size, seed),
    y: Float32Array.from({ length: N * out * out }, () => rng.int(0, Math.max(model.config.classes, 2))),
    inputShape: [N, model.config.inChannels, size, size],
    targetShape: [N, out, out],
  };
}

/** V8's gc(), also without --expose-gc. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Runs a full GC, then lets the N-API finalizers it scheduled run (they wait for an immediate). */
async function settleGarbage(): Promise<void> {
  collectGarbage()();
  await new Promise((resolve) => setImmediate(resolve));
}

/** Counts the ticks of a 5 ms interval timer and the longest gap between two of them. */
function tickCounter() {
  let ticks = 0;
  let longestGap = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    ticks++;
    longestGap = Math.max(longestGap, performance.now() - last);
    last = performance.now();
  }, 5);
  return {
    stop: () => {
      clearInterval(timer);
      return { ticks, longestGap };
    },
  };
}

function tinyModel(engine: Engine, filters: number, seed = 1): Model {
  const model = unet({ inChannels: 3, classes: 1, depth: 2, filters, dropout: 0.1 }, { engine, seed });
  model.configureTraining({ loss: 'bce+dice', optimizer: 'adamw', seed: 2 });
  return model;
}

describe('native steady state', { skip }, () => {
  const engine = skip ? (undefined as unknown as Engine) : createEngine({ backend: 'native' });

  test('depth 2 filters 8 [2,3,32,32]: after 3 warm-up steps, 20 steps allocate nothing (allocations and bytes unchanged)', async () => {
    const model = tinyModel(engine, 8);
    const batch = randomBatch(model, 2, 32, 3);
    for (let i = 0; i < 3; i++) await model.trainStep(batch, { learningRate: 1e-3 });
    const before = engine.stats();
    for (let i = 0; i < 20; i++) await model.trainStep(batch, { learningRate: 1e-3 });
    const after = engine.stats();
    assert.equal(after.allocations, before.allocations, `${after.allocations - before.allocations} allocations in 20 steady-state steps`);
    assert.equal(after.bytes, before.bytes);
  });

  test('depth 2 filters 4 [2,3,32,32]: RSS grows < 20 MB over 1000 steps after warm-up', async () => {
    const model = tinyModel(engine, 4);
    const batch = randomBatch(model, 2, 32, 4);
    for (let i = 0; i < 50; i++) await model.trainStep(batch, { learningRate: 1e-3 });
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    for (let i = 0; i < 1000; i++) await model.trainStep(batch, { learningRate: 1e-3 });
    const growth = (process.memoryUsage().rss - rssBefore) / 1e6;
    const seconds = (Date.now() - started) / 1000;
    assert.ok(growth < 20, `RSS grew ${growth.toFixed(1)} MB over 1000 steps (${seconds.toFixed(1)} s)`);
  });

  test('filters 16 [2,3,256,256]: a setInterval timer keeps firing while a training step is awaited', async () => {
    const model = tinyModel(engine, 16);
    const batch = randomBatch(model, 2, 256, 5);
    await model.trainStep(batch, { learningRate: 1e-3 }); // builds the primitives (on the JS thread)
    await settleGarbage(); // earlier tests' kernels: see the next test
    const counter = tickCounter();
    const started = performance.now();
    const pending = model.trainStep(batch, { learningRate: 1e-3 });
    const queued = performance.now() - started;
    await pending;
    const total = performance.now() - started;
    const { ticks, longestGap } = counter.stop();
    const message = `step ${total.toFixed(0)} ms, queued in ${queued.toFixed(0)} ms, ${ticks} ticks of 5 ms, longest gap ${longestGap.toFixed(0)} ms`;
    assert.ok(total > 40, `the step is too short to tell (${message})`);
    assert.ok(queued < total / 2, `the JS thread was busy for most of the step: ${message}`);
    assert.ok(ticks >= Math.floor((total - queued) / 5 / 4), `the timer starved: ${message}`);
  });

  test('kernels garbage-collected while 20 convolutions [2,16,256,256] are queued do not block the JS thread', async () => {
    const x = engine.tensor([2, 16, 256, 256], randomArray(2 * 16 * 256 * 256, 6));
    const w = engine.tensor([16, 16, 3, 3], randomArray(16 * 16 * 9, 7, 0.1));
    const conv = engine.conv2d({ kernelSize: 3, padding: 1 });
    await engine.read(conv.forward(x, w, null));
    // Kernels that are garbage from here on, each with cached state for one input shape.
    (() => {
      const small = engine.tensor([1, 16, 8, 8]);
      for (let i = 0; i < 20; i++) engine.conv2d({ kernelSize: 3, padding: 1 }).forward(small, w, null);
    })();
    await engine.sync();
    const counter = tickCounter();
    const started = performance.now();
    let y = conv.forward(x, w, null);
    for (let i = 1; i < 20; i++) y = conv.forward(x, w, null);
    setTimeout(() => collectGarbage()(), 10);
    await engine.read(y);
    const total = performance.now() - started;
    const { ticks, longestGap } = counter.stop();
    // A kernel's finalizer that waits for the compute queue (wait_idle) stalls the JS thread for the
    // rest of the queued work, which is what this test pins down.
    assert.ok(
      longestGap < Math.max(30, total / 3),
      `the JS thread stalled for ${longestGap.toFixed(0)} ms of a ${total.toFixed(0)} ms queue (${ticks} ticks)`,
    );
  });

  test('setThreads(1) and setThreads(2) give the same losses over 3 steps within 1e-5', async () => {
    const losses: number[][] = [];
    for (const threads of [1, 2]) {
      engine.setThreads(threads);
      assert.match(engine.description, new RegExp(`, ${threads} threads?,`));
      const model = tinyModel(engine, 8, 7);
      const batch = randomBatch(model, 2, 32, 8);
      const run: number[] = [];
      for (let i = 0; i < 3; i++) run.push((await model.trainStep(batch, { learningRate: 1e-2 })).loss);
      losses.push(run);
    }
    engine.setThreads(availableParallelism());
    losses[0].forEach((loss, i) =>
      assert.ok(Math.abs(losses[1][i] - loss) <= 1e-5 * Math.abs(loss), `step ${i}: ${loss} (1 thread) vs ${losses[1][i]} (2 threads)`),
    );
  });
});
