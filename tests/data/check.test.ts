import { test, describe, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkDataset } from '../../src/data/check.js';
import { formatSummary } from '../../src/data/check-format.js';
import { writeImage } from '../../src/io/image/image-io.js';
import { command } from '../../src/cli/data.js';

let root: string;
let count = 0;
before(() => (root = mkdtempSync(join(tmpdir(), 'pyocyte-check-'))));
after(() => rmSync(root, { recursive: true, force: true }));

/** 10x10 gray images; masks get `squares` white squares of side 5 (area 25) or none. */
async function dataset(masks: Record<string, number[][]>, extra: Record<string, string> = {}): Promise<string> {
  const dir = join(root, `d${count++}`);
  for (const [stem, rows] of Object.entries(masks)) {
    const width = rows[0].length;
    const height = rows.length;
    await writeImage(join(dir, 'images', `${stem}.png`), {
      width,
      height,
      channels: 1,
      bitDepth: 8,
      data: new Uint8Array(width * height).fill(90),
    });
    await writeImage(join(dir, 'masks', `${stem}.png`), { width, height, channels: 1, bitDepth: 8, data: Uint8Array.from(rows.flat()) });
  }
  for (const [name, text] of Object.entries(extra)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** A 10x10 mask with a 5x5 square of `value` at (x, y) on `background`. */
function square(x: number, y: number, value = 255, background = 0): number[][] {
  return Array.from({ length: 10 }, (_, r) =>
    Array.from({ length: 10 }, (_, c) => (r >= y && r < y + 5 && c >= x && c < x + 5 ? value : background)),
  );
}
const blank = (value = 0) => Array.from({ length: 10 }, () => new Array(10).fill(value));

describe('checkDataset', () => {
  test('3 pairs with one 5x5 square each: values, foreground 25%, object diameter 5.64 px, split.json', async () => {
    const dir = await dataset(
      { a: square(0, 0), b: square(5, 5), c: square(2, 3) },
      { 'split.json': JSON.stringify({ train: ['a', 'b'], val: ['c'], test: [] }) },
    );
    const summary = await checkDataset(dir);
    assert.deepEqual(summary.problems, []);
    assert.equal(summary.pairs, 3);
    assert.deepEqual(summary.sizes, [{ width: 10, height: 10, count: 3 }]);
    assert.deepEqual(summary.imageKinds, { '1 channel, 8-bit': 3 });
    assert.deepEqual(summary.maskValues, { values: [0, 255], counts: [225, 75] });
    assert.equal(summary.polarity, 'white');
    assert.deepEqual(summary.classPixels, [225, 75]);
    assert.equal(summary.objects!.count, 3);
    assert.ok(Math.abs(summary.objects!.medianDiameterPx - 2 * Math.sqrt(25 / Math.PI)) < 1e-9);
    assert.deepEqual(summary.split, { source: 'split.json', train: 2, val: 1, test: 0, leftOut: 0 });
    assert.match(summary.notes.join('\n'), /foreground is white \(value 255\)/);
    const text = formatSummary(summary);
    assert.match(text, /pairs +3 image\/mask pairs/);
    assert.match(text, /foreground +25\.0% of pixels/);
    assert.match(text, /median equivalent diameter 5\.6 px/);
    assert.match(text, /OK: no problems found/);
  });

  test('black squares on white are found by auto polarity', async () => {
    const summary = await checkDataset(await dataset({ a: square(0, 0, 0, 255), b: square(4, 4, 0, 255) }));
    assert.deepEqual([summary.polarity, summary.classPixels, summary.problems], ['black', [150, 50], []]);
  });

  test('one all-background mask is a warning; all of them is a problem', async () => {
    const some = await checkDataset(await dataset({ a: square(0, 0), b: blank() }));
    assert.deepEqual(some.problems, []);
    assert.match(some.warnings.join('\n'), /1 mask is all background \(b\)/);
    const none = await checkDataset(await dataset({ a: blank(), b: blank() }));
    assert.match(none.problems.join('\n'), /no mask has any foreground/);
  });

  test('explicit polarity covering most pixels warns about the colour', async () => {
    const summary = await checkDataset(await dataset({ a: square(0, 0), b: square(1, 1) }), { polarity: 'black' });
    assert.match(summary.warnings.join('\n'), /foreground covers 75\.0% of pixels; .*--mask-polarity white/);
  });

  test('multiclass with a value map counts pixels per class and names missing classes', async () => {
    const summary = await checkDataset(await dataset({ a: square(0, 0, 128) }), {
      task: 'multiclass',
      valueMap: { 0: 0, 128: 1, 255: 2 },
      classNames: ['background', 'cytoplasm', 'nucleus'],
    });
    assert.deepEqual([summary.classes, summary.classPixels], [3, [75, 25]]);
    assert.match(summary.warnings.join('\n'), /class 2 \(nucleus\) appears in no mask/);
  });

  test('multiclass where every mask holds one class is a problem', async () => {
    const summary = await checkDataset(await dataset({ a: blank(), b: blank() }), { task: 'multiclass', valueMap: { 0: 0, 255: 1 } });
    assert.match(summary.problems.join('\n'), /needs at least two classes, but the masks hold only class 0/);
  });

  test('images of mixed channel counts are a problem', async () => {
    const dir = await dataset({ a: square(0, 0), b: square(1, 1) });
    await writeImage(join(dir, 'images', 'b.png'), { width: 10, height: 10, channels: 3, bitDepth: 8, data: new Uint8Array(300) });
    const summary = await checkDataset(dir);
    assert.match(summary.problems.join('\n'), /mix 1 and 3 channels/);
  });
});

describe('pyocyte data check (CLI)', () => {
  test('exit 0 and a summary on a good dataset, exit 1 listing problems on a bad one', async () => {
    const good = await dataset({ a: square(0, 0) });
    const bad = await dataset({ a: square(0, 0) }, { 'images/b.png': 'not an image', 'masks/b.png': 'not an image either' });
    const log = mock.method(console, 'log', () => {});
    try {
      assert.equal(await command(['check', good]), 0);
      assert.match(String(log.mock.calls[0].arguments[0]), /OK: no problems found/);
      assert.equal(await command(['check', bad, '--task', 'binary']), 1);
      assert.match(
        String(log.mock.calls[1].arguments[0]),
        /2 problems:\n {2}- images\/b\.png is a text file .*\n {2}- masks\/b\.png is a text file/,
      );
    } finally {
      log.mock.restore();
    }
  });

  test('unknown subcommand lists the valid ones', async () => {
    await assert.rejects(command(['verify', root]), /unknown data subcommand 'verify'; valid data subcommands are: check/);
  });
});
