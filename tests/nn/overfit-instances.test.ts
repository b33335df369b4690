/**
 * Each trained instance method must memorise a few synthetic clumps of touching cells on each engine:
 * after training, its heads decoded as at prediction time give every true cell (AP@0.5 ≥ 0.9).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { distanceTarget, threeClassTarget } from '../../src/data/instance-targets.js';
import { starConvexTargets } from '../../src/data/star-distances.js';
import {
  INSTANCE_METHODS,
  type InstanceMethod,
  type InstanceMethodName,
  decodeInstances,
  splitHeads,
} from '../../src/infer/instance-methods.js';
import type { Batch } from '../../src/nn/types.js';
import { unet } from '../../src/nn/model.js';
import type { Sample } from '../../src/data/types.js';
import { postprocess } from '../../src/infer/postprocess.js';
import { predictProbabilities, probabilitiesToLabels } from '../../src/infer/predict.js';
import { chooseInstanceRule, initialInstanceRule, pooledAp50 } from '../../src/train/instance-rule.js';
import { engines } from '../engine/helpers.js';

const SIZE = 32;
const MAX_STEPS = 200;

/** Clumps of touching discs (radius 6, centres 11–12 px apart), brighter in their middles like nuclei. */
const CLUMPS: [number, number][][] = [
  [
    [10, 10],
    [21, 11],
  ],
  [
    [9, 20],
    [20, 20],
    [15, 9],
  ],
];

function clumpImages(): { image: Float32Array; ids: Int32Array }[] {
  return CLUMPS.map((centres) => {
    const image = new Float32Array(SIZE * SIZE);
    const ids = new Int32Array(SIZE * SIZE);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const distances = centres.map(([cx, cy]) => Math.hypot(x - cx, y - cy));
        const nearest = distances.indexOf(Math.min(...distances));
        if (distances[nearest] <= 6) {
          ids[y * SIZE + x] = nearest + 1;
          image[y * SIZE + x] = 2 - (distances[nearest] / 6) ** 2;
        }
      }
    }
    return { image, ids };
  });
}

function batchFor(method: InstanceMethodName, images: { image: Float32Array; ids: Int32Array }[]): Batch {
  const plane = SIZE * SIZE;
  const x = new Float32Array(images.length * plane);
  const y = new Float32Array(images.length * plane);
  const regressionChannels = INSTANCE_METHODS[method].regressionChannels;
  const regression = new Float32Array(images.length * regressionChannels * plane);
  images.forEach(({ image, ids }, n) => {
    x.set(image, n * plane);
    const instances = { width: SIZE, height: SIZE, data: ids };
    y.set(method === 'threeClass' ? threeClassTarget(instances) : Float32Array.from(ids, (v) => (v > 0 ? 1 : 0)), n * plane);
    if (method === 'distance') regression.set(distanceTarget(instances), n * plane);
    if (method === 'starDist') regression.set(starConvexTargets(instances), n * regressionChannels * plane);
  });
  // As the loader weighs them: each pixel by its target class (threeClass: the boundary ×10).
  const classWeights: readonly number[] | undefined = (INSTANCE_METHODS[method] as InstanceMethod).classWeights;
  return {
    x,
    y,
    ...(classWeights ? { weights: Float32Array.from(y, (label) => classWeights[label]) } : {}),
    ...(regressionChannels > 0 ? { regression } : {}),
    inputShape: [images.length, 1, SIZE, SIZE],
    targetShape: [images.length, SIZE, SIZE],
  };
}

describe('each instance method overfits synthetic clumps', () => {
  const images = clumpImages();
  for (const { name, make, skip } of engines()) {
    // watershed's foreground model is tests/nn/overfit.test.ts; it cannot split these clumps (the
    // discs overlap too much for the distance transform to show two peaks), which is the point.
    // centres keeps the task's classes: tests/nn/overfit-centres.test.ts.
    const binaryMethods = (Object.keys(INSTANCE_METHODS) as InstanceMethodName[]).filter((m) => m !== 'watershed' && m !== 'centres');
    for (const method of binaryMethods) {
      test(`${name}: ${method}, depth 2, filters 8, 2 clumps of 2 and 3 cells → AP@0.5 ≥ 0.9 within ${MAX_STEPS} steps`, {
        skip,
      }, async () => {
        const engine = make();
        const spec = INSTANCE_METHODS[method];
        const model = unet(
          { inChannels: 1, classes: spec.classes as number, regressionChannels: spec.regressionChannels, depth: 2, filters: 8 },
          { engine, seed: 1 },
        );
        model.configureTraining({ loss: 'bce+dice', optimizer: 'adam' });
        const batch = batchFor(method, images);
        const plane = SIZE * SIZE;
        let ap = 0;
        for (let step = 1; step <= MAX_STEPS && ap < 0.9; step++) {
          const { loss } = await model.trainStep(batch, { learningRate: 1e-2 });
          assert.ok(Number.isFinite(loss), `loss ${loss} at step ${step}`);
          if (step < 40 || step % 10 !== 0) continue;
          const outputs = await model.predict(batch.x, batch.inputShape);
          const channels = model.outputChannels;
          const predicted = images.map((_, n) => {
            const heads = splitHeads(method, outputs.subarray(n * channels * plane, (n + 1) * channels * plane), plane);
            const mask = Uint8Array.from(heads.foreground, (p) => (p > 0.5 ? 1 : 0));
            const rule = { decoder: method, seedThreshold: 0.5, minSizePx: 10 };
            return decodeInstances({ width: SIZE, height: SIZE, data: mask }, heads, rule).data;
          });
          ap = pooledAp50(
            predicted,
            images.map((i) => i.ids),
          );
        }
        assert.ok(ap >= 0.9, `AP@0.5 ${ap.toFixed(3)} after training`);

        // The rule validation would choose for this model: as good, and its stored AP is what
        // decoding by it scores (candidates are decoded at size 0 and sized afterwards).
        model.metadata.instances = initialInstanceRule(method);
        const samples: Sample[] = images.map(({ image, ids }, n) => ({
          stem: `clump${n}`,
          image: { width: SIZE, height: SIZE, channels: 1, data: image },
          labels: Uint8Array.from(ids, (id) => (id > 0 ? 1 : 0)),
          instances: ids,
        }));
        const { rule } = await chooseInstanceRule(model, samples, { threshold: 0.5 });
        assert.ok(rule.validationAp50! >= 0.9, `validation AP@0.5 ${rule.validationAp50} of the chosen rule`);
        const decoded: Int32Array[] = [];
        for (const sample of samples) {
          const map = await predictProbabilities(model, sample.image);
          const mask = postprocess({ width: SIZE, height: SIZE, data: probabilitiesToLabels(map, 0.5) }, undefined);
          decoded.push(decodeInstances(mask, map, rule).data);
        }
        assert.equal(
          pooledAp50(
            decoded,
            images.map((i) => i.ids),
          ),
          rule.validationAp50,
        );
      });
    }
  }
});
