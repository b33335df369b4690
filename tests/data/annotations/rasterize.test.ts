import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { classesOf, rasterizeAnnotations, typicalRadii } from '../../../src/data/annotations/rasterize.js';
import { image, pusRbcGrid, rbcPoint, rows } from './literals.js';

describe('rasterizeAnnotations on 8×8 grids', () => {
  test('a 6×6 box: ellipse core of its class, ignore ring up to the box edge, background outside', () => {
    const labels = rasterizeAnnotations(image({ boxes: [{ image: 'a.png', label: 'pus', xmin: 1, ymin: 1, xmax: 7, ymax: 7 }] }), {
      width: 8,
      height: 8,
      classes: ['pus'],
      pointRadiusPx: {},
      coreFraction: 0.6,
    });
    assert.deepEqual(rows(labels, 8), ['........', '.xxxxxx.', '.xx11xx.', '.x1111x.', '.x1111x.', '.xx11xx.', '.xxxxxx.', '........']);
  });
  test('a point: a disc of the class radius, an ignore ring; point-rbc is class rbc (2)', () => {
    const labels = rasterizeAnnotations(rbcPoint, pusRbcGrid);
    assert.deepEqual(rows(labels, 8), ['........', '..xxxx..', '.xxxxxx.', '.xx22xx.', '.xx22xx.', '.xxxxxx.', '..xxxx..', '........']);
  });
  test('a missedlabel box is all ignore; a class left out by --classes is background', () => {
    const labels = rasterizeAnnotations(
      image({
        boxes: [
          { image: 'a.png', label: 'missedlabel', xmin: 0, ymin: 0, xmax: 3, ymax: 2 },
          { image: 'a.png', label: 'rbc', xmin: 4, ymin: 4, xmax: 8, ymax: 8 },
        ],
      }),
      { width: 8, height: 8, classes: ['pus'], pointRadiusPx: {} },
    );
    assert.deepEqual(rows(labels, 8).slice(0, 3), ['xxx.....', 'xxx.....', '........']);
    assert.ok(
      labels.slice(32).every((v) => v === 0),
      'the rbc box is background',
    );
  });
  test('a 2×2 pus box listed before the 8×8 ep box it lies on keeps its core; so does one under an ep point disc', () => {
    const options = { width: 8, height: 8, classes: ['ep', 'pus'], pointRadiusPx: { ep: 4 }, coreFraction: 1 };
    const pus = { image: 'a.png', label: 'pus', xmin: 3, ymin: 3, xmax: 5, ymax: 5 };
    const underBox = rasterizeAnnotations(
      image({ boxes: [pus, { image: 'a.png', label: 'ep', xmin: 0, ymin: 0, xmax: 8, ymax: 8 }] }),
      options,
    );
    assert.deepEqual(rows(underBox, 8).slice(2, 6), ['11111111', '11122111', '11122111', '11111111']);
    const underPoint = rasterizeAnnotations(image({ boxes: [pus], points: [{ image: 'a.png', label: 'point-ep', x: 4, y: 4 }] }), options);
    assert.deepEqual(rows(underPoint, 8).slice(3, 5), ['11122111', '11122111']);
  });
  test('a COCO polygon is painted exactly, without a ring', () => {
    const labels = rasterizeAnnotations(image({ polygons: [{ image: 'a.png', label: 'pus', points: [0, 0, 4, 0, 4, 2, 0, 2] }] }), {
      width: 8,
      height: 8,
      classes: ['pus'],
      pointRadiusPx: {},
    });
    assert.deepEqual(rows(labels, 8).slice(0, 3), ['1111....', '1111....', '........']);
  });
});

describe('typicalRadii and classesOf', () => {
  const images = [
    image({
      boxes: [
        { image: 'a', label: 'pus', xmin: 0, ymin: 0, xmax: 10, ymax: 10 },
        { image: 'a', label: 'pus', xmin: 0, ymin: 0, xmax: 20, ymax: 20 },
        { image: 'a', label: 'pus', xmin: 0, ymin: 0, xmax: 30, ymax: 10 },
        { image: 'a', label: 'missedlabel', xmin: 0, ymin: 0, xmax: 3, ymax: 3 },
      ],
      points: [{ image: 'a', label: 'point-ep', x: 1, y: 1 }],
    }),
  ];
  test('classes from labels, point- merged, missedlabel left out, alphabetical', () => {
    assert.deepEqual(classesOf(images), ['ep', 'pus']);
  });
  test('median of (w + h) / 4 per class; a points-only class needs --cell-diameter', () => {
    assert.throws(() => typicalRadii(images, ['ep', 'pus']), /class ep is marked by points only: pass --cell-diameter/);
    assert.deepEqual(typicalRadii(images, ['pus']), { pus: 10 });
    assert.deepEqual(typicalRadii(images, ['ep', 'pus'], 12), { ep: 6, pus: 6 });
  });
});
