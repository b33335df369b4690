/**
 * The count rule end to end: chosen by `train` on a box-annotated dataset and stored in the model;
 * applied by `predictImageFile` to counts, cells.csv, the mask and the instance image.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readImage, writeImage } from '../../src/io/image/image-io.js';
import { loadModel } from '../../src/io/model-file.js';
import { createEngine } from '../../src/engine/index.js';
import { predictImageFile } from '../../src/workflows/predict-image.js';
import { train } from '../../src/workflows/train.js';
import { QUIET, TINY_TRAINING, channelZeroModel, rectangleImage, tempFolder, tinyDataset } from '../cli/helpers.js';

/** `image,xmin,ymin,xmax,ymax,pus` rows: the bounding box of every instance of a label image. */
async function boxRows(instancesPng: string, image: string): Promise<string[]> {
  const { width, data } = await readImage(instancesPng);
  const boxes = new Map<number, [number, number, number, number]>();
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) continue;
    const [x, y] = [i % width, Math.floor(i / width)];
    const b = boxes.get(data[i]) ?? [x, y, x + 1, y + 1];
    boxes.set(data[i], [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x + 1), Math.max(b[3], y + 1)]);
  }
  return [...boxes.values()].map((b) => `${image},${b.join(',')},pus`);
}

describe('train on 6 synthetic 64x64 smears annotated with boxes (4 train, 2 val)', () => {
  const tmp = tempFolder('count-rule');
  const data = join(tmp.dir, 'boxes');
  const run = join(tmp.dir, 'run');
  const lines: string[] = [];
  before(async () => {
    const smears = await tinyDataset(join(tmp.dir, 'smears'));
    mkdirSync(data);
    cpSync(join(smears, 'images'), join(data, 'images'), { recursive: true });
    const files = readdirSync(join(data, 'images')).sort();
    const rows = async (names: string[]) =>
      (await Promise.all(names.map((f) => boxRows(join(smears, 'instances', f.replace(/\.\w+$/, '.png')), f)))).flat();
    const header = 'image,xmin,ymin,xmax,ymax,label';
    writeFileSync(join(data, 'train.csv'), [header, ...(await rows(files.slice(0, 4)))].join('\n'));
    writeFileSync(join(data, 'val.csv'), [header, ...(await rows(files.slice(4)))].join('\n'));
    await train({ data, out: run, epochs: 2, ...TINY_TRAINING }, { ...QUIET, log: (line) => lines.push(line) });
  });
  after(() => tmp.remove());

  test('model.json stores a count rule for pus, with its validation F1 and the F1 counting all; the log says it', async () => {
    const model = await loadModel(run, { engine: createEngine({ backend: 'reference' }) });
    const rule = model.metadata.countRule;
    assert.ok(rule?.perClass.pus, JSON.stringify(model.metadata.countRule));
    assert.ok(rule.perClass.pus.minScore >= 0 && rule.perClass.pus.minAreaPx >= 0);
    const f1 = rule.validationF1!.pus;
    assert.ok(f1.rule >= f1.all, `rule F1 ${f1.rule} < all ${f1.all}`);
    assert.ok(
      lines.some((l) =>
        /^count rule: pus score ≥ [\d.]+, area ≥ \d+ px(, centroid ≥ [\d.]+ px from the image edge)? \(validation F1/.test(l),
      ),
      lines.join('\n'),
    );
  });

  test('--refine-labels-with the trained model: the second run redraws the 4 training images, every box refined or kept', async () => {
    const refinedLines: string[] = [];
    const second = join(tmp.dir, 'refined');
    await train(
      { data, out: second, epochs: 1, ...TINY_TRAINING, initialWeights: run, refineLabelsWith: run },
      { ...QUIET, log: (line) => refinedLines.push(line) },
    );
    const line = refinedLines.find((l) => l.startsWith('refine: '));
    const match = line?.match(/segmented the 4 training images in \d+ s; (\d+) cells take its outline, (\d+) keep the drawn core/);
    assert.ok(match, refinedLines.join('\n'));
    const boxes = readFileSync(join(data, 'train.csv'), 'utf8').trim().split('\n').length - 1;
    assert.equal(Number(match[1]) + Number(match[2]), boxes);
  });

  test('--initial-weights a 1-channel model of the masks: fine-tunes, the first convolution adapted and the head fresh', async () => {
    const grayscale = join(tmp.dir, 'grayscale');
    await train({ data: join(tmp.dir, 'smears'), out: grayscale, epochs: 1, ...TINY_TRAINING, channels: [0] }, QUIET);
    const tunedLines: string[] = [];
    const tuned = join(tmp.dir, 'tuned');
    await train({ data, out: tuned, epochs: 1, ...TINY_TRAINING, initialWeights: grayscale }, { ...QUIET, log: (l) => tunedLines.push(l) });
    const line = tunedLines.find((l) => l.startsWith('fine-tuning from '));
    assert.match(
      line ?? tunedLines.join('\n'),
      /: \d+ of \d+ tensors loaded; first convolution adapted from 1 to 3 input channels; output head starts fresh \(.* predicts binary: background\/foreground.*; this run binary: background\/pus/,
    );
    const model = await loadModel(tuned, { engine: createEngine({ backend: 'reference' }) });
    assert.equal(model.config.inChannels, 3);
    assert.deepEqual(model.metadata.classNames, ['background', 'pus']);
  });

  test('--refine-labels-with on a dataset of masks: a one-line error', async () => {
    await assert.rejects(
      train({ data: join(tmp.dir, 'smears'), out: join(tmp.dir, 'masks-run'), epochs: 1, ...TINY_TRAINING, refineLabelsWith: run }, QUIET),
      /--refine-labels-with .*: the dataset has masks; refining is for boxes and points/,
    );
  });
});

describe('predictImageFile with a count rule (pus area ≥ 50 px) on a 48x40 image with a 10x8 and a 4x4 cell', () => {
  const tmp = tempFolder('predict-count-rule');
  const image = join(tmp.dir, 'a.png');
  before(async () => {
    await writeImage(
      image,
      rectangleImage(48, 40, [
        [4, 4, 10, 8],
        [30, 24, 4, 4],
      ]),
    );
  });
  after(() => tmp.remove());
  const model = channelZeroModel({ classNames: ['background', 'pus'] });
  model.metadata.countRule = { perClass: { pus: { minScore: 0, minAreaPx: 50 } } };
  const settings = { model, image, tileSize: 64, minSizePx: 1, rescale: false, ...QUIET } as const;

  test('1 pus cell counted; cells.csv, the instance image and the mask hold only it', async () => {
    const out = join(tmp.dir, 'ruled');
    const { summary, cellsCsv } = await predictImageFile({ ...settings, out });
    assert.deepEqual(summary.counts, { pus: 1 });
    assert.equal(summary.cells, 1);
    assert.equal(cellsCsv.trim().split('\n').length, 1);
    assert.match(cellsCsv, /^a,1,pus,8\.5,7\.5,/);
    const instances = await readImage(join(out, 'a_instances.png'));
    assert.deepEqual([...new Set(instances.data)].sort(), [0, 1]);
    const mask = await readImage(join(out, 'a_mask.png'));
    const foreground = mask.data.filter((v) => v > 0).length;
    assert.equal(foreground, 80);
  });

  test('countRule false: both cells counted', async () => {
    const { summary } = await predictImageFile({ ...settings, countRule: false, out: join(tmp.dir, 'all') });
    assert.deepEqual(summary.counts, { pus: 2 });
    assert.equal(summary.cells, 2);
  });
});
