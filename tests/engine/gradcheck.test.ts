/**
 * Finite-difference gradient checks of every reference kernel and loss term, and the optimizers
 * against PyTorch's update formulas written out by hand.
 *
 * Method: a random projection L = Σ r·y turns a kernel's output into a scalar; `backward(r)` must
 * equal dL/dinput, which central differences estimate (helpers.finiteDifferences uses the steps
 * float32 can represent, so a linear kernel gives its exact slope up to the rounding of y).
 * Tolerances, as max|numeric − analytic| / max|analytic|:
 * - linear or piecewise-linear kernels (conv, transposed conv, pooling away from ties, concat,
 *   add, dropout, ReLU away from 0), eps 1e-2 (1e-3 with a fused ReLU): only the float32 rounding
 *   of y enters, ≈ Σ|r·y|·2⁻²⁴ / eps ≈ 1e-5 here, so 1e-3;
 * - batch norm and the losses, which are curved: the O(eps²) truncation error adds to that; with
 *   eps 1e-2 it is ≈ 1e-4 of the gradient's scale, so 2e-3.
 * A fused ReLU is checked only where no perturbation switches a unit on or off (asserted: a
 * switch would average two slopes and the check would mean nothing; pick another seed then).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, type Engine, type LossTermKind, type Tensor } from '../../src/engine/index.js';
import { hashUniform, Random } from '../../src/util/random.js';
import { assertGradients, dot, randomArray, randomTensor, zeroPatternChanges } from './helpers.js';

const LINEAR_TOLERANCE = 1e-3;
const CURVED_TOLERANCE = 2e-3;

const engine: Engine = createEngine({ backend: 'reference' });

/**
 * Runs forward once, projects with a random r, back-propagates r, and checks every input's
 * gradient by central differences. `relu`: also assert that no perturbation switched a unit.
 */
async function checkKernel(options: {
  inputs: Record<string, Tensor>;
  forward: () => Tensor;
  backward: (dy: Tensor) => Record<string, Tensor | null>;
  eps: number;
  tolerance: number;
  seed: number;
  relu?: boolean;
}): Promise<Record<string, number>> {
  const y = options.forward();
  const baseline = await engine.read(y);
  const r = randomArray(baseline.length, options.seed + 1000);
  const grads = options.backward(engine.tensor(y.shape, r));
  const analytic: Record<string, Float32Array> = {};
  for (const [name, g] of Object.entries(grads)) if (g) analytic[name] = await engine.read(g);
  let switches = 0;
  const objective = async () => {
    const now = await engine.read(options.forward());
    if (options.relu) switches += zeroPatternChanges(baseline, now);
    return dot(now, r);
  };
  const errors = await assertGradients(engine, {
    inputs: options.inputs,
    analytic,
    objective,
    eps: options.eps,
    tolerance: options.tolerance,
    seed: options.seed,
  });
  assert.equal(switches, 0, 'a perturbation switched a ReLU unit: the seed puts a pre-activation within eps of 0');
  return errors;
}

