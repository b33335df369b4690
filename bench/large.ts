/**
 * `npm run bench:large`: the memory and time targets of large inputs, kept out of `npm test`
 * (a timed unit test fails on a busy machine; a benchmark records what it saw):
 *   1. predict (native engine) on a 4096×4096 synthetic smear, in a child process so its peak RSS
 *      is its own: target < 2 GiB (2048 MiB).
 *   2. `splitTouching` on 1024×1024 with 100 partly overlapping discs: target < 2 s.
 *   3. `borderWeightMap` (U-Net weight map) for 100 cells on 512×512: target < 0.6 s.
 * Timings 2 and 3 are the median of 5 runs. Prints one JSON line and writes
 * bench/results/large-<yyyy-mm-dd>.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { borderWeightMap } from '../src/data/weights.js';
import { createEngine } from '../src/engine/index.js';

import { splitTouching } from '../src/infer/instances.js';
import { writeImage } from '../src/io/image/image-io.js';
import { saveModel } from '../src/io/model-file.js';
import { unet } from '../src/nn/model.js';
import { synthesizeSmear } from '../src/synth/smear.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { Random } from '../src/util/random.js';
import { dayStamp, machineInfo } from './machine.js';

const plane = <T extends Uint8Array | Int32Array>(data: T, width: number, height: number) => ({ data, width, height });
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const child = `
import { predictFiles } from './src/workflows/predict-files.js';
const [model, image, out] = process.argv.slice(-3);
const start = performance.now();
const result = await predictFiles({ model, inputs: [image], out, engine: 'native', progressStream: null, log: () => {} });
console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024, seconds: (performance.now() - start) / 1000, cells: result.images[0]?.cells, failed: result.failed }));
`;

async function largePredict(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'pyocyte-large-'));
  try {
    const smear = synthesizeSmear({ width: 4096, height: 4096, seed: 5, pixelSizeUm: 0.5 });
    await writeImage(join(dir, 'large.png'), smear.image);
    const model = unet({ inChannels: 3, classes: 1, depth: 4, filters: 16 }, { engine: createEngine({ backend: 'reference' }), seed: 1 });
    await saveModel(join(dir, 'model'), model);
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', child, '--', join(dir, 'model'), join(dir, 'large.png'), join(dir, 'out')],
      { encoding: 'utf8', maxBuffer: 1 << 20, cwd: root },
    );
    if (r.status !== 0) throw new Error(`the 4096×4096 predict failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    return { benchmark: 'predict-4096', ...report, target_max_rss_mib: 2048, met: report.maxRssMiB < 2048 && report.failed.length === 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function disc(mask: Uint8Array | Int32Array, width: number, cx: number, cy: number, r: number, value = 1): void {
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(width - 1, Math.ceil(cy + r)); y++)
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(width - 1, Math.ceil(cx + r)); x++)
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) mask[y * width + x] = value;
}

function medianSeconds(run: () => void, runs = 5): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    run();
    times.push((performance.now() - start) / 1000);
  }
  return times.sort((a, b) => a - b)[runs >> 1];
}

function splitTouchingTime(): Record<string, unknown> {
  const width = 1024;
  const random = new Random(11);
  const mask = new Uint8Array(width * width);
  for (let i = 0; i < 100; i++) disc(mask, width, random.uniform(20, width - 20), random.uniform(20, width - 20), random.uniform(9, 16));
  const seconds = medianSeconds(() => splitTouching(plane(mask, width, width)));
  return { benchmark: 'split-touching-1024', seconds, target_seconds: 2, met: seconds < 2 };
}

function weightMapTime(): Record<string, unknown> {
  const random = new Random(4);
  const instances = new Int32Array(512 * 512);
  for (let id = 1; id <= 100; id++) disc(instances, 512, random.int(15, 497), random.int(15, 497), 12, id);
  const seconds = medianSeconds(() => borderWeightMap(plane(instances, 512, 512), {}));
  return { benchmark: 'border-weight-map-512', seconds, target_seconds: 0.6, met: seconds < 0.6 };
}

const results = [await largePredict(), splitTouchingTime(), weightMapTime()];
const record = { benchmark: 'large', machine: machineInfo(), results };
console.log(JSON.stringify(record));
await writeFileAtomic(join(root, 'bench', 'results', `large-${dayStamp()}.json`), `${JSON.stringify(record, null, 2)}\n`);
