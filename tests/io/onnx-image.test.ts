/**
 * The self-contained ONNX graph on raw image files: onnxruntime-node's outputs against pyocyte's
 * own `predictProbabilities` (no TTA) and decision rule, for binary and multi-class, padded and
 * unpadded nets, percentile and mean/std normalisation, 8-bit PNG and 16-bit TIFF, fp32- and
 * bf16-trained weights.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createEngine } from '../../src/engine/index.js';
import { NO_BF16 } from '../engine/helpers.js';
import type { RasterImage } from '../../src/image/types.js';
import { modelInput } from '../../src/infer/model-input.js';
import { predictProbabilities, probabilitiesToLabels } from '../../src/infer/predict.js';
import { readImage, writeImage } from '../../src/io/image/image-io.js';
import { loadModelTensors, modelTensors } from '../../src/io/model-file.js';
import { decodeOnnxModel } from '../../src/io/onnx-decode.js';
import type { OnnxInputType } from '../../src/io/onnx-pipeline.js';
import { type Model, unet } from '../../src/nn/model.js';
import type { Normalization } from '../../src/nn/types.js';
import type { PaddingMode } from '../../src/nn/unet.js';
import { Random } from '../../src/util/random.js';
import { exportImageOnnx } from '../../src/workflows/export.js';

interface Case {
  padding: PaddingMode;
  classes: number;
  normalization: Normalization;
  precision?: 'fp32' | 'bf16';
}

const PERCENTILE: Normalization = { kind: 'percentile', low: 1, high: 99.8 };
const MEAN_STD: Normalization = { kind: 'meanStd', mean: [0.45, 0.4, 0.35], std: [0.2, 0.22, 0.25], intensityScaling: 'range' };

/** A depth-2 U-Net trained 3 steps on a random batch (on the native engine in bf16 when asked). */
async function trainedModel(c: Case): Promise<Model> {
  const engine =
    c.precision === 'bf16' ? createEngine({ backend: 'native', precision: 'bf16', threads: 1 }) : createEngine({ backend: 'reference' });
  const config = { inChannels: 3, classes: c.classes, depth: 2, filters: 4, padding: c.padding, norm: 'batch' as const };
  const model = unet(config, { engine, seed: 21, metadata: { normalization: c.normalization, threshold: 0.47 } });
  const rng = new Random(4);
  const size = c.padding === 'same' ? 32 : 44;
  const out = model.outputSize(size)!;
  const batch = {
    x: Float32Array.from({ length: 2 * 3 * size * size }, () => rng.uniform(-1, 1)),
    y: Float32Array.from({ length: 2 * out * out }, () => rng.int(0, Math.max(2, c.classes))),
    inputShape: [2, 3, size, size] as [number, number, number, number],
    targetShape: [2, out, out] as [number, number, number],
  };
  for (let step = 0; step < 3; step++) await model.trainStep(batch, { learningRate: 1e-2 });
  if (c.precision !== 'bf16') return model;
  // Prediction is compared in fp32: the same weights on the reference engine.
  const reference = unet(config, { engine: createEngine({ backend: 'reference' }), metadata: model.metadata });
  loadModelTensors(reference, await modelTensors(model), 'bf16-trained');
  return reference;
}

/** A smooth random RGB image with a few bright blobs, 8-bit or 16-bit (12-bit values). */
function rasterImage(width: number, height: number, bitDepth: 8 | 16, seed: number): RasterImage {
  const rng = new Random(seed);
  const top = bitDepth === 8 ? 255 : 4095;
  const blobs = Array.from({ length: 6 }, () => [rng.uniform(0, width), rng.uniform(0, height), rng.uniform(4, 12)]);
  const data = bitDepth === 8 ? new Uint8Array(width * height * 3) : new Uint16Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = blobs.some(([bx, by, r]) => (x - bx) ** 2 + (y - by) ** 2 < r * r);
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = Math.round((inside ? 0.7 : 0.2) * top + rng.uniform(-0.1, 0.1) * top);
    }
  }
  return { width, height, channels: 3, bitDepth, data };
}

