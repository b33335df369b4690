import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readImage } from '../../src/io/image/image-io.js';
import { type DemoResult, runDemo } from '../../src/workflows/demo.js';
import { TEST_ENGINE, tempFolder } from '../cli/helpers.js';

/** An instance image's ids `[H, W]`. */
async function ids(path: string): Promise<ArrayLike<number>> {
  const image = await readImage(path);
  assert.equal(image.channels, 1, path);
  return image.data;
}

/**
 * Independent of src/metrics: IoU of every overlapping pair from a dense table, pairs above 0.5
 * taken (above 0.5 each instance has at most one partner, so no assignment is needed).
 */
function matchAbove(predicted: ArrayLike<number>, truth: ArrayLike<number>): { tp: number; fp: number; fn: number } {
  const area = (labels: ArrayLike<number>) => {
    const counts = new Map<number, number>();
    for (let i = 0; i < labels.length; i++) if (labels[i] > 0) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
    return counts;
  };
  const predictedArea = area(predicted);
  const trueArea = area(truth);
  const both = new Map<string, number>();
  for (let i = 0; i < truth.length; i++) {
    if (predicted[i] > 0 && truth[i] > 0) {
      const key = `${predicted[i]},${truth[i]}`;
      both.set(key, (both.get(key) ?? 0) + 1);
    }
  }
  let tp = 0;
  for (const [key, intersection] of both) {
    const [p, t] = key.split(',').map(Number);
    if (intersection / (predictedArea.get(p)! + trueArea.get(t)! - intersection) > 0.5) tp++;
  }
  return { tp, fp: predictedArea.size - tp, fn: trueArea.size - tp };
}

describe('the demo on 16 smears (split 12/2/2), trained for 15 s', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let result: DemoResult;
  const lines: string[] = [];

  before(async () => {
    tmp = tempFolder('demo');
    result = await runDemo({ out: tmp.dir, minutes: 0.25, images: 16, engine: TEST_ENGINE, threads: 2, log: (line) => lines.push(line) });
  });
  after(() => tmp.remove());

  test("its AP@0.5 and F1 equal an independent one-to-one match of its predictions against the generator's instances/ (within 0.01)", async () => {
    assert.equal(result.cells.truth, 'label images');
    const data = join(tmp.dir, 'data');
    const stems = ['015', '016'];
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const stem of stems) {
      const predictedFile = join(result.predictions, `${stem}_instances.png`);
      assert.ok(existsSync(predictedFile), predictedFile);
      const m = matchAbove(await ids(predictedFile), await ids(join(data, 'instances', `${stem}.png`)));
      tp += m.tp;
      fp += m.fp;
      fn += m.fn;
    }
    assert.equal(tp + fn, result.cells.trueCells);
    // The same predicted cells in the files as in the demo's evaluation, however well the short training went.
    assert.equal(tp + fp, result.cells.predictedCells);
    assert.ok(Math.abs(result.cells.ap50 - tp / Math.max(1, tp + fp + fn)) <= 0.01, `AP ${result.cells.ap50} vs ${tp}/${tp + fp + fn}`);
    assert.ok(Math.abs(result.objectF1 - (2 * tp) / Math.max(1, 2 * tp + fp + fn)) <= 0.01, `F1 ${result.objectF1}`);
  });
});
