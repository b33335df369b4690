import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  borderArea,
  objectDiameters,
  perImageMedianPercentiles,
  MAX_SPECTRUM_SPREAD,
  sizeDistribution,
  spectrumCalibration,
  trainingObjectSizes,
} from '../../src/data/object-sizes.js';
import { resampleLabels } from '../../src/image/resample.js';
import {
  SCALE_LIMITS,
  chooseScale,
  closestProbe,
  describeScale,
  estimateObjectDiameter,
  pixelSizeWarning,
  predictAtObjectScale,
  scaleSummary,
  towardsMedian,
  upscaleLimit,
} from '../../src/infer/rescale.js';
import { unet } from '../../src/nn/model.js';
import { createEngine } from '../../src/engine/index.js';
import { discs } from '../image/discs.js';

const TRAINING = { medianPx: 20, lowerQuartilePx: 18, upperQuartilePx: 22, objects: 50 };

/** The discs of {@link discs} as a bright-on-dark image `[size, size, 1]`. */
function discImage(size: number, diameter: number) {
  return { width: size, height: size, channels: 1, data: Float32Array.from(discs(size, diameter).data, (v) => (v > 0 ? 1 : 0)) };
}

describe('objectDiameters and sizeDistribution', () => {
  test('discs of diameter 20 in 128²: every diameter within 0.5 px of 20', () => {
    const diameters = objectDiameters(discs(128, 20));
    assert.ok(diameters.length >= 9, `${diameters.length} discs`);
    for (const d of diameters) assert.ok(Math.abs(d - 20) < 0.5, `diameter ${d}`);
  });

  test('a disc cut by the border is left out while a whole one exists', () => {
    const image = discs(64, 12);
    image.data[0] = 99; // a one-pixel object in the corner
    assert.ok(objectDiameters(image).every((d) => d > 10));
  });

  test('only border objects: they are measured rather than nothing', () => {
    const data = new Int32Array(16).fill(1);
    assert.deepEqual(objectDiameters({ width: 4, height: 4, data }), [2 * Math.sqrt(16 / Math.PI)]);
  });

  test('literal diameters 1…5 weighted by area (1, 4, 9, 16, 25 of 55): quartiles 3 and 5, median 4; none: undefined', () => {
    assert.deepEqual(sizeDistribution([5, 1, 4, 2, 3]), { medianPx: 4, lowerQuartilePx: 3, upperQuartilePx: 5, objects: 5 });
    assert.equal(sizeDistribution([]), undefined);
  });

  test('ten specks of 2 px beside one 20-px cell: the area-weighted median is the cell', () => {
    assert.equal(sizeDistribution([20, ...Array(10).fill(2)])!.medianPx, 20);
  });

  test('trainingObjectSizes: binary labels of discs of diameter 16 give a median near 16', () => {
    const ids = discs(96, 16);
    const labels = Uint8Array.from(ids.data, (v) => (v > 0 ? 1 : 0));
    const image = { width: 96, height: 96, channels: 1, data: new Float32Array(96 * 96) };
    const sizes = trainingObjectSizes([{ stem: 'a', image, labels }])!;
    assert.ok(Math.abs(sizes.medianPx - 16) < 0.5, `median ${sizes.medianPx}`);
    assert.equal(sizes.from, 'components');
    assert.equal(trainingObjectSizes([{ stem: 'a', image, labels, instances: ids.data }])!.from, 'instances');
  });

  test('trainingObjectSizes of weak labels: discs of 16 px in touching 255 rings are measured by their cores', () => {
    const ids = discs(96, 16);
    // Every pixel not in a core is ignored (255), so the rings of all cells form one component.
    const labels = Uint8Array.from(ids.data, (v) => (v > 0 ? 1 : 255));
    const image = { width: 96, height: 96, channels: 1, data: new Float32Array(96 * 96) };
    const sizes = trainingObjectSizes([{ stem: 'weak', image, labels }])!;
    assert.ok(Math.abs(sizes.medianPx - 16) < 0.5, `median ${sizes.medianPx}`);
  });

  test('borderArea of a 4×3 literal: object 1 (3 px) touches the border, object 2 (1 px) does not', () => {
    // biome-ignore format: a 4×3 image
    const data = Int32Array.of(
      1, 1, 0, 0,
      1, 0, 2, 0,
      0, 0, 0, 0,
    );
    assert.deepEqual(borderArea({ width: 4, height: 3, data }), { foregroundPx: 4, onBorderPx: 3 });
  });

  test('trainingObjectSizes of a membrane-like 64×64 mask (1-px lines at x, y = 16 and 48): no object size', () => {
    const size = 64;
    const onLine = (v: number) => v % 32 === 16;
    const labels = Uint8Array.from({ length: size * size }, (_, i) => (onLine(i % size) || onLine(Math.floor(i / size)) ? 0 : 1));
    const image = { width: size, height: size, channels: 1, data: new Float32Array(size * size) };
    // Only the middle 31×31 region is inside: 961 of 3844 foreground pixels, 75 % on the border.
    assert.equal(trainingObjectSizes([{ stem: 'em', image, labels }]), undefined);
    // The same cells away from the border (a 2-px background frame) have a size again.
    const framed = Uint8Array.from(labels, (v, i) => {
      const x = i % size;
      const y = Math.floor(i / size);
      return x < 2 || y < 2 || x >= size - 2 || y >= size - 2 ? 0 : v;
    });
    assert.ok(trainingObjectSizes([{ stem: 'em', image, labels: framed }])!.medianPx > 10);
  });
});

