import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leftOut, readSplitFile, splitStems } from '../../src/data/split.js';

const stems = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1).padStart(3, '0'));
let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'pyocyte-split-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('seeded split', () => {
  test('counts 30/5/5 on 40 stems (the seed project)', () => {
    const split = splitStems(stems(40), { counts: [30, 5, 5], seed: 1 });
    assert.deepEqual([split.train.length, split.val.length, split.test.length], [30, 5, 5]);
    assert.equal(new Set([...split.train, ...split.val, ...split.test]).size, 40);
  });

  test('same seed → same split regardless of input order', () => {
    const a = splitStems(stems(20), { seed: 7 });
    const b = splitStems(stems(20).reverse(), { seed: 7 });
    assert.deepEqual(a, b);
  });

  test('different seeds → different splits', () => {
    assert.notDeepEqual(splitStems(stems(20), { seed: 1 }), splitStems(stems(20), { seed: 2 }));
  });

  test('seed 0, 10 stems, default fractions: the same on every machine', () => {
    // Hard-coded so a change to Random or the shuffle cannot silently move images between sets.
    assert.deepEqual(splitStems(stems(10), { seed: 0 }), EXPECTED_SEED0);
  });

  test('default fractions 0.7/0.15/0.15 on 20 → 14/3/3', () => {
    const split = splitStems(stems(20));
    assert.deepEqual([split.train.length, split.val.length, split.test.length], [14, 3, 3]);
  });

  test('fractions on 3 stems keep every set non-empty', () => {
    const split = splitStems(stems(3), { fractions: [0.8, 0.1, 0.1] });
    assert.deepEqual([split.train.length, split.val.length, split.test.length], [1, 1, 1]);
  });

  test('counts that do not add up fail naming the total', () => {
    assert.throws(() => splitStems(stems(38), { counts: [30, 5, 5] }), /add up to 40 but the dataset has 38 images/);
  });

  test('fractions that do not add to 1 fail', () => {
    assert.throws(() => splitStems(stems(10), { fractions: [0.5, 0.2, 0.2] }), /add up to 1/);
  });
});

describe('split.json', () => {
  test('honoured exactly', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify({ train: ['003', '001'], val: ['002'], test: ['004'] }));
    assert.deepEqual(splitStems(stems(4), { splitFile: path }), { train: ['003', '001'], val: ['002'], test: ['004'] });
  });

  test('unknown stems listed', () => {
    const path = join(dir, 'unknown.json');
    writeFileSync(path, JSON.stringify({ train: ['001', '002', '099'], val: ['003'], test: ['004', '100'] }));
    assert.throws(() => splitStems(stems(4), { splitFile: path }), /2 names with no image in the dataset: 099, 100/);
  });

  test('stem in two sets and a name without an image are reported together', () => {
    const path = join(dir, 'twice.json');
    writeFileSync(path, JSON.stringify({ train: ['001', '002'], val: ['002'], test: ['099'] }));
    assert.throws(
      () => splitStems(stems(4), { splitFile: path }),
      /"002" is in both train and val; 1 name with no image in the dataset: 099/,
    );
  });

  test('a split naming 135 of 300 images (30/5/100) is honoured; the other 165 are left out', () => {
    const all = stems(300);
    const split = { train: all.slice(0, 30), val: all.slice(30, 35), test: all.slice(35, 135) };
    const result = splitStems(all, { split });
    assert.deepEqual([result.train.length, result.val.length, result.test.length], [30, 5, 100]);
    const unused = leftOut(result, all);
    assert.equal(unused.length, 165);
    assert.deepEqual([unused[0], unused[164]], ['136', '300']);
  });

  test('readSplitFile: bad JSON and wrong shape fail naming the file', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{train: [}');
    await assert.rejects(readSplitFile(bad), /bad\.json is not valid JSON/);
    const shape = join(dir, 'shape.json');
    writeFileSync(shape, JSON.stringify({ train: [1, 2], validation: [] }));
    await assert.rejects(readSplitFile(shape), /unknown key validation; valid keys are train, val, test/);
  });
});

const EXPECTED_SEED0 = { train: ['001', '003', '005', '006', '008', '009'], val: ['002', '007'], test: ['004', '010'] };
