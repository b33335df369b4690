import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { drawOverlay } from '../../src/image/overlay.js';
import type { FloatImage, RasterImage } from '../../src/image/types.js';
import { PyocyteError } from '../../src/util/errors.js';

const gray = (value: number): FloatImage => ({ width: 6, height: 6, channels: 1, data: new Float32Array(36).fill(value) });
const rows = (...r: string[]): number[] => r.join('').split('').map(Number);
/** Which pixels differ from the background colour `rgb`, as a 6×6 string grid. */
const painted = (image: RasterImage, rgb: number[]): string[] =>
  Array.from({ length: 6 }, (_, y) =>
    Array.from({ length: 6 }, (_, x) => {
      const i = (y * 6 + x) * 3;
      return [0, 1, 2].every((c) => image.data[i + c] === rgb[c]) ? '.' : '#';
    }).join(''),
  );

describe('drawOverlay', () => {
  const instances = Int32Array.from(rows('000000', '011100', '011100', '011122', '000022', '000000'));

  test('6x6 gray 0.5 with a 3x3 and a 2x2 instance: contours yellow, centre and background untouched', () => {
    const out = drawOverlay(gray(0.5), instances);
    assert.deepEqual([out.width, out.height, out.channels, out.bitDepth], [6, 6, 3, 8]);
    assert.deepEqual(painted(out, [128, 128, 128]), ['......', '.###..', '.#.#..', '.#####', '....##', '......']);
    assert.deepEqual([...out.data.subarray((1 * 6 + 1) * 3, (1 * 6 + 1) * 3 + 3)], [255, 255, 0]);
  });

  test('fillAlpha=0.5 blends the interior pixel halfway to the colour', () => {
    const out = drawOverlay(gray(0.5), instances, { fillAlpha: 0.5, color: [255, 255, 0] });
    const i = (2 * 6 + 2) * 3;
    assert.deepEqual([...out.data.subarray(i, i + 3)], [192, 192, 64]);
  });

  test('class map (Uint8Array) draws class 1 in color and class 2 in the first palette colour', () => {
    const classes = Uint8Array.from(instances);
    const out = drawOverlay(gray(0), classes, { palette: [[0, 0, 255]] });
    const at = (x: number, y: number): number[] => [...out.data.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3)];
    assert.deepEqual(at(1, 1), [255, 255, 0]);
    assert.deepEqual(at(5, 4), [0, 0, 255]);
    assert.deepEqual(at(0, 0), [0, 0, 0]);
  });

  test('thickness=2 on a 5x5 block in the corner: two pixel rings inside, image edges not outlined', () => {
    const block = Int32Array.from(rows('111110', '111110', '111110', '111110', '111110', '000000'));
    assert.deepEqual(painted(drawOverlay(gray(0), block, { thickness: 2 }), [0, 0, 0]), [
      '...##.',
      '...##.',
      '...##.',
      '#####.',
      '#####.',
      '......',
    ]);
  });

  test('16-bit RGB raster is stretched min→0, max→255', () => {
    const data = new Uint16Array(36 * 3).fill(1000);
    data[0] = 100;
    data[1] = 4000;
    const out = drawOverlay({ width: 6, height: 6, channels: 3, bitDepth: 16, data }, new Int32Array(36));
    assert.deepEqual([out.data[0], out.data[1]], [0, 255]);
    assert.equal(out.data[3], Math.round((900 * 255) / 3900));
  });

  test('label map of the wrong size is a PyocyteError', () => {
    assert.throws(() => drawOverlay(gray(0), new Int32Array(35)), PyocyteError);
  });
});

describe('drawOverlay with classes', () => {
  test('two touching instances of classes 1 and 2: contours yellow and cyan', () => {
    const instances = Int32Array.from([1, 1, 2, 2, 1, 1, 2, 2]);
    const classes = Uint8Array.from([1, 1, 2, 2, 1, 1, 2, 2]);
    const image: FloatImage = { width: 4, height: 2, channels: 1, data: new Float32Array(8) };
    const out = drawOverlay(image, instances, { classes });
    const colour = (p: number) => [...out.data.subarray(p * 3, p * 3 + 3)];
    assert.deepEqual(colour(1), [255, 255, 0]);
    assert.deepEqual(colour(2), [0, 255, 255]);
  });
});
