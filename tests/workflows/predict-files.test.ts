import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readImage, writeImage } from '../../src/io/image/image-io.js';
import { collectImages, predictFiles } from '../../src/workflows/predict-files.js';
import { train } from '../../src/workflows/train.js';
import { PyocyteError, PyocyteErrors } from '../../src/util/errors.js';
import { QUIET, TEST_ENGINE, TINY_TRAINING, channelZeroModel, rectangleImage, tempFolder, tinyDataset } from '../cli/helpers.js';

const OUTPUTS = ['_mask.png', '_probability.png', '_overlay.png', '_instances.png'];

function csvLines(path: string): string[] {
  return readFileSync(path, 'utf8').trim().split('\n');
}

describe('predictFiles with a tiny trained model on 6 synthetic 64x64 images', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data = '';
  let run = '';
  before(async () => {
    tmp = tempFolder('predict-files');
    data = await tinyDataset(join(tmp.dir, 'data'));
    run = (await train({ data, out: join(tmp.dir, 'run'), ...TINY_TRAINING, epochs: 1 }, QUIET)).runDir;
  });
  after(() => tmp.remove());

  test('a folder of 6 images: four outputs each, summary.csv one row per image, cells.csv rows = the sum of cells', async () => {
    const out = join(tmp.dir, 'out');
    const result = await predictFiles({ model: run, inputs: [join(data, 'images')], out, engine: TEST_ENGINE, ...QUIET });
    const stems = ['001', '002', '003', '004', '005', '006'];
    assert.deepEqual(result.failed, []);
    assert.deepEqual(
      result.images.map((r) => r.image),
      stems,
    );
    for (const r of result.images) {
      assert.deepEqual([r.width, r.height], [64, 64]);
      assert.ok(r.foregroundFraction >= 0 && r.foregroundFraction <= 1);
    }
    for (const stem of stems) for (const suffix of OUTPUTS) assert.ok(existsSync(join(out, `${stem}${suffix}`)), `${stem}${suffix}`);
    const summary = csvLines(join(out, 'summary.csv'));
    assert.equal(summary[0], 'image,width,height,cell_count,count_foreground,foreground_fraction,error');
    assert.deepEqual(
      summary.slice(1).map((l) => Number(l.split(',')[3])),
      result.images.map((r) => r.cells),
    );
    const cells = csvLines(join(out, 'cells.csv'));
    assert.ok(cells[0].startsWith('image,id,class,centroid_x,centroid_y,bbox_xmin,bbox_ymin,bbox_xmax,bbox_ymax,area_px,score'));
    assert.equal(
      cells.length - 1,
      result.images.reduce((n, r) => n + r.cells, 0),
    );
    const mask = await readImage(join(out, '001_mask.png'));
    assert.deepEqual([mask.width, mask.height, mask.channels], [64, 64, 1]);
  });

  test('the same folder again: all 6 reused from their manifests, same bytes; threshold 0.9 instead: none reused', async () => {
    const out = join(tmp.dir, 'out');
    const before = readdirSync(out)
      .sort()
      .map((name) => [name, readFileSync(join(out, name))] as const);
    const again = await predictFiles({ model: run, inputs: [join(data, 'images')], out, engine: TEST_ENGINE, ...QUIET });
    assert.equal(again.reused, 6);
    assert.deepEqual(
      readdirSync(out).sort(),
      before.map(([name]) => name),
    );
    for (const [name, bytes] of before) assert.ok(readFileSync(join(out, name)).equals(bytes), name);
    const stricter = await predictFiles({ model: run, inputs: [join(data, 'images')], out, threshold: 0.9, engine: TEST_ENGINE, ...QUIET });
    assert.equal(stricter.reused, 0);
    assert.equal(JSON.parse(readFileSync(join(out, '001_manifest.json'), 'utf8')).settings.threshold, 0.9);
  });

  test("a temporary .001_mask.png.tmp-* left by a killed writer is removed when 001 is predicted again; another image's is kept", async () => {
    const out = join(tmp.dir, 'stale-out');
    mkdirSync(out);
    writeFileSync(join(out, '.001_mask.png.tmp-123-abc'), 'half');
    writeFileSync(join(out, '.001_2_mask.png.tmp-123-abc'), 'other');
    await predictFiles({ model: run, inputs: [join(data, 'images', '001.png')], out, engine: TEST_ENGINE, ...QUIET });
    assert.ok(!existsSync(join(out, '.001_mask.png.tmp-123-abc')));
    assert.ok(existsSync(join(out, '.001_2_mask.png.tmp-123-abc')));
  });

  test('a 0-byte broken.png between two good images: failed names it, the good ones are written', async () => {
    const inputs = join(tmp.dir, 'mixed');
    mkdirSync(inputs);
    copyFileSync(join(data, 'images', '001.png'), join(inputs, 'a.png'));
    writeFileSync(join(inputs, 'broken.png'), '');
    copyFileSync(join(data, 'images', '002.png'), join(inputs, 'c.png'));
    const out = join(tmp.dir, 'mixed-out');
    const result = await predictFiles({ model: run, inputs: [inputs], out, engine: TEST_ENGINE, ...QUIET });
    assert.equal(result.failed.length, 1);
    assert.match(result.failed[0], /broken\.png.*is empty \(0 bytes\)/);
    assert.deepEqual(
      result.images.map((r) => r.image),
      ['a', 'c'],
    );
    for (const stem of ['a', 'c']) for (const suffix of OUTPUTS) assert.ok(existsSync(join(out, `${stem}${suffix}`)), `${stem}${suffix}`);
    assert.ok(!existsSync(join(out, 'broken_mask.png')));
    const rows = csvLines(join(out, 'summary.csv')).slice(1);
    assert.deepEqual(
      rows.map((l) => l.split(',')[0]),
      ['a', 'broken', 'c'],
    );
    assert.match(rows[1], /^broken,,,,,\S*broken\.png is empty \(0 bytes\)/);
  });

  test('only broken images: rejects with PyocyteErrors listing each file', async () => {
    const inputs = join(tmp.dir, 'all-broken');
    mkdirSync(inputs);
    writeFileSync(join(inputs, 'x.png'), '');
    writeFileSync(join(inputs, 'y.png'), 'not a png');
    await assert.rejects(
      predictFiles({ model: run, inputs: [inputs], out: join(tmp.dir, 'all-broken-out'), engine: TEST_ENGINE, ...QUIET }),
      (e: unknown) => {
        assert.ok(e instanceof PyocyteErrors, String(e));
        assert.match(e.message, /^no image could be predicted/);
        assert.equal(e.problems.length, 2);
        assert.ok(e.problems[0].includes('x.png') && e.problems[1].includes('y.png'), e.problems.join(' | '));
        return true;
      },
    );
  });

  test('two files named x.png in different folders get x_* and x_2_* outputs', async () => {
    for (const folder of ['p', 'q']) {
      mkdirSync(join(tmp.dir, folder));
      copyFileSync(join(data, 'images', '003.png'), join(tmp.dir, folder, 'x.png'));
    }
    const out = join(tmp.dir, 'dup-out');
    const result = await predictFiles({
      model: run,
      inputs: [join(tmp.dir, 'p', 'x.png'), join(tmp.dir, 'q', 'x.png')],
      out,
      engine: TEST_ENGINE,
      ...QUIET,
    });
    assert.deepEqual(
      result.images.map((r) => r.image),
      ['x', 'x_2'],
    );
    assert.ok(existsSync(join(out, 'x_mask.png')) && existsSync(join(out, 'x_2_mask.png')));
  });

  test('collectImages: a missing path and a folder without images fail naming them', async () => {
    await assert.rejects(
      collectImages([join(tmp.dir, 'nope.png')]),
      (e: unknown) => e instanceof PyocyteError && /nope\.png does not exist/.test(e.message),
    );
    const empty = join(tmp.dir, 'no-images');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'hello');
    await assert.rejects(collectImages([empty]), (e: unknown) => e instanceof PyocyteError && /no-images holds no images/.test(e.message));
  });
});

