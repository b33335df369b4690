import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { refineLabels } from '../../../src/data/annotations/refine.js';
import { rasterizeAnnotations } from '../../../src/data/annotations/rasterize.js';
import { image, pusRbcGrid, rbcPoint, rows } from './literals.js';

/** A predicted class map from rows of characters (`.` background, digits classes). */
const grid = (lines: string[]) => Uint8Array.from(lines.join('').split(''), (c) => (c === '.' ? 0 : Number(c)));

const box = { image: 'a.png', label: 'pus', xmin: 1, ymin: 1, xmax: 7, ymax: 7 };
const oneBox = image({ boxes: [box] });
const pusGrid = { width: 8, height: 8, classes: ['pus'], pointRadiusPx: {}, coreFraction: 0.6 };
const square = grid(['........', '........', '..1111..', '..1111..', '..1111..', '..1111..', '........', '........']);

describe('refineLabels on literal grids', () => {
  test('a 6×6 box with a predicted 4×4 cell, no edge band: the cell, and background for the rest of the box', () => {
    const { labels, counts } = refineLabels(oneBox, square, { ...pusGrid, edgeBandPx: 0 });
    assert.deepEqual(rows(labels, 8), ['........', '........', '..1111..', '..1111..', '..1111..', '..1111..', '........', '........']);
    assert.deepEqual(counts, { refined: 1, kept: 0 });
  });
  test('the same with a 1-px edge band: the band around the cell stays ignored', () => {
    const { labels } = refineLabels(oneBox, square, { ...pusGrid, edgeBandPx: 1 });
    assert.deepEqual(rows(labels, 8), ['........', '.xxxxxx.', '.x1111x.', '.x1111x.', '.x1111x.', '.x1111x.', '.xxxxxx.', '........']);
  });
  test('a piece of the class not connected to the core (a neighbour) is neither the cell nor background', () => {
    const corner = grid(['........', '.1......', '..1111..', '..1111..', '..1111..', '..1111..', '........', '........']);
    const { labels } = refineLabels(oneBox, corner, { ...pusGrid, edgeBandPx: 0 });
    assert.deepEqual(rows(labels, 8).slice(0, 3), ['........', '.x......', '..1111..']);
  });
  test('a cell the model missed, or one filling its whole box, keeps the drawn core and ring', () => {
    const drawn = rows(rasterizeAnnotations(oneBox, pusGrid), 8);
    for (const predicted of [new Uint8Array(64), new Uint8Array(64).fill(1)]) {
      const { labels, counts } = refineLabels(oneBox, predicted, { ...pusGrid, edgeBandPx: 0 });
      assert.deepEqual(rows(labels, 8), drawn);
      assert.deepEqual(counts, { refined: 0, kept: 1 });
    }
  });
  test('a point-rbc (class 2) takes its predicted outline within the ring; the rest of the ring stays ignored', () => {
    const predicted = grid(['........', '........', '...22...', '..222...', '..2222..', '...22...', '........', '........']);
    const { labels } = refineLabels(rbcPoint, predicted, { ...pusRbcGrid, edgeBandPx: 0 });
    assert.deepEqual(rows(labels, 8), ['........', '..xxxx..', '.xx22xx.', '.x222xx.', '.x2222x.', '.xx22xx.', '..xxxx..', '........']);
  });
  test('a refined box never clears pixels of an overlapping box that kept its drawn core', () => {
    const predicted = grid(['..........', '.11.......', '.11.......', '..........', '..........', '..........']);
    const boxes = [
      { image: 'a.png', label: 'pus', xmin: 0, ymin: 0, xmax: 4, ymax: 4 },
      { image: 'a.png', label: 'pus', xmin: 3, ymin: 1, xmax: 8, ymax: 6 },
    ];
    const { labels, counts } = refineLabels(image({ boxes }), predicted, { ...pusGrid, width: 10, height: 6, edgeBandPx: 0 });
    assert.deepEqual(rows(labels, 10), ['..........', '.11xxxxx..', '.11x111x..', '...x111x..', '...x111x..', '...xxxxx..']);
    assert.deepEqual(counts, { refined: 1, kept: 1 });
  });
  test('a missedlabel box stays ignored under a refined neighbour', () => {
    const boxes = [box, { image: 'a.png', label: 'missedlabel', xmin: 0, ymin: 0, xmax: 2, ymax: 2 }];
    const { labels } = refineLabels(image({ boxes }), square, { ...pusGrid, edgeBandPx: 0 });
    assert.deepEqual(rows(labels, 8).slice(0, 3), ['xx......', 'xx......', '..1111..']);
  });
  test('a prediction of the wrong size is an error', () => {
    assert.throws(() => refineLabels(oneBox, new Uint8Array(10), pusGrid), /10 pixels, not 8×8/);
  });
});