describe('conv2d gradients (reference, finite differences)', () => {
  const cases = [
    { N: 2, I: 3, O: 4, H: 5, W: 6, k: 3, pad: 1, bias: true, relu: false, seed: 1 },
    { N: 2, I: 3, O: 4, H: 5, W: 6, k: 3, pad: 1, bias: false, relu: false, seed: 2 },
    { N: 1, I: 2, O: 3, H: 6, W: 5, k: 3, pad: 0, bias: true, relu: false, seed: 3 },
    { N: 2, I: 4, O: 3, H: 3, W: 4, k: 1, pad: 0, bias: true, relu: false, seed: 4 },
    { N: 2, I: 3, O: 1, H: 4, W: 4, k: 1, pad: 0, bias: false, relu: false, seed: 5 },
    { N: 2, I: 3, O: 4, H: 5, W: 5, k: 3, pad: 1, bias: true, relu: true, seed: 6 },
    { N: 1, I: 2, O: 3, H: 6, W: 6, k: 3, pad: 0, bias: false, relu: true, seed: 7 },
  ];
  for (const c of cases) {
    const name = `x=[${c.N},${c.I},${c.H},${c.W}] O=${c.O} k=${c.k} pad=${c.pad} bias=${c.bias} relu=${c.relu}`;
    test(name, async () => {
      const x = randomTensor(engine, [c.N, c.I, c.H, c.W], c.seed);
      const weight = randomTensor(engine, [c.O, c.I, c.k, c.k], c.seed + 1, 0.5);
      const bias = c.bias ? randomTensor(engine, [c.O], c.seed + 2, 0.5) : null;
      const kernel = engine.conv2d({ kernelSize: c.k, padding: c.pad, relu: c.relu });
      const errors = await checkKernel({
        inputs: bias ? { x, weight, bias } : { x, weight },
        forward: () => kernel.forward(x, weight, bias),
        backward: (dy) => {
          const g = kernel.backward(dy, { inputGrad: true });
          return { x: g.dx, weight: g.dWeight, bias: g.dBias };
        },
        eps: c.relu ? 1e-3 : 1e-2,
        tolerance: LINEAR_TOLERANCE,
        seed: c.seed,
        relu: c.relu,
      });
      assert.equal(Object.keys(errors).length, bias ? 3 : 2);
    });
  }

  test('inputGrad=false returns dx null but the same weight gradient', async () => {
    const x = randomTensor(engine, [1, 2, 4, 4], 11);
    const weight = randomTensor(engine, [3, 2, 3, 3], 12);
    const kernel = engine.conv2d({ kernelSize: 3, padding: 1 });
    const y = kernel.forward(x, weight, null);
    const dy = randomTensor(engine, y.shape, 13);
    const full = await engine.read(kernel.backward(dy, { inputGrad: true }).dWeight);
    const partial = kernel.backward(dy, { inputGrad: false });
    assert.equal(partial.dx, null);
    assert.deepEqual(await engine.read(partial.dWeight), full);
  });
});

describe('convTranspose2d gradients (reference)', () => {
  for (const c of [
    { I: 3, O: 2, H: 3, W: 2, bias: true, seed: 21 },
    { I: 2, O: 3, H: 2, W: 3, bias: false, seed: 22 },
  ]) {
    test(`2×2 stride 2 x=[2,${c.I},${c.H},${c.W}] O=${c.O} bias=${c.bias}`, async () => {
      const x = randomTensor(engine, [2, c.I, c.H, c.W], c.seed);
      const weight = randomTensor(engine, [c.I, c.O, 2, 2], c.seed + 1, 0.5);
      const bias = c.bias ? randomTensor(engine, [c.O], c.seed + 2) : null;
      const kernel = engine.convTranspose2d({ stride: 2 });
      const errors = await checkKernel({
        inputs: bias ? { x, weight, bias } : { x, weight },
        forward: () => kernel.forward(x, weight, bias),
        backward: (dy) => {
          const g = kernel.backward(dy);
          return { x: g.dx, weight: g.dWeight, bias: g.dBias };
        },
        eps: 1e-2,
        tolerance: LINEAR_TOLERANCE,
        seed: c.seed,
      });
      assert.ok(errors.x <= LINEAR_TOLERANCE);
    });
  }
});

describe('maxPool2d gradients (reference)', () => {
  test('x=[2,3,4,6], distinct values 0.05 apart (no ties within eps)', async () => {
    const size = 2 * 3 * 4 * 6;
    const rng = new Random(31);
    const values = Float32Array.from({ length: size }, (_, i) => i * 0.05 - 3);
    for (let i = size - 1; i > 0; i--) {
      const j = rng.int(0, i + 1);
      [values[i], values[j]] = [values[j], values[i]];
    }
    const x = engine.tensor([2, 3, 4, 6], values);
    const kernel = engine.maxPool2d();
    const errors = await checkKernel({
      inputs: { x },
      forward: () => kernel.forward(x, { training: true }),
      backward: (dy) => ({ x: kernel.backward(dy) }),
      eps: 1e-2,
      tolerance: LINEAR_TOLERANCE,
      seed: 31,
    });
    assert.ok(errors.x <= LINEAR_TOLERANCE);
  });
});

