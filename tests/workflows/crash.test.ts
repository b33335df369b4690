/**
 * Crash safety: a real `pyocyte train` process (the CLI, a small synthetic dataset, a small net)
 * is killed with SIGKILL at random moments, during a step, during validation, or while a
 * checkpoint is being written, and resumed with `--resume` each time. After every kill the
 * checkpoints, model.json and log.jsonl must load; the finished run must equal an uninterrupted
 * one bit for bit, and its model must predict.
 *
 * The child announces its phases on stderr (PYOCYTE_ANNOUNCE_PHASES=1); a kill is aimed at the
 * n-th announcement of its target phase, after a random delay within that phase's shortest
 * length on the uninterrupted run. What each kill hit is read from the child's last
 * announcement. `npm test` runs 3 kills (one per phase); `npm run test:crash` runs 10
 * (PYOCYTE_CRASH_KILLS) and prints a table. PYOCYTE_CRASH_SEED fixes the random moments.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDataset } from '../../src/data/prepare.js';
import { createEngine } from '../../src/engine/index.js';
import { loadModel } from '../../src/io/model-file.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { predictProbabilities } from '../../src/infer/predict.js';
import { CHECKPOINTS, loadLastCheckpoint } from '../../src/train/checkpoint.js';
import { recoverAtomicWrites } from '../../src/util/fs.js';
import { Random } from '../../src/util/random.js';
import { assertBitExact } from '../engine/helpers.js';
import { REPO_ROOT, TEST_ENGINE, tempFolder, tinyDataset } from '../cli/helpers.js';

const KILLS = Number(process.env.PYOCYTE_CRASH_KILLS ?? 3);
const SEED = Number(process.env.PYOCYTE_CRASH_SEED ?? Date.now() % 1e6);
const PHASES = ['step', 'validation', 'checkpoint'] as const;
type Target = (typeof PHASES)[number];
/** Enough epochs that every kill finds its phase ahead: a kill lets the run advance by 2 epochs at most. */
const EPOCHS = 2 * KILLS + 2;
// 8 training images × 4 patches / batch 4 = 8 steps an epoch; 4 validation images; a depth-2,
// 16-filter net (a checkpoint of weights and AdamW moments is about 1.5 MB, written with fsyncs).
const TRAIN_FLAGS = [
  '--epochs',
  String(EPOCHS),
  '--depth',
  '2',
  '--filters',
  '16',
  '--patch-size',
  '64',
  '--batch',
  '4',
  '--patches-per-image',
  '4',
  '--seed',
  '7',
  '--engine',
  TEST_ENGINE,
];

/** One `pyocyte` child: its stderr lines with arrival times, and its exit. */
class Child {
  readonly lines: { text: string; ms: number }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly startedMs = performance.now();
  private readonly process: ChildProcess;
  private waiters: (() => void)[] = [];
  private done = false;

  constructor(args: readonly string[]) {
    this.process = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PYOCYTE_ANNOUNCE_PHASES: '1', PYOCYTE_DEBUG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let partial = '';
    this.process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const text of parts) this.lines.push({ text, ms: performance.now() });
      this.wake();
    });
    this.exited = new Promise((resolve) =>
      this.process.on('close', (code, signal) => {
        this.done = true;
        this.wake();
        resolve({ code, signal });
      }),
    );
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The announced phases so far: `{ phase, step, ms }`. */
  phases(): { phase: string; step: number; ms: number }[] {
    return this.lines.flatMap(({ text, ms }) => {
      const m = /^pyocyte phase: (.+) step (\d+)$/.exec(text);
      return m ? [{ phase: m[1], step: Number(m[2]), ms }] : [];
    });
  }

  /** Waits until `predicate` holds for the announcements so far; resolves false when the child exits first. */
  async waitFor(predicate: (phases: { phase: string; step: number }[]) => boolean): Promise<boolean> {
    for (;;) {
      if (predicate(this.phases())) return true;
      if (this.done) return false;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  kill(): void {
    this.process.kill('SIGKILL');
  }

  stderr(): string {
    return this.lines.map((l) => l.text).join('\n');
  }
}

/**
 * How long each phase lasts in an uninterrupted run, from its announcement to the next one: the
 * shortest time seen, so a kill delayed by up to that lands inside the phase even when the
 * machine's speed changes.
 */
function phaseDurations(child: Child): Record<Target, number> {
  const phases = child.phases();
  const durations: Record<string, number[]> = {};
  for (let i = 0; i + 1 < phases.length; i++) (durations[phases[i].phase] ??= []).push(phases[i + 1].ms - phases[i].ms);
  const shortest = (values: number[] = [0]) => Math.min(...values);
  return { step: shortest(durations.step), validation: shortest(durations.validation), checkpoint: shortest(durations.checkpoint) };
}

/** Leftovers of atomic writes in the run folder and its checkpoints folder. */
function leftovers(run: string): string[] {
  return [run, join(run, 'checkpoints')]
    .filter(existsSync)
    .flatMap((dir) => readdirSync(dir).filter((name) => /\.(tmp|new|old)-/.test(name)));
}

/** Everything a killed run leaves must load: log.jsonl line by line, `last` (after the resume's repair), `best`, the model. */
async function assertLoadable(run: string): Promise<void> {
  if (existsSync(join(run, 'log.jsonl'))) {
    const text = readFileSync(join(run, 'log.jsonl'), 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), 'log.jsonl ends with a whole line');
    for (const line of text.split('\n').filter((l) => l !== ''))
      assert.doesNotThrow(() => JSON.parse(line), `log.jsonl line: ${line.slice(0, 80)}`);
  }
  await recoverAtomicWrites(run);
  await recoverAtomicWrites(join(run, 'checkpoints'));
  const engine = createEngine({ backend: TEST_ENGINE });
  await loadLastCheckpoint(run, engine, (m) => m.configureTraining({ optimizer: 'adamw' }));
  for (const dir of [join(run, CHECKPOINTS.best), join(run, 'model')]) if (existsSync(dir)) await loadModel(dir, { engine });
}

