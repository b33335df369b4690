/**
 * `npm run bench:data`: training patches per second of the data pipeline (patch sampling,
 * augmentation, normalisation, NCHW layout) on ONE core, for 256×256 RGB patches:
 * (a) the `default` augmentation chain, (b) every transform forced on (p = 1), (c) no augmentation,
 * (d) the default chain with U-Net border weight maps, and (e) the `light` preset that training
 * uses by default. The images are procedural stained
 * smears built here, so the numbers do not depend on any dataset being present.
 * Prints one JSON line and writes bench/results/data-<yyyy-mm-dd>.json (same day: overwritten).
 */
import { loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUGMENT_PRESETS, forceAllTransforms, DEFAULT_AUGMENT, type AugmentOptions } from '../src/augment/pipeline.js';
import { createLoader } from '../src/data/loader.js';
import type { Sample } from '../src/data/types.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { Random } from '../src/util/random.js';
import { calibrationLoopMs, dayStamp, machineInfo } from './machine.js';

const PATCH_SIZE = 256;
const BATCH_SIZE = 8;
const BATCHES_PER_RUN = 15;
const RUNS = 7;

/** A stained-smear-like RGB image with cells (1 = cytoplasm, 2 = nucleus) and instance ids. */
function smear(seed: number, width: number, height: number): Sample {
  const rng = new Random(seed);
  const image = new Float32Array(width * height * 3);
  const labels = new Uint8Array(width * height);
  const instances = new Int32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const shade = 0.03 * Math.sin(i * 0.0007) + rng.normal(0, 0.01);
    image.set([0.93 + shade, 0.86 + shade, 0.9 + shade], i * 3);
  }
  for (let id = 1; id <= 25; id++) {
    const cx = rng.uniform(0, width);
    const cy = rng.uniform(0, height);
    const radius = rng.uniform(18, 32);
    const nucleus = radius * rng.uniform(0.4, 0.6);
    for (let y = Math.max(0, Math.floor(cy - radius)); y < Math.min(height, cy + radius); y++) {
      for (let x = Math.max(0, Math.floor(cx - radius)); x < Math.min(width, cx + radius); x++) {
        const d = Math.hypot(x - cx, y - cy);
        if (d > radius) continue;
        const i = y * width + x;
        const inner = d < nucleus;
        labels[i] = inner ? 2 : 1;
        instances[i] = id;
        const noise = rng.normal(0, 0.02);
        image.set(inner ? [0.35 + noise, 0.2 + noise, 0.5 + noise] : [0.78 + noise, 0.68 + noise, 0.86 + noise], i * 3);
      }
    }
  }
  for (let i = 0; i < image.length; i++) image[i] = Math.min(1, Math.max(0, image[i]));
  return { stem: `smear-${seed}`, image: { width, height, channels: 3, data: image }, labels, instances };
}

/** Throughput of one configuration: wall-clock and CPU-time rates, each the median of RUNS runs. */
interface Rate {
  patchesPerSecond: number;
  /** The fastest run: the least disturbed by other processes on a shared machine. */
  bestRunPatchesPerSecond: number;
  /** Patches per second of this process's CPU time: close to the wall rate on an idle machine, and less disturbed by other processes. */
  patchesPerCpuSecond: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function measure(samples: Sample[], augment: AugmentOptions | false, weightMap: boolean, runs = RUNS): Rate {
  const loader = createLoader(samples, {
    patchSize: PATCH_SIZE,
    batchSize: BATCH_SIZE,
    augment,
    seed: 1,
    classes: 3,
    normalization: { kind: 'meanStd', mean: [0.85, 0.78, 0.86], std: [0.15, 0.2, 0.12] },
    weightMap: weightMap ? { w0: 10, sigmaPx: 5 } : false,
  });
  // The training loop hands each batch back after the step, as the trainer does.
  for (let i = 0; i < 3; i++) loader.release(loader.next());
  const wall: number[] = [];
  const cpu: number[] = [];
  const patches = BATCHES_PER_RUN * BATCH_SIZE;
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    const startCpu = process.cpuUsage();
    for (let i = 0; i < BATCHES_PER_RUN; i++) loader.release(loader.next());
    const used = process.cpuUsage(startCpu);
    wall.push((patches * 1000) / (performance.now() - start));
    cpu.push((patches * 1e6) / (used.user + used.system));
  }
  return {
    patchesPerSecond: Math.round(median(wall)),
    bestRunPatchesPerSecond: Math.round(Math.max(...wall)),
    patchesPerCpuSecond: Math.round(median(cpu)),
  };
}

async function main(): Promise<void> {
  const samples = [1, 2, 3, 4].map((seed) => smear(seed, 640, 480));
  // Let V8 compile every code path before anything is timed: whichever configuration ran first
  // would otherwise pay for it.
  measure(samples, forceAllTransforms(DEFAULT_AUGMENT), true, 2);
  measure(samples, DEFAULT_AUGMENT, false, 2);
  const loadAverageBefore = loadavg()[0];
  const results = {
    defaultChain: measure(samples, DEFAULT_AUGMENT, false),
    allTransformsForced: measure(samples, forceAllTransforms(DEFAULT_AUGMENT), false),
    noAugmentation: measure(samples, false, false),
    defaultChainWithWeightMaps: measure(samples, DEFAULT_AUGMENT, true),
    lightPresetTrainingDefault: measure(samples, AUGMENT_PRESETS.light, false),
  };
  const report = {
    benchmark: 'data',
    unit: 'patches/s on one core (main thread)',
    patch: { size: PATCH_SIZE, channels: 3, batchSize: BATCH_SIZE },
    targetPatchesPerSecond: 300,
    results,
    // Other processes compete for the core when this is near or above the core count.
    loadAverage: { before: loadAverageBefore, after: loadavg()[0] },
    calibrationLoopMs: calibrationLoopMs(),
    machine: machineInfo(),
  };
  console.log(JSON.stringify(report));
  const file = join(dirname(fileURLToPath(import.meta.url)), 'results', `data-${dayStamp()}.json`);
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  console.error(`bench:data: wrote ${file}`);
}

await main();
