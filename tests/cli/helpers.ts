/**
 * Fixtures for the CLI, training and inference tests: running `pyocyte` in a child process, temp
 * folders, tiny synthetic datasets, and tiny models saved without training.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticDataset } from '../../src/synth/dataset.js';
import { type BackendName, type Engine, createEngine, nativeAvailability } from '../../src/engine/index.js';
import type { RasterImage } from '../../src/image/types.js';
import { saveModel } from '../../src/io/model-file.js';
import { Model, type ModelMetadata, unet } from '../../src/nn/model.js';
import { resolveUNetConfig } from '../../src/nn/unet.js';

/** The repository root (the CLI runs from here). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What a `pyocyte` child process did. */
export interface CliResult {
  /** Exit code (null when killed by a signal or the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last non-empty stdout line parsed as JSON, or undefined when it is not JSON. */
  lastJson: Record<string, unknown> | undefined;
}

/**
 * Runs `node --import tsx src/cli/main.ts ...args` from the repository root and waits for it.
 * PYOCYTE_DEBUG is removed so internal errors print as users see them.
 */
export function runCli(args: readonly string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): CliResult {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.PYOCYTE_DEBUG;
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env,
    timeout: options.timeoutMs ?? 120_000,
  });
  const last =
    child.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .pop() ?? '';
  let lastJson: Record<string, unknown> | undefined;
  try {
    const value = JSON.parse(last) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) lastJson = value as Record<string, unknown>;
  } catch {
    lastJson = undefined;
  }
  return { code: child.status, stdout: child.stdout, stderr: child.stderr, lastJson };
}

/** A result's output for assertion messages. */
export function describeRun(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout.slice(-2000)}\n--- stderr\n${result.stderr.slice(-2000)}`;
}

/** Lines of a stream that look like JavaScript stack frames (`    at foo (file:1:2)`). */
export function stackFrames(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at\s/.test(line));
}

/** Non-empty lines of a stream. */
export function nonEmptyLines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim().length > 0);
}

/**
 * Asserts the CLI failed with exactly one non-empty stderr line `pyocyte: ...` that matches
 * `pattern`, no stack frames, and a non-zero exit.
 */
export function assertOneLineError(result: CliResult, pattern: RegExp): string {
  assert.notEqual(result.code, 0, describeRun(result));
  const lines = nonEmptyLines(result.stderr);
  assert.equal(lines.length, 1, `expected one stderr line:\n${describeRun(result)}`);
  assert.match(lines[0], /^pyocyte: /);
  assert.doesNotMatch(lines[0], /internal error/);
  assert.match(lines[0], pattern);
  assert.deepEqual(stackFrames(result.stderr), []);
  return lines[0];
}

/** A fresh temp folder, removed by the returned function. */
export function tempFolder(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `pyocyte-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A small synthetic smear dataset (images/, masks/ black cells on white, masks3/, instances/,
 * split.json). Defaults: 6 images of 64×64 at 0.5 µm/px (so pus cells are ≈ 24 px across and
 * every image holds some; at the default 0.25 µm/px most 64-px images have none), split 4/1/1, seed 3.
 */
export async function tinyDataset(
  dir: string,
  options: { count?: number; width?: number; height?: number; seed?: number; split?: [number, number, number]; pixelSizeUm?: number } = {},
): Promise<string> {
  await writeSyntheticDataset(dir, {
    count: options.count ?? 6,
    width: options.width ?? 64,
    height: options.height ?? 64,
    seed: options.seed ?? 3,
    split: options.split ?? [4, 1, 1],
    pixelSizeUm: options.pixelSizeUm ?? 0.5,
  });
  return dir;
}

/** A copy of a synthetic dataset whose masks/ are its three-class masks3/ (0, 128, 255). */
export function threeClassCopy(from: string, to: string): string {
  mkdirSync(to, { recursive: true });
  cpSync(join(from, 'images'), join(to, 'images'), { recursive: true });
  cpSync(join(from, 'masks3'), join(to, 'masks'), { recursive: true });
  cpSync(join(from, 'split.json'), join(to, 'split.json'));
  return to;
}

