/**
 * Prediction on inputs as users have them (issue 9): one scene at any bit depth or value range
 * predicts the same; NaN is filled with a warning; older mean/std model files predict as before;
 * `channels` is stored in the model and used by predict and evaluate. Inputs are built here.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImage, writeImage } from '../../src/io/image/image-io.js';
import { encodeTiffSamples } from '../../src/io/image/tiff.js';
import { predictFiles } from '../../src/workflows/predict-files.js';
import { predictProbabilities } from '../../src/infer/predict.js';
import { evaluate } from '../../src/workflows/evaluate.js';
import { train } from '../../src/workflows/train.js';
import type { RasterImage } from '../../src/image/types.js';
import { QUIET, TEST_ENGINE, TINY_TRAINING, channelZeroModel, rectangleImage, tempFolder, tinyDataset } from '../cli/helpers.js';

let tmp: ReturnType<typeof tempFolder>;
let data = '';
let scene: RasterImage;
before(async () => {
  tmp = tempFolder('robust-predict');
  data = await tinyDataset(join(tmp.dir, 'data'));
  scene = await readImage(join(data, 'images', '001.png'));
});
after(() => tmp.remove());

/** The 16-bit probability map predictFiles wrote for `stem`, as numbers 0–65535. */
const probabilities = async (out: string, stem: string) => Array.from((await readImage(join(out, `${stem}_probability.png`))).data);

