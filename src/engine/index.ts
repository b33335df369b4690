import { cpus } from 'node:os';
import { availableParallelism } from 'node:os';
import { fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';
import { NativeEngine, loadAddon } from './native/index.js';
import { ReferenceEngine } from './reference/index.js';
import type { Engine } from './types.js';

export type * from './types.js';
export { ReferenceEngine } from './reference/index.js';
export { NativeEngine, bf16Available } from './native/index.js';
export { KERNEL_DEFAULTS, withDefaults } from './defaults.js';
export { LossTermSums } from './loss-terms.js';

/** Which engine to use: `auto` takes the native one when it is built and falls back loudly. */
export const BACKENDS = { auto: 'auto', native: 'native', reference: 'reference' } as const;
export type BackendName = keyof typeof BACKENDS;
export const PRECISIONS = { fp32: 'fp32', bf16: 'bf16', auto: 'auto' } as const;
export type PrecisionName = keyof typeof PRECISIONS;

export interface EngineOptions {
  /** Default `auto` (or the PYOCYTE_ENGINE environment variable). */
  backend?: BackendName;
  /** Compute threads; default: every core. */
  threads?: number;
  /**
   * Native engine only: 'fp32' (default), 'bf16' (bfloat16 activations and convolutions, fp32
   * master weights; about twice the speed where the CPU has bf16 arithmetic), or 'auto'.
   */
  precision?: PrecisionName;
  /** Where the fallback warning goes; default stderr. */
  warn?: (message: string) => void;
}

let warned = false;

/** Whether the native engine can be used here, and why not. */
export function nativeAvailability(): { available: boolean; reason?: string } {
  const { addon, error } = loadAddon();
  return addon ? { available: true } : { available: false, reason: error };
}

/**
 * Creates an engine. With `auto`, a missing addon falls back to the reference engine after a loud
 * warning (once per process) that says how to get the fast one; `native` fails instead.
 */
export function createEngine(options: EngineOptions = {}): Engine {
  const backend = lookup(BACKENDS, options.backend ?? process.env.PYOCYTE_ENGINE ?? 'auto', 'engine');
  const threads = options.threads ?? availableParallelism?.() ?? cpus().length;
  if (backend === 'reference') return new ReferenceEngine();
  const { addon, error } = loadAddon();
  const precision = lookup(PRECISIONS, options.precision ?? 'fp32', 'precision');
  if (addon) return new NativeEngine(addon, { threads, precision, warn: options.warn });
  if (backend === 'native') fail(`${error}; build it with \`npm run setup\` (needs libdnnl-dev), or use --engine reference`);
  if (!warned) {
    warned = true;
    const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
    warn(
      [
        '!'.repeat(78),
        `!! pyocyte: ${error}.`,
        '!! Falling back to the pure-TypeScript reference engine, which is 100× slower or worse.',
        '!! To get the fast oneDNN engine: sudo apt-get install libdnnl-dev && npm run setup',
        '!'.repeat(78),
      ].join('\n'),
    );
  }
  return new ReferenceEngine();
}