describe('batchNorm2d training gradients (reference; through the batch statistics)', () => {
  for (const relu of [false, true]) {
    test(`x=[3,4,3,2] relu=${relu}`, async () => {
      const seed = relu ? 41 : 42;
      const x = randomTensor(engine, [3, 4, 3, 2], seed, 2);
      const gamma = engine.tensor([4], Float32Array.from([1.2, 0.7, -0.9, 1.5]));
      const beta = engine.tensor([4], Float32Array.from([0.3, -0.2, 0.1, 0.5]));
      const runningMean = engine.tensor([4]);
      const runningVar = engine.tensor([4], new Float32Array(4).fill(1));
      const kernel = engine.batchNorm2d({ relu });
      const params = { gamma, beta, runningMean, runningVar };
      const errors = await checkKernel({
        inputs: { x, gamma, beta },
        forward: () => kernel.forward(x, params, { training: true }),
        backward: (dy) => {
          const g = kernel.backward(dy);
          return { x: g.dx, gamma: g.dGamma, beta: g.dBeta };
        },
        eps: relu ? 2e-3 : 1e-2,
        tolerance: CURVED_TOLERANCE,
        seed,
        relu,
      });
      assert.equal(Object.keys(errors).length, 3);
    });
  }
});

describe('elementwise gradients (reference)', () => {
  test('relu x=[2,3,3,3], |x| ≥ 0.05', async () => {
    const data = randomArray(54, 51).map((v) => v + Math.sign(v) * 0.05);
    const x = engine.tensor([2, 3, 3, 3], data);
    const kernel = engine.relu();
    const errors = await checkKernel({
      inputs: { x },
      forward: () => kernel.forward(x),
      backward: (dy) => ({ x: kernel.backward(dy) }),
      eps: 1e-2,
      tolerance: LINEAR_TOLERANCE,
      seed: 51,
      relu: true,
    });
    assert.ok(errors.x <= LINEAR_TOLERANCE);
  });

  for (const b of [
    [2, 2, 4, 5],
    [2, 2, 6, 9],
  ]) {
    test(`concat a=[2,3,4,5] b=[${b}]${b[2] > 4 ? ' (centre crop)' : ''}`, async () => {
      const a = randomTensor(engine, [2, 3, 4, 5], 61);
      const bt = randomTensor(engine, b, 62);
      const kernel = engine.concat();
      const errors = await checkKernel({
        inputs: { a, b: bt },
        forward: () => kernel.forward(a, bt),
        backward: (dy) => {
          const g = kernel.backward(dy);
          return { a: g.da, b: g.db };
        },
        eps: 1e-2,
        tolerance: LINEAR_TOLERANCE,
        seed: 61,
      });
      assert.equal(Object.keys(errors).length, 2);
    });
  }

  test('add a=b=[2,3,2,2]: gradient r for both inputs', async () => {
    const a = randomTensor(engine, [2, 3, 2, 2], 71);
    const b = randomTensor(engine, [2, 3, 2, 2], 72);
    const kernel = engine.add();
    const errors = await checkKernel({
      inputs: { a, b },
      forward: () => kernel.forward(a, b),
      backward: (dy) => ({ a: dy, b: dy }),
      eps: 1e-2,
      tolerance: LINEAR_TOLERANCE,
      seed: 71,
    });
    assert.equal(Object.keys(errors).length, 2);
  });

  test('dropout rate=0.3 seed=7 x=[2,3,4,4]: fixed mask, gradient = mask · dy', async () => {
    const x = randomTensor(engine, [2, 3, 4, 4], 81);
    const kernel = engine.dropout({ rate: 0.3 });
    const errors = await checkKernel({
      inputs: { x },
      forward: () => kernel.forward(x, { training: true, seed: 7 }),
      backward: (dy) => ({ x: kernel.backward(dy) }),
      eps: 1e-2,
      tolerance: LINEAR_TOLERANCE,
      seed: 81,
    });
    assert.ok(errors.x <= LINEAR_TOLERANCE);
  });

  test('dropout rate=0.3 seed=7 forward: drops where hashUniform(seed, index) < rate, scales the rest by 1/(1−rate)', async () => {
    const data = randomArray(2 * 3 * 8 * 8, 82);
    const x = engine.tensor([2, 3, 8, 8], data);
    const y = await engine.read(engine.dropout({ rate: 0.3 }).forward(x, { training: true, seed: 7 }));
    const keep = Math.fround(1 / 0.7);
    let dropped = 0;
    for (let j = 0; j < data.length; j++) {
      const expected = hashUniform(7, j) < 0.3 ? 0 : Math.fround(data[j] * keep);
      assert.ok(y[j] === expected, `element ${j}: ${y[j]} vs ${expected}`); // −0 for a dropped negative is fine
      if (expected === 0) dropped++;
    }
    assert.ok(Math.abs(dropped / data.length - 0.3) < 0.06, `dropped fraction ${dropped / data.length}`);
    const eval_ = engine.dropout({ rate: 0.3 }).forward(x, { training: false, seed: 7 });
    assert.deepEqual(await engine.read(eval_), data);
  });
});

