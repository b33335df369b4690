import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { maskToLabels, resolveMaskOptions, surveyMask } from '../../src/data/masks.js';
import { labelsToMask, parseValueMap } from '../../src/data/value-map.js';
import { equivalentDiameter, instanceAreas, labelComponents } from '../../src/image/components.js';
import { plane } from '../plane.js';
import type { RasterImage } from '../../src/image/types.js';

/** A one-channel 8-bit mask from rows of values. */
function mask8(rows: number[][]): RasterImage {
  return { width: rows[0].length, height: rows.length, channels: 1, bitDepth: 8, data: Uint8Array.from(rows.flat()) };
}
function mask16(rows: number[][]): RasterImage {
  return { width: rows[0].length, height: rows.length, channels: 1, bitDepth: 16, data: Uint16Array.from(rows.flat()) };
}
const labels = (m: { labels: Uint8Array }) => Array.from(m.labels);

describe('binary masks: polarity', () => {
  const whiteMinority = mask8([
    [0, 0, 0],
    [0, 255, 0],
    [0, 0, 0],
  ]);
  const blackMinority = mask8([
    [255, 255, 255],
    [255, 0, 255],
    [255, 255, 255],
  ]);

  test('auto, 0/255 with 255 the minority → white foreground, note says so', () => {
    const result = maskToLabels(whiteMinority);
    assert.deepEqual(labels(result), [0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert.equal(result.polarity, 'white');
    assert.match(result.note!, /foreground is white \(value 255\), the minority value \(11\.1% of pixels\)/);
  });

  test('auto, black cells on white (seed project, ISBI membranes) → black foreground', () => {
    const result = maskToLabels(blackMinority);
    assert.deepEqual(labels(result), [0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert.equal(result.polarity, 'black');
    assert.match(result.note!, /foreground is black \(value 0\)/);
  });

  test('explicit white on a black-minority mask → the majority is foreground, no note', () => {
    const result = maskToLabels(blackMinority, { polarity: 'white' });
    assert.deepEqual(labels(result), [1, 1, 1, 1, 0, 1, 1, 1, 1]);
    assert.equal(result.note, undefined);
  });

  test('explicit black on 0/255', () => {
    assert.deepEqual(labels(maskToLabels(whiteMinority, { polarity: 'black' })), [1, 1, 1, 1, 0, 1, 1, 1, 1]);
  });

  test('auto tie 2 vs 2 → white foreground', () => {
    assert.deepEqual(
      labels(
        maskToLabels(
          mask8([
            [0, 255],
            [255, 0],
          ]),
        ),
      ),
      [0, 1, 1, 0],
    );
  });

  test('0/1 mask (nnU-Net style) → 1 is foreground', () => {
    assert.deepEqual(labels(maskToLabels(mask8([[0, 0, 1]]))), [0, 0, 1]);
  });

  test('single value 255 → all background with a note', () => {
    const result = maskToLabels(mask8([[255, 255]]));
    assert.deepEqual(labels(result), [0, 0]);
    assert.match(result.note!, /single value 255: all background/);
  });

  test('dataset background 0 given: an all-255 mask is all foreground', () => {
    assert.deepEqual(labels(maskToLabels(mask8([[255, 255]]), { background: 0, polarity: 'white' })), [1, 1]);
  });

  test('RGB mask with R=G=B is read as gray', () => {
    const rgb: RasterImage = { width: 2, height: 1, channels: 3, bitDepth: 8, data: Uint8Array.from([0, 0, 0, 255, 255, 255]) };
    assert.deepEqual(labels(maskToLabels(rgb, { polarity: 'white' })), [0, 1]);
  });

  test('colour RGB mask fails naming file and pixel', () => {
    const rgb: RasterImage = { width: 2, height: 1, channels: 3, bitDepth: 8, data: Uint8Array.from([0, 0, 0, 255, 0, 0]) };
    assert.throws(() => maskToLabels(rgb, { file: 'masks/c.png' }), /masks\/c\.png is a colour image \(pixel x=1, y=0 is RGB 255,0,0\)/);
  });
});

describe('binary masks with more than two values', () => {
  test('0/128/255 regions 11x11 (WBC: 3-px cytoplasm ring around a 3x3 nucleus) → foreground = value > 0', () => {
    const rows = Array.from({ length: 11 }, (_, y) =>
      Array.from({ length: 11 }, (_, x) => {
        const ring = Math.max(Math.abs(x - 5), Math.abs(y - 5));
        return ring <= 1 ? 255 : ring <= 4 ? 128 : 0;
      }),
    );
    const result = maskToLabels(mask8(rows));
    assert.equal(labels(result).filter((v) => v === 1).length, 81);
    assert.match(result.note!, /background is value 0 .*values 128, 255 are foreground/);
  });

  test('anti-aliased edges (0/64/191/255 seams) fail listing the grays and suggesting --mask-threshold', () => {
    const mask = mask8([
      [0, 0, 0, 0, 0, 0],
      [0, 64, 191, 191, 64, 0],
      [0, 191, 255, 255, 191, 0],
      [0, 191, 255, 255, 191, 0],
      [0, 64, 191, 191, 64, 0],
      [0, 0, 0, 0, 0, 0],
    ]);
    assert.throws(
      () => maskToLabels(mask, { file: 'masks/aa.png' }),
      (error: Error) =>
        /masks\/aa\.png has 2 gray values between 0 and 255 along object edges \(191 \(8 px\), 64 \(4 px\)/.test(error.message) &&
        /--mask-threshold 128/.test(error.message),
    );
  });

  test('threshold 128 binarises anti-aliased values; auto picks the minority side', () => {
    const result = maskToLabels(mask8([[0, 64, 191, 255, 0, 0]]), { threshold: 128 });
    assert.deepEqual([labels(result), result.polarity], [[0, 0, 1, 1, 0, 0], 'white']);
  });
});

describe('16-bit masks', () => {
  test('instance ids 0/7/300 → instances kept, labels = id > 0', () => {
    const result = maskToLabels(
      mask16([
        [0, 7, 7],
        [300, 300, 0],
      ]),
    );
    assert.deepEqual(labels(result), [0, 1, 1, 1, 1, 0]);
    assert.deepEqual(Array.from(result.instances!), [0, 7, 7, 300, 300, 0]);
    assert.match(result.note!, /instance label image with 2 objects/);
  });

  test('0/65535 binary → polarity rule, no instances', () => {
    const result = maskToLabels(mask16([[0, 0, 65535]]));
    assert.deepEqual([labels(result), result.instances], [[0, 0, 1], undefined]);
  });

  test('instance mask with polarity black fails', () => {
    assert.throws(() => maskToLabels(mask16([[0, 1, 2]]), { polarity: 'black', file: 'm.tif' }), /m\.tif is an instance label image/);
  });
});

describe('multiclass masks', () => {
  const map = parseValueMap('0:background,128:cytoplasm,255:nucleus');

  test('value map 0/128/255 → classes 0/1/2', () => {
    const result = maskToLabels(mask8([[0, 128, 255, 0]]), { task: 'multiclass', valueMap: map.valueMap });
    assert.deepEqual([labels(result), result.classes], [[0, 1, 2, 0], 3]);
  });

  test('stray values fail listing each value and its pixel count', () => {
    assert.throws(
      () => maskToLabels(mask8([[0, 7, 7, 128, 44, 255]]), { task: 'multiclass', valueMap: map.valueMap, file: 'masks/034.png' }),
      /masks\/034\.png has 2 values not in the value map \(0, 128, 255\): 7 \(2 px\), 44 \(1 px\), 3 pixels in all.*--stray-values nearest/,
    );
  });

  test('stray values nearest: 7 → 0, 200 → 255', () => {
    const result = maskToLabels(mask8([[7, 200, 128]]), { task: 'multiclass', valueMap: map.valueMap, strayValues: 'nearest' });
    assert.deepEqual(labels(result), [0, 2, 1]);
    assert.match(result.note!, /snapped 2 pixels/);
  });

  test('value map with binary task → any non-background class is 1', () => {
    assert.deepEqual(labels(maskToLabels(mask8([[0, 128, 255]]), { valueMap: map.valueMap })), [0, 1, 1]);
  });

  test('class indices 0/1/2 without a map → used directly, 3 classes', () => {
    const result = maskToLabels(mask8([[0, 1, 2]]), { task: 'multiclass' });
    assert.deepEqual([labels(result), result.classes], [[0, 1, 2], 3]);
  });

  test('0/128/255 without a map fails suggesting a --value-map', () => {
    assert.throws(
      () => maskToLabels(mask8([[0, 128, 255]]), { task: 'multiclass', file: 'x.png' }),
      /--value-map 0:background,128:class1,255:class2/,
    );
  });

  test('single-valued mask 0 with a value map → all background, accepted', () => {
    assert.deepEqual(labels(maskToLabels(mask8([[0, 0]]), { task: 'multiclass', valueMap: map.valueMap })), [0, 0]);
  });
});

describe('parseValueMap', () => {
  test('"0:background,128:cytoplasm,255:nucleus"', () => {
    assert.deepEqual(parseValueMap('0:background,128:cytoplasm,255:nucleus'), {
      valueMap: { 0: 0, 128: 1, 255: 2 },
      classNames: ['background', 'cytoplasm', 'nucleus'],
    });
  });

  test('two values naming one class share its index', () => {
    assert.deepEqual(parseValueMap(' 0:bg, 1:bg ,255:cell').valueMap, { 0: 0, 1: 0, 255: 1 });
  });

  test('bad entry, duplicate value, single class all fail', () => {
    assert.throws(() => parseValueMap('0=bg,255=cell'), /cannot read '0=bg'/);
    assert.throws(() => parseValueMap('0:bg,0:cell'), /value 0 appears twice/);
    assert.throws(() => parseValueMap('0:bg'), /single class/);
  });
});

describe('labelsToMask', () => {
  test('binary white → 0/255, black → 255/0', () => {
    assert.deepEqual(Array.from(labelsToMask(plane(Uint8Array.from([0, 1]), 2, 1), {}).data), [0, 255]);
    assert.deepEqual(Array.from(labelsToMask(plane(Uint8Array.from([0, 1]), 2, 1), { polarity: 'black' }).data), [255, 0]);
  });

  test('value map inverse round-trips 0/128/255', () => {
    const { valueMap } = parseValueMap('0:background,128:cytoplasm,255:nucleus');
    const mask = labelsToMask(plane(Uint8Array.from([0, 1, 2]), 3, 1), { valueMap });
    assert.deepEqual(Array.from(mask.data), [0, 128, 255]);
    assert.deepEqual(labels(maskToLabels(mask, { task: 'multiclass', valueMap })), [0, 1, 2]);
  });

  test('multiclass without map → class indices', () => {
    assert.deepEqual(Array.from(labelsToMask(plane(Uint8Array.from([0, 2, 1]), 3, 1)).data), [0, 2, 1]);
  });

  test('multiclass without map, an image where only class 1 was found (0, 1, 1): indices 0, 1, 1 as on every other image, not 0/255', () => {
    assert.deepEqual(Array.from(labelsToMask(plane(Uint8Array.from([0, 1, 1]), 3, 1), { task: 'multiclass' }).data), [0, 1, 1]);
  });
});

describe('resolveMaskOptions: one polarity for the whole dataset', () => {
  test('mask A 255-minority, mask B 255-majority, overall 255 minority → white for both', () => {
    const a = mask8([[0, 0, 0, 0, 0, 255]]);
    const b = mask8([[0, 255, 255, 255, 255, 255]]);
    const c = mask8([[0, 0, 0, 0, 0, 0]]);
    const { options, note } = resolveMaskOptions(
      [a, b, c].map((m) => surveyMask(m)),
      {},
    );
    assert.deepEqual([options.background, options.polarity], [0, 'white']);
    assert.match(note!, /foreground is white/);
    assert.deepEqual(labels(maskToLabels(b, options)), [0, 1, 1, 1, 1, 1]);
  });

  test('threshold 100 with auto: the side with fewer pixels over all masks is foreground', () => {
    const { options, note } = resolveMaskOptions([surveyMask(mask8([[0, 0, 200]])), surveyMask(mask8([[0, 150, 220]]))], {
      threshold: 100,
    });
    assert.equal(options.polarity, 'white');
    assert.match(note!, /above the threshold 100/);
    assert.deepEqual(labels(maskToLabels(mask8([[10, 150, 220]]), options)), [0, 1, 1]);
  });

  test('instance masks do not vote', () => {
    const { options } = resolveMaskOptions([surveyMask(mask16([[0, 1, 2, 3]])), surveyMask(mask8([[255, 255, 0]]))], {});
    assert.equal(options.background, 255);
  });
});

describe('labelComponents', () => {
  const diagonal = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  test('3x3 diagonal: one component with 8-connectivity, three with 4', () => {
    assert.equal(labelComponents(plane(diagonal, 3, 3)).count, 1);
    const four = labelComponents(plane(diagonal, 3, 3), { connectivity: 4 });
    assert.deepEqual([four.count, instanceAreas(four.data)], [3, [1, 1, 1]]);
  });

  test('U shape merges two provisional labels into one', () => {
    const u = Uint8Array.from([1, 0, 1, 1, 0, 1, 1, 1, 1]);
    const result = labelComponents(plane(u, 3, 3));
    assert.deepEqual([result.count, instanceAreas(result.data)[0], Array.from(result.data)], [1, 7, [1, 0, 1, 1, 0, 1, 1, 1, 1]]);
  });

  test('instanceAreas and equivalentDiameter', () => {
    assert.deepEqual(instanceAreas(Int32Array.from([0, 5, 5, 9])), [2, 1]);
    assert.ok(Math.abs(equivalentDiameter(Math.PI * 25) - 10) < 1e-9);
  });
});