describe('spectrumCalibration: object diameter from the characteristic scale', () => {
  test('literal ratios 2.0 … 2.8 of 5 measured images: median 2.4, p10 2.08, p90 2.72', () => {
    assert.deepEqual(spectrumCalibration([2.8, 2.0, 2.4, 2.2, 2.6], 5), { median: 2.4, p10: 2.08, p90: 2.72, images: 5 });
  });

  test(`ratios spread past ×${MAX_SPECTRUM_SPREAD} (1 … 4), or σ* in only 2 of 5 images: no calibration`, () => {
    assert.equal(spectrumCalibration([1, 2, 3, 4], 4), undefined);
    assert.equal(spectrumCalibration([2.4, 2.5], 5), undefined);
    assert.equal(spectrumCalibration([], 0), undefined);
  });

  test('trainingObjectSizes of disc images (8, 12, 16 px in 96²): diameter ≈ 2.8–3.1 σ*, 3 images', () => {
    const samples = [8, 12, 16].map((d, i) => {
      const ids = discs(96, d);
      return { stem: `s${i}`, image: discImage(96, d), labels: Uint8Array.from(ids.data, (v) => (v > 0 ? 1 : 0)), instances: ids.data };
    });
    const calibration = trainingObjectSizes(samples, { calibrateSpectrum: true })!.diameterPerSigma!;
    assert.equal(calibration.images, 3);
    assert.ok(calibration.median > 2.7 && calibration.median < 3.2, JSON.stringify(calibration));
  });

  test('blank training images have no characteristic scale: no calibration; disc images without calibrateSpectrum: none', () => {
    const ids = discs(96, 16);
    const labels = Uint8Array.from(ids.data, (v) => (v > 0 ? 1 : 0));
    const image = { width: 96, height: 96, channels: 1, data: new Float32Array(96 * 96) };
    assert.equal(trainingObjectSizes([{ stem: 'a', image, labels }], { calibrateSpectrum: true })!.diameterPerSigma, undefined);
    assert.equal(trainingObjectSizes([{ stem: 'a', image: discImage(96, 16), labels }])!.diameterPerSigma, undefined);
  });
});