describe("predictFiles with a model that predicts its input's red channel", () => {
  let tmp: ReturnType<typeof tempFolder>;
  let image = '';
  // Two separate 10x8 squares (80 px each) on a 48x40 image.
  const squares = [
    [4, 4, 10, 8],
    [30, 24, 10, 8],
  ] as const;
  before(async () => {
    tmp = tempFolder('predict-files-exact');
    image = join(tmp.dir, 'two.png');
    await writeImage(image, rectangleImage(48, 40, squares));
  });
  after(() => tmp.remove());

  test('mask polarity black: cells 0 on 255; 2 cells of 80 px in cells.csv; instances 0, 1, 2; probability 65535 on cells', async () => {
    const out = join(tmp.dir, 'black');
    const result = await predictFiles({ model: channelZeroModel({ mask: { polarity: 'black' } }), inputs: [image], out, ...QUIET });
    assert.deepEqual(
      result.images.map((r) => [r.image, r.cells, r.foregroundFraction]),
      [['two', 2, 160 / (48 * 40)]],
    );
    const mask = await readImage(join(out, 'two_mask.png'));
    const inside = (i: number) =>
      squares.some(([x, y, w, h]) => i % 48 >= x && i % 48 < x + w && Math.floor(i / 48) >= y && Math.floor(i / 48) < y + h);
    for (let i = 0; i < mask.data.length; i++) assert.equal(mask.data[i], inside(i) ? 0 : 255, `pixel ${i}`);
    const probability = await readImage(join(out, 'two_probability.png'));
    assert.equal(probability.bitDepth, 16);
    for (let i = 0; i < probability.data.length; i++) assert.equal(probability.data[i], inside(i) ? 65535 : 0, `pixel ${i}`);
    const instances = await readImage(join(out, 'two_instances.png'));
    assert.deepEqual([...new Set(instances.data)].sort(), [0, 1, 2]);
    const cells = csvLines(join(out, 'cells.csv'));
    const header = cells[0].split(',');
    const area = header.indexOf('area_px');
    assert.deepEqual(
      cells.slice(1).map((l) => [l.split(',')[0], Number(l.split(',')[area])]),
      [
        ['two', 80],
        ['two', 80],
      ],
    );
  });

  test('mask polarity white: cells 255 on 0', async () => {
    const out = join(tmp.dir, 'white');
    await predictFiles({ model: channelZeroModel({ mask: { polarity: 'white' } }), inputs: [image], out, ...QUIET });
    const mask = await readImage(join(out, 'two_mask.png'));
    assert.equal(mask.data[4 * 48 + 4], 255);
    assert.equal(mask.data[0], 0);
  });

  test("threshold option 0.6 overrides the model's 0.5: squares of probability 0.502 are not cells", async () => {
    const dim = join(tmp.dir, 'dim.png');
    await writeImage(dim, rectangleImage(48, 40, squares, 128));
    const model = channelZeroModel();
    const lenient = await predictFiles({ model, inputs: [dim], out: join(tmp.dir, 'dim-05'), ...QUIET });
    const strict = await predictFiles({ model, inputs: [dim], out: join(tmp.dir, 'dim-06'), threshold: 0.6, ...QUIET });
    assert.equal(lenient.images[0].cells, 2);
    assert.equal(strict.images[0].cells, 0);
    assert.equal(csvLines(join(tmp.dir, 'dim-06', 'cells.csv')).length, 1);
  });
});
