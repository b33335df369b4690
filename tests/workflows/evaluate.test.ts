import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeImage } from '../../src/io/image/image-io.js';
import { createEngine } from '../../src/engine/index.js';
import { evaluate } from '../../src/workflows/evaluate.js';
import { loadModel } from '../../src/io/model-file.js';
import { train } from '../../src/workflows/train.js';
import { PyocyteError } from '../../src/util/errors.js';
import {
  QUIET,
  TEST_ENGINE,
  TINY_TRAINING,
  channelZeroModel,
  rectangleImage,
  rectangleMask,
  tempFolder,
  tinyDataset,
} from '../cli/helpers.js';

const inUnit = (v: number, what: string) => assert.ok(v >= 0 && v <= 1, `${what} = ${v}`);

describe('evaluate a tiny trained model on 6 synthetic 64x64 images (split 3/1/2)', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data = '';
  let run = '';
  let split: { test: string[] };

  before(async () => {
    tmp = tempFolder('evaluate');
    data = await tinyDataset(join(tmp.dir, 'data'), { split: [3, 1, 2] });
    split = JSON.parse(readFileSync(join(data, 'split.json'), 'utf8')) as typeof split;
    run = (await train({ data, out: join(tmp.dir, 'run'), ...TINY_TRAINING, epochs: 1 }, QUIET)).runDir;
  });
  after(() => tmp.remove());

  test('subset test: report fields for 2 images, in [0, 1], and report.json, report.md, per_image.csv in RUN/eval-test', async () => {
    const report = await evaluate({ model: run, data, engine: TEST_ENGINE, ...QUIET });
    assert.equal(split.test.length, 2);
    assert.deepEqual([report.subset, report.images, report.task], ['test', 2, 'binary']);
    assert.deepEqual(
      report.perImage.map((p) => p.image),
      split.test,
    );
    assert.deepEqual(
      report.pixels.perClass.map((c) => c.name),
      ['background', 'foreground'],
    );
    for (const c of report.pixels.perClass)
      for (const key of ['dice', 'iou', 'precision', 'recall'] as const) inUnit(c[key], `${c.name} ${key}`);
    inUnit(report.pixels.meanDice, 'pixels.meanDice');
    assert.equal(report.pixels.meanDice, report.pixels.perClass[1].dice);
    inUnit(report.meanImage.meanDice, 'meanImage.meanDice');
    assert.equal(report.meanImage.images, 2);
    inUnit(report.objects.f1, 'objects.f1');
    assert.equal(report.objects.images, 2);
    const model = JSON.parse(readFileSync(join(run, 'model', 'model.json'), 'utf8')) as { metadata: { threshold: number } };
    assert.equal(report.threshold, model.metadata.threshold);

    const out = join(run, 'eval-test');
    for (const file of ['report.json', 'report.md', 'per_image.csv']) assert.ok(existsSync(join(out, file)), file);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { summary: { dice: number }; perImage: unknown[] };
    assert.equal(json.summary.dice, report.pixels.meanDice);
    assert.equal(json.perImage.length, 2);
    const csv = readFileSync(join(out, 'per_image.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 3);
    assert.ok(csv[0].startsWith('image,dice,iou,accuracy'));
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /# pyocyte evaluation/);
  });

  test('instances/ beside masks/: the report scores against label images and has no warning', async () => {
    const lines: string[] = [];
    const report = await evaluate({
      model: run,
      data,
      out: join(tmp.dir, 'li-report'),
      engine: TEST_ENGINE,
      log: (line) => lines.push(line),
      progressStream: null,
    });
    assert.deepEqual(report.instances!.sources, { 'label images': 2, 'connected components': 0 });
    assert.doesNotMatch(lines.join('\n'), /lower bound/);
    assert.match(readFileSync(join(tmp.dir, 'li-report', 'report.md'), 'utf8'), /True instances: instance label images \(2 of 2 images\)/);
  });

  test('binary masks only: the report says the true instances are connected components and warns that scores are a lower bound', async () => {
    const binaryOnly = join(tmp.dir, 'binary-only');
    cpSync(data, binaryOnly, { recursive: true });
    rmSync(join(binaryOnly, 'instances'), { recursive: true });
    const lines: string[] = [];
    const out = join(tmp.dir, 'cc-report');
    const report = await evaluate({
      model: run,
      data: binaryOnly,
      out,
      engine: TEST_ENGINE,
      log: (line) => lines.push(line),
      progressStream: null,
    });
    assert.deepEqual(report.instances!.sources, { 'label images': 0, 'connected components': 2 });
    assert.match(
      lines.join('\n'),
      /connected components of their masks \(each class on its own\); touching cells of one class merge there, so object scores and counts are a lower bound/,
    );
    const markdown = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(markdown, /True instances: connected components of the binary masks for all images/);
    assert.match(
      markdown,
      /\*\*Warning:\*\* in connected components touching cells merge into one object, so these object scores and counts are a lower bound/,
    );
    assert.match(markdown, /\| IoU τ \| TP \| FP \| FN \| precision \| recall \| F1 \| AP \| mean matched IoU \| PQ \|/);
    assert.match(markdown, /DSB2018 score/);
    const [header, first] = readFileSync(join(out, 'per_image.csv'), 'utf8').trim().split('\n');
    assert.ok(
      header.endsWith(
        'truth_source,count_error,relative_count_error,tp_0.5,fp_0.5,fn_0.5,precision_0.5,recall_0.5,f1_0.5,ap_0.5,ap_0.75,ap_0.9,mean_matched_iou_0.5,pq_0.5,dsb2018',
      ),
    );
    assert.match(first, /,connected components,/);
    const summary = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).summary as Record<string, unknown>;
    assert.equal(summary.truth, 'connected components');
    assert.equal(summary['ap_0.5'], report.instances!.byThreshold.find((s) => s.threshold === 0.5)!.averagePrecision);
  });

  test('subset all with out=DIR and threshold 0.99: 6 images, the threshold used, files in DIR', async () => {
    const out = join(tmp.dir, 'all-report');
    const report = await evaluate({ model: run, data, subset: 'all', out, threshold: 0.99, engine: TEST_ENGINE, ...QUIET });
    assert.equal(report.images, 6);
    assert.equal(report.threshold, 0.99);
    assert.ok(existsSync(join(out, 'per_image.csv')));
    assert.equal(readFileSync(join(out, 'per_image.csv'), 'utf8').trim().split('\n').length, 7);
  });

  test('a loaded Model without out writes nothing and reports the model as (in memory)', async () => {
    const model = await loadModel(run, { engine: createEngine({ backend: TEST_ENGINE }) });
    const report = await evaluate({ model, data, subset: 'val', ...QUIET });
    assert.equal(report.model, '(in memory)');
    assert.equal(report.images, 1);
    assert.ok(!existsSync(join(run, 'eval-val')));
  });

  test('task multiclass on a binary model fails naming both', async () => {
    await assert.rejects(
      evaluate({ model: run, data, task: 'multiclass', engine: TEST_ENGINE, ...QUIET }),
      (e: unknown) => e instanceof PyocyteError && /the model is binary but --task multiclass was given/.test(e.message),
    );
  });
});

