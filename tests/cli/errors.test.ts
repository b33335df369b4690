/**
 * User errors through the real CLI: one `pyocyte: ...` line on stderr, no stack trace, non-zero
 * exit. Fixtures are made in-process (a tiny synthetic dataset, an untrained saved model), so no
 * test here trains; commands that get as far as computing use the reference engine (the end-to-end
 * tests cover the default one).
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeImage } from '../../src/io/image/image-io.js';
import { LOSSES } from '../../src/nn/losses.js';
import { resolveTrainOptions } from '../../src/train/options.js';
import { assertOneLineError, describeRun, nonEmptyLines, runCli, stackFrames, tempFolder, tinyDataset, untrainedRun } from './helpers.js';

describe('pyocyte CLI errors are one line without a stack trace', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let D = '';
  let R = '';
  const at = (...parts: string[]) => join(tmp.dir, ...parts);

  before(async () => {
    tmp = tempFolder('cli-errors');
    D = await tinyDataset(at('D'), { count: 4, split: [2, 1, 1] });
    R = at('R');
    await untrainedRun(R);
  });
  after(() => tmp.remove());

  test('unknown command frobnicate lists the commands', () => {
    assertOneLineError(
      runCli(['frobnicate']),
      /unknown command 'frobnicate'; valid commands are: demo, train, evaluate, predict, export, data, patchify, synth, worker, queue, serve$/,
    );
  });

  test('train --bogus 1: unknown option, listing the valid ones', () => {
    assertOneLineError(
      runCli(['train', '--bogus', '1']),
      /unknown option --bogus for 'train'; valid options are: --data, --out, .*--epochs.*--engine/,
    );
  });

  test('train without --data says it needs --data', () => {
    assertOneLineError(runCli(['train', '--out', at('no-data-run')]), /train needs --data DIR/);
  });

  test('train --loss nope lists the valid losses', () => {
    const line = assertOneLineError(runCli(['train', '--data', D, '--out', at('X1'), '--loss', 'nope']), /unknown loss 'nope'/);
    assert.ok(line.endsWith(Object.keys(LOSSES).join(', ')), line);
  });

  test('train --loss nope: the list of losses is not called "losss"', () => {
    const line = assertOneLineError(runCli(['train', '--data', D, '--out', at('X2'), '--loss', 'nope']), /unknown loss/);
    assert.doesNotMatch(line, /losss/);
  });

  test('train --epochs 0 says --epochs must be a positive whole number', () => {
    assertOneLineError(
      runCli(['train', '--data', D, '--out', at('X3'), '--epochs', '0']),
      /--epochs must be a positive whole number, got 0/,
    );
  });

  test('train --data missing-folder names the folder', () => {
    const missing = at('missing-folder');
    assertOneLineError(runCli(['train', '--data', missing, '--out', at('X4'), '--epochs', '1']), new RegExp(`${missing}.*does not exist`));
  });

  test('train --data D --out R --padding weird lists same, valid', () => {
    assertOneLineError(
      runCli(['train', '--data', D, '--out', at('X5'), '--padding', 'weird']),
      /--padding must be one of same, valid; got 'weird'/,
    );
  });

  test('train --resume on a folder without config.json says it is not a training run', () => {
    mkdirSync(at('empty-run'));
    assertOneLineError(runCli(['train', '--resume', at('empty-run')]), /cannot resume .*empty-run: no config\.json/);
  });

  // Pins a bug: resumeTraining (src/workflows/train.ts) loads the data and the engine before it looks
  // for checkpoints/last, so the error comes after three lines of progress (and, on a big dataset, late).
  test('train --resume on a run with config.json but no checkpoint fails at once, saying the checkpoint is missing', () => {
    const run = at('no-checkpoint-run');
    mkdirSync(run);
    writeFileSync(join(run, 'config.json'), JSON.stringify(resolveTrainOptions({ data: D, out: run, epochs: 1, depth: 2, filters: 4 })));
    assertOneLineError(
      runCli(['train', '--resume', run, '--engine', 'reference']),
      /cannot resume .*no-checkpoint-run: it has no checkpoint/,
    );
  });

  test('evaluate --model missing-run names the missing path', () => {
    assertOneLineError(
      runCli(['evaluate', '--model', at('missing-run'), '--data', D, '--engine', 'reference']),
      /no model at .*missing-run: the path does not exist/,
    );
  });

  test('evaluate on a folder where images/004.png has no mask names the file (several-problem format, no stack)', async () => {
    const data = at('NM');
    mkdirSync(join(data, 'images'), { recursive: true });
    mkdirSync(join(data, 'masks'), { recursive: true });
    for (const stem of ['001', '002', '003', '004']) {
      copyFileSync(join(D, 'images', `${stem}.png`), join(data, 'images', `${stem}.png`));
      if (stem !== '004') copyFileSync(join(D, 'masks', `${stem}.png`), join(data, 'masks', `${stem}.png`));
    }
    const result = runCli(['evaluate', '--model', R, '--data', data, '--engine', 'reference']);
    assert.notEqual(result.code, 0, describeRun(result));
    const lines = nonEmptyLines(result.stderr);
    assert.match(lines[0], /^pyocyte: /);
    assert.ok(
      lines.some((l) => /images\/004\.png has no mask/.test(l)),
      describeRun(result),
    );
    assert.deepEqual(stackFrames(result.stderr), []);
    assert.doesNotMatch(result.stderr, /internal error/);
  });

  test('predict a folder with a 1-channel gray.png and an RGB good.png on a 3-channel model: exit 1 naming gray.png, good.png written', async () => {
    const inputs = at('G');
    mkdirSync(inputs);
    copyFileSync(join(D, 'images', '001.png'), join(inputs, 'good.png'));
    await writeImage(join(inputs, 'gray.png'), { width: 40, height: 40, channels: 1, bitDepth: 8, data: new Uint8Array(1600).fill(120) });
    const out = at('PG');
    const result = runCli(['predict', '--model', R, inputs, '--out', out, '--engine', 'reference']);
    assert.equal(result.code, 1, describeRun(result));
    const errors = nonEmptyLines(result.stderr).filter((l) => l.startsWith('pyocyte: '));
    assert.equal(errors.length, 1, describeRun(result));
    assert.match(errors[0], /gray\.png: the model takes 3-channel images but this image has 1 channel/);
    assert.deepEqual(stackFrames(result.stderr), []);
    for (const suffix of ['_mask.png', '_probability.png', '_overlay.png', '_instances.png'])
      assert.ok(existsSync(join(out, `good${suffix}`)), `good${suffix}`);
    assert.ok(!existsSync(join(out, 'gray_mask.png')));
    const summary = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    assert.deepEqual(
      summary.slice(1).map((l) => l.split(',')[0]),
      ['good', 'gray'],
    );
    assert.deepEqual([result.lastJson?.images, result.lastJson?.failed], [1, 1]);
  });

  test('predict --model R nonexistent.png names the file', () => {
    assertOneLineError(runCli(['predict', '--model', R, at('nonexistent.png'), '--out', at('PX')]), /nonexistent\.png does not exist/);
  });

  test('predict --engine gpu lists the engines', () => {
    assertOneLineError(
      runCli(['predict', '--model', R, at('x.png'), '--out', at('PY'), '--engine', 'gpu']),
      /--engine must be one of auto, native, reference; got 'gpu'/,
    );
  });

  test('export --model R --format tflite lists all, onnx, bioimageio', () => {
    assertOneLineError(
      runCli(['export', '--model', R, '--format', 'tflite']),
      /unknown export format 'tflite'; valid export formats are: all, onnx, bioimageio$/,
    );
  });
});
