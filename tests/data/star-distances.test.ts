import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colourInstances, RAY_COUNT, RAY_UNIT_PX, starConvexTargets, starDistances } from '../../src/data/star-distances.js';
import { IGNORE_LABEL } from '../../src/image/ignore.js';

const plane = (data: number[], width: number) => ({ width, height: data.length / width, data: Int32Array.from(data) });

test('starDistances: the centre of a 5×5 square reaches 2.5 px along the axes, about 2.5·√2 along the diagonals', () => {
  const ids = plane(
    [
      0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0,
      0, 0, 0, 0,
    ],
    7,
  );
  const rays = starDistances(ids, 8);
  const centre = 3 * 7 + 3;
  for (const k of [0, 2, 4, 6]) assert.ok(Math.abs(rays[k * 49 + centre] - 2.5) < 1e-9, `ray ${k}: ${rays[k * 49 + centre]}`);
  // StarDist's half-pixel step back is exact along the axes only; on a diagonal it lands within 0.2 px.
  for (const k of [1, 3, 5, 7]) assert.ok(Math.abs(rays[k * 49 + centre] - 2.5 * Math.SQRT2) < 0.2, `ray ${k}: ${rays[k * 49 + centre]}`);
  // A corner pixel of the square: half a pixel out to the left and up, 4.5 px to the right and down.
  const corner = 1 * 7 + 1;
  assert.equal(rays[0 * 49 + corner], 4.5);
  assert.equal(rays[4 * 49 + corner], 0.5);
  assert.equal(rays[2 * 49 + corner], 4.5);
  assert.equal(rays[6 * 49 + corner], 0.5);
  assert.equal(rays[0], 0, 'background has no rays');
});

test('starDistances: a ray stops at a touching cell of another id and at the image edge', () => {
  const ids = plane([1, 1, 1, 2, 2], 5);
  const rays = starDistances(ids, 4);
  assert.equal(rays[0 * 5 + 0], 2.5, 'pixel 0 towards +x: three pixels of id 1');
  assert.equal(rays[2 * 5 + 0], 0.5, 'pixel 0 towards −x: the edge');
  assert.equal(rays[0 * 5 + 3], 1.5, 'pixel 3 towards +x: the edge after two pixels of id 2');
  assert.equal(rays[2 * 5 + 3], 0.5, 'pixel 3 towards −x: id 1 next door');
});

test('colourInstances: touching and near cells get different colours, far cells may share, ignored pixels stay ignored', () => {
  const ids = plane([1, 1, 2, 2, 0, 0, 0, 3, 3, 400, 400, 0], 12);
  const ignored = Uint8Array.from({ length: 12 }, (_, i) => (i === 11 ? 1 : 0));
  const colours = colourInstances(ids, ignored);
  assert.deepEqual([...colours], [1, 1, 2, 2, 0, 0, 0, 1, 1, 2, 2, IGNORE_LABEL]);
});

test('starConvexTargets: channel 0 is the scaled centre score, channels 1… the rays in units of RAY_UNIT_PX', () => {
  const ids = plane([0, 0, 0, 0, 1, 0, 0, 0, 0], 3);
  const targets = starConvexTargets({ ...ids, data: Uint8Array.from(ids.data) });
  assert.equal(targets.length, (1 + RAY_COUNT) * 9);
  assert.ok(targets[4] > 0 && targets[0] === 0);
  assert.ok(Math.abs(targets[9 + 4] - 0.5 / RAY_UNIT_PX) < 1e-7, 'a one-pixel cell reaches half a pixel along +x');
});