/**
 * An untrained depth-2, 4-filter U-Net saved as a training run's model (RUN/model/model.json),
 * for tests that need a model file but not a good model.
 */
export async function untrainedRun(runDir: string, options: { inChannels?: number; engine?: Engine } = {}): Promise<Model> {
  const model = unet(
    { inChannels: options.inChannels ?? 3, classes: 1, depth: 2, filters: 4 },
    { engine: options.engine ?? createEngine({ backend: 'reference' }), seed: 1, metadata: { mask: { polarity: 'black' } } },
  );
  await saveModel(join(runDir, 'model'), model);
  return model;
}

/** The engine the library-level tests compute on: native (oneDNN) when the addon is built, else the reference. */
export const TEST_ENGINE: BackendName = nativeAvailability().available ? 'native' : 'reference';

/**
 * Options shared by the library-level training tests: a depth-2, 4-filter net on 32-px patches,
 * two patches per image, batches of 2, on {@link TEST_ENGINE}.
 */
// fp32: the tests compare training-time validation with a reloaded model, which predicts in fp32.
export const TINY_TRAINING = {
  depth: 2,
  filters: 4,
  patchSize: 32,
  batchSize: 2,
  patchesPerImage: 2,
  engine: TEST_ENGINE,
  seed: 5,
  precision: 'fp32',
} as const;

/** Training hooks that print nothing. */
export const QUIET = { progressStream: null, log: () => {} } as const;

/**
 * A "model" whose foreground probability is the input's first channel: predictions are known
 * exactly, so metrics and outputs can be checked by hand. Normalisation is the identity, so an
 * image pixel of 255 in channel 0 gives probability 1 and 0 gives 0. Depth 2, padded.
 */
export function channelZeroModel(metadata: Partial<ModelMetadata> = {}): Model {
  const config = resolveUNetConfig({ inChannels: 3, classes: 1, depth: 2, filters: 2 });
  const full: ModelMetadata = {
    task: 'binary',
    classNames: ['background', 'foreground'],
    threshold: 0.5,
    normalization: { kind: 'meanStd', mean: [0, 0, 0], std: [1, 1, 1] },
    ...metadata,
  };
  return new ChannelZeroModel(createEngine({ backend: 'reference' }), config, full);
}

class ChannelZeroModel extends Model {
  override async predict(x: Float32Array, shape: readonly [number, number, number, number]): Promise<Float32Array> {
    const [n, channels, height, width] = shape;
    const plane = height * width;
    const out = new Float32Array(n * plane);
    for (let i = 0; i < n; i++) out.set(x.subarray(i * channels * plane, i * channels * plane + plane), i * plane);
    return out;
  }
}

/**
 * An RGB image whose red channel is `value` inside the rectangles `[x, y, width, height]` and 0
 * elsewhere (green and blue 0): for {@link channelZeroModel}, the prediction.
 */
export function rectangleImage(
  width: number,
  height: number,
  rectangles: readonly (readonly [number, number, number, number])[],
  value = 255,
): RasterImage {
  const data = new Uint8Array(width * height * 3);
  for (const [x0, y0, w, h] of rectangles) {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data[(y * width + x) * 3] = value;
  }
  return { width, height, channels: 3, bitDepth: 8, data };
}

/** A gray mask: `cell` inside the rectangles, `background` elsewhere. */
export function rectangleMask(
  width: number,
  height: number,
  rectangles: readonly (readonly [number, number, number, number])[],
  cell = 255,
  background = 0,
): RasterImage {
  const data = new Uint8Array(width * height).fill(background);
  for (const [x0, y0, w, h] of rectangles) {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data[y * width + x] = cell;
  }
  return { width, height, channels: 1, bitDepth: 8, data };
}
