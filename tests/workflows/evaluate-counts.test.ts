import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeImage } from '../../src/io/image/image-io.js';
import { PyocyteError } from '../../src/util/errors.js';
import { evaluateCounts, hasWeakAnnotations } from '../../src/workflows/evaluate-counts.js';
import { predictFiles } from '../../src/workflows/predict-files.js';
import { QUIET, channelZeroModel, rectangleImage, tempFolder } from '../cli/helpers.js';

describe('evaluateCounts on a 48x40 image with three predicted 10x8 cells and box/point truth', () => {
  const tmp = tempFolder('evaluate-counts');
  const data = join(tmp.dir, 'data');
  before(async () => {
    mkdirSync(join(data, 'images'), { recursive: true });
    await writeImage(
      join(data, 'images', 'a.png'),
      rectangleImage(48, 40, [
        [4, 4, 10, 8],
        [28, 20, 10, 8],
        [14, 28, 10, 8],
      ]),
    );
    // Cell 1 in a pus box, cell 2 on a pus point, cell 3 inside a missedlabel box; one pus box with no cell.
    const rows = [
      'image,xmin,ymin,xmax,ymax,label',
      'a.png,3,3,15,13,pus',
      'a.png,33,24,33,24,point-pus',
      'a.png,10,26,30,39,missedlabel',
      'a.png,38,0,46,8,pus',
      'a.png,0,30,6,36,rbc',
    ];
    writeFileSync(join(data, 'val.csv'), `${rows.join('\n')}\n`);
  });
  after(() => tmp.remove());

  test('pus: 2 TP, 0 FP, 1 FN, 1 ignored; rbc (not a model class) left out; per_image.csv and report.md written', async () => {
    assert.equal(await hasWeakAnnotations(data), true);
    const out = join(tmp.dir, 'eval');
    const model = channelZeroModel({ classNames: ['background', 'pus'] });
    const notes: string[] = [];
    const report = await evaluateCounts({ model, data, out, ...QUIET, log: (l) => notes.push(l) });
    assert.equal(report.subset, 'val');
    assert.deepEqual(Object.keys(report.perClass), ['pus']);
    const pus = report.perClass.pus;
    assert.deepEqual([pus.truePositives, pus.falsePositives, pus.falseNegatives, pus.trueCount, pus.predictedCount], [2, 0, 1, 3, 2]);
    assert.equal(pus.countMae, 1);
    assert.equal(pus.binAgreement, 1);
    assert.equal(report.pointRadiusPx.pus, ((12 + 10) / 4 + (8 + 8) / 4) / 2);
    assert.ok(
      notes.some((n) => /no class for rbc/.test(n)),
      notes.join('\n'),
    );
    const csv = readFileSync(join(out, 'per_image.csv'), 'utf8').trim().split('\n');
    assert.deepEqual(csv, [
      'image,true_pus,predicted_pus,tp_pus,fp_pus,fn_pus,bin_true_pus,bin_predicted_pus,ignored',
      'a.png,3,2,2,0,1,0-5,0-5,1',
    ]);
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /\| pus \| 3 \| 2 \| 1\.0000 \| 0\.6667 \| 0\.8000 \| 1\.00 \|/);
  });

  test("the model's count rule (pus area ≥ 81 px) drops the 10×8 cells; countRule false counts them again", async () => {
    const model = channelZeroModel({ classNames: ['background', 'pus'] });
    model.metadata.countRule = { perClass: { pus: { minScore: 0, minAreaPx: 81 } } };
    const out = join(tmp.dir, 'eval-rule');
    const ruled = await evaluateCounts({ model, data, out, ...QUIET });
    assert.equal(ruled.perClass.pus.predictedCount, 0);
    assert.deepEqual(ruled.countRule, model.metadata.countRule);
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /count rule: pus score ≥ 0, area ≥ 81 px/);
    const all = await evaluateCounts({ model, data, countRule: false, ...QUIET });
    assert.equal(all.perClass.pus.predictedCount, 2);
    assert.equal(all.countRule, undefined);
  });

  test('a model trained on 20-px cells (10-px cells here, rescaled ×2 as predict does) with a count rule of area ≥ 81 model px: the cells count, as in predict', async () => {
    const objectDiameterPx = { medianPx: 20, lowerQuartilePx: 19, upperQuartilePx: 21, objects: 40 };
    const model = channelZeroModel({ classNames: ['background', 'pus'], objectDiameterPx });
    model.metadata.countRule = { perClass: { pus: { minScore: 0, minAreaPx: 81 } } };
    const report = await evaluateCounts({ model, data, ...QUIET });
    const predicted = await predictFiles({
      model,
      inputs: [join(data, 'images', 'a.png')],
      out: join(tmp.dir, 'predict-rescaled'),
      ...QUIET,
    });
    assert.equal(predicted.images[0].counts.pus, 3);
    // The third cell lies in the missedlabel box: set aside by evaluate, counted by predict.
    assert.equal(report.perClass.pus.predictedCount + report.perImage[0].ignored, predicted.images[0].counts.pus);
    assert.equal(report.perClass.pus.truePositives, 2);
  });

  test('pus marked by points only, --cell-diameter 12: scored with point radius 6, the cell 4 px from the point matched', async () => {
    const points = join(tmp.dir, 'points');
    mkdirSync(join(points, 'images'), { recursive: true });
    await writeImage(join(points, 'images', 'a.png'), rectangleImage(48, 40, [[4, 4, 10, 8]]));
    writeFileSync(join(points, 'val.csv'), 'image,xmin,ymin,xmax,ymax,label\na.png,13,8,13,8,point-pus\n');
    const model = channelZeroModel({ classNames: ['background', 'pus'] });
    const report = await evaluateCounts({ model, data: points, cellDiameterPx: 12, ...QUIET });
    assert.deepEqual(report.pointRadiusPx, { pus: 6 });
    assert.equal(report.perClass.pus.truePositives, 1);
  });

  test('the same folder with a masks/ folder is a mask dataset: hasWeakAnnotations false', async () => {
    const masked = join(tmp.dir, 'masked');
    mkdirSync(join(masked, 'masks'), { recursive: true });
    writeFileSync(join(masked, 'val.csv'), 'image,xmin,ymin,xmax,ymax,label\n');
    assert.equal(await hasWeakAnnotations(masked), false);
    assert.equal(await hasWeakAnnotations(join(tmp.dir, 'missing')), false);
  });

  test('subset train, which no annotation file names: PyocyteError saying so', async () => {
    const model = channelZeroModel({ classNames: ['background', 'pus'] });
    await assert.rejects(
      evaluateCounts({ model, data, subset: 'train', ...QUIET }),
      (e) => e instanceof PyocyteError && /train subset/.test(e.message),
    );
  });
});
