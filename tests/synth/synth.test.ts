import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitCounts, writeSyntheticDataset } from '../../src/synth/dataset.js';
import { synthesizeSmear, type SynthImage } from '../../src/synth/smear.js';
import { keepLargestComponents } from '../../src/synth/labels.js';
import { readImage } from '../../src/io/image/image-io.js';
import { command } from '../../src/cli/synth.js';
import { PyocyteError } from '../../src/util/errors.js';
import { hash32 } from '../../src/util/random.js';

/** Labels 4-connected components of the pixels where `member(p)` holds; returns the component count. */
function countComponents(width: number, height: number, member: (p: number) => boolean): number {
  const seen = new Uint8Array(width * height);
  let count = 0;
  for (let seed = 0; seed < seen.length; seed++) {
    if (seen[seed] || !member(seed)) continue;
    count++;
    const stack = [seed];
    seen[seed] = 1;
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      for (const q of [x > 0 ? p - 1 : -1, x + 1 < width ? p + 1 : -1, p - width, p + width]) {
        if (q >= 0 && q < seen.length && !seen[q] && member(q)) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
  }
  return count;
}

/** Area of the convex hull of a set of pixel squares (monotone chain over their corners). */
function hullArea(pixels: number[], width: number): number {
  const points = pixels.flatMap((p) => {
    const x = p % width;
    const y = Math.floor(p / width);
    return [
      [x, y],
      [x + 1, y],
      [x, y + 1],
      [x + 1, y + 1],
    ];
  });
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: number[], a: number[], b: number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const chain = (list: number[][]) => {
    const out: number[][] = [];
    for (const point of list) {
      while (out.length >= 2 && cross(out[out.length - 2], out[out.length - 1], point) <= 0) out.pop();
      out.push(point);
    }
    return out.slice(0, -1);
  };
  const hull = [...chain(points), ...chain([...points].reverse())];
  let twice = 0;
  for (let i = 0; i < hull.length; i++) {
    const [x1, y1] = hull[i];
    const [x2, y2] = hull[(i + 1) % hull.length];
    twice += x1 * y2 - x2 * y1;
  }
  return Math.abs(twice) / 2;
}

const foregroundFraction = (smear: SynthImage) => smear.binary.reduce((sum, v) => sum + v, 0) / smear.binary.length;

const defaults = [1, 2, 3].map((seed) => ({ seed, smear: synthesizeSmear({ seed }) }));

describe('synthesizeSmear', () => {
  test('seed=5 size=96x64 twice gives identical bytes; seed=6 differs', () => {
    const a = synthesizeSmear({ seed: 5, width: 96, height: 64 });
    const b = synthesizeSmear({ seed: 5, width: 96, height: 64 });
    const c = synthesizeSmear({ seed: 6, width: 96, height: 64 });
    assert.deepEqual(a.image.data, b.image.data);
    assert.deepEqual(a.instances, b.instances);
    assert.deepEqual(a.threeClass, b.threeClass);
    assert.notDeepEqual(a.image.data, c.image.data);
  });

  test('default options give a 512x384 RGB 8-bit image with masks of the same size', () => {
    const { smear } = defaults[0];
    assert.deepEqual([smear.image.width, smear.image.height, smear.image.channels, smear.image.bitDepth], [512, 384, 3, 8]);
    assert.ok(smear.image.data instanceof Uint8Array);
    assert.equal(smear.image.data.length, 512 * 384 * 3);
    for (const mask of [smear.binary, smear.threeClass, smear.instances]) assert.equal(mask.length, 512 * 384);
  });

  for (const { seed, smear } of defaults) {
    test(`seed=${seed} default size: binary == (threeClass > 0) == (instances > 0), ids 1…cells each one 4-connected region`, () => {
      const { width, height } = smear.image;
      for (let p = 0; p < smear.binary.length; p++) {
        const inCell = smear.instances[p] > 0 ? 1 : 0;
        if (smear.binary[p] !== inCell || (smear.threeClass[p] > 0 ? 1 : 0) !== inCell || smear.threeClass[p] > 2) {
          assert.fail(`pixel ${p}: binary ${smear.binary[p]}, threeClass ${smear.threeClass[p]}, instance ${smear.instances[p]}`);
        }
      }
      assert.equal(Math.max(...new Set(smear.instances)), smear.cells);
      assert.equal(new Set(smear.instances).size, smear.cells + 1);
      for (let id = 1; id <= smear.cells; id++) {
        assert.equal(
          countComponents(width, height, (p) => smear.instances[p] === id),
          1,
          `instance ${id} is not one region`,
        );
      }
    });

    test(`seed=${seed} default size: every whole cell has a nucleus of ≥ 2 pieces or a lobed (non-convex) one`, () => {
      const { width, height } = smear.image;
      let checked = 0;
      for (let id = 1; id <= smear.cells; id++) {
        const nucleus: number[] = [];
        let onBorder = false;
        for (let p = 0; p < smear.instances.length; p++) {
          if (smear.instances[p] !== id) continue;
          const x = p % width;
          const y = Math.floor(p / width);
          if (x === 0 || y === 0 || x === width - 1 || y === height - 1) onBorder = true;
          if (smear.threeClass[p] === 2) nucleus.push(p);
        }
        if (onBorder) continue;
        checked++;
        assert.ok(nucleus.length > 0, `cell ${id} has no nucleus`);
        const members = new Set(nucleus);
        const pieces = countComponents(width, height, (p) => members.has(p));
        const solidity = nucleus.length / hullArea(nucleus, width);
        assert.ok(pieces >= 2 || solidity < 0.92, `cell ${id}: nucleus is one convex blob (solidity ${solidity.toFixed(2)})`);
      }
      assert.ok(checked >= 5, `only ${checked} whole cells`);
    });
  }

  test('seeds 1-3 default size: foreground fraction between 5% and 35%', () => {
    for (const { seed, smear } of defaults) {
      const fraction = foregroundFraction(smear);
      assert.ok(fraction > 0.05 && fraction < 0.35, `seed ${seed}: ${fraction.toFixed(3)}`);
    }
  });

  test('seeds 1-3 default size: each image has touching cells (distinct ids sharing a 4-neighbour edge)', () => {
    for (const { seed, smear } of defaults) {
      const { width } = smear.image;
      let contacts = 0;
      for (let p = 0; p < smear.instances.length; p++) {
        const a = smear.instances[p];
        const right = (p % width) + 1 < width ? smear.instances[p + 1] : 0;
        const below = p + width < smear.instances.length ? smear.instances[p + width] : 0;
        if (a > 0 && ((right > 0 && right !== a) || (below > 0 && below !== a))) contacts++;
      }
      assert.ok(contacts > 0, `seed ${seed}: no touching cells`);
    }
  });

  test('seeds 1-3 default size: pus cell pixels are darker and more purple (blue − green) than the rest', () => {
    for (const { seed, smear } of defaults) {
      const data = smear.image.data;
      const sums = [
        [0, 0, 0],
        [0, 0, 0],
      ]; // [background, cell] × [count, brightness, blue − green]
      for (let p = 0; p < smear.binary.length; p++) {
        const row = sums[smear.binary[p]];
        row[0]++;
        row[1] += data[3 * p] + data[3 * p + 1] + data[3 * p + 2];
        row[2] += data[3 * p + 2] - data[3 * p + 1];
      }
      const [background, cell] = sums.map(([n, brightness, purple]) => ({ brightness: brightness / n, purple: purple / n }));
      assert.ok(cell.brightness < background.brightness - 30, `seed ${seed}: ${cell.brightness} vs ${background.brightness}`);
      assert.ok(cell.purple > background.purple + 10, `seed ${seed}: ${cell.purple} vs ${background.purple}`);
    }
  });

  test('pixelSizeUm=0.5 vs 0.25: cells are about a quarter of the area in pixels', () => {
    const meanArea = (smear: SynthImage) => smear.binary.reduce((s, v) => s + v, 0) / smear.cells;
    const fine = meanArea(synthesizeSmear({ seed: 9, width: 256, height: 192, pixelSizeUm: 0.25, cellCount: [4, 4] }));
    const coarse = meanArea(synthesizeSmear({ seed: 9, width: 256, height: 192, pixelSizeUm: 0.5, cellCount: [12, 12] }));
    assert.ok(coarse / fine > 0.15 && coarse / fine < 0.4, `ratio ${coarse / fine}`);
  });

  test('width=4 or cellCount=[5,2] fail with the option name', () => {
    assert.throws(
      () => synthesizeSmear({ width: 4 }),
      (e: unknown) => e instanceof PyocyteError && /width/.test(e.message),
    );
    assert.throws(
      () => synthesizeSmear({ cellCount: [5, 2] }),
      (e: unknown) => e instanceof PyocyteError && /cellCount/.test(e.message),
    );
  });
});

describe('keepLargestComponents', () => {
  test('4x4: a stray piece of id 1 touching id 2 joins id 2; an isolated piece becomes background', () => {
    // prettier-ignore
    const labels = new Uint16Array([1, 1, 0, 3, 1, 0, 0, 0, 0, 1, 2, 2, 3, 3, 0, 2]);
    while (keepLargestComponents({ width: 4, height: 4, data: labels }) > 0);
    // prettier-ignore
    assert.deepEqual([...labels], [1, 1, 0, 0, 1, 0, 0, 0, 0, 2, 2, 2, 3, 3, 0, 2]);
  });
});

describe('splitCounts', () => {
  test('count=40 [30,5,5] → 30/5/5; count=3 → 1/1/1; count=10 → 8/1/1', () => {
    assert.deepEqual(splitCounts(40, [30, 5, 5]), [30, 5, 5]);
    assert.deepEqual(splitCounts(3, [30, 5, 5]), [1, 1, 1]);
    assert.deepEqual(splitCounts(10, [30, 5, 5]), [8, 1, 1]);
  });
});

describe('writeSyntheticDataset', () => {
  test('count=3 size=64x48: writes images, masks, masks3, 16-bit instances, split.json, dataset.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pyocyte-synth-'));
    try {
      const progress: number[] = [];
      const options = { width: 64, height: 48, seed: 4, cellCount: [1, 2] as [number, number] };
      const result = await writeSyntheticDataset(dir, { ...options, count: 3, onProgress: (done) => progress.push(done) });
      assert.deepEqual(result.stems, ['001', '002', '003']);
      assert.deepEqual(progress, [1, 2, 3]);
      for (const folder of ['images', 'masks', 'masks3', 'instances']) {
        for (const stem of result.stems) assert.ok(existsSync(join(dir, folder, `${stem}.png`)), `${folder}/${stem}.png`);
      }
      assert.deepEqual(JSON.parse(await readFile(join(dir, 'split.json'), 'utf8')), { train: ['001'], val: ['002'], test: ['003'] });
      const description = JSON.parse(await readFile(join(dir, 'dataset.json'), 'utf8'));
      assert.equal(description.generator, 'pyocyte synth');
      assert.equal(description.pixelSizeUm, 0.25);
      // Image 2 regenerated alone from hash32(seed, 2) matches the files.
      const expected = synthesizeSmear({ ...options, seed: hash32(4, 2) });
      assert.ok(expected.cells > 0);
      const image = await readImage(join(dir, 'images', '002.png'));
      assert.deepEqual([image.channels, image.bitDepth], [3, 8]);
      assert.deepEqual(image.data, expected.image.data);
      const mask = await readImage(join(dir, 'masks', '002.png'));
      assert.deepEqual(
        [...mask.data],
        [...expected.binary].map((v) => (v ? 0 : 255)),
      );
      const masks3 = await readImage(join(dir, 'masks3', '002.png'));
      assert.deepEqual(
        [...masks3.data],
        [...expected.threeClass].map((v) => [0, 128, 255][v]),
      );
      const instances = await readImage(join(dir, 'instances', '002.png'));
      assert.deepEqual([instances.channels, instances.bitDepth], [1, 16]);
      assert.deepEqual(instances.data, expected.instances);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a folder holding other files is refused; maskStyle=grey fails listing the valid styles', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pyocyte-synth-'));
    try {
      await writeFile(join(dir, 'notes.txt'), 'mine');
      await assert.rejects(writeSyntheticDataset(dir, { count: 1, width: 32, height: 32 }), /notes\.txt/);
      const style = 'grey' as 'black-on-white';
      await assert.rejects(writeSyntheticDataset(join(dir, 'x'), { count: 1, maskStyle: style }), /black-on-white, white-on-black/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pyocyte synth', () => {
  test('--size 12x fails with a one-line message about --size', async () => {
    await assert.rejects(command(['--out', join(tmpdir(), 'never-written'), '--size', '12x']), (e: unknown) => {
      return e instanceof PyocyteError && /--size/.test(e.message) && !e.message.includes('\n');
    });
  });

  test('--count 2 --size 40x30 --mask-style white-on-black writes 2 images and prints a summary', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'pyocyte-synth-'));
    const lines: string[] = [];
    t.mock.method(console, 'log', (line: string) => lines.push(line));
    try {
      const code = await command(['--out', dir, '--count', '2', '--size', '40x30', '--mask-style', 'white-on-black']);
      assert.equal(code, 0);
      const description = JSON.parse(await readFile(join(dir, 'dataset.json'), 'utf8'));
      assert.deepEqual([description.count, description.width, description.height, description.maskStyle], [2, 40, 30, 'white-on-black']);
      assert.match(lines[lines.length - 1], /wrote 2 synthetic smears/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
