/**
 * The CLI end to end on a tiny synthetic dataset, through child processes as a user runs it:
 * synth → data check → train → evaluate → predict → export, and a three-class run.
 * Each step depends on the previous one (node:test runs a describe's tests in order).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { readImage, readImageInfo } from '../../src/io/image/image-io.js';
import { DEFAULT_THRESHOLD_CANDIDATES } from '../../src/metrics/pixel.js';
import { type CliResult, describeRun, runCli, tempFolder, threeClassCopy } from './helpers.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const OUTPUT_SUFFIXES = ['_mask.png', '_probability.png', '_overlay.png', '_instances.png'];

function ok(result: CliResult): Record<string, unknown> {
  assert.equal(result.code, 0, describeRun(result));
  return result.lastJson ?? {};
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function csvRows(path: string): string[][] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(','));
}

describe('pyocyte CLI end to end on synth --count 8 --size 96x96 --seed 3', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let D = '';
  let R = '';
  let P = '';
  let split: { train: string[]; val: string[]; test: string[] };
  const stems = ['001', '002', '003', '004', '005', '006', '007', '008'];

  before(() => {
    tmp = tempFolder('e2e');
    [D, R, P] = ['D', 'R', 'P'].map((name) => join(tmp.dir, name));
  });
  after(() => tmp.remove());

  test('synth --out D --count 8 --size 96x96 --seed 3 writes 8 images, masks and split.json', async () => {
    ok(runCli(['synth', '--out', D, '--count', '8', '--size', '96x96', '--seed', '3']));
    for (const stem of stems) {
      for (const folder of ['images', 'masks', 'masks3', 'instances'])
        assert.ok(existsSync(join(D, folder, `${stem}.png`)), `${folder}/${stem}.png`);
    }
    const info = await readImageInfo(join(D, 'images', '001.png'));
    assert.deepEqual([info.width, info.height, info.channels], [96, 96, 3]);
    split = readJson(join(D, 'split.json')) as typeof split;
    assert.equal(split.train.length + split.val.length + split.test.length, 8);
    assert.ok(split.val.length >= 1 && split.test.length >= 1);
  });

  test('data check D exits 0 and reports 8 pairs', () => {
    const result = runCli(['data', 'check', D]);
    assert.equal(result.code, 0, describeRun(result));
    assert.match(result.stdout, /8 image\/mask pairs/);
  });

  // The foreground model (--instance-method watershed): a 6-step three-class model marks nearly
  // every pixel foreground (1 − p(background) starts near 2/3), which the polarity test below
  // cannot use; the trained instance methods have their own tests (tests/nn/overfit-instances).
  test('train --epochs 2 --depth 2 --filters 8 --patch-size 64 --batch 4 --patches-per-image 2 --instance-method watershed writes model, checkpoints, log and curves', async () => {
    const summary = ok(
      runCli([
        'train',
        '--data',
        D,
        '--out',
        R,
        '--instance-method',
        'watershed',
        '--epochs',
        '2',
        '--depth',
        '2',
        '--filters',
        '8',
        '--patch-size',
        '64',
        '--batch',
        '4',
        '--patches-per-image',
        '2',
      ]),
    );
    const stepsPerEpoch = Math.ceil((split.train.length * 2) / 4);
    assert.equal(summary.run, R);
    assert.equal(summary.interrupted, false);
    assert.equal(summary.epochs, 2);
    assert.equal(summary.steps, 2 * stepsPerEpoch);
    for (const file of [
      'model/model.json',
      'model/model.safetensors',
      'checkpoints/last/trainer.json',
      'checkpoints/last/model.safetensors',
      'checkpoints/last/optimizer.safetensors',
      'checkpoints/best/model.json',
      'config.json',
    ]) {
      assert.ok(existsSync(join(R, file)), `${file} is missing`);
    }
    const log = readFileSync(join(R, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, Record<string, number>>);
    assert.equal(log.length, 2);
    for (const entry of log) {
      for (const part of ['train', 'val']) {
        for (const key of ['loss', 'dice', 'iou', 'accuracy']) assert.equal(typeof entry[part]?.[key], 'number', `log ${part}.${key}`);
      }
    }
    const curves = readFileSync(join(R, 'curves.png'));
    assert.deepEqual([...curves.subarray(0, 8)], PNG_SIGNATURE);
    const info = await readImageInfo(join(R, 'curves.png'));
    assert.ok(info.width > 100 && info.height > 100);
    const config = readJson(join(R, 'config.json'));
    assert.deepEqual([config.depth, config.filters, config.patchSize, config.batchSize, config.epochs], [2, 8, 64, 4, 2]);
    const model = readJson(join(R, 'model', 'model.json')) as { architecture: Record<string, unknown>; metadata: Record<string, unknown> };
    assert.deepEqual([model.architecture.depth, model.architecture.filters, model.architecture.inChannels], [2, 8, 3]);
    assert.deepEqual(model.metadata.mask, { polarity: 'black' });
    assert.equal(model.metadata.pixelSizeUm, 0.25);
    assert.ok(DEFAULT_THRESHOLD_CANDIDATES.includes(model.metadata.threshold as number));
    assert.equal(summary.threshold, model.metadata.threshold);
  });

  test('evaluate --model R --data D prints JSON with dice and writes report.json, report.md, per_image.csv (one row per test image)', () => {
    const summary = ok(runCli(['evaluate', '--model', R, '--data', D]));
    assert.equal(typeof summary.dice, 'number');
    assert.ok((summary.dice as number) >= 0 && (summary.dice as number) <= 1);
    assert.equal(summary.images, split.test.length);
    assert.equal(summary.subset, 'test');
    for (const file of ['report.json', 'report.md', 'per_image.csv']) assert.ok(existsSync(join(R, 'eval-test', file)), file);
    const rows = csvRows(join(R, 'eval-test', 'per_image.csv'));
    assert.equal(rows[0][0], 'image');
    assert.deepEqual(
      rows.slice(1).map((r) => r[0]),
      split.test,
    );
    const report = readJson(join(R, 'eval-test', 'report.json')) as { summary: Record<string, unknown> };
    assert.equal(report.summary.dice, summary.dice);
  });

  test('predict --model R D/images --out P writes mask, probability, overlay, instances per image, cells.csv and summary.csv', () => {
    const run = runCli(['predict', '--model', R, join(D, 'images'), '--out', P]);
    const summary = ok(run);
    assert.deepEqual([summary.images, summary.failed, summary.out], [8, 0, P]);
    // The count table: a header, one line per image, a total line.
    const table = run.stdout.split('\n').filter((l) => /^(image|total|\d{3}) /.test(l));
    assert.match(table[0], /^image +cells +foreground$/);
    assert.equal(table.length, 1 + stems.length + 1, run.stdout);
    for (const stem of stems) for (const suffix of OUTPUT_SUFFIXES) assert.ok(existsSync(join(P, `${stem}${suffix}`)), `${stem}${suffix}`);
    const cells = readFileSync(join(P, 'cells.csv'), 'utf8').trim().split('\n');
    assert.ok(cells[0].startsWith('image,id,class,centroid_x,centroid_y,bbox_xmin,bbox_ymin,bbox_xmax,bbox_ymax,area_px,score'), cells[0]);
    const rows = csvRows(join(P, 'summary.csv'));
    assert.deepEqual(rows[0], ['image', 'width', 'height', 'cell_count', 'count_foreground', 'foreground_fraction', 'error']);
    assert.deepEqual(
      rows.slice(1).map((r) => r[0]),
      stems,
    );
    const cellCount = rows.slice(1).reduce((n, r) => n + Number(r[3]), 0);
    assert.equal(cells.length - 1, cellCount);
    assert.equal(summary.cells, cellCount);
    assert.deepEqual(summary.counts, { foreground: cellCount });
  });

  test('predicted masks are drawn like the training masks (black cells on white): below-threshold pixels are 255', async () => {
    const { threshold, postprocessing } = readJson(join(R, 'model', 'model.json')).metadata as {
      threshold: number;
      postprocessing: string;
    };
    // Post-processing (largestComponent) may clear foreground the threshold kept, never the reverse.
    const cleared = postprocessing !== 'none';
    let background = 0;
    let foreground = 0;
    for (const stem of stems) {
      const mask = await readImage(join(P, `${stem}_mask.png`));
      const probability = await readImage(join(P, `${stem}_probability.png`));
      assert.deepEqual([mask.channels, mask.width, mask.height], [1, 96, 96]);
      for (let i = 0; i < mask.data.length; i++) {
        const p = probability.data[i] / 65535;
        assert.ok(mask.data[i] === 0 || mask.data[i] === 255, `${stem}_mask.png has value ${mask.data[i]}`);
        if (p < threshold - 1e-3) {
          assert.equal(mask.data[i], 255, `${stem}_mask.png pixel ${i} (p=${p.toFixed(3)})`);
          background++;
        } else if (p > threshold + 1e-3) {
          if (!cleared) assert.equal(mask.data[i], 0, `${stem}_mask.png pixel ${i} (p=${p.toFixed(3)})`);
          if (mask.data[i] === 0) foreground++;
        }
      }
    }
    // A 6-step model is poor, so only ask that both polarities were checked on many pixels.
    assert.ok(background >= 100 && foreground >= 100, `${background} background and ${foreground} foreground pixels`);
  });

  test('export --model R writes R/model.onnx that onnxruntime runs on raw 1x3x64x64 → [1,1,64,64] probabilities, and R/R.zip', async () => {
    const result = runCli(['export', '--model', R]);
    assert.equal(result.code, 0, describeRun(result));
    const file = join(R, 'model.onnx');
    assert.ok(existsSync(file));
    assert.ok(existsSync(join(R, `${basename(R)}.zip`)));
    const session = await ort.InferenceSession.create(file);
    const input = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => (i * 37) % 256),
      [1, 3, 64, 64],
    );
    const output = (await session.run({ [session.inputNames[0]]: input }))[session.outputNames[0]];
    assert.deepEqual(output.dims, [1, 1, 64, 64]);
    assert.ok((output.data as Float32Array).every((p) => p >= 0 && p <= 1));
  });

  describe('three classes: masks3 as masks with --value-map 0:background,128:cytoplasm,255:nucleus', () => {
    let M = '';
    let RM = '';
    before(() => {
      M = threeClassCopy(D, join(tmp.dir, 'M'));
      RM = join(tmp.dir, 'RM');
    });

    test('train --epochs 1 stores the class names; evaluate prints dice_per_class with cytoplasm and nucleus', () => {
      ok(
        runCli([
          'train',
          '--data',
          M,
          '--out',
          RM,
          '--epochs',
          '1',
          '--depth',
          '2',
          '--filters',
          '8',
          '--patch-size',
          '64',
          '--batch',
          '4',
          '--patches-per-image',
          '2',
          '--value-map',
          '0:background,128:cytoplasm,255:nucleus',
        ]),
      );
      const model = readJson(join(RM, 'model', 'model.json')) as {
        architecture: Record<string, unknown>;
        metadata: Record<string, unknown>;
      };
      assert.equal(model.architecture.classes, 3);
      assert.deepEqual(model.metadata.classNames, ['background', 'cytoplasm', 'nucleus']);
      const summary = ok(runCli(['evaluate', '--model', RM, '--data', M]));
      const perClass = summary.dice_per_class as Record<string, number>;
      assert.deepEqual(Object.keys(perClass).sort(), ['cytoplasm', 'nucleus']);
      for (const value of Object.values(perClass)) assert.ok(value >= 0 && value <= 1);
    });

    test('predict writes one probability map per foreground class and masks with the values 0, 128, 255 only', async () => {
      const out = join(tmp.dir, 'PM');
      ok(runCli(['predict', '--model', RM, join(M, 'images', '001.png'), '--out', out]));
      for (const suffix of ['_mask.png', '_probability_cytoplasm.png', '_probability_nucleus.png', '_overlay.png', '_instances.png']) {
        assert.ok(existsSync(join(out, `001${suffix}`)), `001${suffix}`);
      }
      const mask = await readImage(join(out, '001_mask.png'));
      assert.ok(new Set(mask.data).size >= 1);
      for (const value of new Set(mask.data)) assert.ok([0, 128, 255].includes(Number(value)), `mask value ${value}`);
    });
  });
});
