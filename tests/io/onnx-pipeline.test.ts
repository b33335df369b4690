/**
 * The graph stages alone, in onnxruntime, against the pyocyte functions they repeat: intensity
 * scaling (`toFloatImage`'s range rule) on literal images, and percentile normalisation
 * (`normalizeImage`) on an image of more than 2^20 pixels, where both sample every k-th pixel.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { normalizeImage } from '../../src/data/normalize.js';
import { toFloatImage } from '../../src/io/image/convert.js';
import { addIntensityScaling, addNormalization } from '../../src/io/onnx-pipeline.js';
import { OnnxGraphBuilder, encodeOnnxModel } from '../../src/io/onnx-proto.js';
import { Random } from '../../src/util/random.js';

/** A one-stage graph: float32 `x` `[1, C, H, W]` → the stage → `y`. */
async function runStage(
  stage: (g: OnnxGraphBuilder, input: string) => string,
  planar: Float32Array,
  dims: number[],
  opsetVersion = 17,
): Promise<Float32Array> {
  const g = new OnnxGraphBuilder('stage');
  g.addInput('x', ['N', 'C', 'H', 'W']);
  g.addNode('Identity', [stage(g, 'x')], ['y']);
  g.addOutput('y', ['N', 'C', 'H', 'W']);
  const session = await ort.InferenceSession.create(encodeOnnxModel(g, { opsetVersion, irVersion: 8 }));
  return (await session.run({ x: new ort.Tensor('float32', planar, dims) })).y.data as Float32Array;
}

function toPlanar(interleaved: ArrayLike<number>, channels: number): Float32Array {
  const plane = interleaved.length / channels;
  const out = new Float32Array(interleaved.length);
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) out[c * plane + p] = interleaved[p * channels + c];
  return out;
}

describe('intensity scaling stage equals toFloatImage (range rule), one-channel 2×3 literals', () => {
  const images: [string, number[]][] = [
    ['12-bit whole numbers → ÷ 4095', [0, 100, 4095, 3000, 7, 1]],
    ['8-bit range whole numbers → ÷ 255', [0, 17, 255, 254, 3, 9]],
    ['fractions within 0–1 kept', [0, 0.25, 0.5, 0.75, 1, 0.1]],
    ['fractions above 1 → ÷ maximum', [0.5, 2.5, 10.25, 3, 7, 1]],
    ['negative values → minimum–maximum to 0–1', [-3, -1, 0, 2, 5, 1.5]],
    ['constant negative image → 0', [-2, -2, -2, -2, -2, -2]],
  ];
  for (const [name, values] of images) {
    for (const opsetVersion of [17, 18]) {
      test(`${name}, opset ${opsetVersion}`, async () => {
        const raster = { width: 3, height: 2, channels: 1, bitDepth: 32 as const, data: Float32Array.from(values) };
        const expected = toFloatImage(raster, { scaling: 'range' }).data;
        const actual = await runStage(
          (g, x) => addIntensityScaling(g, x, { inputType: 'float32', scaling: 'range', opsetVersion }),
          raster.data,
          [1, 1, 2, 3],
          opsetVersion,
        );
        assert.deepEqual([...actual], [...expected]);
      });
    }
  }
});

describe('percentile normalisation stage equals normalizeImage', () => {
  test('2-channel 1100×1000 image (1.1 M pixels: both sample every 2nd pixel), percentiles 1 and 99.8', async () => {
    const width = 1100;
    const height = 1000;
    const rng = new Random(3);
    const data = Float32Array.from({ length: width * height * 2 }, (_, i) =>
      i % 2 === 0 ? rng.uniform(0, 1) ** 3 : rng.uniform(0.2, 0.4),
    );
    const normalization = { kind: 'percentile' as const, low: 1, high: 99.8 };
    const expected = toPlanar(normalizeImage({ width, height, channels: 2, data }, normalization), 2);
    const actual = await runStage((g, x) => addNormalization(g, x, normalization), toPlanar(data, 2), [1, 2, height, width]);
    let maxAbs = 0;
    for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
    assert.ok(maxAbs <= 1e-6, `max |graph − normalizeImage| = ${maxAbs}`);
  });

  test('one constant channel of a 4×4 image maps to 0, as normalizeImage does', async () => {
    const data = Float32Array.from({ length: 16 }, () => 0.3);
    const normalization = { kind: 'percentile' as const, low: 1, high: 99.8 };
    const actual = await runStage((g, x) => addNormalization(g, x, normalization), data, [1, 1, 4, 4]);
    assert.deepEqual([...actual], [...normalizeImage({ width: 4, height: 4, channels: 1, data }, normalization)]);
    assert.ok(actual.every((v) => v === 0));
  });
});