describe('estimateObjectDiameter and chooseScale', () => {
  const native = discs(160, 20);
  for (const factor of [0.5, 2]) {
    test(`discs of diameter 20 resampled ${factor}×: estimate within 5% of ${20 * factor}, scale back within 5% of ${1 / factor}`, () => {
      const size = Math.round(160 * factor);
      const resampled = resampleLabels(native, { width: size, height: size });
      const estimate = estimateObjectDiameter(resampled)!;
      assert.ok(Math.abs(estimate - 20 * factor) / (20 * factor) < 0.05, `estimate ${estimate}`);
      const scale = chooseScale(estimate, TRAINING);
      assert.ok(Math.abs(scale * factor - 1) < 0.05, `scale ${scale}`);
    });
  }

  test('an estimate within the training quartiles or 15% of the median keeps scale 1', () => {
    assert.equal(chooseScale(estimateObjectDiameter(native), TRAINING), 1);
    assert.equal(chooseScale(18, TRAINING), 1);
    assert.equal(chooseScale(22.5, TRAINING), 1);
  });

  test('no objects: scale 1; absurd sizes: clamped to the scale limits', () => {
    assert.equal(estimateObjectDiameter({ width: 3, height: 3, data: new Int32Array(9) }), undefined);
    assert.equal(chooseScale(undefined, TRAINING), 1);
    assert.equal(chooseScale(1, TRAINING), SCALE_LIMITS.max);
    assert.equal(chooseScale(1000, TRAINING), SCALE_LIMITS.min);
  });

  test('mixed sizes (per-image medians p5 11, p25 14, p75 30, p95 48; pooled median 36): 9.6–55.2 px (±15%) stay native, 6 px goes to 14, 96 px to 30', () => {
    const mixed = {
      medianPx: 36,
      lowerQuartilePx: 27,
      upperQuartilePx: 52,
      objects: 900,
      perImageMedianPx: { p5: 11, p25: 14, p75: 30, p95: 48 },
    };
    for (const d of [9.6, 11, 15, 36, 48, 55]) assert.equal(chooseScale(d, mixed), 1);
    assert.equal(chooseScale(6, mixed), 14 / 6);
    assert.equal(chooseScale(96, mixed), 30 / 96);
  });

  test('perImageMedianPercentiles of medians 10, 20, …, 100: p5 14.5, p95 95.5; none: undefined', () => {
    assert.deepEqual(perImageMedianPercentiles([100, 10, 20, 30, 40, 50, 60, 70, 80, 90]), { p5: 14.5, p25: 32.5, p75: 77.5, p95: 95.5 });
    assert.equal(perImageMedianPercentiles([]), undefined);
  });

  test('trainingObjectSizes of two images, discs of 10 and of 30 px: per-image medians near 10 and 30', () => {
    const samples = [10, 30].map((d, i) => {
      const ids = discs(128, d);
      return {
        stem: `s${i}`,
        image: { width: 128, height: 128, channels: 1, data: new Float32Array(128 * 128) },
        labels: Uint8Array.from(ids.data, (v) => (v > 0 ? 1 : 0)),
        instances: ids.data,
      };
    });
    const sizes = trainingObjectSizes(samples)!.perImageMedianPx!;
    assert.ok(Math.abs(sizes.p5 - 10) < 2 && Math.abs(sizes.p95 - 30) < 2, JSON.stringify(sizes));
  });

  test('upscaling a 4096² image is capped at 1, a 1024² one at 4; maxScale 1.5 caps chooseScale', () => {
    assert.equal(upscaleLimit({ width: 4096, height: 4096 }), 1);
    assert.equal(upscaleLimit({ width: 8192, height: 8192 }), 1);
    assert.equal(upscaleLimit({ width: 1024, height: 1024 }), 4);
    assert.equal(chooseScale(5, TRAINING, 1.5), 1.5);
  });

  test('closestProbe, training 17.4–23 px: 19 px at 2× beats 21 px at 4× (both in range, 2× nearer native); out of range, the nearer wins; none: undefined', () => {
    const chosen = (...probes: [number, number | undefined][]) =>
      closestProbe(
        probes.map(([scale, diameterPx]) => ({ scale, diameterPx })),
        TRAINING,
      )?.scale;
    assert.equal(chosen([1, undefined], [0.5, 9], [2, 19], [4, 21]), 2);
    assert.equal(chosen([4, 50], [2, 30]), 2);
    assert.equal(chosen([0.5, 12], [0.25, 14]), 0.25);
    assert.equal(chosen([0.5, 20], [2, 20]), 0.5, 'a tie goes to the earlier');
    assert.equal(chosen([1, undefined]), undefined);
  });

  test('towardsMedian to 24 px: 20 px → 1.2, 48 px → 0.5, 23 px and 25 px (within 7 %) → 1, no objects → 1', () => {
    assert.equal(towardsMedian(20, 24), 1.2);
    assert.equal(towardsMedian(48, 24), 0.5);
    assert.equal(towardsMedian(23, 24), 1);
    assert.equal(towardsMedian(25, 24), 1);
    assert.equal(towardsMedian(undefined, 24), 1);
  });

  test('scaleSummary of 1, 2, 0.5: 2 of 3 rescaled, 0.5–2, median 1', () => {
    assert.deepEqual(scaleSummary([1, 2, 0.5]), { images: 3, rescaled: 2, minScale: 0.5, medianScale: 1, maxScale: 2 });
  });
});

/** The training object sizes, with σ*'s calibration, of one 128² training image of 20-px discs. */
function calibratedOnDiscsOf20Px() {
  const ids = discs(128, 20);
  const trained = { stem: 't', image: discImage(128, 20), labels: Uint8Array.from(ids.data, (v) => (v > 0 ? 1 : 0)), instances: ids.data };
  return trainingObjectSizes([trained], { calibrateSpectrum: true })!;
}

