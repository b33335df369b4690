import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { enclosesHole, splitTouching } from '../../src/infer/instances.js';
import { measureCells } from '../../src/infer/cells.js';
import { cellsCsv } from '../../src/io/prediction-outputs.js';
import { distanceTransform } from '../../src/image/distance.js';
import { removeSmallObjects } from '../../src/image/small-objects.js';
import { labelComponents } from '../../src/image/components.js';
import { PyocyteError } from '../../src/util/errors.js';
import { Random } from '../../src/util/random.js';
import { plane } from '../plane.js';

/** Sets the pixels of an axis-aligned ellipse (semi-axes rx, ry) centred at (cx, cy). */
function ellipse(mask: Uint8Array, width: number, cx: number, cy: number, rx: number, ry = rx): Uint8Array {
  const height = mask.length / width;
  for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(height - 1, Math.ceil(cy + ry)); y++) {
    for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(width - 1, Math.ceil(cx + rx)); x++) {
      if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) mask[y * width + x] = 1;
    }
  }
  return mask;
}

const literal = (...rows: string[]): Uint8Array => Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));

describe('labelComponents', () => {
  const diagonal = literal('#..#', '.#..', '....', '##.#');
  test('4x4 diagonal literal: 8-connectivity joins corners, 4-connectivity does not', () => {
    assert.deepEqual([...labelComponents(plane(diagonal, 4, 4)).data], [1, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 3, 3, 0, 4]);
    const four = labelComponents(plane(diagonal, 4, 4), { connectivity: 4 });
    assert.equal(four.count, 5);
    assert.deepEqual([...four.data], [1, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 4, 4, 0, 5]);
  });

  test('U shape 5x3 merges two provisional labels into one, numbered by first pixel', () => {
    const u = literal('#.#.#', '#.#.#', '#####');
    const { data: labels, count } = labelComponents(plane(u, 5, 3));
    assert.equal(count, 1);
    assert.ok([...labels].every((l, i) => l === u[i]));
  });

  test('size mismatch is a PyocyteError', () => {
    assert.throws(() => labelComponents(plane(new Uint8Array(5), 2, 2)), PyocyteError);
  });
});

describe('distanceTransform', () => {
  test('random 23x17 mask matches brute-force Euclidean distances', () => {
    const random = new Random(3);
    const width = 23,
      height = 17;
    const mask = Uint8Array.from({ length: width * height }, () => (random.chance(0.8) ? 1 : 0));
    for (const borderIsBackground of [false, true]) {
      const { data: d } = distanceTransform(plane(mask, width, height), { borderIsBackground });
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          let best = Infinity;
          if (mask[y * width + x] !== 0) {
            for (let v = 0; v < height; v++)
              for (let u = 0; u < width; u++) {
                if (mask[v * width + u] === 0) best = Math.min(best, Math.hypot(u - x, v - y));
              }
            if (borderIsBackground) best = Math.min(best, x + 1, y + 1, width - x, height - y);
          } else best = 0;
          assert.ok(Math.abs(d[y * width + x] - best) < 1e-5, `(${x}, ${y}) border=${borderIsBackground}: ${d[y * width + x]} vs ${best}`);
        }
    }
  });

  test('all-foreground 3x3 has no background: Infinity', () => {
    assert.ok(distanceTransform(plane(new Uint8Array(9).fill(1), 3, 3)).data.every((d) => d === Infinity));
  });
});

