/**
 * The bioimage.io package checked the way the ecosystem's validator (`bioimageio test`) checks
 * one: read rdf.yaml, check its fields and every referenced file with its sha256, run the test
 * input through the ONNX weights (onnxruntime-node) and compare with the test outputs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { parse as parseNpy } from 'npyjs';
import * as ort from 'onnxruntime-node';
import { parse as parseYaml } from 'yaml';
import { command } from '../../src/cli/export.js';
import { createEngine } from '../../src/engine/index.js';
import { writeImage } from '../../src/io/image/image-io.js';
import { saveModel } from '../../src/io/model-file.js';
import { INSTANCE_METHODS, type InstanceMethodName } from '../../src/infer/instance-methods.js';
import { decodeOnnxModel } from '../../src/io/onnx-decode.js';
import { unet } from '../../src/nn/model.js';
import { initialInstanceRule } from '../../src/train/instance-rule.js';
import { PyocyteError } from '../../src/util/errors.js';

interface FileRef {
  source: string;
  sha256: string;
}
interface Axis {
  type: string;
  id?: string;
  channel_names?: string[];
  size?: { min?: number; step?: number; tensor_id?: string; axis_id?: string };
}
interface TensorDescription {
  id: string;
  axes: Axis[];
  test_tensor: FileRef;
  sample_tensor?: FileRef;
  data: { type: string };
}

const NPY_TYPES: Record<string, string> = { u1: 'uint8', f4: 'float32' };

/** Checks a package like `bioimageio test`; returns the rdf for further assertions. */
async function validatePackage(zip: Uint8Array): Promise<Record<string, unknown>> {
  const files = unzipSync(zip);
  assert.ok(files['rdf.yaml'], 'the zip holds rdf.yaml');
  const rdf = parseYaml(new TextDecoder().decode(files['rdf.yaml'])) as Record<string, unknown> & {
    inputs: TensorDescription[];
    outputs: TensorDescription[];
    weights: { onnx: FileRef & { opset_version: number } };
    covers: string[];
    documentation: string;
    authors: { name: string }[];
    cite: { text: string; doi?: string; url?: string }[];
  };
  assert.equal(rdf.type, 'model');
  assert.match(String(rdf.format_version), /^0\.5\.\d+$/);
  for (const field of ['name', 'description', 'license']) assert.ok(typeof rdf[field] === 'string' && rdf[field], `${field} is set`);
  assert.ok(rdf.authors.length > 0 && rdf.authors.every((a) => a.name));
  assert.ok(rdf.cite.length > 0 && rdf.cite.every((c) => c.text && (c.doi || c.url)));
  assert.ok(Array.isArray(rdf.tags) && rdf.tags.length > 0);
  const sha = (name: string) => createHash('sha256').update(files[name]).digest('hex');
  const checkFile = (ref: FileRef, what: string) => {
    assert.ok(files[ref.source], `${what}: ${ref.source} is in the zip`);
    assert.equal(sha(ref.source), ref.sha256, `${what}: sha256 of ${ref.source}`);
  };
  for (const name of [rdf.documentation, ...rdf.covers]) assert.ok(files[name], `${name} is in the zip`);
  assert.match(new TextDecoder().decode(files[rdf.documentation]), /^# /);
  assert.deepEqual([...files[rdf.covers[0]].subarray(1, 4)], [0x50, 0x4e, 0x47], 'the cover is a PNG');
  checkFile(rdf.weights.onnx, 'weights.onnx');
  assert.deepEqual(decodeOnnxModel(files[rdf.weights.onnx.source]).opsetImports, [{ domain: '', version: rdf.weights.onnx.opset_version }]);

  const tensors = new Map<string, { description: TensorDescription; array: ReturnType<typeof parseNpy> }>();
  for (const description of [...rdf.inputs, ...rdf.outputs]) {
    assert.match(description.id, /^[a-z0-9_]+$/);
    checkFile(description.test_tensor, `${description.id}.test_tensor`);
    if (description.sample_tensor) checkFile(description.sample_tensor, `${description.id}.sample_tensor`);
    const bytes = files[description.test_tensor.source];
    const array = parseNpy(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    assert.equal(NPY_TYPES[array.dtype.slice(-2)] ?? array.dtype, description.data.type, `${description.id}: test tensor dtype`);
    assert.equal(array.shape.length, description.axes.length, `${description.id}: one test tensor dimension per axis`);
    tensors.set(description.id, { description, array });
  }
  // Axis sizes: fixed channel names, min + k·step for inputs, references for outputs.
  for (const { description, array } of tensors.values()) {
    description.axes.forEach((axis, i) => {
      const size = array.shape[i];
      if (axis.type === 'channel') assert.equal(size, axis.channel_names!.length, `${description.id}: channel names`);
      if (axis.type !== 'space') return;
      const rule = axis.size!;
      if (rule.tensor_id) {
        const other = tensors.get(rule.tensor_id)!;
        const j = other.description.axes.findIndex((a) => a.id === rule.axis_id);
        assert.ok(j >= 0, `${description.id}.${axis.id} refers to ${rule.tensor_id}.${rule.axis_id}`);
        assert.equal(size, other.array.shape[j]);
      } else {
        assert.ok(size >= rule.min! && (size - rule.min!) % rule.step! === 0, `${description.id}.${axis.id}: ${size} = min + k·step`);
      }
    });
  }
  // Run the test input and compare every output with its test tensor.
  const session = await ort.InferenceSession.create(files[rdf.weights.onnx.source]);
  const feeds: Record<string, ort.Tensor> = {};
  rdf.inputs.forEach((input, i) => {
    const { array } = tensors.get(input.id)!;
    feeds[session.inputNames[i]] = new ort.Tensor(
      input.data.type as 'uint8' | 'float32',
      array.data as Uint8Array | Float32Array,
      array.shape,
    );
  });
  const results = await session.run(feeds);
  rdf.outputs.forEach((output, i) => {
    const actual = results[session.outputNames[i]];
    const { array } = tensors.get(output.id)!;
    assert.deepEqual(actual.dims, array.shape, `${output.id}: shape`);
    const expected = array.data as Float32Array | Uint8Array;
    const values = actual.data as Float32Array | Uint8Array;
    let mismatches = 0;
    for (let k = 0; k < expected.length; k++) if (Math.abs(values[k] - expected[k]) > 1e-4) mismatches++;
    // A mask pixel may flip where its probability is within float rounding of the threshold.
    assert.ok(mismatches <= (output.data.type === 'uint8' ? 2 : 0), `${output.id}: ${mismatches} values differ from the test tensor`);
  });
  return rdf;
}

/** Saves an untrained depth-2, 4-filter binary U-Net as a run. */
async function saveTinyModel(run: string): Promise<void> {
  const config = { inChannels: 3, classes: 1, depth: 2, filters: 4, padding: 'same' as const };
  await saveModel(run, unet(config, { engine: createEngine({ backend: 'reference' }), seed: 6 }));
}

/** Saves an untrained depth-2 model of an instance method for `classNames` (background first) to `folder`. */
async function saveInstanceModel(folder: string, method: InstanceMethodName, classNames: string[]): Promise<void> {
  const spec = INSTANCE_METHODS[method];
  const model = unet(
    {
      inChannels: 3,
      classes: spec.classes === 'task' ? (classNames.length === 2 ? 1 : classNames.length) : spec.classes,
      regressionChannels: spec.regressionChannels,
      depth: 2,
      filters: 4,
      padding: 'same',
    },
    {
      engine: createEngine({ backend: 'reference' }),
      seed: 8,
      metadata: {
        task: classNames.length === 2 ? 'binary' : 'multiclass',
        classNames,
        normalization: { kind: 'percentile', low: 1, high: 99.8 },
        instances: initialInstanceRule(method, classNames),
      },
    },
  );
  await saveModel(folder, model);
}

describe('pyocyte export --format bioimageio', () => {
  for (const [classes, padding] of [
    [1, 'same'],
    [3, 'valid'],
  ] as const) {
    test(`${classes === 1 ? 'binary' : '3-class'} ${padding}, synthetic sample: the zip passes the validator's checks`, async (t) => {
      t.mock.method(console, 'log', () => {});
      const dir = mkdtempSync(join(tmpdir(), 'pyocyte-bioimageio-'));
      try {
        const engine = createEngine({ backend: 'reference' });
        const names = classes === 1 ? ['background', 'pus cell'] : ['background', 'cytoplasm', 'nucleus'];
        const model = unet(
          { inChannels: 3, classes, depth: 2, filters: 4, padding },
          { engine, seed: 5, metadata: { normalization: { kind: 'percentile', low: 1, high: 99.8 }, classNames: names } },
        );
        await saveModel(join(dir, 'pus-run'), model);
        const argv = ['--model', join(dir, 'pus-run'), '--format', 'bioimageio', '--authors', 'Ada Lovelace, Alan Turing'];
        assert.equal(await command(argv), 0);
        const rdf = await validatePackage(new Uint8Array(await readFile(join(dir, 'pus-run', 'pus-run.zip'))));
        assert.equal(rdf.name, 'pus-run');
        assert.deepEqual(rdf.authors, [{ name: 'Ada Lovelace' }, { name: 'Alan Turing' }]);
        const outputs = rdf.outputs as TensorDescription[];
        assert.deepEqual(outputs[0].axes[1].channel_names, classes === 1 ? ['pus cell'] : names);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  for (const method of ['threeClass', 'distance', 'starDist'] as const) {
    test(`a ${method} instance model (binary task): the zip passes, its mask is pyocyte's union of cells, every head has a test tensor`, async (t) => {
      t.mock.method(console, 'log', () => {});
      const dir = mkdtempSync(join(tmpdir(), 'pyocyte-bioimageio-'));
      try {
        await saveInstanceModel(join(dir, 'run'), method, ['background', 'nucleus']);
        assert.equal(await command(['--model', join(dir, 'run'), '--format', 'all']), 0);
        const rdf = await validatePackage(new Uint8Array(await readFile(join(dir, 'run', 'run.zip'))));
        const outputs = rdf.outputs as (TensorDescription & { description: string })[];
        assert.deepEqual(
          outputs.map((o) => o.id),
          {
            threeClass: ['probabilities', 'mask'],
            distance: ['probabilities', 'mask', 'distance'],
            starDist: ['probabilities', 'mask', 'centre', 'rays'],
          }[method],
        );
        assert.deepEqual(outputs[0].axes[1].channel_names, method === 'threeClass' ? ['background', 'interior', 'boundary'] : ['nucleus']);
        if (method === 'threeClass') assert.match(outputs[1].description, /1 - probabilities\[:, 0\] \(the background channel\) > 0\.5/);
        const props = decodeOnnxModel(await readFile(join(dir, 'run', 'model.onnx'))).metadata;
        const starDist = {
          decoder: 'starConvexPolygons',
          overlapThreshold: 0.4,
          rays: 'ray k at angle 2πk/R from +x towards +y, length in pixels = output × 16; centre score = output ÷ √R',
          seeds: 'centre',
        };
        assert.deepEqual(JSON.parse(props.instanceMethod), {
          name: method,
          decoder: 'seededWatershed',
          seedThreshold: 0.5,
          splitSeeds: false,
          minSizePx: 30,
          input: 'mask > 0',
          seeds: method === 'threeClass' ? 'probabilities[:, 1] (interior)' : 'distance',
          ...(method === 'starDist' ? starDist : {}),
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a centres model (pus, rbc from boxes and points): the zip passes with a centres head; cells are split per class of the mask', async (t) => {
    t.mock.method(console, 'log', () => {});
    const dir = mkdtempSync(join(tmpdir(), 'pyocyte-bioimageio-'));
    try {
      const classNames = ['background', 'pus', 'rbc'];
      await saveInstanceModel(join(dir, 'run'), 'centres', classNames);
      assert.equal(await command(['--model', join(dir, 'run'), '--format', 'all']), 0);
      const rdf = await validatePackage(new Uint8Array(await readFile(join(dir, 'run', 'run.zip'))));
      const outputs = rdf.outputs as (TensorDescription & { description: string })[];
      assert.deepEqual(
        outputs.map((o) => o.id),
        ['probabilities', 'mask', 'centres'],
      );
      assert.deepEqual(outputs[0].axes[1].channel_names, classNames);
      assert.match(outputs[2].description, /heatmap of cell centres/);
      const props = decodeOnnxModel(await readFile(join(dir, 'run', 'model.onnx'))).metadata;
      const cells = JSON.parse(props.instanceMethod);
      assert.equal(cells.seeds, 'centres');
      assert.equal(cells.input, 'mask == c, for each class c > 0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--format all --input-type uint8 --out DIR writes model.onnx and NAME.zip with the same weights', async (t) => {
    t.mock.method(console, 'log', () => {});
    const dir = mkdtempSync(join(tmpdir(), 'pyocyte-bioimageio-'));
    try {
      await saveTinyModel(join(dir, 'run'));
      const argv = ['--model', join(dir, 'run'), '--out', join(dir, 'out'), '--input-type', 'uint8', '--name', 'Pus cells'];
      assert.equal(await command(argv), 0);
      const onnx = await readFile(join(dir, 'out', 'model.onnx'));
      const rdf = await validatePackage(new Uint8Array(await readFile(join(dir, 'out', 'Pus-cells.zip'))));
      const weights = (rdf.weights as { onnx: FileRef }).onnx;
      assert.equal(weights.sha256, createHash('sha256').update(onnx).digest('hex'));
      assert.equal((rdf.inputs as TensorDescription[])[0].data.type, 'uint8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a model that scales by bit depth (meanStd, no intensityScaling), float32 input, 8-bit sample: passes; a float sample fails', async (t) => {
    t.mock.method(console, 'log', () => {});
    const dir = mkdtempSync(join(tmpdir(), 'pyocyte-bioimageio-'));
    try {
      await saveTinyModel(join(dir, 'run'));
      assert.equal(await command(['--model', join(dir, 'run'), '--format', 'bioimageio', '--input-type', 'float32']), 0);
      // The graph reads float32 as 16-bit values, so the 8-bit synthetic sample goes in ×257.
      await validatePackage(new Uint8Array(await readFile(join(dir, 'run', 'run.zip'))));
      const floats = join(dir, 'floats.tif');
      await writeImage(floats, { width: 30, height: 20, channels: 3, bitDepth: 32, data: new Float32Array(30 * 20 * 3).fill(0.5) });
      await assert.rejects(
        command(['--model', join(dir, 'run'), '--format', 'bioimageio', '--sample', floats]),
        (e: unknown) => e instanceof PyocyteError && /floats\.tif holds floats, which this model/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--sample of 700×600 px, --network-only with bioimageio, and a 16-bit sample as uint8 fail with one-line errors', async (t) => {
    t.mock.method(console, 'log', () => {});
    const dir = mkdtempSync(join(tmpdir(), 'pyocyte-bioimageio-'));
    try {
      await saveTinyModel(join(dir, 'run'));
      const big = join(dir, 'big.png');
      await writeImage(big, { width: 700, height: 600, channels: 3, bitDepth: 8, data: new Uint8Array(700 * 600 * 3) });
      const deep = join(dir, 'deep.tif');
      await writeImage(deep, { width: 30, height: 20, channels: 3, bitDepth: 16, data: new Uint16Array(30 * 20 * 3) });
      const oneLine = (pattern: RegExp) => (e: unknown) =>
        e instanceof PyocyteError && pattern.test(e.message) && !e.message.includes('\n');
      const run = join(dir, 'run');
      await assert.rejects(
        command(['--model', run, '--sample', big]),
        oneLine(/big\.png is 700×600, which predict splits into \d+ tiles; crop it/),
      );
      await assert.rejects(
        command(['--model', run, '--network-only']),
        oneLine(/--network-only exports the ONNX of the network alone: add --format onnx/),
      );
      await assert.rejects(
        command(['--model', run, '--format', 'bioimageio', '--sample', deep, '--input-type', 'uint8']),
        oneLine(/deep\.tif is 16-bit but the export's input type is uint8; use --input-type float32/),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
