import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createEngine } from '../../src/engine/index.js';
import { command } from '../../src/cli/export.js';
import { saveModel } from '../../src/io/model-file.js';
import { decodeOnnxModel } from '../../src/io/onnx-decode.js';
import { exportOnnx, skipCropMargins, unetInputSizes } from '../../src/io/onnx-export.js';
import { type Model, unet } from '../../src/nn/model.js';
import { type NormName, type PaddingMode, unetOutputSize, validTileSizes } from '../../src/nn/unet.js';
import { PyocyteError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';

interface Case {
  padding: PaddingMode;
  norm: NormName;
  classes: number;
  dropout: number;
}

function randomArray(length: number, rng: Random, low = -1, high = 1): Float32Array {
  return Float32Array.from({ length }, () => rng.uniform(low, high));
}

/** Input sizes for the tests: two different valid sizes per padding mode (depth 2). */
function sizesFor(padding: PaddingMode): [number, number][] {
  if (padding === 'same')
    return [
      [32, 32],
      [48, 64],
    ];
  const [a, b, c] = validTileSizes({ depth: 2, padding, min: 40, max: 80 });
  return [
    [a, a],
    [c, b],
  ];
}

/**
 * A tiny U-Net with trained weights (3 steps of AdamW on a random batch, dropout active) and
 * random BatchNorm scale, shift and running statistics, so folding and normalising are exercised.
 */
async function trainedModel(c: Case, seed = 11): Promise<Model> {
  const engine = createEngine({ backend: 'reference' });
  const model = unet(
    { inChannels: 3, classes: c.classes, depth: 2, filters: 4, padding: c.padding, norm: c.norm, dropout: c.dropout },
    { engine, seed },
  );
  const rng = new Random(seed);
  const [size] = sizesFor(c.padding)[0];
  const out = model.outputSize(size)!;
  const batch = {
    x: randomArray(2 * 3 * size * size, rng),
    y: Float32Array.from({ length: 2 * out * out }, () => rng.int(0, Math.max(2, c.classes))),
    inputShape: [2, 3, size, size] as [number, number, number, number],
    targetShape: [2, out, out] as [number, number, number],
  };
  for (let step = 0; step < 3; step++) await model.trainStep(batch, { learningRate: 1e-2 });
  for (const norm of model.network.norms()) {
    const channels = norm.runningMean.shape[0];
    engine.write(norm.gamma.value, randomArray(channels, rng, 0.5, 1.5));
    engine.write(norm.beta.value, randomArray(channels, rng, -0.3, 0.3));
    engine.write(norm.runningMean, randomArray(channels, rng, -0.5, 0.5));
    engine.write(norm.runningVar, randomArray(channels, rng, 0.3, 2));
  }
  return model;
}

/** Max |a − b| and max |b|. */
function errors(actual: ArrayLike<number>, expected: ArrayLike<number>): { maxAbs: number; maxMagnitude: number } {
  assert.equal(actual.length, expected.length, 'length');
  let maxAbs = 0;
  let maxMagnitude = 0;
  for (let i = 0; i < expected.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
    maxMagnitude = Math.max(maxMagnitude, Math.abs(expected[i]));
  }
  return { maxAbs, maxMagnitude };
}

/** Runs the ONNX file and pyocyte on the same inputs of each size; returns the worst errors. */
async function compare(model: Model, bytes: Uint8Array, sizes: [number, number][], logits = false): Promise<void> {
  const session = await ort.InferenceSession.create(bytes);
  const outputName = logits ? 'logits' : 'probabilities';
  assert.deepEqual(session.inputNames, ['input']);
  assert.deepEqual(session.outputNames, [outputName]);
  const rng = new Random(99);
  for (const [H, W] of sizes) {
    const shape = [2, 3, H, W] as const;
    const x = randomArray(2 * 3 * H * W, rng, -2, 2);
    const expected = logits ? await model.predictLogits(x, shape) : await model.predict(x, shape);
    const result = (await session.run({ input: new ort.Tensor('float32', x, [...shape]) }))[outputName];
    const K = model.config.classes;
    assert.deepEqual(result.dims, [2, K, model.outputSize(H), model.outputSize(W)], `dims for ${H}×${W}`);
    const { maxAbs, maxMagnitude } = errors(result.data as Float32Array, expected);
    assert.ok(maxMagnitude > 0.01, `output for ${H}×${W} is trivially small`);
    assert.ok(maxAbs / maxMagnitude <= 1e-4, `${H}×${W}: relative error ${maxAbs / maxMagnitude}`);
    if (!logits) assert.ok(maxAbs <= 1e-4, `${H}×${W}: max abs error ${maxAbs}`);
  }
}

describe('crop margins and input sizes', () => {
  test("valid depth=4 skip margins are the paper's 88, 40, 16, 4 px; same are 0", () => {
    assert.deepEqual(skipCropMargins({ depth: 4, padding: 'valid' }), [88, 40, 16, 4]);
    assert.deepEqual(skipCropMargins({ depth: 3, padding: 'same' }), [0, 0, 0]);
  });

  test('depth=1..4 × same/valid: smallest + k·step lists exactly validTileSizes up to 400', () => {
    for (const padding of ['same', 'valid'] as const) {
      for (let depth = 1; depth <= 4; depth++) {
        const { smallest, step, outputMargin } = unetInputSizes({ depth, padding });
        const expected = validTileSizes({ depth, padding, max: 400 });
        const rule = Array.from({ length: Math.floor((400 - smallest) / step) + 1 }, (_, k) => smallest + k * step);
        assert.deepEqual(rule, expected, `${padding} depth ${depth}`);
        for (const size of rule) assert.equal(unetOutputSize(size, { depth, padding }), size - 2 * outputMargin);
      }
    }
  });
});

describe('exportOnnx networkOnly matches model.predict in onnxruntime', () => {
  const cases: Case[] = [
    { padding: 'same', norm: 'batch', classes: 1, dropout: 0 },
    { padding: 'valid', norm: 'batch', classes: 1, dropout: 0 },
    { padding: 'same', norm: 'none', classes: 3, dropout: 0 },
    { padding: 'valid', norm: 'none', classes: 3, dropout: 0.3 },
  ];
  for (const c of cases) {
    const sizes = sizesFor(c.padding);
    test(`${c.padding}+${c.norm} classes=${c.classes} dropout=${c.dropout}, inputs ${sizes.map(([h, w]) => `2x3x${h}x${w}`).join(' and ')}`, async () => {
      const model = await trainedModel(c);
      await compare(model, await exportOnnx(model, { networkOnly: true }), sizes);
    });
  }

  test('valid+batch with foldBatchNorm=false keeps BatchNormalization nodes and state_dict names', async () => {
    const model = await trainedModel({ padding: 'valid', norm: 'batch', classes: 1, dropout: 0 });
    const bytes = await exportOnnx(model, { networkOnly: true, foldBatchNorm: false });
    const decoded = decodeOnnxModel(bytes);
    assert.equal(decoded.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length, 10);
    assert.ok(decoded.graph.initializers.some((t) => t.name === 'down.0.1.running_var'));
    await compare(model, bytes, sizesFor('valid'));
  });

  test('same+batch 3-class includeActivation=false outputs logits', async () => {
    const model = await trainedModel({ padding: 'same', norm: 'batch', classes: 3, dropout: 0 });
    await compare(model, await exportOnnx(model, { networkOnly: true, includeActivation: false }), [[32, 48]], true);
  });

  test('opset 13 and 21 load and agree; opset 12 is rejected listing the valid ones', async () => {
    const model = await trainedModel({ padding: 'same', norm: 'batch', classes: 1, dropout: 0 });
    for (const opsetVersion of [13, 21]) {
      const bytes = await exportOnnx(model, { networkOnly: true, opsetVersion });
      assert.deepEqual(decodeOnnxModel(bytes).opsetImports, [{ domain: '', version: opsetVersion }]);
      await compare(model, bytes, [[16, 32]]);
    }
    await assert.rejects(
      exportOnnx(model, { networkOnly: true, opsetVersion: 12 }),
      /unknown ONNX opset '12'; valid ONNX opsets are: 13, 14/,
    );
  });
});

describe('exported metadata', () => {
  test('valid+batch binary, meanStd normalisation, pixelSizeUm=0.5: props decode as JSON', async () => {
    const engine = createEngine({ backend: 'reference' });
    const normalization = { kind: 'meanStd' as const, mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.25] };
    const model = unet(
      { inChannels: 3, classes: 1, depth: 2, filters: 4, padding: 'valid' },
      {
        engine,
        metadata: { normalization, threshold: 0.42, pixelSizeUm: 0.5, classNames: ['background', 'pus cell'] },
      },
    );
    const decoded = decodeOnnxModel(await exportOnnx(model, { networkOnly: true }));
    const props = Object.fromEntries(Object.entries(decoded.metadata).map(([k, v]) => [k, JSON.parse(v) as unknown]));
    assert.deepEqual(props.normalization, normalization);
    assert.equal(props.threshold, 0.42);
    assert.equal(props.pixelSizeUm, 0.5);
    assert.equal(props.task, 'binary');
    assert.equal(props.output, 'probabilities');
    assert.deepEqual(props.classNames, ['background', 'pus cell']);
    assert.deepEqual(props.architecture, { name: 'unet', ...model.config });
    assert.deepEqual(props.inputSizes, unetInputSizes(model.config));
    assert.equal(decoded.irVersion, 8);
    assert.deepEqual(decoded.opsetImports, [{ domain: '', version: 17 }]);
    assert.deepEqual(decoded.graph.inputs, [{ name: 'input', elementType: 1, dims: ['N', 3, 'H', 'W'] }]);
    assert.deepEqual(decoded.graph.outputs, [{ name: 'probabilities', elementType: 1, dims: ['N', 1, 'H_out', 'W_out'] }]);
    assert.match(decoded.docString, /\(x - mean\[c\]\) \/ std\[c\] with mean = \[0\.5, 0\.4, 0\.3\]/);
  });
});