/** Logits, targets and pixel weights for a loss check: `[N, K, 3, 4]`. */
function lossInputs(K: number, seed: number) {
  const N = 2;
  const plane = 12;
  const rng = new Random(seed);
  const logits = randomArray(N * K * plane, seed, 1.5);
  const target = Float32Array.from({ length: N * plane }, () => rng.int(0, Math.max(K, 2)));
  const weights = Float32Array.from({ length: N * plane }, () => rng.uniform(0.5, 2));
  return { N, plane, logits, target, weights, shape: [N, K, 3, 4], targetShape: [N, 3, 4] };
}

/** Each loss term in float64 straight from its definition, independent of the kernels. */
function lossByDefinition(
  kind: LossTermKind,
  K: number,
  input: ReturnType<typeof lossInputs>,
  weighted: boolean,
  options: { gamma?: number; smooth?: number } = {},
): number {
  const { N, plane, logits, target, weights } = input;
  const gamma = options.gamma ?? 2;
  const smooth = options.smooth ?? 1;
  const C = Math.max(K, 2);
  const prob = (n: number, c: number, j: number): number => {
    if (K === 1) {
      const p = 1 / (1 + Math.exp(-logits[n * plane + j]));
      return c === 1 ? p : 1 - p;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(logits[(n * K + k) * plane + j]);
    return Math.exp(logits[(n * K + c) * plane + j]) / sum;
  };
  if (kind === 'dice') {
    let loss = 0;
    for (let c = 1; c < C; c++) {
      let intersection = 0;
      let total = 0;
      for (let n = 0; n < N; n++) {
        for (let j = 0; j < plane; j++) {
          const t = target[n * plane + j] === c ? 1 : 0;
          intersection += prob(n, c, j) * t;
          total += prob(n, c, j) + t;
        }
      }
      loss += 1 - (2 * intersection + smooth) / (total + smooth);
    }
    return loss / (C - 1);
  }
  let sum = 0;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < plane; j++) {
      const pt = prob(n, target[n * plane + j], j);
      const w = weighted ? weights[n * plane + j] : 1;
      sum += w * (kind === 'focal' ? (1 - pt) ** gamma : 1) * -Math.log(pt);
    }
  }
  return sum / (N * plane);
}

