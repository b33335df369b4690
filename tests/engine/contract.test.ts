/**
 * The engine contract (src/engine/types.ts), run against every engine: tensors, output shapes
 * and hand-computed values of each kernel, and the tiny U-Net on top (shapes, training, a
 * finite-difference check of its gradients, and a bit-exact weight round trip).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine, Tensor } from '../../src/engine/index.js';
import { unet, type Model } from '../../src/nn/model.js';
import { assertBitExact, checkedEntries, engines, finiteDifferences, gradientError, randomArray, randomTensor } from './helpers.js';

const approx = (actual: ArrayLike<number>, expected: number[], tolerance = 1e-5) => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])),
      `entry ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
};

/** A batch whose target the network can learn: foreground where channel 0 is bright. */
function learnableBatch(model: Model, N: number, size: number, seed: number) {
  const C = model.config.inChannels;
  const out = model.outputSize(size)!;
  const x = randomArray(N * C * size * size, seed);
  const crop = (size - out) / 2;
  const y = new Float32Array(N * out * out);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < out; i++) {
      for (let j = 0; j < out; j++) {
        const v = x[n * C * size * size + (i + crop) * size + j + crop];
        y[(n * out + i) * out + j] = model.config.classes === 1 ? (v > 0 ? 1 : 0) : v > 0.5 ? 2 : v > -0.5 ? 1 : 0;
      }
    }
  }
  return {
    x,
    y,
    inputShape: [N, C, size, size] as [number, number, number, number],
    targetShape: [N, out, out] as [number, number, number],
  };
}

