import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeImage } from '../../src/io/image/image-io.js';
import { synthesizeSmear } from '../../src/synth/smear.js';
import { createEngine, nativeAvailability } from '../../src/engine/index.js';
import { saveModel } from '../../src/io/model-file.js';
import { unet } from '../../src/nn/model.js';

const native = nativeAvailability();

// The prediction runs in a child process so that its peak RSS is its own.
const child = `
import { predictFiles } from './src/workflows/predict-files.js';
const [model, image, out] = process.argv.slice(-3);
const result = await predictFiles({ model, inputs: [image], out, engine: 'native', progressStream: null, log: () => {} });
console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024, cells: result.images[0]?.cells, failed: result.failed }));
`;

test('predict on a 4096x4096 smear stays under 2 GB of RSS', {
  skip: native.available ? false : `native engine unavailable: ${native.reason}`,
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pyocyte-large-'));
  try {
    const smear = synthesizeSmear({ width: 4096, height: 4096, seed: 5, pixelSizeUm: 0.5 });
    await writeImage(join(dir, 'large.png'), smear.image);
    const model = unet({ inChannels: 3, classes: 1, depth: 4, filters: 16 }, { engine: createEngine({ backend: 'reference' }), seed: 1 });
    await saveModel(join(dir, 'model'), model);
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', child, '--', join(dir, 'model'), join(dir, 'large.png'), join(dir, 'out')],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual(report.failed, []);
    assert.ok(report.maxRssMiB < 2048, `peak RSS ${report.maxRssMiB.toFixed(0)} MiB`);
    console.log(`# 4096x4096 predict: peak RSS ${report.maxRssMiB.toFixed(0)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