/** The graph input `[1, 3, H, W]` of a raster, planar. */
function planar(raster: RasterImage, inputType: OnnxInputType): ort.Tensor {
  const plane = raster.width * raster.height;
  const data = inputType === 'uint8' ? new Uint8Array(3 * plane) : new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) data[c * plane + p] = raster.data[p * 3 + c];
  return new ort.Tensor(inputType, data, [1, 3, raster.height, raster.width]);
}

/** Writes the raster, reads the file back, and compares onnxruntime with pyocyte on it. */
async function compareOnFile(model: Model, bytes: Uint8Array, raster: RasterImage, inputType: OnnxInputType): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pyocyte-onnx-image-'));
  try {
    const file = join(dir, raster.bitDepth === 8 ? 'image.png' : 'image.tif');
    await writeImage(file, raster);
    const read = await readImage(file);
    const expected = await predictProbabilities(model, modelInput(read, model, { file }), { tta: false });
    const session = await ort.InferenceSession.create(bytes);
    const outputs = await session.run({ image: planar(read, inputType) });
    const { probabilities, mask } = outputs;
    const { width, height } = read;
    assert.deepEqual(probabilities.dims, [1, expected.channels, height, width]);
    assert.deepEqual(mask.dims, [1, 1, height, width]);
    const actual = probabilities.data as Float32Array;
    let maxAbs = 0;
    for (let i = 0; i < actual.length; i++) maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected.data[i]));
    assert.ok(maxAbs <= 1e-4, `${width}×${height}: max |onnx − predict| = ${maxAbs}`);
    const labels = probabilitiesToLabels(expected, model.metadata.threshold);
    const maskData = mask.data as Uint8Array;
    let disagree = 0;
    for (let i = 0; i < labels.length; i++) if (labels[i] !== maskData[i]) disagree++;
    // A pixel may flip only where its probability sits within float rounding of the decision boundary.
    assert.ok(disagree <= 2, `${disagree} mask pixels differ from pyocyte's decision rule`);
    const classes = new Set(maskData);
    assert.ok(classes.size >= 1 && Math.max(...classes) < Math.max(2, expected.channels));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('self-contained ONNX matches predict on raw image files (no TTA)', () => {
  const cases: (Case & { bitDepth: 8 | 16; inputType: OnnxInputType; sizes: [number, number][]; opsetVersion?: number })[] = [
    {
      padding: 'same',
      classes: 1,
      normalization: PERCENTILE,
      bitDepth: 8,
      inputType: 'uint8',
      sizes: [
        [61, 47],
        [96, 96],
      ],
    },
    { padding: 'valid', classes: 3, normalization: PERCENTILE, bitDepth: 16, inputType: 'float32', sizes: [[50, 73]] },
    { padding: 'same', classes: 3, normalization: MEAN_STD, bitDepth: 16, inputType: 'float32', sizes: [[40, 33]], opsetVersion: 18 },
    {
      padding: 'valid',
      classes: 1,
      normalization: MEAN_STD,
      bitDepth: 8,
      inputType: 'float32',
      sizes: [
        [5, 3],
        [70, 64],
      ],
    },
    { padding: 'same', classes: 1, normalization: PERCENTILE, bitDepth: 8, inputType: 'uint8', sizes: [[64, 48]], precision: 'bf16' },
    { padding: 'same', classes: 3, normalization: PERCENTILE, bitDepth: 16, inputType: 'float32', sizes: [[48, 52]], precision: 'bf16' },
  ];
  for (const c of cases) {
    const name = `${c.precision ?? 'fp32'}-trained ${c.padding} ${c.classes === 1 ? 'binary' : `${c.classes}-class`} ${c.normalization.kind}, ${c.bitDepth}-bit file as ${c.inputType}, ${c.sizes.map(([w, h]) => `${w}×${h}`).join(' and ')}${c.opsetVersion ? `, opset ${c.opsetVersion}` : ''}`;
    test(name, { skip: c.precision === 'bf16' && NO_BF16 }, async () => {
      const model = await trainedModel(c);
      const bytes = await exportImageOnnx(model, { inputType: c.inputType, opsetVersion: c.opsetVersion });
      for (const [i, [width, height]] of c.sizes.entries())
        await compareOnFile(model, bytes, rasterImage(width, height, c.bitDepth, i + 1), c.inputType);
    });
  }
});

