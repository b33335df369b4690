/**
 * The `centres` method must memorise two-class clumps of touching cells on each engine: trained on
 * the class labels and the heatmap of the cells' centres, its class map split at the heatmap's
 * peaks (as predict splits it) gives every true cell with its class.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { centreHeatmap } from '../../src/data/instance-targets.js';
import { predictProbabilities } from '../../src/infer/predict.js';
import { segment } from '../../src/infer/segment.js';
import { classifyCells } from '../../src/infer/cells.js';
import { unet } from '../../src/nn/model.js';
import { initialInstanceRule, pooledAp50 } from '../../src/train/instance-rule.js';
import { engines } from '../engine/helpers.js';

const SIZE = 32;
const MAX_STEPS = 300;
const RADIUS = 6;
const CLASS_NAMES = ['background', 'pus', 'rbc'];

/** Touching discs (centres 11–12 px apart): pus bright and flat, rbc dimmer with a bright rim, class by position. */
const CLUMPS: { x: number; y: number; classIndex: number }[][] = [
  [
    { x: 10, y: 10, classIndex: 1 },
    { x: 21, y: 11, classIndex: 1 },
  ],
  [
    { x: 9, y: 20, classIndex: 1 },
    { x: 20, y: 20, classIndex: 2 },
    { x: 15, y: 9, classIndex: 2 },
  ],
];

function clumpImages() {
  return CLUMPS.map((cells) => {
    const image = new Float32Array(SIZE * SIZE);
    const labels = new Uint8Array(SIZE * SIZE);
    const ids = new Int32Array(SIZE * SIZE);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const distances = cells.map((c) => Math.hypot(x + 0.5 - c.x, y + 0.5 - c.y));
        const nearest = distances.indexOf(Math.min(...distances));
        if (distances[nearest] > RADIUS) continue;
        const r = distances[nearest] / RADIUS;
        ids[y * SIZE + x] = nearest + 1;
        labels[y * SIZE + x] = cells[nearest].classIndex;
        image[y * SIZE + x] = cells[nearest].classIndex === 1 ? 2 - r * r : 0.6 + r * r;
      }
    }
    const heatmap = centreHeatmap(
      cells.map((c) => ({ x: c.x, y: c.y, radiusXPx: RADIUS, radiusYPx: RADIUS })),
      SIZE,
      SIZE,
    );
    return { image, labels, ids, heatmap, classes: cells.map((c) => c.classIndex) };
  });
}

describe('centres overfits two-class clumps', () => {
  const images = clumpImages();
  const plane = SIZE * SIZE;
  for (const { name, make, skip } of engines()) {
    test(`${name}: depth 2, filters 8, clumps of 2 and 3 cells of 2 classes → AP@0.5 ≥ 0.9 and every class right within ${MAX_STEPS} steps`, {
      skip,
    }, async () => {
      const model = unet(
        { inChannels: 1, classes: 3, regressionChannels: 1, depth: 2, filters: 8 },
        { engine: make(), seed: 1, metadata: { task: 'multiclass', classNames: CLASS_NAMES } },
      );
      model.metadata.instances = { ...initialInstanceRule('centres', CLASS_NAMES), minSizePx: 10 };
      model.configureTraining({ loss: 'bce+dice', optimizer: 'adam' });
      const batch = {
        x: new Float32Array(images.length * plane),
        y: new Float32Array(images.length * plane),
        regression: new Float32Array(images.length * plane),
        inputShape: [images.length, 1, SIZE, SIZE] as [number, number, number, number],
        targetShape: [images.length, SIZE, SIZE] as [number, number, number],
      };
      images.forEach(({ image, labels, heatmap }, n) => {
        batch.x.set(image, n * plane);
        batch.y.set(labels, n * plane);
        batch.regression.set(heatmap, n * plane);
      });
      const decode = async () => {
        const found = [];
        for (const { image } of images) {
          const map = await predictProbabilities(model, { width: SIZE, height: SIZE, channels: 1, data: image });
          const segmentation = segment(map, { threshold: 0.5 });
          found.push({ segmentation, cells: classifyCells(segmentation, map, CLASS_NAMES) });
        }
        return found;
      };
      let ap = 0;
      for (let step = 1; step <= MAX_STEPS && ap < 0.9; step++) {
        const { loss } = await model.trainStep(batch, { learningRate: 1e-2 });
        assert.ok(Number.isFinite(loss), `loss ${loss} at step ${step}`);
        if (step < 60 || step % 20 !== 0) continue;
        const found = await decode();
        ap = pooledAp50(
          found.map((f) => f.segmentation.instances.data),
          images.map((i) => i.ids),
        );
      }
      assert.ok(ap >= 0.9, `AP@0.5 ${ap.toFixed(3)} after training`);
      // Each true cell's class is the class of the predicted cell under its centre.
      for (const [n, { cells }] of (await decode()).entries()) {
        const classes = CLUMPS[n].map(
          (c) => cells.find((p) => Math.hypot(p.centroidX + 0.5 - c.x, p.centroidY + 0.5 - c.y) < 3)?.classIndex,
        );
        assert.deepEqual(classes, images[n].classes, `image ${n}: the classes of the cells found at the true centres`);
      }
    });
  }
});