function weights(run: string) {
  return decodeSafetensors(readFileSync(join(run, 'model', 'model.safetensors'))).tensors;
}

let tmp: ReturnType<typeof tempFolder>;
let data = '';
let reference = '';
let durations: Record<Target, number>;

before(async () => {
  tmp = tempFolder('crash');
  data = await tinyDataset(join(tmp.dir, 'data'), { count: 14, width: 96, height: 96, split: [8, 4, 2] });
  reference = join(tmp.dir, 'reference');
  const child = new Child(['train', '--data', data, '--out', reference, ...TRAIN_FLAGS]);
  const { code } = await child.exited;
  assert.equal(code, 0, child.stderr());
  durations = phaseDurations(child);
});
after(() => tmp.remove());

test(`train killed ${KILLS} times (SIGKILL during steps, validation and checkpoint writes) and resumed: every file loads, the result equals an uninterrupted run`, {
  timeout: 3_600_000,
}, async () => {
  const rng = new Random(SEED);
  const run = join(tmp.dir, 'killed');
  const rows: string[] = [];
  let resumeStep = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    const target: Target = kill < PHASES.length ? PHASES[kill] : PHASES[rng.int(0, PHASES.length)];
    const child = new Child(kill === 0 ? ['train', '--data', data, '--out', run, ...TRAIN_FLAGS] : ['train', '--resume', run]);
    // The n-th occurrence ahead (n = 1 or 2); steps: 1 to 12 steps past the resume point.
    const occurrence = rng.int(1, 3);
    const stepAhead = rng.int(1, 13);
    const reached = await child.waitFor((phases) =>
      target === 'step'
        ? phases.some((p) => p.phase === 'step' && p.step >= resumeStep + stepAhead)
        : phases.filter((p) => p.phase === target).length >= occurrence,
    );
    const firstStep = child.phases().find((p) => p.phase === 'step');
    const delayMs = rng.uniform(0, durations[target]);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    child.kill();
    const exit = await child.exited;
    const last = child.phases().at(-1);
    const left = leftovers(run);
    rows.push(
      `kill ${kill + 1}: aimed at ${target} (+${delayMs.toFixed(0)} ms), hit ${reached && exit.signal === 'SIGKILL' ? last?.phase : 'nothing (the run ended first)'} ` +
        `at step ${last?.step}; resume to first step ${firstStep ? ((firstStep.ms - child.startedMs) / 1000).toFixed(1) : '–'} s` +
        (left.length ? `; left ${left.join(', ')}` : ''),
    );
    assert.equal(exit.signal, 'SIGKILL', `kill ${kill + 1} found the run finished:\n${child.stderr()}`);
    await assertLoadable(run);
    resumeStep = JSON.parse(readFileSync(join(run, CHECKPOINTS.last, 'trainer.json'), 'utf8')).step;
  }
  const final = new Child(['train', '--resume', run]);
  const { code } = await final.exited;
  assert.equal(code, 0, final.stderr());
  console.log(
    `# crash test, seed ${SEED}, shortest phase lengths: step ${durations.step.toFixed(0)} ms, validation ${durations.validation.toFixed(0)} ms, checkpoint ${durations.checkpoint.toFixed(0)} ms\n# ${rows.join('\n# ')}`,
  );

  await assertLoadable(run);
  const [a, b] = [weights(reference), weights(run)];
  for (const name of Object.keys(a)) {
    if (a[name].data instanceof Float32Array) assertBitExact(b[name].data as Float32Array, a[name].data, name);
  }
  const strip = (text: string) =>
    text
      .split('\n')
      .filter((l) => l)
      .map((l) => {
        const { seconds: _s, ...rest } = JSON.parse(l);
        return rest;
      });
  assert.deepEqual(strip(readFileSync(join(run, 'log.jsonl'), 'utf8')), strip(readFileSync(join(reference, 'log.jsonl'), 'utf8')));
  const model = await loadModel(run, { engine: createEngine({ backend: TEST_ENGINE }) });
  const [sample] = await (await openDataset(data)).load('test');
  const map = await predictProbabilities(model, sample.image, { tta: false });
  assert.equal(map.data.length, sample.labels.length);
  assert.ok(
    map.data.every((p) => p >= 0 && p <= 1),
    'probabilities in [0, 1]',
  );
});