describe('self-contained ONNX graph', () => {
  test('binary same: input image uint8, outputs probabilities then mask, metadata lists rule, tiling and version', async () => {
    const model = await trainedModel({ padding: 'same', classes: 1, normalization: PERCENTILE });
    model.metadata.pixelSizeUm = 0.25;
    const decoded = decodeOnnxModel(await exportImageOnnx(model, { inputType: 'uint8' }));
    assert.deepEqual(decoded.graph.inputs, [{ name: 'image', elementType: 2, dims: ['N', 3, 'H', 'W'] }]);
    assert.deepEqual(decoded.graph.outputs, [
      { name: 'probabilities', elementType: 1, dims: ['N', 1, 'H', 'W'] },
      { name: 'mask', elementType: 2, dims: ['N', 1, 'H', 'W'] },
    ]);
    const props = Object.fromEntries(Object.entries(decoded.metadata).map(([k, v]) => [k, JSON.parse(v) as unknown]));
    assert.deepEqual(props.decisionRule, { kind: 'threshold', threshold: 0.47 });
    assert.equal(props.pixelSizeUm, 0.25);
    assert.deepEqual(props.tiling, { tileSize: 512, overlapFraction: 0.25, blending: 'gaussian' });
    assert.deepEqual(props.instanceMethod, { name: 'distanceWatershed', minSizePx: 30, input: 'mask > 0' });
    assert.equal(props.pyocyteVersion, '0.1.0');
    assert.deepEqual(props.heads, [{ name: 'probabilities', first: 0, end: 1, activation: 'sigmoid' }]);
    assert.match(decoded.docString, /any H and W, raw pixel values/);
  });

  test('a model with instance heads [softmax 3, identity 1]: outputs probabilities, mask, distance with their activations', async () => {
    const engine = createEngine({ backend: 'reference' });
    const model = unet(
      { inChannels: 3, classes: 3, regressionChannels: 1, depth: 2, filters: 4, padding: 'same' },
      { engine, seed: 2, metadata: { normalization: PERCENTILE } },
    );
    model.metadata.instances = {
      method: 'distance',
      heads: [
        { name: 'classes', channels: 3, activation: 'softmax' },
        { name: 'distance', channels: 1, activation: 'identity' },
      ],
      decoder: 'distance',
      seedThreshold: 0.5,
      minSizePx: 10,
    };
    const bytes = await exportImageOnnx(model);
    const session = await ort.InferenceSession.create(bytes);
    assert.deepEqual(session.outputNames, ['probabilities', 'mask', 'distance']);
    const raster = rasterImage(40, 30, 8, 3);
    const outputs = await session.run({ image: planar(raster, 'float32') });
    assert.deepEqual(outputs.probabilities.dims, [1, 3, 30, 40]);
    assert.deepEqual(outputs.distance.dims, [1, 1, 30, 40]);
    // Identity keeps the logit's sign; a sigmoid or softmax would not.
    assert.ok(
      (outputs.distance.data as Float32Array).some((v) => v < 0),
      'distance is the raw regression value',
    );
    const p = outputs.probabilities.data as Float32Array;
    const plane = 30 * 40;
    for (let i = 0; i < plane; i += 97)
      assert.ok(Math.abs(p[i] + p[plane + i] + p[2 * plane + i] - 1) < 1e-5, 'softmax over 3 channels sums to 1');
    const mask = outputs.mask.data as Uint8Array;
    for (let i = 0; i < plane; i += 89) {
      const best = [0, 1, 2].reduce((b, k) => (p[k * plane + i] > p[b * plane + i] ? k : b), 0);
      assert.equal(mask[i], best);
    }
  });
});