describe('a model trained on 8-bit RGB images (default percentile normalisation)', () => {
  let run = '';
  before(async () => {
    run = (await train({ data, out: join(tmp.dir, 'run'), ...TINY_TRAINING, epochs: 1 }, QUIET)).runDir;
  });

  test('model.json records percentile 1–99.8', () => {
    const json = JSON.parse(readFileSync(join(run, 'model', 'model.json'), 'utf8')) as { metadata: { normalization: unknown } };
    assert.deepEqual(json.metadata.normalization, { kind: 'percentile', low: 1, high: 99.8 });
  });

  test('the same scene as 12-bit values in a 16-bit PNG and as a float TIFF 0–1000 predicts as the 8-bit PNG', async () => {
    const inputs = join(tmp.dir, 'depths');
    await writeImage(join(inputs, 'eight.png'), scene);
    await writeImage(join(inputs, 'twelve.png'), { ...scene, bitDepth: 16, data: Uint16Array.from(scene.data, (v) => v * 16) });
    await writeImage(join(inputs, 'float.tif'), { ...scene, bitDepth: 32, data: Float32Array.from(scene.data, (v) => (v * 1000) / 255) });
    const out = join(tmp.dir, 'depths-out');
    const result = await predictFiles({ model: run, inputs: [inputs], out, engine: TEST_ENGINE, ...QUIET });
    assert.deepEqual(result.failed, []);
    const reference = await probabilities(out, 'eight');
    for (const stem of ['twelve', 'float']) {
      const other = await probabilities(out, stem);
      const worst = Math.max(...other.map((v, i) => Math.abs(v - reference[i])));
      assert.ok(worst <= 65, `${stem}: largest difference ${worst} of 65535`);
    }
    const fractions = result.images.map((r) => r.foregroundFraction);
    assert.ok(Math.max(...fractions) - Math.min(...fractions) < 0.002, fractions.join(', '));
  });

  test('a float TIFF with 50 NaN pixels is predicted, with a warning naming the file and the count', async () => {
    const path = join(tmp.dir, 'holes.tif');
    const values = Float32Array.from(scene.data, (v, i) => (i < 50 * 3 && i % 3 === 0 ? NaN : v / 255));
    writeFileSync(path, encodeTiffSamples({ width: scene.width, height: scene.height, channels: 3, data: values }));
    const lines: string[] = [];
    const result = await predictFiles({
      model: run,
      inputs: [path],
      out: join(tmp.dir, 'holes-out'),
      engine: TEST_ENGINE,
      progressStream: null,
      log: (l) => lines.push(l),
    });
    assert.deepEqual(result.failed, []);
    assert.match(lines.join('\n'), /warning: \S*holes\.tif: 50 pixels NaN or infinite \(of 4096\), filled with each channel's median/);
  });
});

describe('older mean/std model files (no intensityScaling) predict as before', () => {
  test('a 16-bit image whose red squares hold 4080: ÷ 65535 as before (no cells), ÷ 4095 for a model with the range rule', async () => {
    const path = join(tmp.dir, 'dim16.png');
    const rgb = rectangleImage(32, 32, [[4, 4, 12, 12]]);
    await writeImage(path, { ...rgb, bitDepth: 16, data: Uint16Array.from(rgb.data, (v) => (v === 255 ? 4080 : 0)) });
    const old = await predictFiles({ model: channelZeroModel(), inputs: [path], out: join(tmp.dir, 'old-out'), ...QUIET });
    assert.equal(old.images[0].cells, 0);
    assert.equal(Math.max(...(await probabilities(join(tmp.dir, 'old-out'), 'dim16'))), 4080);
    const ranged = channelZeroModel({ normalization: { kind: 'meanStd', mean: [0, 0, 0], std: [1, 1, 1], intensityScaling: 'range' } });
    const now = await predictFiles({ model: ranged, inputs: [path], out: join(tmp.dir, 'range-out'), ...QUIET });
    assert.deepEqual([now.images[0].cells, now.images[0].foregroundFraction], [1, 144 / 1024]);
  });
});

describe('channels 0,2 chosen for training', () => {
  let run = '';
  before(async () => {
    run = (await train({ data, out: join(tmp.dir, 'run-channels'), ...TINY_TRAINING, epochs: 1, channels: [0, 2] }, QUIET)).runDir;
  });

  test('the model records them and takes 2 channels; predict and evaluate pick them from RGB files', async () => {
    const json = JSON.parse(readFileSync(join(run, 'model', 'model.json'), 'utf8')) as {
      architecture: { inChannels: number };
      metadata: { channels: number[] };
    };
    assert.deepEqual([json.architecture.inChannels, json.metadata.channels], [2, [0, 2]]);
    const predicted = await predictFiles({
      model: run,
      inputs: [join(data, 'images', '001.png')],
      out: join(tmp.dir, 'ch-out'),
      engine: TEST_ENGINE,
      ...QUIET,
    });
    assert.deepEqual(predicted.failed, []);
    const report = await evaluate({ model: run, data, engine: TEST_ENGINE, ...QUIET });
    assert.equal(report.images, 1);
  });

  test('predicting with all three channels fails, saying which the model takes', async () => {
    const result = await predictFiles({
      model: run,
      inputs: [join(data, 'images', '001.png')],
      out: join(tmp.dir, 'ch3-out'),
      channels: [0, 1, 2],
      engine: TEST_ENGINE,
      ...QUIET,
    }).catch((e: unknown) => e as Error);
    assert.match(
      String(result instanceof Error ? result.message : result.failed.join()),
      /the model takes 2-channel images \(channels 0,2 of its training files\) but this image has 3 channels/,
    );
  });
});

describe('percentile normalisation and tiles', () => {
  test("a 96x80 image predicted in 32-px tiles and in one tile gets the same values: tiles share the whole image's percentiles", async () => {
    const model = channelZeroModel({ normalization: { kind: 'percentile', low: 1, high: 99.8 } });
    const width = 96;
    const height = 80;
    // Dark on the left, bright on the right: per-tile percentiles would stretch each tile differently.
    const data = Float32Array.from(
      { length: width * height * 3 },
      (_, i) => (Math.floor(i / 3) % width < 48 ? 0.05 : 0.5) + 0.001 * (i % 11),
    );
    const image = { width, height, channels: 3, data };
    const tiled = await predictProbabilities(model, image, { tileSize: 32 });
    const whole = await predictProbabilities(model, image, { tileSize: 512 });
    let worst = 0;
    for (let i = 0; i < whole.data.length; i++) worst = Math.max(worst, Math.abs(tiled.data[i] - whole.data[i]));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
    // And the values are the whole image's normalisation: the dark half stays near 0.
    assert.ok(whole.data[0] < 0.05 && whole.data[width - 1] > 0.9, `${whole.data[0]}, ${whole.data[width - 1]}`);
  });
});