for (const { name, make, skip } of engines()) {
  describe(`${name} engine contract`, { skip }, () => {
    const engine: Engine = skip ? (undefined as unknown as Engine) : make();

    describe('tensors', () => {
      test('write/read round trip [2,3,4,5] with −0, NaN, ±Infinity, denormals: bit-exact', async () => {
        const data = randomArray(120, 1);
        data.set([-0, NaN, Infinity, -Infinity, 1e-40, -1e-45, 3.4e38, 1.2e-38]);
        const t = engine.tensor([2, 3, 4, 5], data);
        assert.deepEqual([...t.shape], [2, 3, 4, 5]);
        assertBitExact(await engine.read(t), data, 'tensor(shape, data)');
        const other = randomArray(120, 2);
        engine.write(t, other);
        assertBitExact(await engine.read(t), other, 'write');
      });

      test('tensor([3,5]) without data and zerosLike are zero-filled with the shape', async () => {
        const t = engine.tensor([3, 5]);
        assert.deepEqual(await engine.read(t), new Float32Array(15));
        const z = engine.zerosLike(randomTensor(engine, [4, 2, 3], 3));
        assert.deepEqual([...z.shape], [4, 2, 3]);
        assert.deepEqual(await engine.read(z), new Float32Array(24));
      });

      test('stats: a [64,64] tensor adds one allocation of ≥ 16384 bytes', () => {
        const before = engine.stats();
        engine.tensor([64, 64]);
        const after = engine.stats();
        assert.equal(after.allocations, before.allocations + 1);
        assert.ok(after.bytes >= before.bytes + 64 * 64 * 4, `bytes ${before.bytes} → ${after.bytes}`);
      });

      test('write of 5 values into a [2,3] tensor throws', () => {
        assert.throws(() => engine.write(engine.tensor([2, 3]), new Float32Array(5)), /5 values/);
      });
    });

    describe('kernel output shapes', () => {
      const x = () => randomTensor(engine, [2, 3, 8, 6], 10);
      for (const [k, padding, stride, expected] of [
        [3, 1, 1, [2, 4, 8, 6]],
        [3, 0, 1, [2, 4, 6, 4]],
        [1, 0, 1, [2, 4, 8, 6]],
        [3, 1, 2, [2, 4, 4, 3]],
      ] as const) {
        test(`conv2d k=${k} pad=${padding} stride=${stride} x=[2,3,8,6] O=4 → [${expected}]`, () => {
          const conv = engine.conv2d({ kernelSize: k, padding, stride });
          const y = conv.forward(x(), randomTensor(engine, [4, 3, k, k], 11), engine.tensor([4]));
          assert.deepEqual([...y.shape], expected);
          const g = conv.backward(engine.tensor(y.shape), { inputGrad: true });
          assert.deepEqual([...g.dx!.shape], [2, 3, 8, 6]);
          assert.deepEqual([...g.dWeight.shape], [4, 3, k, k]);
          assert.deepEqual([...g.dBias!.shape], [4]);
        });
      }

      test('convTranspose2d stride 2 x=[2,3,8,6] weight [3,5,2,2] → [2,5,16,12]', () => {
        const kernel = engine.convTranspose2d({ stride: 2 });
        const y = kernel.forward(x(), randomTensor(engine, [3, 5, 2, 2], 12), engine.tensor([5]));
        assert.deepEqual([...y.shape], [2, 5, 16, 12]);
        const g = kernel.backward(engine.tensor(y.shape));
        assert.deepEqual([[...g.dx.shape], [...g.dWeight.shape], [...g.dBias!.shape]], [[2, 3, 8, 6], [3, 5, 2, 2], [5]]);
      });

      test('maxPool2d x=[2,3,8,6] → [2,3,4,3]; backward → [2,3,8,6]', () => {
        const pool = engine.maxPool2d();
        const y = pool.forward(x(), { training: true });
        assert.deepEqual([...y.shape], [2, 3, 4, 3]);
        assert.deepEqual([...pool.backward(engine.tensor(y.shape)).shape], [2, 3, 8, 6]);
      });

      test('batchNorm2d, relu, add, dropout keep [2,3,8,6]; concat a=[2,3,8,6] b=[2,2,12,10] → [2,5,8,6]', () => {
        const input = x();
        const c = () => engine.tensor([3], new Float32Array(3).fill(1));
        const bn = engine.batchNorm2d({ relu: true });
        const params = { gamma: c(), beta: engine.tensor([3]), runningMean: engine.tensor([3]), runningVar: c() };
        const shapes = [
          bn.forward(input, params, { training: true }).shape,
          bn.backward(engine.tensor([2, 3, 8, 6])).dx.shape,
          engine.relu().forward(input).shape,
          engine.add().forward(input, input).shape,
          engine.dropout({ rate: 0.5 }).forward(input, { training: true, seed: 1 }).shape,
        ];
        for (const s of shapes) assert.deepEqual([...s], [2, 3, 8, 6]);
        const concat = engine.concat();
        const y = concat.forward(input, randomTensor(engine, [2, 2, 12, 10], 13));
        assert.deepEqual([...y.shape], [2, 5, 8, 6]);
        const { da, db } = concat.backward(engine.tensor(y.shape));
        assert.deepEqual(
          [[...da.shape], [...db.shape]],
          [
            [2, 3, 8, 6],
            [2, 2, 12, 10],
          ],
        );
      });

      test('loss K=3 with 2 terms: value [3], dLogits [2,3,4,4]', () => {
        const kernel = engine.loss({
          terms: [
            { kind: 'crossEntropy', weight: 1 },
            { kind: 'dice', weight: 1 },
          ],
          classes: 3,
        });
        const { value, dLogits } = kernel.forward(randomTensor(engine, [2, 3, 4, 4], 14), engine.tensor([2, 4, 4]), null);
        assert.deepEqual([[...value.shape], [...dLogits.shape]], [[3], [2, 3, 4, 4]]);
      });
    });

    describe('kernel values on literals', () => {
      test('conv2d 3×3 pad 1, ones kernel, bias 0.5 on 1..9: neighbourhood sums + 0.5', async () => {
        const x = engine.tensor([1, 1, 3, 3], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
        const y = engine
          .conv2d({ kernelSize: 3, padding: 1 })
          .forward(x, engine.tensor([1, 1, 3, 3], new Float32Array(9).fill(1)), engine.tensor([1], Float32Array.of(0.5)));
        assert.deepEqual(
          [...(await engine.read(y))],
          [12, 21, 16, 27, 45, 33, 24, 39, 28].map((v) => v + 0.5),
        );
      });

      test('conv2d 3×3 pad 0 relu, kernel with a −1 centre on 4×4: only the positive sum survives', async () => {
        const w = new Float32Array(9).fill(0);
        w[4] = -1;
        w[0] = 1;
        const x = engine.tensor(
          [1, 1, 4, 4],
          Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? 10 : i)),
        );
        const y = engine.conv2d({ kernelSize: 3, padding: 0, relu: true }).forward(x, engine.tensor([1, 1, 3, 3], w), null);
        // out(0,0) = x(0,0) − x(1,1) = 0 − 10 → 0; out(0,1) = 1 − 6 → 0; out(1,0) = 4 − 9 → 0; out(1,1) = 10 − 10 = 0
        assert.deepEqual([...(await engine.read(y))], [0, 0, 0, 0]);
      });

      test('convTranspose2d 2×2 on x=[1,2] with w[i,o]: each input spreads over its 2×2 block', async () => {
        const x = engine.tensor([1, 1, 1, 2], Float32Array.of(1, 2));
        const w = engine.tensor([1, 1, 2, 2], Float32Array.of(1, 2, 3, 4));
        const y = engine.convTranspose2d({ stride: 2 }).forward(x, w, engine.tensor([1], Float32Array.of(10)));
        assert.deepEqual([...(await engine.read(y))], [11, 12, 12, 14, 13, 14, 16, 18]);
      });

      test('convTranspose2d I=1 O=2: weight [I,O,2,2] order', async () => {
        const x = engine.tensor([1, 1, 1, 1], Float32Array.of(2));
        const w = engine.tensor([1, 2, 2, 2], Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8));
        const y = engine.convTranspose2d({ stride: 2 }).forward(x, w, null);
        assert.deepEqual([...(await engine.read(y))], [2, 4, 6, 8, 10, 12, 14, 16]);
      });

      test('maxPool2d 4×4 literal and its gradient routed to each window maximum', async () => {
        const x = engine.tensor([1, 1, 4, 4], Float32Array.of(1, 5, 2, 0, 3, 4, 8, 7, -1, -2, 0, 1, -4, -3, 2, 3));
        const pool = engine.maxPool2d();
        assert.deepEqual([...(await engine.read(pool.forward(x, { training: true })))], [5, 8, -1, 3]);
        const dx = await engine.read(pool.backward(engine.tensor([1, 1, 2, 2], Float32Array.of(1, 2, 3, 4))));
        assert.deepEqual([...dx], [0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 4]);
      });

      test('batchNorm2d x=[1,2,3,4]: normalised output, running mean 0.25, running var 0.9 + 0.1·5/3 (unbiased)', async () => {
        const bn = engine.batchNorm2d({ momentum: 0.1, epsilon: 1e-5 });
        const params = {
          gamma: engine.tensor([1], Float32Array.of(2)),
          beta: engine.tensor([1], Float32Array.of(0.5)),
          runningMean: engine.tensor([1]),
          runningVar: engine.tensor([1], Float32Array.of(1)),
        };
        const y = await engine.read(bn.forward(engine.tensor([1, 1, 2, 2], Float32Array.of(1, 2, 3, 4)), params, { training: true }));
        const s = Math.sqrt(1.25 + 1e-5);
        approx(
          y,
          [1, 2, 3, 4].map((v) => (2 * (v - 2.5)) / s + 0.5),
        );
        approx(await engine.read(params.runningMean), [0.25]);
        approx(await engine.read(params.runningVar), [0.9 + 0.1 * (5 / 3)]);
        const evalY = await engine.read(bn.forward(engine.tensor([1, 1, 1, 1], Float32Array.of(3)), params, { training: false }));
        approx(evalY, [(2 * (3 - 0.25)) / Math.sqrt(0.9 + 0.1 * (5 / 3) + 1e-5) + 0.5]);
      });

      test('concat a=[1,1,1,2] b=[1,1,3,4]: b centre-cropped; db zero outside the crop', async () => {
        const concat = engine.concat();
        const b = engine.tensor(
          [1, 1, 3, 4],
          Float32Array.from({ length: 12 }, (_, i) => i),
        );
        const y = concat.forward(engine.tensor([1, 1, 1, 2], Float32Array.of(-1, -2)), b);
        assert.deepEqual([...(await engine.read(y))], [-1, -2, 5, 6]);
        const { da, db } = concat.backward(engine.tensor([1, 2, 1, 2], Float32Array.of(1, 2, 3, 4)));
        assert.deepEqual([...(await engine.read(da))], [1, 2]);
        assert.deepEqual([...(await engine.read(db))], [0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
      });

      test('loss K=1 logit 0 target 1: bce = ln 2, dice = 1 − 2/2.5, dLogits = −0.5 + dice slope', async () => {
        const kernel = engine.loss({
          terms: [
            { kind: 'crossEntropy', weight: 1 },
            { kind: 'dice', weight: 1 },
          ],
          classes: 1,
        });
        const { value, dLogits } = kernel.forward(engine.tensor([1, 1, 1, 1]), engine.tensor([1, 1, 1], Float32Array.of(1)), null);
        approx(await engine.read(value), [Math.LN2 + 0.2, Math.LN2, 0.2]);
        // d dice/dp = −(2·2.5 − 2)/2.5² = −0.48, times dp/dz = 0.25
        approx(await engine.read(dLogits), [-0.5 - 0.12]);
      });

      for (const classes of [1, 3]) {
        test(`loss K=${classes} with ce+focal+dice and pixel weights, target 255 at 2 of 8 pixels: the 6 others' loss and gradient, 0 on the ignored`, async () => {
          const terms = [
            { kind: 'crossEntropy', weight: 1 },
            { kind: 'focal', weight: 0.5 },
            { kind: 'dice', weight: 2 },
          ] as const;
          const kernel = engine.loss({ terms: [...terms], classes });
          const plain = engine.loss({ terms: [...terms], classes });
          const logits = randomArray(classes * 8, 21 + classes);
          const labels = classes === 1 ? [1, 0, 255, 1, 0, 255, 1, 0] : [2, 0, 255, 1, 2, 255, 1, 0];
          const weights = Float32Array.of(1, 2, 3, 0.5, 1, 4, 1.5, 1);
          const kept = [0, 1, 3, 4, 6, 7];
          const keptLogits = Float32Array.from({ length: classes * 6 }, (_, i) => logits[Math.floor(i / 6) * 8 + kept[i % 6]]);
          const withIgnore = kernel.forward(
            engine.tensor([1, classes, 1, 8], logits),
            engine.tensor([1, 1, 8], Float32Array.from(labels)),
            engine.tensor([1, 1, 8], weights),
          );
          const reference = plain.forward(
            engine.tensor([1, classes, 1, 6], keptLogits),
            engine.tensor([1, 1, 6], Float32Array.from(kept.map((i) => labels[i]))),
            engine.tensor([1, 1, 6], Float32Array.from(kept.map((i) => weights[i]))),
          );
          approx(await engine.read(withIgnore.value), [...(await engine.read(reference.value))], 1e-5);
          const dLogits = await engine.read(withIgnore.dLogits);
          const expected = await engine.read(reference.dLogits);
          for (let k = 0; k < classes; k++) {
            approx([dLogits[k * 8 + 2], dLogits[k * 8 + 5]], [0, 0]);
            approx(
              kept.map((i) => dLogits[k * 8 + i]),
              [...expected.slice(k * 6, k * 6 + 6)],
              1e-4,
            );
          }
          assert.equal((await engine.read(withIgnore.counts))[1], 6, 'ignored pixels are not counted');
        });
      }

      test('loss K=1 R=1, logits (0, 3), targets 1 and 1: bce + mse = ln 2 + 4, dLogits (−0.5, 4)', async () => {
        const kernel = engine.loss({
          terms: [
            { kind: 'crossEntropy', weight: 1 },
            { kind: 'regression', weight: 1 },
          ],
          classes: 1,
          regressionChannels: 1,
        });
        const logits = engine.tensor([1, 2, 1, 1], Float32Array.of(0, 3));
        const target = engine.tensor([1, 1, 1], Float32Array.of(1));
        const { value, dLogits } = kernel.forward(logits, target, null, engine.tensor([1, 1, 1, 1], Float32Array.of(1)));
        approx(await engine.read(value), [Math.LN2 + 4, Math.LN2, 4]);
        approx(await engine.read(dLogits), [-0.5, 4]);
      });

      for (const classes of [1, 3]) {
        test(`loss K=${classes} R=1 (ce + dice + 0.5·mse) on [2,${classes + 1},3,4]: dLogits match finite differences`, async () => {
          const kernel = engine.loss({
            terms: [
              { kind: 'crossEntropy', weight: 1 },
              { kind: 'dice', weight: 1 },
              { kind: 'regression', weight: 0.5 },
            ],
            classes,
            regressionChannels: 1,
          });
          const logits = randomTensor(engine, [2, classes + 1, 3, 4], 21);
          const labels = Float32Array.from(randomArray(24, 22), (v) => Math.min(Math.floor(Math.abs(v) * 2), Math.max(classes - 1, 1)));
          const target = engine.tensor([2, 3, 4], labels);
          const regression = randomTensor(engine, [2, 1, 3, 4], 23);
          const analytic = await engine.read(kernel.forward(logits, target, null, regression).dLogits);
          const objective = async () => (await engine.read(kernel.forward(logits, target, null, regression).value))[0];
          const entries = checkedEntries(analytic.length, 16, 24);
          const numeric = await finiteDifferences(engine, logits, objective, { eps: 1e-2, entries });
          const error = gradientError(analytic, entries, numeric);
          assert.ok(error < 2e-2, `relative gradient error ${error.toExponential(2)}`);
        });
      }

      test('loss with 1 regression channel and no regression target throws', () => {
        const kernel = engine.loss({ terms: [{ kind: 'regression', weight: 1 }], classes: 1, regressionChannels: 1 });
        assert.throws(() => kernel.forward(engine.tensor([1, 2, 2, 2]), engine.tensor([1, 2, 2]), null));
      });

      test('dropout in evaluation mode returns the input values', async () => {
        const data = randomArray(24, 15);
        const y = engine.dropout({ rate: 0.5 }).forward(engine.tensor([1, 2, 3, 4], data), { training: false, seed: 3 });
        assert.deepEqual(await engine.read(y), data);
      });
    });

    describe('kernel input errors', () => {
      test('conv2d weight [4,2,3,3] for a 3-channel input throws', () => {
        assert.throws(() =>
          engine.conv2d({ kernelSize: 3, padding: 1 }).forward(engine.tensor([1, 3, 4, 4]), engine.tensor([4, 2, 3, 3]), null),
        );
      });
      test('maxPool2d on a 5×4 input throws', () => {
        assert.throws(() => engine.maxPool2d().forward(engine.tensor([1, 1, 5, 4]), { training: true }));
      });
      test('concat cannot crop b=[1,1,5,4] to a=[1,1,4,4] (odd margin)', () => {
        assert.throws(() => engine.concat().forward(engine.tensor([1, 1, 4, 4]), engine.tensor([1, 1, 5, 4])), /crop/);
      });
      test('loss with 2-channel logits for classes=3 throws', () => {
        assert.throws(() =>
          engine
            .loss({ terms: [{ kind: 'dice', weight: 1 }], classes: 3 })
            .forward(engine.tensor([1, 2, 2, 2]), engine.tensor([1, 2, 2]), null),
        );
      });
    });

    describe('tiny U-Net (depth 2, filters 4)', () => {
      for (const [padding, size, out] of [
        ['same', 16, 16],
        ['valid', 60, 20],
      ] as const) {
        test(`forward padding=${padding} x=[2,3,${size},${size}] → logits [2,1,${out},${out}]`, async () => {
          const model = unet({ inChannels: 3, classes: 1, depth: 2, filters: 4, padding }, { engine, seed: 1 });
          assert.equal(model.outputSize(size), out);
          const logits = model.network.forward(randomTensor(engine, [2, 3, size, size], 2), { training: false, seed: 0 });
          assert.deepEqual([...logits.shape], [2, 1, out, out]);
          assert.ok((await engine.read(logits)).every(Number.isFinite));
        });
      }

      test('trainStep bce+dice, AdamW lr=1e-2, fixed batch [2,3,16,16]: loss falls over 20 steps', async () => {
        const model = unet({ inChannels: 3, classes: 1, depth: 2, filters: 4 }, { engine, seed: 3 });
        model.configureTraining({ loss: 'bce+dice', optimizer: 'adamw' });
        const batch = learnableBatch(model, 2, 16, 4);
        const losses: number[] = [];
        for (let step = 0; step < 20; step++) losses.push((await model.trainStep(batch, { learningRate: 1e-2 })).loss);
        assert.ok(losses[19] < 0.7 * losses[0], `loss ${losses[0].toFixed(4)} → ${losses[19].toFixed(4)}`);
      });

      test('predict binary: probabilities in [0, 1]; K=3: softmax sums to 1 per pixel', async () => {
        for (const classes of [1, 3]) {
          const model = unet({ inChannels: 3, classes, depth: 2, filters: 4 }, { engine, seed: 5 });
          const p = await model.predict(randomArray(2 * 3 * 16 * 16, 6), [2, 3, 16, 16]);
          assert.equal(p.length, 2 * classes * 256);
          assert.ok(
            p.every((v) => v >= 0 && v <= 1),
            'probabilities outside [0, 1]',
          );
          if (classes === 3) {
            for (let n = 0; n < 2; n++) {
              for (let j = 0; j < 256; j++) {
                const sum = p[n * 3 * 256 + j] + p[(n * 3 + 1) * 256 + j] + p[(n * 3 + 2) * 256 + j];
                assert.ok(Math.abs(sum - 1) < 1e-5, `pixel ${j}: sum ${sum}`);
              }
            }
          }
        }
      });

      for (const [classes, norm, padding] of [
        [1, 'none', 'same'],
        [3, 'none', 'valid'],
        [1, 'batch', 'same'],
      ] as const) {
        test(`finite differences of the total loss w.r.t. single weights: K=${classes} norm=${norm} padding=${padding} dropout=0.2`, async () => {
          await checkUNetGradients(engine, { classes, norm, padding });
        });
      }

      test('weights round trip: read every parameter and buffer, write into a model with another seed: predictions bit-exact', async () => {
        const config = { inChannels: 3, classes: 3, depth: 2, filters: 4 } as const;
        const source = unet(config, { engine, seed: 7 });
        source.configureTraining({ loss: 'bce+dice', optimizer: 'adam' });
        const batch = learnableBatch(source, 2, 16, 8);
        for (let step = 0; step < 3; step++) await source.trainStep(batch, { learningRate: 1e-2 });
        const x = randomArray(3 * 16 * 16, 9);
        const expected = await source.predict(x, [1, 3, 16, 16]);
        const target = unet(config, { engine, seed: 8 });
        const before = await target.predict(x, [1, 3, 16, 16]);
        assert.notDeepEqual(before, expected, 'models with different seeds should differ before loading');
        const tensors = new Map<string, Tensor>();
        for (const p of target.network.parameters()) tensors.set(p.name, p.value);
        for (const b of target.network.buffers()) tensors.set(b.name, b.value);
        const saved = [
          ...source.network.parameters().map((p) => [p.name, p.value] as const),
          ...source.network.buffers().map((b) => [b.name, b.value] as const),
        ];
        assert.equal(saved.length, tensors.size);
        for (const [key, value] of saved) {
          const destination = tensors.get(key);
          assert.ok(destination, `no ${key} in the fresh model`);
          engine.write(destination, await engine.read(value));
        }
        for (const [key, value] of saved) assertBitExact(await engine.read(tensors.get(key)!), await engine.read(value), key);
        assertBitExact(await target.predict(x, [1, 3, 16, 16]), expected, 'predictions after loading');
      });
    });
  });
}

