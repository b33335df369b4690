import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeScales } from '../../src/io/reports.js';

describe('describeScales', () => {
  const summary = { images: 4, rescaled: 2, minScale: 0.5, medianScale: 1, maxScale: 2 };

  test('4 images, 2 rescaled, sizes from the characteristic scale for all, 1, none, or not recorded', () => {
    assert.equal(
      describeScales({ ...summary, fromCharacteristicScale: 4 }),
      '2 of 4 images rescaled to the training object size (scales 0.5–2, median 1); object sizes from the characteristic scale',
    );
    assert.match(describeScales({ ...summary, fromCharacteristicScale: 1 }), /characteristic scale for 1, a first pass for the rest$/);
    assert.match(describeScales({ ...summary, fromCharacteristicScale: 0 }), /; object sizes from a first pass$/);
    assert.match(describeScales(summary), /median 1\)$/);
    assert.match(
      describeScales({ ...summary, fromCharacteristicScale: 0, fromScaleSearch: 2 }),
      /a first pass \(for 2, it found no objects or ones far from the training sizes, and a scale search from ×0\.25 to ×4 decided\)$/,
    );
  });
});
