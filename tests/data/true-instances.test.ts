import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { discoverDataset } from '../../src/data/dataset.js';
import { maskToLabels } from '../../src/data/masks.js';
import { openDataset } from '../../src/data/prepare.js';
import { loadSamples } from '../../src/data/samples.js';
import { trueInstances } from '../../src/data/true-instances.js';
import { instancesPerClass } from '../../src/infer/segment.js';
import type { Sample } from '../../src/data/types.js';
import { writeImage } from '../../src/io/image/image-io.js';
import type { RasterImage } from '../../src/image/types.js';
import { instanceAreas } from '../../src/image/components.js';

let root: string;
let count = 0;
before(() => (root = mkdtempSync(join(tmpdir(), 'pyocyte-instances-'))));
after(() => rmSync(root, { recursive: true, force: true }));

const raster = (rows: number[][], bitDepth: 8 | 16): RasterImage => ({
  width: rows[0].length,
  height: rows.length,
  channels: 1,
  bitDepth,
  data: bitDepth === 8 ? Uint8Array.from(rows.flat()) : Uint16Array.from(rows.flat()),
});

/** A dataset folder: names ending `.png` get the rows as an 8-bit or (with `16:` prefix) 16-bit gray PNG. */
async function dataset(files: Record<string, { rows: number[][]; bitDepth?: 8 | 16 }>): Promise<string> {
  const dir = join(root, `d${count++}`);
  for (const [name, { rows, bitDepth = 8 }] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    await writeImage(path, raster(rows, bitDepth));
  }
  return dir;
}

const image = {
  rows: [
    [10, 20, 30, 40],
    [50, 60, 70, 80],
    [90, 100, 110, 120],
  ],
};
// Two cells that touch: a binary mask sees one object.
const binaryTouching = {
  rows: [
    [0, 255, 255, 0],
    [0, 255, 255, 0],
    [0, 0, 0, 0],
  ],
};
const labelsTouching = {
  rows: [
    [0, 1, 2, 0],
    [0, 1, 2, 0],
    [0, 0, 0, 0],
  ],
  bitDepth: 16 as const,
};
/** A sample of a literal class map `[H, W]` (its image is blank). */
const sampleOf = (rows: number[][]): Sample => ({
  stem: 'a',
  image: { width: rows[0].length, height: rows.length, channels: 1, data: new Float32Array(rows.length * rows[0].length) },
  labels: Uint8Array.from(rows.flat()),
});
const objectCount = (sample: Sample) => instanceAreas(trueInstances(sample).instances).length;

describe('two-valued masks are binary whatever their bit depth', () => {
  const twoCells = [
    [1, 1, 0, 0, 0, 1],
    [1, 1, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0],
  ];

  test('a 16-bit 0/1 mask with 2 separate cells counts 2 cells (connected components), not 1 instance', () => {
    const converted = maskToLabels(raster(twoCells, 16));
    assert.equal(converted.instances, undefined);
    const sample: Sample = { stem: 'a', image: { width: 6, height: 3, channels: 1, data: new Float32Array(18) }, labels: converted.labels };
    const truth = trueInstances(sample);
    assert.deepEqual([truth.source, instanceAreas(truth.instances)], ['connected components', [4, 2]]);
  });

  test('a float 0/1 mask (QuPath export) is binary too', () => {
    const mask: RasterImage = { width: 6, height: 3, channels: 1, bitDepth: 32, data: Float32Array.from(twoCells.flat()) };
    const converted = maskToLabels(mask);
    assert.deepEqual([converted.instances, Array.from(converted.labels)], [undefined, twoCells.flat()]);
  });

  test('--mask-kind instances (instances: true) makes the 16-bit 0/1 mask one instance with id 1', () => {
    const converted = maskToLabels(raster(twoCells, 16), { instances: true });
    assert.deepEqual(instanceAreas(converted.instances!), [6]);
  });

  test('a 16-bit mask with ids 0/3/9 is still an instance label image', () => {
    const converted = maskToLabels(raster([[0, 3, 9]], 16));
    assert.deepEqual(Array.from(converted.instances!), [0, 3, 9]);
  });
});

