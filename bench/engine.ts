/**
 * `npm run bench:engine`: pyocyte's native engine against the PyTorch reference, in one run.
 * For each configuration (padded U-Net, BatchNorm, depth 4, 256-px patches): the training-step and
 * inference times of both, the ratios, GFLOP/s, and a per-kernel profile of pyocyte's step.
 * pyocyte runs in fp32 (PyTorch's arithmetic) and, where the CPU has it, in bf16 (the training
 * default there). Writes bench/results/engine-<date>.json; the last stdout line is the F16 result
 * as JSON, its top-level speedups the fp32 ones.
 *
 *   npm run bench:engine                       # both configs
 *   node --import tsx bench/engine.ts --steps 8 --rounds 5 --configs 16x4
 *   node --import tsx bench/engine.ts --out bench/results/engine-2026-11-30-avx2.json   # not the day's file
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeEngine, createEngine } from '../src/engine/index.js';
import type { ProfileEntry } from '../src/engine/native/index.js';
import { unet } from '../src/nn/model.js';
import { dayStamp, machineInfo } from './machine.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const torchScript = join(root, '..', 'shared', 'bench', 'torch_unet.py');
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const steps = Number(arg('steps', '6'));
// These machines are shared and noisy (seen: the same step 420 ms one day, 1100 ms another, and
// 450–1180 ms within one run). Each round times PyTorch and pyocyte back to back; the speedups are
// medians of the per-round ratios, so a slow stretch hits both sides of a ratio alike.
const rounds = Number(arg('rounds', '3'));
const threads = Number(arg('threads', '2'));
const configs = arg('configs', '16x4,32x8')
  .split(',')
  .map((c) => {
    const [filters, batch] = c.split('x').map(Number);
    return { filters, batch, patch: 256, depth: 4 };
  });

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/** A python3 that can import torch: PATH's first, then Debian's. */
function findTorchPython(): string | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return python;
  }
  return undefined;
}

