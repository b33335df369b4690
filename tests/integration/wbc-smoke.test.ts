import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nativeAvailability } from '../../src/engine/index.js';
import { evaluate } from '../../src/workflows/evaluate.js';
import { train } from '../../src/workflows/train.js';
import { sharedDataset } from '../shared-data.js';

const wbc = sharedDataset('wbc-cellavision');
const native = nativeAvailability();
const skip = wbc.skip || (native.available ? false : `native engine unavailable (${native.reason}): a 3-minute real-data run needs it`);

// The CI smoke test: the default recipe, a 2.5-minute training budget on the real
// white-cell smears, then test Dice ≥ 0.93 on split.json's test images. The budget must be spent
// (≥ 95 %, at most 10 s late) however busy the machine is when training starts.
test('wbc-cellavision binary, default recipe, 2.5-minute budget: trains 142.5–160 s, test Dice ≥ 0.93', {
  skip,
  timeout: 480_000,
}, async () => {
  const out = mkdtempSync(join(tmpdir(), 'pyocyte-wbc-'));
  try {
    const budget = 150;
    const trained = await train({ data: wbc.path, out, minutes: budget / 60 }, { progressStream: null, log: () => {} });
    assert.ok(
      trained.seconds >= 0.95 * budget && trained.seconds <= budget + 10,
      `training took ${trained.seconds.toFixed(1)} s of a ${budget} s budget`,
    );
    const report = await evaluate({ model: out, data: wbc.path, subset: 'test', progressStream: null, log: () => {} });
    console.log(
      `# wbc smoke: ${trained.epochs} epochs, ${trained.steps} steps in ${trained.seconds.toFixed(1)} s; test Dice ${report.pixels.meanDice.toFixed(4)}`,
    );
    assert.equal(report.images, 20);
    assert.ok(report.pixels.meanDice >= 0.93, `test Dice ${report.pixels.meanDice}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