describe('multi-class masks without label images: components of each class', () => {
  // A nucleus (2) inside its cytoplasm (1), and a second cell of class 1 touching the first's right edge.
  const labels = [
    [1, 1, 1, 1, 3, 3],
    [1, 2, 2, 1, 3, 3],
    [1, 1, 1, 1, 0, 0],
  ];
  const sample = sampleOf(labels);

  test('cytoplasm ring, nucleus and the touching class-3 cell are 3 objects, ids in raster order', () => {
    const truth = trueInstances(sample);
    assert.equal(truth.source, 'connected components');
    assert.deepEqual(Array.from(truth.instances), [1, 1, 1, 1, 2, 2, 1, 3, 3, 1, 2, 2, 1, 1, 1, 1, 0, 0]);
  });

  test('the predicted instances of the same class map (instancesPerClass) are the same 3 objects', () => {
    const predicted = instancesPerClass({ width: 6, height: 3, data: Uint8Array.from(labels.flat()) }, 4, 0);
    assert.deepEqual([predicted.count, Array.from(predicted.data)], [3, Array.from(trueInstances(sample).instances)]);
  });
});

describe("masks with ignored pixels (255: a weak annotation's ring, a missedlabel box)", () => {
  test('a class-1 core in its ignore ring and a separate ignored block: one object, the ignored pixels in none', () => {
    const labels = [
      [255, 255, 255, 0, 255, 255],
      [255, 1, 255, 0, 255, 255],
      [255, 255, 255, 0, 0, 0],
    ];
    const sample = sampleOf(labels);
    assert.deepEqual(Array.from(trueInstances(sample).instances), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('instance label discovery', () => {
  test('instances/ beside masks/: binary labels from masks/, true instances from instances/ (2 touching cells)', async () => {
    const dir = await dataset({
      'images/001.png': image,
      'masks/001.png': binaryTouching,
      'instances/001.png': labelsTouching,
    });
    const index = await discoverDataset(dir);
    assert.equal(index.pairs[0].instancesPath, join(dir, 'instances', '001.png'));
    assert.ok(!index.ignored.includes('instances/'));
    const [sample] = await loadSamples(index.pairs);
    assert.deepEqual(Array.from(sample.labels), [0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    assert.deepEqual([sample.instanceSource, objectCount(sample)], ['label images', 2]);
  });

  test('without instances/ the same binary mask gives 1 object from connected components', async () => {
    const dir = await dataset({ 'images/001.png': image, 'masks/001.png': binaryTouching });
    const [sample] = await loadSamples((await discoverDataset(dir)).pairs);
    assert.deepEqual([sample.instances, trueInstances(sample).source, objectCount(sample)], [undefined, 'connected components', 1]);
  });

  test('an image missing from instances/ is a warning naming it', async () => {
    const dir = await dataset({
      'images/001.png': image,
      'images/002.png': image,
      'masks/001.png': binaryTouching,
      'masks/002.png': binaryTouching,
      'instances/001.png': labelsTouching,
    });
    const index = await discoverDataset(dir);
    assert.equal(index.pairs[1].instancesPath, undefined);
    assert.match(index.warnings.join('\n'), /1 image \(002\) have no instance label image in instances\//);
  });

  test("Cellpose's <name>_masks beside the image: an 8-bit label image with ids 1, 2 gives 2 instances", async () => {
    const dir = await dataset({ '001.png': image, '001_masks.png': { rows: labelsTouching.rows } });
    const index = await discoverDataset(dir);
    assert.equal(index.pairs[0].cellposeMask, true);
    const [sample] = await loadSamples(index.pairs);
    assert.deepEqual([sample.instanceSource, objectCount(sample)], ['label images', 2]);
  });

  test('an 8-bit 0/1/2 mask not named _masks is not taken for instance ids (its in-between value fails as an edge seam)', async () => {
    const dir = await dataset({ '001.png': image, '001_mask.png': { rows: labelsTouching.rows } });
    await assert.rejects(loadSamples((await discoverDataset(dir)).pairs), /gray value/);
  });

  test('openDataset maskKind binary turns a 16-bit label image into a binary mask; instances keeps ids', async () => {
    const dir = await dataset({ 'images/001.png': image, 'masks/001.png': labelsTouching });
    const binary = await (await openDataset(dir, { maskKind: 'binary', splitCounts: [1, 0, 0] })).load('train');
    assert.deepEqual([binary[0].instances, objectCount(binary[0])], [undefined, 1]);
    const instances = await (await openDataset(dir, { maskKind: 'instances', splitCounts: [1, 0, 0] })).load('train');
    assert.equal(objectCount(instances[0]), 2);
    await assert.rejects(
      openDataset(dir, { maskKind: 'labels' as never }).then((d) => d.load('train')),
      /mask kind/,
    );
  });
});
