import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { labelComponents } from '../../src/image/components.js';
import { synthesizeSmear } from '../../src/synth/smear.js';

/** For each connected component of the binary mask, how many distinct instance ids it holds. */
function cellsPerComponent(seed: number, clumpCount?: [number, number]): number[] {
  const smear = synthesizeSmear({ seed, clumpCount });
  const { width, height } = smear.image;
  const components = labelComponents({ width, height, data: smear.binary });
  const ids = Array.from({ length: components.count + 1 }, () => new Set<number>());
  for (let p = 0; p < smear.binary.length; p++) if (components.data[p] > 0) ids[components.data[p]].add(smear.instances[p]);
  return ids.slice(1).map((set) => set.size);
}

describe('synthetic clumps', () => {
  test('seeds 1-3 default options: some connected component holds 3 or more cells, each cell its own id', () => {
    for (const seed of [1, 2, 3]) assert.ok(Math.max(...cellsPerComponent(seed)) >= 3, `seed ${seed}`);
  });

  test('clumpCount [4, 4] makes more multi-cell components than [0, 0]', () => {
    const multi = (counts: number[]) => counts.filter((n) => n >= 2).length;
    assert.ok(multi(cellsPerComponent(7, [4, 4])) > multi(cellsPerComponent(7, [0, 0])));
  });

  test('clumpCount [3, 1] fails naming the option', () => {
    assert.throws(() => synthesizeSmear({ clumpCount: [3, 1] }), /clumpCount/);
  });
});