describe('splitTouching', () => {
  const size = 80;
  const count = (mask: Uint8Array, options = {}): number => splitTouching(plane(mask, size, size), options).count;

  test('single disc r=12 → 1 instance', () => {
    assert.equal(count(ellipse(new Uint8Array(size * size), size, 40, 40, 12)), 1);
  });

  test('two overlapping discs r=12 centres 20 px apart → 2 instances of similar size', () => {
    const mask = ellipse(ellipse(new Uint8Array(size * size), size, 30, 40, 12), size, 50, 40, 12);
    assert.equal(labelComponents(plane(mask, size, size)).count, 1);
    const { data: labels, count: n } = splitTouching(plane(mask, size, size));
    assert.equal(n, 2);
    const areas = [0, 0, 0];
    for (const l of labels) areas[l]++;
    assert.ok(Math.abs(areas[1] - areas[2]) < 0.05 * areas[1], `areas ${areas}`);
    assert.equal(labels[40 * size + 30], 1);
    assert.equal(labels[40 * size + 50], 2);
  });

  test('ellipse 40x20 → 1 instance', () => {
    assert.equal(count(ellipse(new Uint8Array(size * size), size, 40, 40, 20, 10)), 1);
  });

  test('three touching discs r=12 in a row, 20 px apart → 3 instances', () => {
    const mask = new Uint8Array(size * size);
    for (const cx of [20, 40, 60]) ellipse(mask, size, cx, 40, 12);
    assert.equal(count(mask), 3);
  });

  test('disc r=12 plus 2x2 and 3x3 specks: specks removed at minSizePx=30, kept at 0', () => {
    const mask = ellipse(new Uint8Array(size * size), size, 40, 40, 12);
    for (const [x, y] of [
      [5, 5],
      [6, 5],
      [5, 6],
      [6, 6],
    ])
      mask[y * size + x] = 1;
    for (let y = 70; y < 73; y++) for (let x = 70; x < 73; x++) mask[y * size + x] = 1;
    assert.equal(count(mask), 1);
    assert.equal(count(mask, { minSizePx: 0 }), 3);
  });

  test('all-foreground 10x10 → 1 instance; bad options are PyocyteErrors', () => {
    assert.equal(splitTouching(plane(new Uint8Array(100).fill(1), 10, 10)).count, 1);
    assert.throws(() => splitTouching(plane(new Uint8Array(100), 10, 10), { hMaxima: -1 }), PyocyteError);
  });

  test('a ring (outer r 30 swelling at four angles, inner r 18, as a cytoplasm around its nucleus) → 1 instance', () => {
    const mask = new Uint8Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - 40, y - 40);
        if (r >= 18 && r <= 30 + 3 * Math.cos(4 * Math.atan2(y - 40, x - 40))) mask[y * size + x] = 1;
      }
    }
    // The same shape with its hole filled has four distance maxima along the swellings, and a filled
    // ring is one disc: only the hole tells a ring from a clump.
    assert.equal(count(mask, { hMaxima: 0.5 }), 1);
    assert.equal(enclosesHole(plane(mask, size, size)), true);
  });

  test('three discs r=12 touching around a small gap: the gap (< 10 % of their area) is no ring, 3 instances', () => {
    const mask = new Uint8Array(size * size);
    for (const [cx, cy] of [
      [29, 34],
      [51, 34],
      [40, 53],
    ])
      ellipse(mask, size, cx, cy, 12.5);
    assert.equal(labelComponents(plane(mask, size, size)).count, 1);
    assert.equal(enclosesHole(plane(mask, size, size)), false);
    assert.equal(count(mask), 3);
  });

  test('two overlapping discs with minSeedDistancePx=25 (> centre distance 20) → merged into 1', () => {
    const mask = ellipse(ellipse(new Uint8Array(size * size), size, 30, 40, 12), size, 50, 40, 12);
    assert.equal(count(mask, { minSeedDistancePx: 25 }), 1);
    assert.equal(count(mask, { minSeedDistancePx: 15 }), 2);
  });

  test('1024x1024 with 100 partly overlapping discs: count within ±5% (its time target is in bench:large)', () => {
    const width = 1024;
    const random = new Random(11);
    const mask = new Uint8Array(width * width);
    const discs: [number, number, number][] = [];
    while (discs.length < 100) {
      const r = random.uniform(9, 16);
      let cx = random.uniform(r, width - r);
      let cy = random.uniform(r, width - r);
      if (discs.length > 0 && random.chance(0.6)) {
        // Touch a previous disc, overlapping by 5–15% of the radii sum: a clear neck remains.
        const [x, y, s] = random.pick(discs);
        const angle = random.uniform(0, 2 * Math.PI);
        const distance = random.uniform(0.85, 0.95) * (r + s);
        [cx, cy] = [x + distance * Math.cos(angle), y + distance * Math.sin(angle)];
        if (cx < r || cy < r || cx > width - r || cy > width - r) continue;
      }
      if (discs.some(([x, y, s]) => Math.hypot(x - cx, y - cy) < 0.85 * (r + s))) continue;
      discs.push([cx, cy, r]);
      ellipse(mask, width, cx, cy, r);
    }
    const touching = labelComponents(plane(mask, width, width)).count;
    const { count: found } = splitTouching(plane(mask, width, width));
    assert.ok(touching < 70, `only ${touching} connected components: most discs touch another`);
    assert.ok(Math.abs(found - 100) <= 5, `found ${found} of 100 (${touching} connected components)`);
  });
});

