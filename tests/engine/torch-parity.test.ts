/**
 * Parity with PyTorch: the golden files in tests/golden (written by scripts/make-torch-golden.py
 * from shared/bench/torch_unet.py, in float64) hold a small U-Net's initial weights, an input and
 * target, and PyTorch's logits, loss, every parameter's gradient and the BatchNorm running
 * statistics after one training-mode forward. pyocyte loads the same weights by name (its names
 * are torch's state_dict names), runs forward + the matching loss terms + backward on each engine,
 * and must agree within 1e-4 relative error. Torch is not needed to run this test.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { unet } from '../../src/nn/model.js';
import type { UNetConfig } from '../../src/nn/unet.js';
import { engines, maxAbs, relativeError } from './helpers.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const TOLERANCE = 1e-4;

function loadGolden(file: string) {
  const { tensors, metadata } = decodeSafetensors(readFileSync(join(GOLDEN, file)), { file });
  const get = (name: string): Float32Array => {
    const t = tensors[name];
    assert.ok(t, `${file} has no tensor '${name}'`);
    return t.data as Float32Array;
  };
  const config = JSON.parse(metadata.config) as UNetConfig & { inputShape: [number, number, number, number] };
  return { tensors, get, config, names: Object.keys(tensors) };
}

/**
 * A gradient compared with its own largest magnitude would make a tensor whose true gradient is
 * (nearly) zero fail on rounding noise alone: e.g. a bias whose channel is batch-normalised right
 * after a convolution only moves the loss through the zero padding at the borders, so its gradient
 * is a small difference of large terms. Every gradient is therefore compared against at least
 * 1e-2 × the largest gradient of the whole network (an absolute tolerance of 1e-6 of that scale);
 * for every other tensor the bound is its own magnitude. (Measured: ≤ 4e-6 of each tensor's own
 * magnitude on both engines, so the floor is a safety margin, not a crutch.)
 */
const GRADIENT_FLOOR = 1e-2;

const FILES = ['unet-binary-bn.safetensors', 'unet-multiclass-bn.safetensors', 'unet-binary-nobn.safetensors'];

for (const { name: engineName, make, skip } of engines()) {
  describe(`PyTorch parity on the ${engineName} engine`, { skip }, () => {
    for (const file of FILES) {
      const golden = loadGolden(file);
      const c = golden.config;
      test(`${file}: K=${c.classes} norm=${c.norm} x=[${c.inputShape}]: logits, loss, every gradient, running stats within ${TOLERANCE}`, async () => {
        const engine = make();
        const model = unet(
          { inChannels: c.inChannels, classes: c.classes, depth: c.depth, filters: c.filters, norm: c.norm, padding: c.padding },
          { engine, seed: 99 },
        );
        const parameters = model.network.parameters();
        const buffers = model.network.buffers();
        // Names must match torch's state_dict exactly, both ways.
        const expectedNames = golden.names
          .filter((n) => n.startsWith('param.') || n.startsWith('buffer.'))
          .map((n) => n.replace(/^(param|buffer)\./, ''))
          .sort();
        assert.deepEqual([...parameters.map((p) => p.name), ...buffers.map((b) => b.name)].sort(), expectedNames);
        for (const p of parameters) engine.write(p.value, golden.get(`param.${p.name}`));
        for (const b of buffers) engine.write(b.value, golden.get(`buffer.${b.name}`));

        const [N, , H, W] = c.inputShape;
        const x = engine.tensor(c.inputShape, golden.get('input'));
        const y = engine.tensor([N, H, W], golden.get('target'));
        const loss = engine.loss({
          terms: [
            { kind: 'crossEntropy', weight: 1 },
            { kind: 'dice', weight: 1 },
          ],
          classes: c.classes,
        });
        const logits = model.network.forward(x, { training: true, seed: 0 });
        const { value, dLogits } = loss.forward(logits, y, null);
        model.network.backward(dLogits);

        const problems: string[] = [];
        const check = (what: string, error: number) => {
          if (!(error <= TOLERANCE)) problems.push(`${what}: ${error.toExponential(2)}`);
        };
        check('logits', relativeError(await engine.read(logits), golden.get('logits')));
        const values = await engine.read(value);
        const expectedLoss = golden.get('loss');
        ['total', 'cross-entropy', 'dice'].forEach((term, i) =>
          check(`loss ${term}`, Math.abs(values[i] - expectedLoss[i]) / Math.abs(expectedLoss[i])),
        );
        const globalScale = Math.max(...parameters.map((p) => maxAbs(golden.get(`grad.${p.name}`))));
        for (const p of parameters) {
          assert.ok(p.grad, `${p.name} has no gradient`);
          check(`grad ${p.name}`, relativeError(await engine.read(p.grad), golden.get(`grad.${p.name}`), GRADIENT_FLOOR * globalScale));
        }
        for (const b of buffers) check(`after ${b.name}`, relativeError(await engine.read(b.value), golden.get(`after.${b.name}`)));
        assert.deepEqual(problems, [], `differences from PyTorch above ${TOLERANCE}`);
      });
    }
  });
}