/**
 * Central differences of the U-Net's total loss (training-mode forward with a fixed dropout seed,
 * then the loss kernel) against the gradients `network.backward` leaves in each parameter, for
 * the largest-gradient entry and two seeded entries of a few parameters.
 * Tolerance, relative to each tensor's largest gradient: 1e-2 without BatchNorm (measured ≤ 7e-3
 * over every parameter), 1e-1 with it (measured ≤ 6e-2). The U-Net is only piecewise smooth: a
 * perturbation that switches a ReLU or a pooling winner averages two slopes; with BatchNorm every
 * weight moves every activation of its channel, so many units switch, and the batch statistics of
 * a 2-image batch make the loss strongly curved: errors of a few % at eps 1e-3 shrink only slowly
 * with eps until float32 noise in the loss takes over. The exact check of these gradients is
 * torch-parity.test.ts (1e-4 against PyTorch, measured 4e-6); this one is engine-agnostic, covers
 * valid padding and dropout, and catches what breaks the chain: a wrong sign, a missing or doubled
 * term, a gradient routed to the wrong place.
 */
async function checkUNetGradients(engine: Engine, options: { classes: 1 | 3; norm: 'batch' | 'none'; padding: 'same' | 'valid' }) {
  const model = unet(
    { inChannels: 3, classes: options.classes, depth: 2, filters: 4, norm: options.norm, padding: options.padding, dropout: 0.2 },
    { engine, seed: 11 },
  );
  const size = options.padding === 'same' ? 16 : 60;
  const batch = learnableBatch(model, 2, size, 12);
  const x = engine.tensor(batch.inputShape, batch.x);
  const y = engine.tensor(batch.targetShape, batch.y);
  const loss = engine.loss({
    terms: [
      { kind: 'crossEntropy', weight: 1 },
      { kind: 'dice', weight: 1 },
    ],
    classes: options.classes,
  });
  const context = { training: true, seed: 21 };
  const { dLogits } = loss.forward(model.network.forward(x, context), y, null);
  model.network.backward(dLogits);
  const names =
    options.norm === 'batch'
      ? ['down.0.0.weight', 'down.0.1.weight', 'mid.4.bias', 'up.0.weight', 'up.1.bias', 'dec.1.3.weight', 'head.weight', 'head.bias']
      : [
          'down.0.0.weight',
          'down.1.2.bias',
          'mid.0.weight',
          'mid.2.bias',
          'up.0.weight',
          'up.1.bias',
          'dec.0.0.bias',
          'dec.1.2.weight',
          'head.weight',
          'head.bias',
        ];
  const byName = new Map(model.network.parameters().map((p) => [p.name, p]));
  const objective = async () => (await engine.read(loss.forward(model.network.forward(x, context), y, null).value))[0];
  const tolerance = options.norm === 'batch' ? 1e-1 : 1e-2;
  for (const [k, name] of names.entries()) {
    const p = byName.get(name);
    assert.ok(p?.grad, `parameter ${name} has no gradient`);
    const analytic = await engine.read(p.grad);
    let largest = 0;
    for (let i = 0; i < analytic.length; i++) if (Math.abs(analytic[i]) > Math.abs(analytic[largest])) largest = i;
    assert.ok(analytic[largest] !== 0, `${name}: gradient is all zero`);
    const entries = [...new Set([largest, ...checkedEntries(analytic.length, 2, 40 + k)])];
    const numeric = await finiteDifferences(engine, p.value, objective, { eps: 1e-3, entries });
    const error = gradientError(analytic, entries, numeric);
    if (process.env.GRADCHECK_VERBOSE) console.log(`  ${name}: ${error.toExponential(2)}`);
    assert.ok(error <= tolerance, `${name}: finite-difference error ${error.toExponential(2)} > ${tolerance}`);
  }
}
