import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  SCALE_LIMITS,
  WORKING_DIAMETER_PX,
  chooseWorkingDiameter,
  normalizeObjectSizes,
  objectScaleOf,
  resampleSample,
  sampleObjectDiameter,
} from '../../src/data/object-scale.js';
import type { Sample } from '../../src/data/types.js';
import { PyocyteError } from '../../src/util/errors.js';
import { discs } from '../image/discs.js';

/** A sample `[size, size]` of bright discs of `diameter` px on a grid, with instance ids 1…n. */
function discSample(size: number, diameter: number, options: { instances?: boolean; pixelSizeUm?: number } = {}): Sample {
  const ids = discs(size, diameter).data;
  return {
    stem: `discs-${diameter}`,
    image: { width: size, height: size, channels: 1, data: Float32Array.from(ids, (v) => (v > 0 ? 1 : 0)) },
    labels: Uint8Array.from(ids, (v) => (v > 0 ? 1 : 0)),
    ...(options.instances === false ? {} : { instances: ids }),
    ...(options.pixelSizeUm !== undefined ? { pixelSizeUm: options.pixelSizeUm } : {}),
  };
}

describe('resampleSample', () => {
  test('a 2×2 literal at scale 2: 4×4, labels and instances by nearest neighbour, pixel size 1 µm → 0.5 µm', () => {
    const sample: Sample = {
      stem: 'a',
      image: { width: 2, height: 2, channels: 1, data: Float32Array.from([0, 1, 1, 0]) },
      labels: Uint8Array.from([0, 1, 1, 0]),
      instances: Int32Array.from([0, 7, 9, 0]),
      pixelSizeUm: 1,
    };
    const scaled = resampleSample(sample, 2);
    assert.deepEqual([scaled.image.width, scaled.image.height], [4, 4]);
    assert.deepEqual([...scaled.labels], [0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0]);
    assert.deepEqual([...scaled.instances!], [0, 0, 7, 7, 0, 0, 7, 7, 9, 9, 0, 0, 9, 9, 0, 0]);
    assert.equal(scaled.pixelSizeUm, 0.5);
    assert.equal(resampleSample(sample, 1), sample);
  });
});

describe('objectScaleOf and normalizeObjectSizes', () => {
  test('discs of 12 px: scale 2 to reach 24 px; no objects: 1; 3-px discs: capped at the ×4 limit', () => {
    assert.ok(Math.abs(objectScaleOf(discSample(96, 12), 24) - 2) < 0.1);
    const empty = { ...discSample(32, 8), instances: new Int32Array(32 * 32), labels: new Uint8Array(32 * 32) };
    assert.equal(objectScaleOf(empty, 24), 1);
    assert.equal(objectScaleOf(discSample(64, 3), 24), SCALE_LIMITS.max);
  });

  test('binary labels without instances are measured by their connected components', () => {
    const d = sampleObjectDiameter(discSample(96, 16, { instances: false }));
    assert.ok(d !== undefined && Math.abs(d - 16) < 1, `diameter ${d}`);
  });

  test('images of 12-px and 48-px discs both come out with median objects within 2 px of 24', () => {
    const { samples, scales } = normalizeObjectSizes([discSample(96, 12), discSample(240, 48)], 24);
    assert.ok(Math.abs(scales[0] - 2) < 0.1 && Math.abs(scales[1] - 0.5) < 0.03, `scales ${scales}`);
    for (const s of samples) {
      const d = sampleObjectDiameter(s)!;
      assert.ok(Math.abs(d - 24) < 2, `${s.stem}: ${d} px`);
      assert.equal(s.labels.length, s.image.width * s.image.height);
    }
  });
});

describe('chooseWorkingDiameter', () => {
  const training = [discSample(96, 10), discSample(128, 16), discSample(160, 24)];
  const notes: string[] = [];
  const note = (text: string) => notes.push(text);

  test(`instance labels, no pixel size, σ* telling the disc sizes: on at ${WORKING_DIAMETER_PX} px with a σ* calibration`, () => {
    const chosen = chooseWorkingDiameter(training, {}, note);
    assert.equal(chosen?.diameterPx, WORKING_DIAMETER_PX);
    assert.ok(chosen?.diameterPerSigma && chosen.diameterPerSigma.median > 2, JSON.stringify(chosen));
  });

  test('--working-diameter 0: native resolution; 30: that diameter', () => {
    assert.equal(chooseWorkingDiameter(training, { workingDiameterPx: 0 }, note), undefined);
    assert.equal(chooseWorkingDiameter(training, { workingDiameterPx: 30 }, note)?.diameterPx, 30);
  });

  test('binary masks without instance labels: off by default, on when asked', () => {
    const binary = training.map((s) => ({ ...s, instances: undefined }));
    assert.equal(chooseWorkingDiameter(binary, {}, note), undefined);
    assert.equal(chooseWorkingDiameter(binary, { workingDiameterPx: 20 }, note)?.diameterPx, 20);
  });

  test('a known pixel size: off by default; given with --working-diameter, an error naming both', () => {
    const withPixelSize = training.map((s) => ({ ...s, pixelSizeUm: 0.5 }));
    assert.equal(chooseWorkingDiameter(withPixelSize, {}, note), undefined);
    assert.throws(
      () => chooseWorkingDiameter(withPixelSize, { workingDiameterPx: 24 }, note),
      (e: unknown) => e instanceof PyocyteError && /--working-diameter.*pixel size/.test(e.message),
    );
  });

  test('blank images (no characteristic scale): off by default with a note saying why', () => {
    const blank = training.map((s) => ({ ...s, image: { ...s.image, data: new Float32Array(s.image.data.length) } }));
    notes.length = 0;
    assert.equal(chooseWorkingDiameter(blank, {}, note), undefined);
    assert.match(notes.join('\n'), /native resolution: the images' characteristic scale does not tell their object sizes/);
  });
});