function runTorch(python: string, c: (typeof configs)[number]) {
  const out = execFileSync(
    python,
    [
      torchScript,
      'step',
      '--filters',
      String(c.filters),
      '--patch',
      String(c.patch),
      '--batch',
      String(c.batch),
      '--threads',
      String(threads),
      '--steps',
      String(steps),
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as {
    engine: string;
    params: number;
    train_step_ms_median: number;
    infer_batch_ms_median: number;
  };
}

async function runPyocyte(c: (typeof configs)[number], precision: 'fp32' | 'bf16') {
  const engine = createEngine({ backend: 'native', threads, precision });
  if (!(engine instanceof NativeEngine)) throw new Error('the native engine is required for this benchmark');
  const model = unet(
    { inChannels: 3, classes: 1, depth: c.depth, filters: c.filters, padding: 'same', norm: 'batch' },
    { engine, seed: 0 },
  );
  model.configureTraining({ loss: 'bce', optimizer: 'adam' });
  const n = c.batch * c.patch * c.patch;
  // Same inputs as the reference: uniform images, random binary targets (seeded here).
  let s = 1;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const x = Float32Array.from({ length: 3 * n }, rand);
  const y = Float32Array.from({ length: n }, () => (rand() > 0.5 ? 1 : 0));
  const batch = {
    x,
    y,
    inputShape: [c.batch, 3, c.patch, c.patch] as [number, number, number, number],
    targetShape: [c.batch, c.patch, c.patch] as [number, number, number],
  };
  const train: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t0 = performance.now();
    await model.trainStep(batch, { learningRate: 1e-3 });
    if (i >= 2) train.push(performance.now() - t0);
  }
  engine.setProfiling(true);
  await model.trainStep(batch, { learningRate: 1e-3 });
  const profile = engine.takeProfile();
  engine.setProfiling(false);
  const infer: number[] = [];
  for (let i = 0; i < steps + 2; i++) {
    const t0 = performance.now();
    await model.predictLogits(x, batch.inputShape);
    if (i >= 2) infer.push(performance.now() - t0);
  }
  engine.setProfiling(true);
  await model.predictLogits(x, batch.inputShape);
  const inferProfile = engine.takeProfile();
  engine.setProfiling(false);
  return {
    train,
    infer,
    profile,
    inferProfile,
    params: model.network.parameterCount(),
    engine: engine.description,
    implementations: engine.implementations(),
  };
}

/** Seconds spent in the kernels that do arithmetic (the convolutions). */
function convSeconds(profile: Record<string, ProfileEntry>): number {
  return Object.values(profile)
    .filter((e) => e.flops > 0)
    .reduce((a, e) => a + e.seconds, 0);
}

/** GFLOP/s of the convolutions, over their own time. */
function convRate(profile: Record<string, ProfileEntry>): number {
  return Object.values(profile).reduce((a, e) => a + e.flops, 0) / convSeconds(profile) / 1e9;
}

/** Kernel kinds by time, with GFLOP/s for the convolutions. */
function summarizeProfile(profile: Record<string, ProfileEntry>) {
  const total = Object.values(profile).reduce((a, e) => a + e.seconds, 0);
  return Object.entries(profile)
    .sort((a, b) => b[1].seconds - a[1].seconds)
    .map(([kernel, e]) => ({
      kernel,
      calls: e.calls,
      ms: Math.round(e.seconds * 10000) / 10,
      share: Math.round((e.seconds / total) * 1000) / 1000,
      ...(e.flops > 0 ? { gflops_per_s: Math.round(e.flops / e.seconds / 1e8) / 10 } : {}),
    }));
}

async function main() {
  const python = findTorchPython();
  if (!python) {
    console.error('bench:engine needs PyTorch for the same-run comparison: sudo apt-get install python3-torch');
    process.exit(1);
  }
  const bf16Native = (createEngine({ backend: 'native', precision: 'auto' }) as NativeEngine).precision === 'bf16';
  const results = [];
  for (const c of configs) {
    type Round = {
      torch: ReturnType<typeof runTorch>;
      ours: Awaited<ReturnType<typeof runPyocyte>>;
      bf16?: Awaited<ReturnType<typeof runPyocyte>>;
    };
    const runs: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      process.stderr.write(
        `bench: F${c.filters} batch ${c.batch}, round ${r + 1}/${rounds}: PyTorch, pyocyte fp32${bf16Native ? ', bf16' : ''}\n`,
      );
      const torchRun = runTorch(python, c);
      const oursRun = await runPyocyte(c, 'fp32');
      // bf16 is what training uses by default where the CPU has bf16 arithmetic (precision 'auto').
      runs.push({ torch: torchRun, ours: oursRun, bf16: bf16Native ? await runPyocyte(c, 'bf16') : undefined });
    }
    const ratio = (pick: (round: Round) => number) => median(runs.map(pick));
    const trainSpeedup = ratio((q) => q.torch.train_step_ms_median / median(q.ours.train));
    const inferSpeedup = ratio((q) => q.torch.infer_batch_ms_median / median(q.ours.infer));
    const bf16TrainSpeedup = ratio((q) => (q.bf16 ? q.torch.train_step_ms_median / median(q.bf16.train) : Number.NaN));
    const bf16InferSpeedup = ratio((q) => (q.bf16 ? q.torch.infer_batch_ms_median / median(q.bf16.infer) : Number.NaN));
    const torch = {
      engine: runs[0].torch.engine,
      params: runs[0].torch.params,
      train_step_ms_median: median(runs.map((q) => q.torch.train_step_ms_median)),
      infer_batch_ms_median: median(runs.map((q) => q.torch.infer_batch_ms_median)),
    };
    const ours = { ...runs[runs.length - 1].ours, train: runs.flatMap((q) => q.ours.train), infer: runs.flatMap((q) => q.ours.infer) };
    const lastBf16 = runs[runs.length - 1].bf16;
    const bf16 = lastBf16 && { ...lastBf16, train: runs.flatMap((q) => q.bf16!.train), infer: runs.flatMap((q) => q.bf16!.infer) };
    const trainFlops = Object.values(ours.profile).reduce((a, e) => a + e.flops, 0);
    const inferFlops = Object.values(ours.inferProfile).reduce((a, e) => a + e.flops, 0);
    const trainMs = median(ours.train);
    const inferMs = median(ours.infer);
    const result = {
      config: `F${c.filters} batch ${c.batch} patch ${c.patch} depth ${c.depth} padded BatchNorm`,
      filters: c.filters,
      batch: c.batch,
      patch: c.patch,
      depth: c.depth,
      threads,
      params: ours.params,
      torch_params: torch.params,
      pytorch: { engine: torch.engine, train_step_ms: torch.train_step_ms_median, infer_ms: torch.infer_batch_ms_median },
      pyocyte: {
        engine: ours.engine,
        train_step_ms: trainMs,
        infer_ms: inferMs,
        train_steps_ms: ours.train.map(Math.round),
        infer_runs_ms: ours.infer.map(Math.round),
      },
      rounds,
      pytorch_train_step_ms_per_round: runs.map((q) => Math.round(q.torch.train_step_ms_median)),
      train_speedup_per_round: runs.map((q) => Math.round((q.torch.train_step_ms_median / median(q.ours.train)) * 100) / 100),
      train_speedup: trainSpeedup,
      infer_speedup: inferSpeedup,
      train_gflop: trainFlops / 1e9,
      train_gflops_per_s: trainFlops / (trainMs / 1000) / 1e9,
      pytorch_train_gflops_per_s: trainFlops / (torch.train_step_ms_median / 1000) / 1e9,
      infer_gflops_per_s: inferFlops / (inferMs / 1000) / 1e9,
      conv_gflops_per_s: convRate(ours.profile),
      conv_share_of_step: convSeconds(ours.profile) / (trainMs / 1000),
      roofline_gflops_per_s: '160-230 fp32, 400-460 bf16 (shared/bench/onednn_conv_roofline.cpp)',
      bf16: bf16
        ? {
            train_step_ms: median(bf16.train),
            infer_ms: median(bf16.infer),
            train_speedup: bf16TrainSpeedup,
            infer_speedup: bf16InferSpeedup,
            train_speedup_per_round: runs.map((q) => Math.round((q.torch.train_step_ms_median / median(q.bf16!.train)) * 100) / 100),
            conv_gflops_per_s: convRate(bf16.profile),
            profile_train_step: summarizeProfile(bf16.profile),
          }
        : 'this CPU has no bf16 arithmetic',
      profile_train_step: summarizeProfile(ours.profile),
      profile_inference: summarizeProfile(ours.inferProfile),
      implementations: ours.implementations,
    };
    results.push(result);
    process.stderr.write(
      `bench: F${c.filters}: train ${trainMs.toFixed(0)} ms vs PyTorch ${torch.train_step_ms_median.toFixed(0)} ms (×${result.train_speedup.toFixed(2)}), ` +
        `infer ${inferMs.toFixed(0)} ms vs ${torch.infer_batch_ms_median.toFixed(0)} ms (×${result.infer_speedup.toFixed(2)}), ${result.train_gflops_per_s.toFixed(0)} GFLOP/s` +
        (bf16
          ? `; bf16: train ${median(bf16.train).toFixed(0)} ms (×${bf16TrainSpeedup.toFixed(2)}), infer ${median(bf16.infer).toFixed(0)} ms (×${bf16InferSpeedup.toFixed(2)})`
          : '') +
        '\n',
    );
  }
  const file = args.includes('--out') ? resolve(root, arg('out', '')) : join(root, 'bench', 'results', `engine-${dayStamp()}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ benchmark: 'engine', machine: machineInfo(), steps, rounds, results }, null, 2)}\n`);
  process.stderr.write(`bench: wrote ${file}\n`);
  const f16 = results.find((r) => r.filters === 16) ?? results[0];
  for (const r of results) if (r !== f16) console.log(JSON.stringify(pick(r)));
  console.log(JSON.stringify(pick(f16)));
}

const pick = (r: Record<string, unknown>) => {
  const { profile_train_step: _p, profile_inference: _i, implementations: _m, bf16, ...rest } = r;
  if (bf16 && typeof bf16 === 'object') {
    const { profile_train_step: _b, ...bf16Rest } = bf16 as Record<string, unknown>;
    return { ...rest, bf16: bf16Rest };
  }
  return { ...rest, bf16 };
};

if (!existsSync(torchScript)) {
  console.error(`bench:engine needs the PyTorch reference at ${torchScript}`);
  process.exit(1);
}
await main();
