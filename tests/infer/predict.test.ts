import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FloatImage } from '../../src/image/types.js';
import type { Engine } from '../../src/engine/index.js';
import { planImageTiles, predictProbabilities, probabilitiesToLabels } from '../../src/infer/predict.js';
import { type Model, unet } from '../../src/nn/model.js';
import { Random } from '../../src/util/random.js';
import { engines } from '../engine/helpers.js';

function randomImage(width: number, height: number, seed: number): FloatImage {
  const rng = new Random(seed);
  // Smooth blobs rather than white noise, so the network's output varies like on real images.
  const data = new Float32Array(width * height * 3);
  const centres = Array.from({ length: 6 }, () => [rng.uniform(0, width), rng.uniform(0, height), rng.uniform(8, 20)]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (const [cx, cy, r] of centres) v += Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r));
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = Math.min(1, 0.2 * c + v) + 0.05 * rng.next();
    }
  }
  return { width, height, channels: 3, data };
}

/** A small model with non-trivial BatchNorm running statistics (a few training steps). */
async function trainedModel(make: () => Engine, options: { padding: 'same' | 'valid'; depth: number; classes?: number }): Promise<Model> {
  const engine = make();
  const model = unet(
    { inChannels: 3, classes: options.classes ?? 1, depth: options.depth, filters: 4, padding: options.padding },
    { engine, seed: 3 },
  );
  const size = options.padding === 'same' ? 32 : 44 + (options.depth === 2 ? 0 : 48);
  const out = model.outputSize(size)!;
  const rng = new Random(1);
  const batch = {
    x: Float32Array.from({ length: 2 * 3 * size * size }, () => rng.normal()),
    y: Float32Array.from({ length: 2 * out * out }, () => rng.int(0, Math.max(2, options.classes ?? 1))),
    inputShape: [2, 3, size, size] as [number, number, number, number],
    targetShape: [2, out, out] as [number, number, number],
  };
  model.configureTraining({ loss: 'bce+dice' });
  for (let i = 0; i < 3; i++) await model.trainStep(batch, { learningRate: 1e-2 });
  return model;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

for (const { name, make, skip } of engines()) {
  describe(`predict on the ${name} engine`, { skip }, () => {
    test('padded depth 2: image 100x130, tile 64 context 24 equals one whole-image tile within 1e-3', async () => {
      const model = await trainedModel(make, { padding: 'same', depth: 2 });
      const image = randomImage(100, 130, 7);
      const whole = await predictProbabilities(model, image, { tileSize: 512, contextMargin: 24 });
      const plan = planImageTiles(model, { width: 100, height: 130 }, { tileSize: 64, contextMargin: 24 });
      assert.ok(plan.tiles.length >= 9, `expected many tiles, got ${plan.tiles.length}`);
      const tiled = await predictProbabilities(model, image, { tileSize: 64, contextMargin: 24, batchSize: 3 });
      assert.ok(maxDifference(tiled.data, whole.data) < 1e-3, `max difference ${maxDifference(tiled.data, whole.data)}`);
    });

    test('padded depth 2, tile 512: image 512x512 is one 576 tile with its context, image 600x600 is 512 tiles', async () => {
      const model = await trainedModel(make, { padding: 'same', depth: 2 });
      const single = planImageTiles(model, { width: 512, height: 512 }, { tileSize: 512 });
      assert.deepEqual([single.tiles.length, single.inputSize, single.outputMargin], [1, 576, 32]);
      const tiled = planImageTiles(model, { width: 600, height: 600 }, { tileSize: 512 });
      assert.deepEqual([tiled.tiles.length, tiled.inputSize], [4, 512]);
    });

    test('valid depth 2, 3 classes: image 70x50 tiles vs whole within 1e-3, softmax sums to 1', async () => {
      const model = await trainedModel(make, { padding: 'valid', depth: 2, classes: 3 });
      const image = randomImage(70, 50, 8);
      const whole = await predictProbabilities(model, image, { tileSize: 300 });
      const tiled = await predictProbabilities(model, image, { tileSize: 60 });
      assert.equal(whole.channels, 3);
      assert.ok(maxDifference(tiled.data, whole.data) < 1e-3, `max difference ${maxDifference(tiled.data, whole.data)}`);
      const plane = 70 * 50;
      for (const i of [0, 123, plane - 1]) {
        const sum = whole.data[i] + whole.data[plane + i] + whole.data[2 * plane + i];
        assert.ok(Math.abs(sum - 1) < 1e-5, `pixel ${i} sums to ${sum}`);
      }
    });

    test('tta=true (dihedral) on image 40x40: probabilities in [0,1] and close to the plain prediction', async () => {
      const model = await trainedModel(make, { padding: 'same', depth: 2 });
      const image = randomImage(40, 40, 9);
      const plain = await predictProbabilities(model, image, {});
      const tta = await predictProbabilities(model, image, { tta: true });
      assert.ok(tta.data.every((p) => p >= 0 && p <= 1));
      assert.ok(maxDifference(plain.data, tta.data) < 0.5);
      assert.notDeepEqual(Array.from(plain.data), Array.from(tta.data));
    });

    test('pixelSizeUm 0.5 on a model at 1 µm/px: image 60x44 is predicted at 30x22 and returned at 60x44', async () => {
      const model = await trainedModel(make, { padding: 'same', depth: 2 });
      model.metadata.pixelSizeUm = 1;
      const image = randomImage(60, 44, 10);
      const map = await predictProbabilities(model, image, { pixelSizeUm: 0.5 });
      assert.equal(map.width, 60);
      assert.equal(map.height, 44);
      assert.equal(map.data.length, 60 * 44);
    });

    test('a 1-channel image for a 3-channel model fails naming both counts', async () => {
      const model = await trainedModel(make, { padding: 'same', depth: 2 });
      await assert.rejects(
        predictProbabilities(model, { width: 8, height: 8, channels: 1, data: new Float32Array(64) }),
        /takes 3-channel images but this image has 1 channel/,
      );
    });
  });
}

test('probabilitiesToLabels: binary threshold 0.3 and 3-class argmax on 2x2 literals', () => {
  const binary = probabilitiesToLabels({ width: 2, height: 2, channels: 1, data: Float32Array.of(0.1, 0.31, 0.29, 0.9) }, 0.3);
  assert.deepEqual(Array.from(binary), [0, 1, 0, 1]);
  const multi = probabilitiesToLabels(
    {
      width: 2,
      height: 1,
      channels: 3,
      data: Float32Array.of(0.2, 0.1, /* class 1 */ 0.5, 0.2, /* class 2 */ 0.3, 0.7),
    },
    0.5,
  );
  assert.deepEqual(Array.from(multi), [1, 2]);
});
