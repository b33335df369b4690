import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { decodeOnnxModel, describeOnnx } from '../../src/io/onnx-decode.js';
import { OnnxGraphBuilder, encodeOnnxModel, checkOnnxGraph } from '../../src/io/onnx-proto.js';
import { PyocyteError } from '../../src/util/errors.js';

/** Deterministic small values in [-1, 1) without needing a generator. */
function ramp(count: number, seed: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) % 1);
}

async function run(graph: OnnxGraphBuilder, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(encodeOnnxModel(graph));
  return session.run(feeds) as Promise<Record<string, ort.Tensor>>;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Reference NCHW convolution, stride 1, symmetric zero padding. */
function referenceConv(
  x: Float32Array,
  [n, c, h, w]: number[],
  weight: Float32Array,
  outChannels: number,
  k: number,
  pad: number,
  bias: Float32Array,
): Float32Array {
  const outH = h + 2 * pad - k + 1;
  const outW = w + 2 * pad - k + 1;
  const out = new Float32Array(n * outChannels * outH * outW);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < outChannels; o++)
      for (let y = 0; y < outH; y++)
        for (let xx = 0; xx < outW; xx++) {
          let sum = bias[o];
          for (let ci = 0; ci < c; ci++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const iy = y + ky - pad;
                const ix = xx + kx - pad;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                sum += x[((b * c + ci) * h + iy) * w + ix] * weight[((o * c + ci) * k + ky) * k + kx];
              }
          out[((b * outChannels + o) * outH + y) * outW + xx] = sum;
        }
  return out;
}

