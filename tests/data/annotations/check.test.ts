import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkAnnotations, formatAnnotationCheck } from '../../../src/data/annotations/check.js';
import { isAnnotatedDataset, openAnnotatedDataset } from '../../../src/data/annotations/dataset.js';
import { IGNORE_LABEL } from '../../../src/image/ignore.js';
import { sharedDataset } from '../../shared-data.js';

/** images/a.png, b.png, c.png (40×30 gray) and a train.csv / val.csv written by the test. */
async function dataset(train: string, val = 'image,xmin,ymin,xmax,ymax,label\nb.png,2,2,12,12,pus\n'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pyocyte-annotated-'));
  await mkdir(join(dir, 'images'));
  for (const name of ['a', 'b', 'c']) {
    await sharp(Buffer.alloc(40 * 30, 128), { raw: { width: 40, height: 30, channels: 1 } })
      .png()
      .toFile(join(dir, 'images', `${name}.png`));
  }
  await writeFile(join(dir, 'train.csv'), train);
  await writeFile(join(dir, 'val.csv'), val);
  return dir;
}

test('data check on boxes: outside, degenerate, unknown image, unannotated image, counts and sizes per class', async () => {
  const dir = await dataset(
    [
      'image,xmin,ymin,xmax,ymax,label',
      'a.png,2,2,12,10,pus',
      'a.png,20,5,30,15,rbc',
      'a.png,50,40,60,45,rbc',
      'a.png,5,5,5,9,pus',
      'a.png,8,8,8,8,point-pus',
      'zz.png,1,1,4,4,pus',
    ].join('\n'),
  );
  assert.equal(await isAnnotatedDataset(dir), true);
  const found = await checkAnnotations(dir);
  assert.deepEqual(found.problems, [
    `zz.png is annotated but there is no such image in ${dir}/images`,
    'a.png: rbc box (50, 40, 60, 45) lies outside the 40×30 image',
    'a.png: pus box (5, 5, 5, 9) is degenerate (width 0.0, height 4.0 px)',
  ]);
  assert.match(found.warnings[0], /1 images have no annotation and are left out of training: c/);
  assert.deepEqual(found.classes.pus, { boxes: 2, points: 1, widthPx: [10, 10, 10], heightPx: [8, 10, 10] });
  assert.match(formatAnnotationCheck(found), /problems \(3\):/);
});

test('--classes with a label no annotation has is a problem; other labels are trained as background', async () => {
  const dir = await dataset('image,xmin,ymin,xmax,ymax,label\na.png,2,2,12,10,pus\na.png,20,5,30,15,rbc\n');
  assert.deepEqual((await checkAnnotations(dir, { classes: ['wbc'] })).problems, [
    '--classes names wbc, which no annotation has; the classes are pus, rbc',
  ]);
  assert.match((await checkAnnotations(dir, { classes: ['pus'] })).warnings.join('\n'), /label rbc is not among --classes pus/);
});

test('an annotated dataset opens with the split of train.csv / val.csv and labels drawn from the boxes', async () => {
  const dir = await dataset('image,xmin,ymin,xmax,ymax,label\na.png,2,2,12,12,pus\na.png,20,5,30,15,rbc\na.png,30,20,40,30,missedlabel\n');
  const opened = await openAnnotatedDataset(dir);
  assert.deepEqual(opened.split, { train: ['a'], val: ['b'], test: [] });
  assert.deepEqual(opened.scheme.classNames, ['background', 'pus', 'rbc']);
  assert.equal(opened.scheme.outputChannels, 3);
  const [sample] = await opened.load('train');
  const at = (x: number, y: number) => sample.labels[y * 40 + x];
  assert.deepEqual([at(7, 7), at(25, 10), at(2, 2), at(35, 25), at(15, 20)], [1, 2, IGNORE_LABEL, IGNORE_LABEL, 0]);
});

const umid = sharedDataset('umid-urine');
test('UMID (shared data): data check finds no problems; pus, rbc, ep and missedlabel; split 268/38 from train.csv/val.csv', {
  skip: umid.skip,
}, async () => {
  const found = await checkAnnotations(umid.path);
  assert.deepEqual(found.problems, []);
  assert.deepEqual(Object.keys(found.classes), ['ep', 'missedlabel', 'pus', 'rbc']);
  assert.ok(found.classes.pus.boxes > 700 && found.classes.pus.points > 200);
  assert.deepEqual(
    found.files.map((f) => [f.path, f.split, f.images]),
    [
      ['train.csv', 'train', 268],
      ['val.csv', 'val', 38],
    ],
  );
});
