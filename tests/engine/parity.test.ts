/**
 * Native engine vs the reference engine on random small shapes: every kernel forward and
 * backward within max|a − b| / max|b| ≤ 1e-4, with channel counts that are not multiples of the
 * native block size (1, 3, 5, 17) as well as 16 and 32, odd spatial sizes, valid padding, and
 * inputs in oneDNN's blocked layouts (made by an identity 1×1 convolution, as a real producer
 * would). Also the layout plumbing: weights moved into a blocked layout read back bit-exact,
 * kernels called with alternating input shapes, state tensors made by zerosLike, whole training
 * steps of the tiny U-Net. Skipped with the reason when the addon is not built.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  createEngine,
  nativeAvailability,
  type AdamKernel,
  type Engine,
  type LossTermKind,
  type SgdKernel,
  type Tensor,
} from '../../src/engine/index.js';
import { unet } from '../../src/nn/model.js';
import { Random } from '../../src/util/random.js';
import { assertBitExact, maxAbs, randomArray, relativeError, runIsolated, sizeOf } from './helpers.js';

const TOLERANCE = 1e-4;
const availability = nativeAvailability();
const skip = availability.available ? false : `native engine unavailable: ${availability.reason}`;
const reference = createEngine({ backend: 'reference' });
const native = skip ? reference : createEngine({ backend: 'native' });

type Outputs = Record<string, Tensor | null>;

/** Runs `run` on both engines and compares every named output. */
async function parity(run: (e: Engine) => Outputs | Promise<Outputs>, tolerance = TOLERANCE): Promise<void> {
  const expected = await run(reference);
  const actual = await run(native);
  const problems: string[] = [];
  for (const [key, want] of Object.entries(expected)) {
    const got = actual[key];
    if (want === null || got === null) {
      assert.equal(got, want, `${key}: one engine returned null`);
      continue;
    }
    assert.deepEqual([...got.shape], [...want.shape], `${key}: shape`);
    const error = relativeError(await native.read(got), await reference.read(want));
    if (!(error <= tolerance)) problems.push(`${key}: ${error.toExponential(2)}`);
  }
  assert.deepEqual(problems, [], `native differs from reference beyond ${tolerance}`);
}

/** The same identity 1×1 convolution on both engines: on the native one its output is blocked. */
function toBlocked(e: Engine, t: Tensor): Tensor {
  const C = t.shape[1];
  const eye = new Float32Array(C * C);
  for (let c = 0; c < C; c++) eye[c * C + c] = 1;
  return e.conv2d({ kernelSize: 1, padding: 0 }).forward(t, e.tensor([C, C, 1, 1], eye), null);
}

/** A random `[N, C, H, W]` input, plain or (via {@link toBlocked}) in the native blocked layout. */
function input(e: Engine, shape: readonly number[], seed: number, blocked: boolean, scale = 1): Tensor {
  const t = e.tensor(shape, randomArray(sizeOf(shape), seed, scale));
  return blocked ? toBlocked(e, t) : t;
}

const layoutOf = (t: Tensor): string | undefined => (t as { layout?: string }).layout;
const layoutName = (blocked: boolean) => (blocked ? 'blocked' : 'plain');