describe('removeSmallObjects', () => {
  test('4x2 literal: 1-px fragment merges into its neighbour, isolated 1-px speck dropped', () => {
    const labels = Int32Array.of(1, 1, 2, 0, 1, 1, 0, 3);
    const { data: out, count } = removeSmallObjects(plane(labels, 4, 2), { minSizePx: 2 });
    assert.equal(count, 1);
    assert.deepEqual([...out], [1, 1, 1, 0, 1, 1, 0, 0]);
    assert.equal(removeSmallObjects(plane(labels, 4, 2), { minSizePx: 2, mergeIntoNeighbours: false }).count, 1);
  });
});

describe('measureCells', () => {
  test('disc r=20 at (50, 40): area ≈ πr², centroid exact, circularity > 0.9', () => {
    const mask = ellipse(new Uint8Array(100 * 80), 100, 50, 40, 20);
    const [cell] = measureCells(plane(Int32Array.from(mask), 100, 80), { pixelSizeUm: 0.5 });
    assert.ok(Math.abs(cell.areaPx - Math.PI * 400) < 0.02 * Math.PI * 400);
    assert.equal(cell.centroidX, 50);
    assert.equal(cell.centroidY, 40);
    assert.ok(cell.circularity > 0.9 && cell.circularity <= 1, `circularity ${cell.circularity}`);
    assert.ok(Math.abs(cell.perimeterPx - 2 * Math.PI * 20) < 0.05 * 2 * Math.PI * 20, `perimeter ${cell.perimeterPx}`);
    assert.equal(cell.areaUm2, cell.areaPx * 0.25);
    assert.ok(Math.abs(cell.equivalentDiameterPx - 40) < 0.5);
  });

  test('ellipse 40x10 is less circular than a disc; sparse ids 7 and 1000000 sorted', () => {
    const labels = new Int32Array(100 * 80);
    ellipse(new Uint8Array(100 * 80), 100, 50, 20, 20, 5).forEach((v, i) => {
      if (v) labels[i] = 1_000_000;
    });
    ellipse(new Uint8Array(100 * 80), 100, 50, 60, 10).forEach((v, i) => {
      if (v) labels[i] = 7;
    });
    const cells = measureCells(plane(labels, 100, 80));
    assert.deepEqual(
      cells.map((c) => c.id),
      [7, 1_000_000],
    );
    assert.ok(cells[1].circularity < 0.8 && cells[0].circularity > 0.9);
    assert.equal(cells[0].areaUm2, undefined);
  });

  test('cellsCsv: header, rounded values, inclusive box, empty µm columns without a pixel size', () => {
    const cells = measureCells(plane(Int32Array.of(0, 2, 2, 0), 2, 2)).map((c) => ({ ...c, className: 'pus', score: 0.8 }));
    const csv = cellsCsv(cells);
    const [header, row] = csv.trim().split('\n');
    assert.equal(
      header,
      'id,class,centroid_x,centroid_y,bbox_xmin,bbox_ymin,bbox_xmax,bbox_ymax,area_px,score,area_um2,equivalent_diameter_px,equivalent_diameter_um,circularity',
    );
    assert.match(row, /^2,pus,0\.5,0\.5,0,0,1,1,2,0\.8,,1\.59577,,[0-9.]+$/);
    assert.match(cellsCsv(cells, { pixelSizeUm: 2 }).split('\n')[1], /^2,pus,0\.5,0\.5,0,0,1,1,2,0\.8,8,1\.59577,3\.19154,/);
  });
});