describe('predictAtObjectScale', () => {
  const model = unet({ inChannels: 1, classes: 1, depth: 2, filters: 4 }, { engine: createEngine({ backend: 'reference' }), seed: 1 });
  const image = { width: 64, height: 64, channels: 1, data: new Float32Array(64 * 64).fill(0.5) };
  // Objects whose size follows the map's resolution, as real cells do: 10 px across at native size.
  const instancesOf = (map: { width: number }) => discs(map.width, (10 * map.width) / 64);

  test('objects of 10 px, model trained on 20 px: predicted at 2×, map back at 64²', async () => {
    model.metadata.objectDiameterPx = TRAINING;
    const result = await predictAtObjectScale(model, image, { instancesOf });
    assert.ok(Math.abs(result.scale - 2) < 0.1, `scale ${result.scale}`);
    assert.equal(result.estimated, true);
    assert.deepEqual([result.map.width, result.map.height, result.map.channels], [64, 64, 1]);
  });

  test('training sizes from components: a 20-px cell split in two (alternate rows) by the watershed is measured whole, scale 1', async () => {
    const halves = (map: { width: number }) => {
      const cells = discs(map.width, (20 * map.width) / 64);
      for (let i = 0; i < cells.data.length; i++) if (cells.data[i] > 0 && Math.floor(i / map.width) % 2 === 0) cells.data[i] += 1000;
      return cells;
    };
    model.metadata.objectDiameterPx = { ...TRAINING, from: 'components' };
    assert.equal((await predictAtObjectScale(model, image, { instancesOf: halves })).scale, 1);
    model.metadata.objectDiameterPx = { ...TRAINING, from: 'instances' };
    assert.ok((await predictAtObjectScale(model, image, { instancesOf: halves })).scale > 1.2);
  });

  test('a model calibrated on discs of 20 px, discs of 10 px in 128²: 2× from the characteristic scale, checked at 2× only', async () => {
    model.metadata.objectDiameterPx = calibratedOnDiscsOf20Px();
    const segmentedWidths: number[] = [];
    const recorded = (map: { width: number }) => {
      segmentedWidths.push(map.width);
      return discs(map.width, (10 * map.width) / 128);
    };
    const result = await predictAtObjectScale(model, discImage(128, 10), { instancesOf: recorded });
    assert.equal(result.estimatedFrom, 'characteristic scale');
    assert.equal(segmentedWidths.length, 1, 'one check, no first pass at native scale');
    assert.ok(Math.abs(segmentedWidths[0] - 256) < 20, `checked at width ${segmentedWidths[0]}`);
    assert.ok(Math.abs(result.scale - 2) < 0.15, `scale ${result.scale}, diameter ${result.objectDiameterPx}`);
    assert.deepEqual([result.map.width, result.map.height], [128, 128]);
    assert.match(describeScale(model, result), /from the image's characteristic scale.*predicted at 2\.\d\d×/);
    // A flat image has no characteristic scale: the first pass decides, as for an uncalibrated model.
    model.metadata.objectDiameterPx = { ...TRAINING, diameterPerSigma: { median: 2.9, p10: 2.8, p90: 3, images: 3 } };
    const flat = await predictAtObjectScale(model, image, { instancesOf });
    assert.equal(flat.estimatedFrom, 'scale search', 'a first pass at scale 2 is beyond ×1.5, so the search decides');
    assert.ok(Math.abs(flat.scale - 2) < 0.1, `scale ${flat.scale}`);
  });

  test('σ* off by 2× (calibration says 20 px for 10-px discs): the check at native scale finds 10 px and predicts at 2×', async () => {
    const calibrated = calibratedOnDiscsOf20Px();
    const { median, p10, p90, images } = calibrated.diameterPerSigma!;
    model.metadata.objectDiameterPx = { ...calibrated, diameterPerSigma: { median: median * 2, p10: p10 * 2, p90: p90 * 2, images } };
    const sizes: number[] = [];
    const result = await predictAtObjectScale(model, discImage(128, 10), {
      instancesOf: (map) => {
        sizes.push(map.width);
        return discs(map.width, (10 * map.width) / 128);
      },
    });
    assert.deepEqual(sizes[0], 128, 'the σ* estimate kept native scale, so the check ran there');
    assert.ok(Math.abs(result.scale - 2) < 0.15, `scale ${result.scale}`);
    assert.deepEqual([result.map.width, result.map.height], [128, 128]);
  });

  test('nothing found at native scale, 10-px discs seen at 128² and 256²: the search picks 2× (20 px, in range) over 4× (40 px)', async () => {
    model.metadata.objectDiameterPx = TRAINING;
    const widths: number[] = [];
    const onlyWhenLarge = (map: { width: number }) => {
      widths.push(map.width);
      return map.width < 128
        ? { width: map.width, height: map.width, data: new Int32Array(map.width ** 2) }
        : discs(map.width, (10 * map.width) / 64);
    };
    const result = await predictAtObjectScale(model, image, { instancesOf: onlyWhenLarge });
    assert.deepEqual([result.scale, result.estimatedFrom, result.objectDiameterPx !== undefined], [2, 'scale search', true]);
    assert.ok(Math.abs(result.objectDiameterPx! - 10) < 1, `diameter ${result.objectDiameterPx}`);
    assert.deepEqual(widths, [64, 16, 32, 128, 256], 'native, then the octaves; the 128² probe is reused without TTA');
    assert.deepEqual([result.map.width, result.map.height], [64, 64]);
    assert.match(describeScale(model, result), /by a scale search.*predicted at 2\.00×/);
  });

  test('a 3-px speck at native scale (scale 4 by itself): the search finds the 10-px discs whole at 2×', async () => {
    model.metadata.objectDiameterPx = TRAINING;
    const speckAtNative = (map: { width: number }) => discs(map.width, map.width === 64 ? 3 : (10 * map.width) / 64);
    assert.equal((await predictAtObjectScale(model, image, { instancesOf: speckAtNative })).scale, 2);
  });

  test('no objects at any scale: native scale, no diameter, and the line says the search found none', async () => {
    model.metadata.objectDiameterPx = TRAINING;
    const none = (map: { width: number }) => ({ width: map.width, height: map.width, data: new Int32Array(map.width ** 2) });
    const result = await predictAtObjectScale(model, image, { instancesOf: none });
    assert.deepEqual([result.scale, result.estimatedFrom, result.objectDiameterPx], [1, 'scale search', undefined]);
    assert.match(describeScale(model, result), /^no objects found at any scale tried/);
  });

  test('rescale false, or a model without training object size: native scale, not estimated', async () => {
    model.metadata.objectDiameterPx = TRAINING;
    const off = await predictAtObjectScale(model, image, { instancesOf, rescale: false });
    assert.deepEqual([off.scale, off.estimated], [1, false]);
    model.metadata.objectDiameterPx = undefined;
    const old = await predictAtObjectScale(model, image, { instancesOf });
    assert.deepEqual([old.scale, old.estimated], [1, false]);
  });

  test('--pixel-size 0.5 with a model trained without pixel size: a warning naming the flag', () => {
    model.metadata.objectDiameterPx = TRAINING;
    assert.match(pixelSizeWarning(model, { pixelSizeUm: 0.5 })!, /--pixel-size 0.5 cannot resample.*training object size/);
    assert.equal(pixelSizeWarning(model, {}), undefined);
  });
});

describe('predictAtObjectScale with a working scale (a model of boxes trained at imageScale)', () => {
  const model = unet({ inChannels: 1, classes: 1, depth: 2, filters: 4 }, { engine: createEngine({ backend: 'reference' }), seed: 1 });
  const image = { width: 64, height: 64, channels: 1, data: new Float32Array(64 * 64).fill(0.5) };
  const noFirstPass = () => {
    throw new Error('a first pass was segmented');
  };

  test('imageScale 0.5 and a training object size: predicted at 0.5× without estimating, map back at 64²', async () => {
    model.metadata.objectDiameterPx = TRAINING;
    model.metadata.imageScale = 0.5;
    const result = await predictAtObjectScale(model, image, { instancesOf: noFirstPass });
    assert.deepEqual([result.scale, result.estimated], [0.5, false]);
    assert.deepEqual([result.map.width, result.map.height, result.map.channels], [64, 64, 1]);
    assert.match(pixelSizeWarning(model, { pixelSizeUm: 0.5 })!, /cannot resample.*resampled by ×0\.5 as its training images were/);
  });

  test('imageScale 0.5 on a model with a pixel size, image pixel size given: the pixel sizes resample, not the working scale', async () => {
    model.metadata.imageScale = 0.5;
    model.metadata.pixelSizeUm = 1;
    model.metadata.objectDiameterPx = undefined;
    const result = await predictAtObjectScale(model, image, { instancesOf: noFirstPass, pixelSizeUm: 1 });
    assert.deepEqual([result.scale, result.estimated], [1, false]);
    model.metadata.pixelSizeUm = undefined;
    model.metadata.imageScale = undefined;
  });
});