describe("evaluate metrics against a hand-computed confusion (a model that predicts its input's red channel)", () => {
  let tmp: ReturnType<typeof tempFolder>;
  before(() => {
    tmp = tempFolder('evaluate-exact');
  });
  after(() => tmp.remove());

  test('32x32: a 10x10 square predicted 2 px to the right, and an 8x8 square predicted exactly', async () => {
    const data = join(tmp.dir, 'squares');
    // a: truth x 5..14, prediction x 7..16 → TP 80, FP 20, FN 20. b: TP 64.
    await writeImage(join(data, 'images', 'a.png'), rectangleImage(32, 32, [[7, 5, 10, 10]]));
    await writeImage(join(data, 'masks', 'a.png'), rectangleMask(32, 32, [[5, 5, 10, 10]]));
    await writeImage(join(data, 'images', 'b.png'), rectangleImage(32, 32, [[20, 20, 8, 8]]));
    await writeImage(join(data, 'masks', 'b.png'), rectangleMask(32, 32, [[20, 20, 8, 8]]));
    const model = channelZeroModel({ mask: { polarity: 'white' } });
    const report = await evaluate({ model, data, subset: 'all', minSizePx: 10, ...QUIET });
    const close = (actual: number, expected: number, what: string) =>
      assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);
    const [tp, fp, fn] = [144, 20, 20];
    const pixels = 2 * 32 * 32;
    close(report.pixels.perClass[1].dice, (2 * tp) / (2 * tp + fp + fn), 'pooled Dice');
    close(report.pixels.perClass[1].iou, tp / (tp + fp + fn), 'pooled IoU');
    close(report.pixels.perClass[1].precision, tp / (tp + fp), 'precision');
    assert.equal(report.pixels.perClass[1].support, 164);
    close(report.pixels.accuracy, (pixels - fp - fn) / pixels, 'accuracy');
    const background = pixels - tp - fp - fn;
    close(report.pixels.perClass[0].dice, (2 * background) / (2 * background + fp + fn), 'background Dice');
    const byImage = Object.fromEntries(report.perImage.map((p) => [p.image, p]));
    close(byImage.a.metrics.meanDice, 160 / 200, 'a Dice');
    close(byImage.b.metrics.meanDice, 1, 'b Dice');
    close(report.meanImage.meanDice, 0.9, 'mean image Dice');
    // a: IoU 80/120 ≥ 0.5, a match; b: exact.
    assert.deepEqual([byImage.a.objects.trueCount, byImage.a.objects.predictedCount, byImage.a.objects.truePositives], [1, 1, 1]);
    close(byImage.a.objects.matches[0][2], 80 / 120, 'a object IoU');
    assert.deepEqual([report.objects.f1, report.objects.countMae], [1, 0]);
  });

  test('the same squares, a model whose count rule keeps cells of ≥ 81 px: the 8x8 square is not counted, as predict would not count it', async () => {
    const data = join(tmp.dir, 'squares');
    const model = channelZeroModel({
      mask: { polarity: 'white' },
      countRule: { perClass: { foreground: { minScore: 0, minAreaPx: 81 } } },
    });
    const report = await evaluate({ model, data, subset: 'all', minSizePx: 10, ...QUIET });
    const byImage = Object.fromEntries(report.perImage.map((p) => [p.image, p]));
    assert.deepEqual([byImage.a.objects.predictedCount, byImage.b.objects.predictedCount], [1, 0]);
    assert.deepEqual([byImage.a.instances?.predictedCount, byImage.b.instances?.predictedCount], [1, 0]);
    assert.equal(byImage.b.metrics.perClass[1].dice, 0);
    const all = await evaluate({ model, data, subset: 'all', minSizePx: 10, countRule: false, ...QUIET });
    assert.equal(all.objects.countMae, 0);
  });
});
