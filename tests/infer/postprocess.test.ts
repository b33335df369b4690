import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choosePostprocessing, keepLargestComponent, postprocess } from '../../src/infer/postprocess.js';
import { plane } from '../plane.js';

test('keepLargestComponent on 4x4 with blobs of 5 and 2 pixels keeps the 5-pixel one, classes intact', () => {
  const labels = Uint8Array.from([1, 2, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(keepLargestComponent(plane(labels, 4, 4)).data), [1, 2, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
});

test('postprocess none returns the labels; an unknown name lists the valid ones', () => {
  const labels = Uint8Array.of(1, 0, 1);
  assert.equal(postprocess(plane(labels, 3, 1), 'none').data, labels);
  assert.throws(() => postprocess(plane(labels, 3, 1), 'holes'), /valid post-processings are: none, largestComponent/);
});

test('choosePostprocessing: a stray blob in the prediction makes largestComponent win; many true objects keep none', () => {
  // 6x1 row: truth has one object at 0..2; the prediction adds a stray pixel at 5.
  const map = { width: 6, height: 1, channels: 1, data: Float32Array.of(0.9, 0.9, 0.9, 0.1, 0.1, 0.9) };
  const one = {
    stem: 'a',
    image: { width: 6, height: 1, channels: 1, data: new Float32Array(6) },
    labels: Uint8Array.of(1, 1, 1, 0, 0, 0),
  };
  assert.equal(choosePostprocessing([map], [one], { threshold: 0.5, classes: 2 }).name, 'largestComponent');
  const two = { ...one, labels: Uint8Array.of(1, 1, 1, 0, 0, 1) };
  const chosen = choosePostprocessing([map], [two], { threshold: 0.5, classes: 2 });
  assert.equal(chosen.name, 'none');
  assert.ok(chosen.dice.none > chosen.dice.largestComponent);
});