describe('loss gradients and values (reference)', () => {
  const kinds: LossTermKind[] = ['crossEntropy', 'dice', 'focal'];
  for (const kind of kinds) {
    for (const K of [1, 3]) {
      for (const weighted of [false, true]) {
        test(`${kind} K=${K} pixelWeights=${weighted}`, async () => {
          const seed = 100 + kinds.indexOf(kind) * 10 + K + (weighted ? 5 : 0);
          const input = lossInputs(K, seed);
          const logits = engine.tensor(input.shape, input.logits);
          const target = engine.tensor(input.targetShape, input.target);
          const weights = weighted ? engine.tensor(input.targetShape, input.weights) : null;
          const kernel = engine.loss({ terms: [{ kind, weight: 1 }], classes: K });
          const { value, dLogits } = kernel.forward(logits, target, weights);
          const values = await engine.read(value);
          const expected = lossByDefinition(kind, K, input, weighted);
          assert.ok(Math.abs(values[0] - expected) <= 1e-6 * Math.abs(expected), `value ${values[0]} vs definition ${expected}`);
          assert.equal(values[1], values[0]);
          const analytic = { logits: await engine.read(dLogits) };
          const objective = async () => (await engine.read(kernel.forward(logits, target, weights).value))[0];
          await assertGradients(engine, { inputs: { logits }, analytic, objective, eps: 1e-2, tolerance: CURVED_TOLERANCE, seed });
        });
      }
    }
  }

  for (const K of [1, 3]) {
    test(`crossEntropy·1 + dice·0.7 K=${K}: total = weighted sum of the terms, gradient of the total`, async () => {
      const input = lossInputs(K, 150 + K);
      const logits = engine.tensor(input.shape, input.logits);
      const target = engine.tensor(input.targetShape, input.target);
      const kernel = engine.loss({
        terms: [
          { kind: 'crossEntropy', weight: 1 },
          { kind: 'dice', weight: 0.7 },
        ],
        classes: K,
      });
      const { value, dLogits } = kernel.forward(logits, target, null);
      const [total, ce, dice] = await engine.read(value);
      assert.ok(Math.abs(ce - lossByDefinition('crossEntropy', K, input, false)) < 1e-6);
      assert.ok(Math.abs(dice - lossByDefinition('dice', K, input, false)) < 1e-6);
      assert.ok(Math.abs(total - (ce + 0.7 * dice)) < 1e-6);
      const analytic = { logits: await engine.read(dLogits) };
      const objective = async () => (await engine.read(kernel.forward(logits, target, null).value))[0];
      await assertGradients(engine, { inputs: { logits }, analytic, objective, eps: 1e-2, tolerance: CURVED_TOLERANCE, seed: 150 + K });
    });
  }

  test('focalGamma=1.5 and diceSmooth=0.5 K=3 are honoured', async () => {
    const input = lossInputs(3, 161);
    const logits = engine.tensor(input.shape, input.logits);
    const target = engine.tensor(input.targetShape, input.target);
    const kernel = engine.loss({
      terms: [
        { kind: 'focal', weight: 1 },
        { kind: 'dice', weight: 1 },
      ],
      classes: 3,
      focalGamma: 1.5,
      diceSmooth: 0.5,
    });
    const [, focal, dice] = await engine.read(kernel.forward(logits, target, null).value);
    assert.ok(Math.abs(focal - lossByDefinition('focal', 3, input, false, { gamma: 1.5 })) < 1e-6);
    assert.ok(Math.abs(dice - lossByDefinition('dice', 3, input, false, { smooth: 0.5 })) < 1e-6);
  });
});

/** PyTorch's torch.optim.Adam / AdamW update (single-tensor, non-amsgrad), in float64. */
function torchAdam(
  param: number[],
  grads: number[][],
  o: { lr: number; beta1: number; beta2: number; eps: number; wd: number; decoupled: boolean },
): number[] {
  const p = [...param];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, s) => {
    const step = s + 1;
    for (let j = 0; j < p.length; j++) {
      let grad = g[j];
      if (o.decoupled) p[j] *= 1 - o.lr * o.wd;
      else grad += o.wd * p[j];
      m[j] = o.beta1 * m[j] + (1 - o.beta1) * grad;
      v[j] = o.beta2 * v[j] + (1 - o.beta2) * grad * grad;
      const stepSize = o.lr / (1 - o.beta1 ** step);
      const denominator = Math.sqrt(v[j]) / Math.sqrt(1 - o.beta2 ** step) + o.eps;
      p[j] -= (stepSize * m[j]) / denominator;
    }
  });
  return p;
}