describe('native vs reference parity', { skip }, () => {
  test('an identity 1×1 conv output is in a blocked native layout for C=5 and C=32 (so the blocked cases test blocked data)', () => {
    for (const C of [5, 32]) {
      const t = input(native, [1, C, 4, 4], 1, true);
      assert.notEqual(layoutOf(t), 'abcd', `C=${C}: got ${layoutOf(t)}`);
    }
  });

  describe('conv2d', () => {
    const cases = [
      { N: 2, I: 1, O: 3, H: 7, W: 7, k: 3, pad: 1, bias: true, relu: true, blocked: false },
      { N: 2, I: 3, O: 5, H: 9, W: 7, k: 3, pad: 0, bias: false, relu: false, blocked: true },
      { N: 1, I: 5, O: 17, H: 8, W: 6, k: 3, pad: 1, bias: true, relu: false, blocked: true },
      { N: 2, I: 17, O: 32, H: 6, W: 5, k: 3, pad: 0, bias: false, relu: true, blocked: true },
      { N: 2, I: 32, O: 32, H: 8, W: 8, k: 3, pad: 1, bias: true, relu: true, blocked: true },
      { N: 2, I: 32, O: 16, H: 5, W: 5, k: 3, pad: 1, bias: true, relu: true, blocked: false },
      { N: 1, I: 16, O: 1, H: 9, W: 7, k: 1, pad: 0, bias: true, relu: false, blocked: true },
      { N: 2, I: 5, O: 3, H: 6, W: 6, k: 1, pad: 0, bias: true, relu: false, blocked: true },
      { N: 2, I: 5, O: 17, H: 9, W: 8, k: 3, pad: 1, bias: true, relu: false, blocked: true, stride: 2 },
    ];
    for (const [index, c] of cases.entries()) {
      const stride = 'stride' in c ? c.stride : 1;
      test(`x=[${c.N},${c.I},${c.H},${c.W}] ${layoutName(c.blocked)} O=${c.O} k=${c.k} pad=${c.pad} stride=${stride} bias=${c.bias} relu=${c.relu}: y, dx, dWeight, dBias`, async () => {
        const seed = 100 + index * 10;
        await parity((e) => {
          const x = input(e, [c.N, c.I, c.H, c.W], seed, c.blocked);
          const w = e.tensor([c.O, c.I, c.k, c.k], randomArray(c.O * c.I * c.k * c.k, seed + 1, 0.3));
          const b = c.bias ? e.tensor([c.O], randomArray(c.O, seed + 2, 0.3)) : null;
          const kernel = e.conv2d({ kernelSize: c.k, padding: c.pad, relu: c.relu, stride });
          const y = kernel.forward(x, w, b);
          const dy = input(e, y.shape, seed + 3, c.blocked);
          const g = kernel.backward(dy, { inputGrad: true });
          return { y, dx: g.dx, dWeight: g.dWeight, dBias: g.dBias };
        });
      });
    }
  });

  describe('convTranspose2d 2×2 stride 2', () => {
    const cases = [
      { N: 2, I: 3, O: 5, H: 3, W: 4, bias: true, blocked: false },
      { N: 2, I: 32, O: 16, H: 4, W: 4, bias: true, blocked: true },
      { N: 1, I: 17, O: 5, H: 3, W: 3, bias: false, blocked: true },
      { N: 2, I: 5, O: 5, H: 4, W: 3, bias: true, blocked: true },
      { N: 2, I: 16, O: 16, H: 3, W: 3, bias: true, blocked: true },
      { N: 1, I: 4, O: 4, H: 2, W: 2, bias: true, blocked: false },
    ];
    for (const [index, c] of cases.entries()) {
      test(`x=[${c.N},${c.I},${c.H},${c.W}] ${layoutName(c.blocked)} weight [${c.I},${c.O},2,2] bias=${c.bias}: y, dx, dWeight, dBias`, async () => {
        const seed = 200 + index * 10;
        await parity((e) => {
          const x = input(e, [c.N, c.I, c.H, c.W], seed, c.blocked);
          const w = e.tensor([c.I, c.O, 2, 2], randomArray(c.I * c.O * 4, seed + 1, 0.3));
          const b = c.bias ? e.tensor([c.O], randomArray(c.O, seed + 2)) : null;
          const kernel = e.convTranspose2d({ stride: 2 });
          const y = kernel.forward(x, w, b);
          const g = kernel.backward(input(e, y.shape, seed + 3, c.blocked));
          return { y, dx: g.dx, dWeight: g.dWeight, dBias: g.dBias };
        });
      });
    }
  });

  describe('maxPool2d, relu, add', () => {
    for (const C of [1, 5, 17, 32]) {
      for (const blocked of [false, true]) {
        test(`maxPool2d x=[2,${C},6,8] ${layoutName(blocked)}: y, dx; evaluation y`, async () => {
          await parity((e) => {
            const x = input(e, [2, C, 6, 8], 300 + C, blocked);
            const pool = e.maxPool2d();
            const y = pool.forward(x, { training: true });
            const dx = pool.backward(input(e, y.shape, 301 + C, blocked));
            const yEval = e.maxPool2d().forward(x, { training: false });
            return { y, dx, yEval };
          });
        });
      }
    }

    for (const C of [5, 17]) {
      test(`relu x=[2,${C},5,3] blocked: y, dx`, async () => {
        await parity((e) => {
          const relu = e.relu();
          const y = relu.forward(input(e, [2, C, 5, 3], 320 + C, true));
          return { y, dx: relu.backward(input(e, y.shape, 321 + C, true)) };
        });
      });
    }

    for (const [la, lb] of [
      [true, true],
      [false, false],
      [true, false],
    ]) {
      test(`add a=[2,17,4,5] ${layoutName(la)} + b ${layoutName(lb)}`, async () => {
        await parity((e) => ({ y: e.add().forward(input(e, [2, 17, 4, 5], 330, la), input(e, [2, 17, 4, 5], 331, lb)) }));
      });
    }
  });

  describe('batchNorm2d', () => {
    for (const C of [1, 3, 5, 17, 32]) {
      for (const relu of [false, true]) {
        const blocked = C !== 3;
        test(`C=${C} relu=${relu} x=[2,${C},5,6] ${layoutName(blocked)}: train y, dx, dGamma, dBeta, running stats; eval y on [1,${C},3,3]`, async () => {
          const seed = 400 + C * 2 + (relu ? 1 : 0);
          await parity((e) => {
            const params = {
              gamma: e.tensor(
                [C],
                randomArray(C, seed, 0.3).map((v) => 1 + v),
              ),
              beta: e.tensor([C], randomArray(C, seed + 1, 0.3)),
              runningMean: e.tensor([C], randomArray(C, seed + 2, 0.1)),
              runningVar: e.tensor(
                [C],
                randomArray(C, seed + 3, 0.1).map((v) => 1 + Math.abs(v)),
              ),
            };
            const bn = e.batchNorm2d({ relu, momentum: 0.1, epsilon: 1e-5 });
            const x = input(e, [2, C, 5, 6], seed + 4, blocked, 2);
            const y = bn.forward(x, params, { training: true });
            const g = bn.backward(input(e, y.shape, seed + 5, blocked));
            const yEval = bn.forward(input(e, [1, C, 3, 3], seed + 6, blocked), params, { training: false });
            return { y, dx: g.dx, dGamma: g.dGamma, dBeta: g.dBeta, runningMean: params.runningMean, runningVar: params.runningVar, yEval };
          });
        });
      }
    }
  });

  describe('concat with centre crop', () => {
    const cases = [
      { Ca: 5, Cb: 5, H: 4, crop: 2, la: true, lb: true },
      { Ca: 3, Cb: 17, H: 5, crop: 4, la: true, lb: true },
      { Ca: 17, Cb: 3, H: 4, crop: 0, la: true, lb: true },
      { Ca: 16, Cb: 16, H: 4, crop: 4, la: true, lb: true },
      { Ca: 32, Cb: 32, H: 3, crop: 0, la: true, lb: true },
      { Ca: 3, Cb: 2, H: 4, crop: 2, la: false, lb: false },
      { Ca: 5, Cb: 16, H: 4, crop: 2, la: true, lb: false },
      { Ca: 16, Cb: 5, H: 4, crop: 2, la: false, lb: true },
    ];
    for (const [index, c] of cases.entries()) {
      test(`a=[2,${c.Ca},${c.H},${c.H}] ${layoutName(c.la)} b=[2,${c.Cb},${c.H + c.crop},${c.H + c.crop + 2}] ${layoutName(c.lb)}: y, da, db`, async () => {
        const seed = 500 + index * 10;
        await parity((e) => {
          const a = input(e, [2, c.Ca, c.H, c.H], seed, c.la);
          const b = input(e, [2, c.Cb, c.H + c.crop, c.H + c.crop + 2], seed + 1, c.lb);
          const concat = e.concat();
          const y = concat.forward(a, b);
          const { da, db } = concat.backward(input(e, y.shape, seed + 2, c.la));
          return { y, da, db };
        });
      });
    }
  });

  describe('dropout rate=0.3', () => {
    for (const [C, blocked] of [
      [17, true],
      [3, false],
      [32, true],
    ] as const) {
      test(`x=[2,${C},5,4] ${layoutName(blocked)} seed=12345: identical masks, y and dx`, async () => {
        await parity((e) => {
          const dropout = e.dropout({ rate: 0.3 });
          const y = dropout.forward(input(e, [2, C, 5, 4], 600 + C, blocked), { training: true, seed: 12345 });
          return { y, dx: dropout.backward(input(e, y.shape, 601 + C, blocked)) };
        }, 0);
      });
    }
  });

  describe('loss', () => {
    const kinds: LossTermKind[] = ['crossEntropy', 'dice', 'focal'];
    const rng = new Random(700);
    for (const K of [1, 3]) {
      const target = Float32Array.from({ length: 2 * 5 * 7 }, () => rng.int(0, Math.max(K, 2)));
      const weights = Float32Array.from({ length: 2 * 5 * 7 }, () => rng.uniform(0.5, 3));
      for (const kind of kinds) {
        for (const weighted of [false, true]) {
          test(`${kind} K=${K} pixelWeights=${weighted} logits [2,${K},5,7] blocked: value, dLogits`, async () => {
            await parity((e) => {
              const kernel = e.loss({ terms: [{ kind, weight: 1 }], classes: K, focalGamma: 1.5, diceSmooth: 0.5 });
              const logits = input(e, [2, K, 5, 7], 710 + K, true, 2);
              return kernel.forward(logits, e.tensor([2, 5, 7], target), weighted ? e.tensor([2, 5, 7], weights) : null);
            });
          });
        }
      }
      test(`crossEntropy·1 + dice·0.5 + focal·0.25 K=${K}: value (total and terms), dLogits`, async () => {
        await parity((e) => {
          const kernel = e.loss({
            terms: [
              { kind: 'crossEntropy', weight: 1 },
              { kind: 'dice', weight: 0.5 },
              { kind: 'focal', weight: 0.25 },
            ],
            classes: K,
          });
          return kernel.forward(input(e, [2, K, 5, 7], 720 + K, true, 2), e.tensor([2, 5, 7], target), null);
        });
      });
    }
  });

  describe('optimizers, 4 steps', () => {
    type Kernels = { adam?: AdamKernel; sgd?: SgdKernel };
    const optimizers: { name: string; make: (e: Engine) => Kernels }[] = [
      { name: 'Adam', make: (e) => ({ adam: e.adam({ beta1: 0.9, beta2: 0.999, weightDecay: 0.01, decoupled: false }) }) },
      { name: 'AdamW wd=0.1', make: (e) => ({ adam: e.adam({ weightDecay: 0.1, decoupled: true }) }) },
      { name: 'SGD nesterov momentum=0.9 wd=1e-3', make: (e) => ({ sgd: e.sgd({ momentum: 0.9, nesterov: true, weightDecay: 1e-3 }) }) },
      { name: 'SGD momentum=0.5', make: (e) => ({ sgd: e.sgd({ momentum: 0.5 }) }) },
    ];
    for (const o of optimizers) {
      test(`${o.name} on a plain [37] parameter`, async () => {
        await parity(async (e) => {
          const { adam, sgd } = o.make(e);
          const p = e.tensor([37], randomArray(37, 800));
          const m = e.zerosLike(p);
          const v = e.zerosLike(p);
          for (let step = 1; step <= 4; step++) {
            const g = e.tensor([37], randomArray(37, 800 + step));
            if (adam) adam.update(p, g, m, v, { learningRate: 0.01, step });
            else sgd!.update(p, g, m, { learningRate: 0.01 });
          }
          return { p, m, v };
        });
      });

      test(`${o.name} on a blocked conv weight [17,5,3,3] with its own gradients, state from zerosLike after the relayout`, async () => {
        await parity(async (e) => {
          const { adam, sgd } = o.make(e);
          const x = input(e, [2, 5, 6, 6], 810, true);
          const w = e.tensor([17, 5, 3, 3], randomArray(17 * 5 * 9, 811, 0.3));
          const conv = e.conv2d({ kernelSize: 3, padding: 1 });
          const dy = input(e, [2, 17, 6, 6], 812, true);
          let m: Tensor | null = null;
          let v: Tensor | null = null;
          for (let step = 1; step <= 4; step++) {
            conv.forward(x, w, null);
            const { dWeight } = conv.backward(dy, { inputGrad: false });
            m ??= e.zerosLike(w);
            v ??= e.zerosLike(w);
            if (adam) adam.update(w, dWeight, m, v, { learningRate: 0.01, step });
            else sgd!.update(w, dWeight, m, { learningRate: 0.01 });
          }
          return { w, m, v };
        });
      });
    }
  });

  describe('layouts', () => {
    test('conv weight [17,5,3,3] with −0 and a denormal, written plain, moved to a blocked layout by a forward: reads back bit-exact; a write into the blocked tensor reads back bit-exact and is used', async () => {
      const data = randomArray(17 * 5 * 9, 900, 0.3);
      data[0] = -0;
      data[1] = 1e-40;
      const w = native.tensor([17, 5, 3, 3], data);
      const x = input(native, [1, 5, 4, 4], 901, true);
      const conv = native.conv2d({ kernelSize: 3, padding: 1 });
      conv.forward(x, w, null);
      assert.notEqual(layoutOf(w), 'abcd', 'the weight should have moved to a blocked layout');
      assertBitExact(await native.read(w), data, 'weight after the relayout');
      const fresh = randomArray(data.length, 902, 0.3);
      native.write(w, fresh);
      assertBitExact(await native.read(w), fresh, 'weight written in its blocked layout');
      const y = await native.read(conv.forward(x, w, null));
      const r = reference
        .conv2d({ kernelSize: 3, padding: 1 })
        .forward(reference.tensor(x.shape, await native.read(x)), reference.tensor(w.shape, fresh), null);
      assert.ok(relativeError(y, await reference.read(r)) <= TOLERANCE);
    });

    for (const [I, O] of [
      [16, 8],
      [5, 5],
      [32, 16],
    ]) {
      test(`convTranspose weight [${I},${O},2,2] written plain, relaid out by a forward: reads back bit-exact; zerosLike of it is zero and round-trips`, async () => {
        const data = randomArray(I * O * 4, 910 + I, 0.3);
        const w = native.tensor([I, O, 2, 2], data);
        native.convTranspose2d({ stride: 2 }).forward(input(native, [1, I, 3, 3], 911, true), w, null);
        assertBitExact(await native.read(w), data, 'transposed-conv weight after the relayout');
        const z = native.zerosLike(w);
        assert.deepEqual([...z.shape], [I, O, 2, 2]);
        assert.deepEqual(await native.read(z), new Float32Array(I * O * 4));
        native.write(z, data);
        assertBitExact(await native.read(z), data, 'zerosLike tensor written and read');
      });
    }

    test('conv2d called alternately with x=[2,5,8,8] (training patch) and x=[1,5,13,11] (evaluation image), 3 rounds: each forward and backward matches', async () => {
      const shapes = [
        [2, 5, 8, 8],
        [1, 5, 13, 11],
      ];
      const kernels = {
        ref: reference.conv2d({ kernelSize: 3, padding: 1, relu: true }),
        nat: native.conv2d({ kernelSize: 3, padding: 1, relu: true }),
      };
      const weights = randomArray(7 * 5 * 9, 920, 0.3);
      const w = { ref: reference.tensor([7, 5, 3, 3], weights), nat: native.tensor([7, 5, 3, 3], weights) };
      for (let round = 0; round < 6; round++) {
        const shape = shapes[round % 2];
        const seed = 921 + round;
        await parity((e) => {
          const side = e === reference ? 'ref' : 'nat';
          const y = kernels[side].forward(input(e, shape, seed, round % 3 === 0), w[side], null);
          const g = kernels[side].backward(input(e, y.shape, seed + 100, true), { inputGrad: true });
          return { y, dx: g.dx, dWeight: g.dWeight };
        });
      }
    });

    test('batchNorm2d, maxPool2d and concat with 5 input shapes in turn (more than the kernels cache) then the first again', async () => {
      const sizes = [4, 8, 12, 16, 20, 4];
      const make = (e: Engine) => ({
        bn: e.batchNorm2d({ relu: true }),
        pool: e.maxPool2d(),
        concat: e.concat(),
        params: {
          gamma: e.tensor([17], new Float32Array(17).fill(1.5)),
          beta: e.tensor([17], new Float32Array(17).fill(0.1)),
          runningMean: e.tensor([17]),
          runningVar: e.tensor([17], new Float32Array(17).fill(1)),
        },
      });
      const kernels = { ref: make(reference), nat: make(native) };
      for (const [index, size] of sizes.entries()) {
        await parity((e) => {
          const k = kernels[e === reference ? 'ref' : 'nat'];
          const x = input(e, [2, 17, size, size], 930 + index, true);
          const y = k.bn.forward(x, k.params, { training: true });
          const yEval = k.bn.forward(input(e, [1, 17, size + 2, size + 2], 940 + index, true), k.params, { training: false });
          const pooled = k.pool.forward(y, { training: true });
          k.pool.forward(input(e, [1, 17, size + 2, size + 2], 945, true), { training: false });
          const dPool = k.pool.backward(input(e, pooled.shape, 950 + index, true));
          const dBn = k.bn.backward(dPool);
          const joined = k.concat.forward(pooled, y);
          const { da, db } = k.concat.backward(input(e, joined.shape, 960 + index, true));
          return { y, yEval, pooled, dPool, dx: dBn.dx, dGamma: dBn.dGamma, joined, da, db };
        });
      }
    });
  });

  /**
   * Runs `body` (defining `async function run(e)` returning tensors' data) on both engines in a
   * child process. `rejection`: a clean JS error matching it, thrown by the kernels instead of
   * computing, also passes (an engine may refuse a case it does not support, but never crash or
   * compute garbage).
   */
  function isolatedParity(body: string, rejection?: RegExp): void {
    const outcome = runIsolated(`
      import { createEngine } from '@root/src/engine/index.ts';
      import { randomArray, relativeError } from '@root/tests/engine/helpers.ts';
      ${body}
      const want = await run(createEngine({ backend: 'reference' }));
      const got = await run(createEngine({ backend: 'native' }));
      console.log(JSON.stringify(want.map((w, i) => relativeError(got[i], w))));
    `);
    if (rejection && outcome.status === 1 && rejection.test(outcome.stderr)) return;
    assert.equal(outcome.status, 0, `the child process ended with ${outcome.status ?? outcome.signal}: ${outcome.stderr}`);
    const errors = outcome.result as number[];
    assert.ok(
      errors.every((e) => e <= TOLERANCE),
      `errors ${errors.map((e) => e.toExponential(2)).join(', ')}`,
    );
  }

  test('maxPool2d and batchNorm2d backward after a training forward and 5 evaluation forwards of other shapes (more than a kernel caches): uses the training forward (child process: a dangling entry may crash)', () => {
    isolatedParity(`
      async function run(e) {
        const C = 5;
        const pool = e.maxPool2d();
        const bn = e.batchNorm2d({ relu: true });
        const params = { gamma: e.tensor([C], new Float32Array(C).fill(1.5)), beta: e.tensor([C]), runningMean: e.tensor([C]), runningVar: e.tensor([C], new Float32Array(C).fill(1)) };
        const x = e.tensor([2, C, 8, 8], randomArray(2 * C * 64, 1));
        const y = pool.forward(x, { training: true });
        const z = bn.forward(x, params, { training: true });
        for (const s of [4, 6, 10, 12, 14]) {
          pool.forward(e.tensor([1, C, s, s], randomArray(C * s * s, s)), { training: false });
          bn.forward(e.tensor([1, C, s, s], randomArray(C * s * s, s)), params, { training: false });
        }
        const dx = pool.backward(e.tensor(y.shape, randomArray(2 * C * 16, 2)));
        const g = bn.backward(e.tensor(z.shape, randomArray(2 * C * 64, 3)));
        return [await e.read(dx), await e.read(g.dx), await e.read(g.dGamma)];
      }
    `);
  });

  for (const K of [65, 100]) {
    test(`loss crossEntropy + dice with K=${K} classes [2,${K},3,3]: matches, or is refused with an error naming the classes (child process: fixed 64-entry buffers may overflow)`, () => {
      isolatedParity(
        `
        async function run(e) {
          const kernel = e.loss({ terms: [{ kind: 'crossEntropy', weight: 1 }, { kind: 'dice', weight: 1 }], classes: ${K} });
          const target = new Float32Array(18).map((_, i) => (i * 7) % ${K});
          const r = kernel.forward(e.tensor([2, ${K}, 3, 3], randomArray(2 * ${K} * 9, 1)), e.tensor([2, 3, 3], target), null);
          return [await e.read(r.value), await e.read(r.dLogits)];
        }
      `,
        /Error.*classes/,
      );
    });
  }

  describe('tiny U-Net training steps (depth 2, filters 4, dropout 0.2)', () => {
    const configs = [
      { padding: 'same', norm: 'batch', size: 16, classes: 1, loss: 'bce+dice', optimizer: 'adamw' },
      { padding: 'valid', norm: 'batch', size: 44, classes: 3, loss: 'bce+dice', optimizer: 'sgd' },
      { padding: 'valid', norm: 'none', size: 44, classes: 1, loss: 'focal', optimizer: 'adam' },
      { padding: 'same', norm: 'none', size: 16, classes: 3, loss: 'dice', optimizer: 'sgd' },
    ] as const;
    // With valid padding and BatchNorm the up-convolution biases cannot change the loss: a constant
    // per channel passes the unpadded 3×3 convolution as a constant and BatchNorm subtracts it. Their
    // gradients are rounding noise, so gradients and parameters are compared against at least 1e-2 ×
    // the largest gradient or parameter of the network (as in torch-parity.test.ts), and the
    // valid/BatchNorm case uses SGD because Adam would turn that noise into full-size steps of a
    // parameter that only the running statistics see.
    for (const c of configs) {
      test(`padding=${c.padding} norm=${c.norm} K=${c.classes} x=[2,3,${c.size},${c.size}] ${c.loss} ${c.optimizer}: 2 steps, losses, gradients, weights, running stats, predictions`, async () => {
        const results = [];
        const parameterNames = new Set<string>();
        for (const engine of [reference, native]) {
          const model = unet(
            { inChannels: 3, classes: c.classes, depth: 2, filters: 4, padding: c.padding, norm: c.norm, dropout: 0.2 },
            { engine, seed: 1 },
          );
          const out = model.outputSize(c.size)!;
          const x = randomArray(2 * 3 * c.size * c.size, 5);
          const rng = new Random(6);
          const y = Float32Array.from({ length: 2 * out * out }, () => rng.int(0, Math.max(c.classes, 2)));
          model.configureTraining({ loss: c.loss, optimizer: c.optimizer, seed: 3 });
          const batch = {
            x,
            y,
            inputShape: [2, 3, c.size, c.size] as [number, number, number, number],
            targetShape: [2, out, out] as [number, number, number],
          };
          const losses = [
            (await model.trainStep(batch, { learningRate: 1e-2 })).loss,
            (await model.trainStep(batch, { learningRate: 1e-2 })).loss,
          ];
          const tensors: Record<string, Float32Array> = {};
          for (const p of model.network.parameters()) {
            tensors[`grad ${p.name}`] = await engine.read(p.grad!);
            tensors[p.name] = await engine.read(p.value);
            parameterNames.add(p.name);
          }
          for (const b of model.network.buffers()) tensors[b.name] = await engine.read(b.value);
          tensors.predictions = await model.predict(x, [2, 3, c.size, c.size]);
          results.push({ losses, tensors });
        }
        const [want, got] = results;
        want.losses.forEach((l, i) =>
          assert.ok(Math.abs(got.losses[i] - l) <= TOLERANCE * Math.abs(l), `loss ${i}: ${got.losses[i]} vs ${l}`),
        );
        const scale = (grads: boolean) =>
          Math.max(
            ...Object.entries(want.tensors)
              .filter(([k]) => k.startsWith('grad ') === grads && parameterNames.has(k.replace(/^grad /, '')))
              .map(([, v]) => maxAbs(v)),
          );
        const floors = { grad: 1e-2 * scale(true), value: 1e-2 * scale(false) };
        const problems = Object.keys(want.tensors)
          .map(
            (key) =>
              [
                key,
                relativeError(
                  got.tensors[key],
                  want.tensors[key],
                  key.startsWith('grad ') ? floors.grad : parameterNames.has(key) ? floors.value : 0,
                ),
              ] as const,
          )
          .filter(([, error]) => !(error <= TOLERANCE))
          .map(([key, error]) => `${key}: ${error.toExponential(2)}`);
        assert.deepEqual(problems, []);
      });
    }
  });
});