describe('pyocyte export (CLI)', () => {
  async function captured(argv: string[]): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => lines.push(args.join(' '));
    try {
      return { code: await command(argv), lines };
    } finally {
      console.log = log;
    }
  }

  test('--model RUN --format onnx writes RUN/model.onnx; --network-only --logits --out DIR the network alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pyocyte-export-'));
    try {
      const model = await trainedModel({ padding: 'same', norm: 'batch', classes: 1, dropout: 0 });
      await saveModel(join(dir, 'run'), model);
      const { code, lines } = await captured(['--model', join(dir, 'run'), '--format', 'onnx']);
      assert.equal(code, 0);
      const file = join(dir, 'run', 'model.onnx');
      assert.match(lines[0], new RegExp(`^wrote ${file.replace(/[.\\/]/g, '\\$&')} \\(\\d+\\.\\d KiB, ONNX opset 17, IR 8\\)$`));
      const decoded = decodeOnnxModel(await readFile(file));
      assert.deepEqual(
        decoded.graph.outputs.map((o) => o.name),
        ['probabilities', 'mask'],
      );
      assert.deepEqual(decoded.graph.inputs[0].dims, ['N', 3, 'H', 'W']);

      const custom = join(dir, 'exports');
      const argv = [
        '--model',
        join(dir, 'run', 'model.json'),
        '--out',
        custom,
        '--format',
        'onnx',
        '--network-only',
        '--logits',
        '--opset',
        '13',
      ];
      assert.equal((await captured(argv)).code, 0);
      await compare(model, await readFile(join(custom, 'model.onnx')), [[32, 32]], true);
      assert.deepEqual(decodeOnnxModel(await readFile(join(custom, 'model.onnx'))).opsetImports, [{ domain: '', version: 13 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--format tflite, a missing model and --opset 9 fail with one-line errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pyocyte-export-'));
    try {
      const oneLine = (pattern: RegExp) => (e: unknown) =>
        e instanceof PyocyteError && pattern.test(e.message) && !e.message.includes('\n');
      await assert.rejects(
        command(['--model', dir, '--format', 'tflite']),
        oneLine(/unknown export format 'tflite'; valid export formats are: all, onnx, bioimageio/),
      );
      await assert.rejects(command(['--model', join(dir, 'nothing')]), oneLine(/no model at .*nothing: the path does not exist/));
      await assert.rejects(command(['--model', dir]), oneLine(/no model in .*: expected .*model\.json/));
      await assert.rejects(command(['--model', dir, '--opset', '9']), oneLine(/unknown ONNX opset '9'/));
      await assert.rejects(command([]), oneLine(/'export' needs --model RUN/));
      await assert.rejects(command(['--model', dir, '--logits']), oneLine(/--logits needs --network-only/));
      assert.equal(existsSync(join(dir, 'model.onnx')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
