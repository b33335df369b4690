import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  buildCurvesSvg,
  renderCurvesPng,
  niceTicks,
  formatTick,
  finiteSegments,
  legendCorner,
  type CurveFigure,
} from '../../src/io/plot.js';
import { PyocyteError } from '../../src/util/errors.js';

const loss: [number, number][] = [
  [1, 0.9],
  [2, 0.5],
  [3, NaN],
  [4, 0.31],
  [5, 0.25],
];

function figure(panels: CurveFigure['panels']): CurveFigure {
  return { title: 'run <1> & "friends"', xLabel: 'epoch', panels };
}

describe('ticks', () => {
  test('niceTicks 0..1, 0.13..0.87, 1..40, -3..7', () => {
    assert.deepEqual(niceTicks(0, 1), { ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], step: 0.2 });
    assert.deepEqual(niceTicks(1, 40).ticks, [10, 20, 30, 40]);
    assert.deepEqual(niceTicks(-3, 7).ticks, [-2, 0, 2, 4, 6]);
    assert.equal(niceTicks(0.13, 0.87).step, 0.2);
  });

  test('niceTicks rejects min=max', () => {
    assert.throws(() => niceTicks(1, 1), PyocyteError);
  });

  test('formatTick 0.6000000000000001 step 0.2, 2000 step 500, 0.25 step 0.05, 0.001 step 0.00005, -1e-17 step 0.1', () => {
    assert.equal(formatTick(0.6000000000000001, 0.2), '0.6');
    assert.equal(formatTick(2000, 500), '2000');
    assert.equal(formatTick(0.25, 0.05), '0.25');
    assert.equal(formatTick(0.001, 0.00005), '1.0e-3');
    assert.equal(formatTick(-1e-17, 0.1), '0');
  });
});

describe('geometry helpers', () => {
  test('finiteSegments breaks at NaN and sorts by x', () => {
    assert.deepEqual(
      finiteSegments([
        [2, 0.5],
        [1, 0.9],
        [3, NaN],
        [5, 0.25],
        [4, 0.31],
      ]),
      [
        [
          [1, 0.9],
          [2, 0.5],
        ],
        [
          [4, 0.31],
          [5, 0.25],
        ],
      ],
    );
    assert.deepEqual(finiteSegments([[1, NaN]]), []);
  });

  test('legendCorner avoids a curve through the top-right corner', () => {
    const plot = { left: 0, top: 0, right: 100, bottom: 100 };
    assert.deepEqual(
      legendCorner(plot, 30, 10, 2, [
        [90, 5],
        [95, 6],
      ]),
      { left: 2, top: 2 },
    );
    assert.deepEqual(legendCorner(plot, 30, 10, 2, []), { left: 68, top: 2 });
  });
});

describe('buildCurvesSvg', () => {
  const svg = buildCurvesSvg(
    figure([
      {
        title: 'Loss',
        yLabel: 'loss',
        lines: [
          { name: 'train', points: loss },
          {
            name: 'validation',
            points: [
              [1, 1],
              [5, 0.4],
            ],
          },
        ],
      },
      {
        title: 'Dice',
        yLabel: 'Dice',
        yRange: [0, 1],
        lines: [
          {
            name: 'val dice',
            points: [
              [1, 0.5],
              [5, 0.9],
            ],
          },
        ],
      },
      { title: 'IoU', yLabel: 'IoU', lines: [{ name: 'single', points: [[3, 0.7]] }] },
      {
        title: 'Accuracy',
        yLabel: 'accuracy',
        lines: [
          {
            name: 'flat',
            points: [
              [1, 0.95],
              [5, 0.95],
            ],
          },
        ],
      },
    ]),
    { width: 800, height: 600 },
  );

  test('legend names, titles and escaped figure title are present', () => {
    for (const name of ['train', 'validation', 'val dice', 'single', 'flat', 'Loss', 'Dice', 'IoU', 'Accuracy'])
      assert.ok(svg.includes(`>${name}</text>`), name);
    assert.ok(svg.includes('run &lt;1&gt; &amp; &quot;friends&quot;'));
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"'));
  });

  test('tick labels: Dice 0..1 by 0.2, loss axis 0.2..1, epochs 1..5', () => {
    for (const label of ['0.2', '0.4', '0.6', '0.8', '1.0', '2', '5']) assert.ok(svg.includes(`>${label}</text>`), label);
  });

  test('NaN splits the train curve into two polylines; the single point is a circle', () => {
    assert.equal(svg.match(/<polyline /g)?.length, 2 + 1 + 1 + 1);
    assert.ok(!svg.includes('NaN'));
    assert.ok(svg.includes('<circle '));
  });

  test('deterministic', () => {
    assert.equal(
      buildCurvesSvg(figure([{ title: 'Loss', yLabel: 'loss', lines: [{ name: 'train', points: loss }] }])),
      buildCurvesSvg(figure([{ title: 'Loss', yLabel: 'loss', lines: [{ name: 'train', points: loss }] }])),
    );
  });

  test('a panel with no finite points says "no data"', () => {
    assert.ok(
      buildCurvesSvg(figure([{ title: 'Empty', yLabel: 'y', lines: [{ name: 'x', points: [[1, NaN]] }] }])).includes('>no data</text>'),
    );
  });

  test('size 100x100 and empty yRange are rejected', () => {
    assert.throws(() => buildCurvesSvg(figure([]), { width: 100, height: 100 }), /at least 200×150/);
    assert.throws(() => buildCurvesSvg(figure([{ title: 'Dice', yLabel: 'd', yRange: [1, 1], lines: [] }])), /empty yRange/);
  });
});

describe('renderCurvesPng', () => {
  test('600x400 PNG with two panels', async () => {
    const png = await renderCurvesPng(
      figure([
        { title: 'Loss', yLabel: 'loss', lines: [{ name: 'train', points: loss }] },
        {
          title: 'Dice',
          yLabel: 'Dice',
          lines: [
            {
              name: 'val',
              points: [
                [1, 0.5],
                [5, 0.9],
              ],
            },
          ],
        },
      ]),
      { width: 600, height: 400 },
    );
    const metadata = await sharp(png).metadata();
    assert.equal(metadata.format, 'png');
    assert.deepEqual([metadata.width, metadata.height], [600, 400]);
  });
});
