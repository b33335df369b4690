import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { checkAnnotations, formatAnnotationCheck } from '../../../src/data/annotations/check.js';
import { openAnnotatedDataset } from '../../../src/data/annotations/dataset.js';
import type { BoxAnnotation } from '../../../src/data/annotations/types.js';
import { chooseWorkingScale } from '../../../src/data/annotations/working-scale.js';
import { openDataset } from '../../../src/data/prepare.js';
import { image } from './literals.js';

const box = (label: string, side: number, at = 0): BoxAnnotation => ({
  image: 'a.png',
  label,
  xmin: at,
  ymin: at,
  xmax: at + side,
  ymax: at + side,
});
const withBoxes = (boxes: BoxAnnotation[]) => image({ boxes });

test('chooseWorkingScale: pus boxes of 44 px → 0.5; of 25 px (within 1.15 × 22) → 1', () => {
  assert.deepEqual(chooseWorkingScale([withBoxes([box('pus', 40), box('pus', 44), box('pus', 60)])], ['pus']), {
    scale: 0.5,
    medianBoxDiameterPx: 44,
    boxes: 3,
  });
  assert.equal(chooseWorkingScale([withBoxes([box('pus', 25)])], ['pus']).scale, 1);
});

test('chooseWorkingScale: missedlabel, classes left out and zero-size boxes (points) are not measured', () => {
  const boxes = [box('pus', 88), box('rbc', 10), box('rbc', 10), box('missedlabel', 10), box('point-pus', 0), box('pus', 0)];
  assert.deepEqual(chooseWorkingScale([withBoxes(boxes)], ['pus']), { scale: 0.25, medianBoxDiameterPx: 88, boxes: 1 });
});

test('chooseWorkingScale: no boxes (points only) → 1, none measured', () => {
  assert.deepEqual(chooseWorkingScale([withBoxes([box('pus', 0)])], ['pus']), { scale: 1, boxes: 0 });
});

/** images/a.png, b.png (120×80 gray) with a 44-px pus box in train.csv and a 10-px one in val.csv (not measured). */
async function largeBoxes(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pyocyte-working-scale-'));
  await mkdir(join(dir, 'images'));
  for (const name of ['a', 'b'])
    await sharp(Buffer.alloc(120 * 80, 128), { raw: { width: 120, height: 80, channels: 1 } })
      .png()
      .toFile(join(dir, 'images', `${name}.png`));
  await writeFile(join(dir, 'train.csv'), 'image,xmin,ymin,xmax,ymax,label\na.png,10,10,54,54,pus\n');
  await writeFile(join(dir, 'val.csv'), 'image,xmin,ymin,xmax,ymax,label\nb.png,40,10,50,20,pus\n');
  return dir;
}

test('a training box of 44 px in 120×80 images, no pixel size: loaded at ×0.5 (60×40), imageScale 0.5, said in a note', async () => {
  const notes: string[] = [];
  const opened = await openAnnotatedDataset(await largeBoxes(), { onNote: (n) => notes.push(n) });
  assert.equal(opened.imageScale, 0.5);
  assert.match(notes.join('\n'), /working scale ×0\.5: the training boxes are 44\.0 px across at the median \(1 box\), brought to 22 px/);
  const [sample] = await opened.load('train');
  assert.deepEqual([sample.image.width, sample.image.height], [60, 40]);
  assert.deepEqual(opened.weak!.annotationsOf('a').boxes[0], { image: 'a.png', label: 'pus', xmin: 5, ymin: 5, xmax: 27, ymax: 27 });
});

test('the same with --image-scale 1: full resolution; with a target pixel size: no imageScale (the model records µm)', async () => {
  const dir = await largeBoxes();
  const full = await openAnnotatedDataset(dir, { imageScale: 1 });
  assert.equal(full.imageScale, 1);
  assert.equal((await full.load('train'))[0].image.width, 120);
  const byMicrometres = await openAnnotatedDataset(dir, { pixelSizeUm: 1, targetPixelSizeUm: 4 });
  assert.equal(byMicrometres.imageScale, undefined);
  assert.equal((await byMicrometres.load('train'))[0].image.width, 30);
});

test('--image-scale with --target-pixel-size, --image-scale 0 and --image-scale on a mask dataset: one-line errors', async () => {
  const dir = await largeBoxes();
  await assert.rejects(
    openAnnotatedDataset(dir, { imageScale: 0.5, pixelSizeUm: 1, targetPixelSizeUm: 2 }),
    /either --image-scale or --target-pixel-size/,
  );
  await assert.rejects(openAnnotatedDataset(dir, { imageScale: 0 }), /--image-scale must be a factor above 0 and at most 4, got 0/);
  const masks = await mkdtemp(join(tmpdir(), 'pyocyte-masks-'));
  await mkdir(join(masks, 'images'));
  await mkdir(join(masks, 'masks'));
  await assert.rejects(openDataset(masks, { imageScale: 0.5 }), /--image-scale is for boxes and points; .* has masks/);
});

test('data check on a 44-px and a 10-px box: the working scale of all boxes, ×0.81 (median 27 px → 22 px)', async () => {
  const found = await checkAnnotations(await largeBoxes());
  assert.deepEqual(found.workingScale, { scale: 0.81, medianBoxDiameterPx: 27, boxes: 2 });
  assert.match(
    formatAnnotationCheck(found),
    /working scale without a pixel size: ×0\.81 \(boxes 27\.0 px across at the median, brought to 22 px;/,
  );
});
