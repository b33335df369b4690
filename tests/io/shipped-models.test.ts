/** The shipped models (src/io/shipped-models.ts): found by name, loaded from BF16, and useful as they are. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createEngine } from '../../src/engine/index.js';
import { writeImage } from '../../src/io/image/image-io.js';
import { float32Of, loadModel, resolveModelPath } from '../../src/io/model-file.js';
import { SHIPPED_MODELS, shippedModelFolder } from '../../src/io/shipped-models.js';
import { UNET_DEFAULTS } from '../../src/nn/unet.js';
import { predictImageFile } from '../../src/workflows/predict-image.js';
import { QUIET, TEST_ENGINE, tempFolder } from '../cli/helpers.js';

describe('float32Of', () => {
  test('BF16 bits 0x3f80, 0xc040, 0x0000: 1, -3, 0', () => {
    assert.deepEqual([...float32Of({ dtype: 'BF16', shape: [3], data: Uint16Array.of(0x3f80, 0xc040, 0) })!], [1, -3, 0]);
  });

  test('I64 data: undefined', () => {
    assert.equal(float32Of({ dtype: 'I64', shape: [1], data: BigInt64Array.of(1n) }), undefined);
  });
});

describe('resolveModelPath', () => {
  test("'nuclei' (no such path here): the shipped model's model.json", () => {
    assert.equal(resolveModelPath('nuclei'), join(shippedModelFolder('nuclei')!, 'model.json'));
  });

  test('a missing path that names no shipped model: the error lists the shipped ones', () => {
    assert.throws(
      () => resolveModelPath('no-such-run'),
      new RegExp(`no model at no-such-run: .*ships with pyocyte: ${Object.keys(SHIPPED_MODELS).join(', ')}`),
    );
  });
});

describe('the shipped nuclei model on a 160x160 gray image of 5 bright nuclei 24 px across (2 of them touching)', () => {
  const tmp = tempFolder('shipped-nuclei');
  const image = join(tmp.dir, 'nuclei.png');
  const centres = [
    [30, 30],
    [120, 40],
    [40, 120],
    [100, 110],
    [122, 122],
  ] as const;
  before(async () => {
    const data = new Uint8Array(160 * 160);
    for (let y = 0; y < 160; y++) {
      for (let x = 0; x < 160; x++) {
        const distance = Math.min(...centres.map(([cx, cy]) => Math.hypot(x - cx, y - cy)));
        // A soft edge, as a fluorescence nucleus has: 12 px radius, fading over 2 px.
        data[y * 160 + x] = 10 + Math.round(180 * Math.min(1, Math.max(0, (13 - distance) / 2)));
      }
    }
    await writeImage(image, { width: 160, height: 160, channels: 1, bitDepth: 8, data });
  });
  after(() => tmp.remove());

  test('loads by name at the default architecture, 1 input channel', async () => {
    const model = await loadModel('nuclei', { engine: createEngine({ backend: 'reference' }) });
    assert.deepEqual(
      { ...model.config, inChannels: undefined, classes: undefined },
      { ...UNET_DEFAULTS, inChannels: undefined, classes: undefined },
    );
    assert.equal(model.config.inChannels, 1);
  });

  test('predict counts 5 nuclei', async () => {
    const model = await loadModel('nuclei', { engine: createEngine({ backend: TEST_ENGINE }) });
    const { summary } = await predictImageFile({ model, image, out: join(tmp.dir, 'out'), ...QUIET });
    assert.equal(summary.cells, 5);
  });
});