describe('ONNX builder run by onnxruntime', () => {
  test('Conv 3x3 pad 1 with bias + Relu, input 1x2x5x5, 3 output channels', async () => {
    const x = ramp(50, 1);
    const weight = ramp(3 * 2 * 9, 2);
    const bias = Float32Array.from([0.1, -0.2, 0.3]);
    const g = new OnnxGraphBuilder('conv');
    g.addInput('x', [1, 2, 5, 5]).addInitializer('w', [3, 2, 3, 3], weight).addInitializer('b', [3], bias);
    g.addNode('Conv', ['x', 'w', 'b'], ['conv'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    g.addNode('Relu', ['conv'], ['y']).addOutput('y', [1, 3, 5, 5]);
    const { y } = await run(g, { x: new ort.Tensor('float32', x, [1, 2, 5, 5]) });
    const expected = referenceConv(x, [1, 2, 5, 5], weight, 3, 3, 1, bias).map((v) => Math.max(0, v));
    assert.deepEqual(y.dims, [1, 3, 5, 5]);
    assertClose(y.data as Float32Array, expected);
  });

  test('ConvTranspose 2x2 stride 2, weight [C_in=2, C_out=3, 2, 2], input 1x2x3x4', async () => {
    const x = ramp(24, 3);
    const weight = ramp(2 * 3 * 4, 4);
    const g = new OnnxGraphBuilder('up');
    g.addInput('x', [1, 2, 3, 4]).addInitializer('w', [2, 3, 2, 2], weight);
    g.addNode('ConvTranspose', ['x', 'w'], ['y'], { kernel_shape: [2, 2], strides: [2, 2] }).addOutput('y', [1, 3, 6, 8]);
    const { y } = await run(g, { x: new ort.Tensor('float32', x, [1, 2, 3, 4]) });
    const expected = new Float32Array(3 * 6 * 8);
    for (let ci = 0; ci < 2; ci++)
      for (let co = 0; co < 3; co++)
        for (let iy = 0; iy < 3; iy++)
          for (let ix = 0; ix < 4; ix++) {
            for (let ky = 0; ky < 2; ky++)
              for (let kx = 0; kx < 2; kx++) {
                expected[(co * 6 + iy * 2 + ky) * 8 + ix * 2 + kx] += x[(ci * 3 + iy) * 4 + ix] * weight[((ci * 3 + co) * 2 + ky) * 2 + kx];
              }
          }
    assert.deepEqual(y.dims, [1, 3, 6, 8]);
    assertClose(y.data as Float32Array, expected);
  });

  test('MaxPool 2x2, Concat axis 1, BatchNormalization, Sigmoid, Softmax axis 1, Slice centre crop on 1x2x4x4', async () => {
    const x = ramp(32, 5);
    const scale = Float32Array.from([1.5, 0.5, 2, 1]);
    const shift = Float32Array.from([0.1, 0, -0.1, 0.2]);
    const mean = Float32Array.from([0.05, -0.1, 0, 0.3]);
    const variance = Float32Array.from([1, 0.25, 2, 0.5]);
    const g = new OnnxGraphBuilder('ops');
    g.addInput('x', [1, 2, 4, 4]);
    g.addInitializer('scale', [4], scale)
      .addInitializer('shift', [4], shift)
      .addInitializer('mean', [4], mean)
      .addInitializer('var', [4], variance);
    g.addInt64Initializer('starts', [1, 1]).addInt64Initializer('ends', [3, 3]).addInt64Initializer('axes', [2, 3]);
    g.addNode('MaxPool', ['x'], ['pool'], { kernel_shape: [2, 2], strides: [2, 2] });
    g.addNode('Concat', ['x', 'x'], ['cat'], { axis: 1 });
    g.addNode('BatchNormalization', ['cat', 'scale', 'shift', 'mean', 'var'], ['bn'], { epsilon: 1e-5 });
    g.addNode('Sigmoid', ['bn'], ['sig']).addNode('Softmax', ['bn'], ['soft'], { axis: 1 });
    g.addNode('Slice', ['x', 'starts', 'ends', 'axes'], ['crop']);
    for (const [name, dims] of [
      ['pool', [1, 2, 2, 2]],
      ['bn', [1, 4, 4, 4]],
      ['sig', [1, 4, 4, 4]],
      ['soft', [1, 4, 4, 4]],
      ['crop', [1, 2, 2, 2]],
    ] as const) {
      g.addOutput(name, [...dims]);
    }
    const out = await run(g, { x: new ort.Tensor('float32', x, [1, 2, 4, 4]) });
    const at = (c: number, y: number, xx: number): number => x[(c * 4 + y) * 4 + xx];

    const pool: number[] = [];
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < 2; y++)
        for (let xx = 0; xx < 2; xx++) {
          pool.push(Math.max(at(c, 2 * y, 2 * xx), at(c, 2 * y, 2 * xx + 1), at(c, 2 * y + 1, 2 * xx), at(c, 2 * y + 1, 2 * xx + 1)));
        }
    assertClose(out.pool.data as Float32Array, pool);

    const bn = new Float32Array(64);
    for (let c = 0; c < 4; c++)
      for (let i = 0; i < 16; i++) {
        bn[c * 16 + i] = (scale[c] * (x[(c % 2) * 16 + i] - mean[c])) / Math.sqrt(variance[c] + 1e-5) + shift[c];
      }
    assertClose(out.bn.data as Float32Array, bn);
    assertClose(
      out.sig.data as Float32Array,
      bn.map((v) => 1 / (1 + Math.exp(-v))),
    );
    const soft = new Float32Array(64);
    for (let i = 0; i < 16; i++) {
      const total = [0, 1, 2, 3].reduce((s, c) => s + Math.exp(bn[c * 16 + i]), 0);
      for (let c = 0; c < 4; c++) soft[c * 16 + i] = Math.exp(bn[c * 16 + i]) / total;
    }
    assertClose(out.soft.data as Float32Array, soft);
    assertClose(out.crop.data as Float32Array, [
      at(0, 1, 1),
      at(0, 1, 2),
      at(0, 2, 1),
      at(0, 2, 2),
      at(1, 1, 1),
      at(1, 1, 2),
      at(1, 2, 1),
      at(1, 2, 2),
    ]);
  });

  test('symbolic N/H/W accept 1x2x5x5 and 2x2x7x9', async () => {
    const weight = ramp(18, 6);
    const bias = Float32Array.from([0.25]);
    const g = new OnnxGraphBuilder('dynamic');
    g.addInput('x', ['N', 2, 'H', 'W']).addInitializer('w', [1, 2, 3, 3], weight).addInitializer('b', [1], bias);
    g.addNode('Conv', ['x', 'w', 'b'], ['y'], { pads: [1, 1, 1, 1] }).addOutput('y', ['N', 1, 'H', 'W']);
    const session = await ort.InferenceSession.create(encodeOnnxModel(g));
    for (const dims of [
      [1, 2, 5, 5],
      [2, 2, 7, 9],
    ]) {
      const x = ramp(
        dims.reduce((a, b) => a * b),
        dims[3],
      );
      const { y } = await session.run({ x: new ort.Tensor('float32', x, dims) });
      assert.deepEqual(y.dims, [dims[0], 1, dims[2], dims[3]]);
      assertClose(y.data as Float32Array, referenceConv(x, dims, weight, 1, 3, 1, bias));
    }
  });

  test('metadata and producer are visible to onnxruntime and to decodeOnnxModel', async () => {
    const g = new OnnxGraphBuilder('meta', 'a tiny graph');
    g.addInput('x', ['N', 1]).addNode('Sigmoid', ['x'], ['y']).addOutput('y', ['N', 1]);
    const bytes = encodeOnnxModel(g, { producerVersion: '0.1.0', docString: 'doc', metadata: { classes: 'background,cell' } });
    const session = await ort.InferenceSession.create(bytes);
    assert.deepEqual(session.inputNames, ['x']);
    const decoded = decodeOnnxModel(bytes);
    assert.equal(decoded.irVersion, 8);
    assert.deepEqual(decoded.opsetImports, [{ domain: '', version: 17 }]);
    assert.equal(decoded.producerName, 'pyocyte');
    assert.equal(decoded.producerVersion, '0.1.0');
    assert.equal(decoded.graph.docString, 'a tiny graph');
    assert.deepEqual(decoded.metadata, { classes: 'background,cell' });
    assert.deepEqual(decoded.graph.inputs, [{ name: 'x', elementType: 1, dims: ['N', 1] }]);
  });
});

describe('ONNX decode and checks', () => {
  test('attributes int, float, forced float, ints, floats, string decode back', () => {
    const g = new OnnxGraphBuilder('attrs');
    g.addInput('x', [1]);
    g.addNode('Custom', ['x'], ['y'], {
      axis: 1,
      epsilon: 0.25,
      alpha: { float: 2 },
      pads: [0, -1],
      scales: Float32Array.from([0.5, 4]),
      mode: 'nearest',
    });
    g.addOutput('y', [1]);
    const attributes = decodeOnnxModel(encodeOnnxModel(g)).graph.nodes[0].attributes;
    assert.deepEqual(attributes, { axis: 1, epsilon: 0.25, alpha: 2, pads: [0, -1], scales: [0.5, 4], mode: 'nearest' });
  });

  test('describeOnnx lists inputs, parameter count and op counts', () => {
    const g = new OnnxGraphBuilder('unet');
    g.addInput('image', ['N', 1, 'H', 'W']).addInitializer('w', [4, 1, 3, 3], new Float32Array(36));
    g.addNode('Conv', ['image', 'w'], ['a'], { pads: [1, 1, 1, 1] })
      .addNode('Relu', ['a'], ['b'])
      .addNode('Relu', ['b'], ['c']);
    g.addOutput('c', ['N', 4, 'H', 'W']);
    const text = describeOnnx(encodeOnnxModel(g, { metadata: { epochs: '40' } }));
    assert.match(text, /image: float\[N, 1, H, W\]/);
    assert.match(text, /initializers: 1 \(36 values\)/);
    assert.match(text, /Conv×1, Relu×2/);
    assert.match(text, /metadata epochs: 40/);
  });

  test('dangling input, missing output and unused initializer are reported together', () => {
    const g = new OnnxGraphBuilder('broken');
    g.addInput('x', [1]).addInitializer('w', [1], new Float32Array(1)).addNode('Relu', ['missing'], ['y']).addOutput('z', [1]);
    assert.deepEqual(checkOnnxGraph(g), [
      "node 'Relu_0' (Relu) reads 'missing', which is not an input, initializer or earlier node output",
      "graph output 'z' is not produced by any node",
      "initializer 'w' is not used by any node",
    ]);
    assert.throws(
      () => encodeOnnxModel(g),
      (e: unknown) => e instanceof PyocyteError && /'missing'/.test(e.message) && /'z'/.test(e.message),
    );
  });

  test('initializer dims [2,3] with 5 values is rejected', () => {
    assert.throws(() => new OnnxGraphBuilder('g').addInitializer('w', [2, 3], new Float32Array(5)), /dims \[2,3\] \(6 values\) but 5/);
  });

  test('non-integer INTS attribute points to Float32Array', () => {
    const g = new OnnxGraphBuilder('g');
    g.addInput('x', [1])
      .addNode('Resize', ['x'], ['y'], { scales: [1.5] })
      .addOutput('y', [1]);
    assert.throws(() => encodeOnnxModel(g), /Float32Array/);
  });

  test('garbage bytes are a PyocyteError naming the file', () => {
    assert.throws(
      () => decodeOnnxModel(Uint8Array.from([0x0a, 0x50, 1]), { file: 'model.onnx' }),
      (e: unknown) => e instanceof PyocyteError && /model\.onnx/.test(e.message),
    );
  });
});