/** PyTorch's torch.optim.SGD with momentum (dampening 0): the first step sets buf = d_p. */
function torchSgd(param: number[], grads: number[][], o: { lr: number; momentum: number; nesterov: boolean; wd: number }): number[] {
  const p = [...param];
  let buf: number[] | null = null;
  for (const g of grads) {
    const d = g.map((gj, j) => gj + o.wd * p[j]);
    buf = buf ? buf.map((b, j) => o.momentum * b + d[j]) : [...d];
    for (let j = 0; j < p.length; j++) p[j] -= o.lr * (o.nesterov ? d[j] + o.momentum * buf[j] : buf[j]);
  }
  return p;
}

describe('optimizers against PyTorch formulas (reference, 3 steps on literals)', () => {
  const param0 = [0.5, -1.25, 3, 0];
  const grads = [
    [0.1, -0.2, 0.3, 0],
    [0.05, 0.4, -0.1, 1e-3],
    [-0.3, 0.1, 0.2, -2],
  ];

  async function runAdam(options: { weightDecay: number; decoupled: boolean; lr: number; steps: number }): Promise<Float32Array> {
    const p = engine.tensor([4], Float32Array.from(param0));
    const m = engine.tensor([4]);
    const v = engine.tensor([4]);
    const kernel = engine.adam({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: options.weightDecay, decoupled: options.decoupled });
    for (let s = 0; s < options.steps; s++) {
      kernel.update(p, engine.tensor([4], Float32Array.from(grads[s])), m, v, { learningRate: options.lr, step: s + 1 });
    }
    return engine.read(p);
  }

  test('Adam step 1, lr=0.1: p − lr·g/(|g| + eps) (bias corrections cancel)', async () => {
    const p = await runAdam({ weightDecay: 0, decoupled: false, lr: 0.1, steps: 1 });
    const expected = param0.map((v, j) => v - (0.1 * grads[0][j]) / (Math.abs(grads[0][j]) + 1e-8));
    expected.forEach((e, j) => assert.ok(Math.abs(p[j] - e) < 1e-6, `entry ${j}: ${p[j]} vs ${e}`));
    assert.deepEqual(
      [...p.slice(0, 3)].map((v) => Math.round(v * 1e5) / 1e5),
      [0.4, -1.15, 2.9],
    );
  });

  for (const [label, wd, decoupled] of [
    ['Adam', 0, false],
    ['Adam L2 wd=0.1', 0.1, false],
    ['AdamW wd=0.1', 0.1, true],
  ] as const) {
    test(`${label} lr=0.01, 3 steps`, async () => {
      const p = await runAdam({ weightDecay: wd, decoupled, lr: 0.01, steps: 3 });
      const expected = torchAdam(param0, grads, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd, decoupled });
      expected.forEach((e, j) => assert.ok(Math.abs(p[j] - e) <= 1e-6 * Math.max(1, Math.abs(e)), `entry ${j}: ${p[j]} vs ${e}`));
    });
  }

  for (const [label, nesterov, wd] of [
    ['SGD momentum=0.9', false, 0],
    ['SGD nesterov momentum=0.9 wd=0.01', true, 0.01],
  ] as const) {
    test(`${label} lr=0.1, 3 steps`, async () => {
      const p = engine.tensor([4], Float32Array.from(param0));
      const velocity = engine.tensor([4]);
      const kernel = engine.sgd({ momentum: 0.9, nesterov, weightDecay: wd });
      for (const g of grads) kernel.update(p, engine.tensor([4], Float32Array.from(g)), velocity, { learningRate: 0.1 });
      const actual = await engine.read(p);
      const expected = torchSgd(param0, grads, { lr: 0.1, momentum: 0.9, nesterov, wd });
      expected.forEach((e, j) => assert.ok(Math.abs(actual[j] - e) <= 1e-6 * Math.max(1, Math.abs(e)), `entry ${j}: ${actual[j]} vs ${e}`));
    });
  }

  test('SGD momentum=0.9 step 1 on literals: p − lr·g', async () => {
    const p = engine.tensor([2], Float32Array.from([1, -2]));
    engine.sgd({ momentum: 0.9 }).update(p, engine.tensor([2], Float32Array.from([0.5, -0.25])), engine.tensor([2]), { learningRate: 0.1 });
    assert.deepEqual([...(await engine.read(p))], [Math.fround(0.95), Math.fround(-1.975)]);
  });
});
