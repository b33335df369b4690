import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNEL_DEFAULTS, withDefaults } from '../defaults.js';
import type {
  AdamKernel,
  AdamOptions,
  AddKernel,
  BatchNorm2dKernel,
  BatchNorm2dOptions,
  ConcatKernel,
  Conv2dKernel,
  Conv2dOptions,
  ConvTranspose2dKernel,
  DropoutKernel,
  Engine,
  EngineStats,
  LossKernel,
  LossOptions,
  MaxPool2dKernel,
  ReluKernel,
  SgdKernel,
  SgdOptions,
  Tensor,
} from '../types.js';

/**
 * The addon's exports (native/addon.cc and the kernel classes of native/*.cc). Kernels implement
 * the interfaces of types.ts; their constructors take every option, resolved (KERNEL_DEFAULTS).
 */
interface Addon extends Pick<Engine, 'tensor' | 'zerosLike' | 'write' | 'read' | 'sync' | 'setThreads' | 'stats'> {
  info(): { version: string; isa: string; threads: number; precision: 'fp32' | 'bf16'; bf16Native: boolean };
  setPrecision(precision: 'fp32' | 'bf16'): void;
  setProfiling(on: boolean): void;
  takeProfile(): Record<string, ProfileEntry>;
  implementations(): Record<string, string[]>;
  Conv2d: new (options: Required<Conv2dOptions>) => Conv2dKernel;
  ConvTranspose2d: new (options: { stride: number }) => ConvTranspose2dKernel;
  MaxPool2d: new () => MaxPool2dKernel;
  BatchNorm2d: new (options: Required<BatchNorm2dOptions>) => BatchNorm2dKernel;
  Relu: new () => ReluKernel;
  Concat: new () => ConcatKernel;
  Add: new () => AddKernel;
  Dropout: new (options: { rate: number }) => DropoutKernel;
  Loss: new (options: Required<LossOptions>) => LossKernel;
  Adam: new (options: Required<AdamOptions>) => AdamKernel;
  Sgd: new (options: Required<SgdOptions>) => SgdKernel;
}

/** Time and arithmetic of one kind of kernel while profiling. */
export interface ProfileEntry {
  calls: number;
  seconds: number;
  /** Floating-point operations (convolutions only). */
  flops: number;
}

/**
 * Where the addon is built (node-gyp's output), relative to the package root; PYOCYTE_ADDON
 * overrides it (tests use it to exercise the fallback).
 */
export const ADDON_PATH =
  process.env.PYOCYTE_ADDON ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'build', 'Release', 'pyocyte.node');

let cached: { addon?: Addon; error?: string } | undefined;

/** Loads the addon once; returns why it could not be loaded instead of throwing. */
export function loadAddon(): { addon?: Addon; error?: string } {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) {
    cached = { error: 'the native addon is not built (build/Release/pyocyte.node is missing)' };
  } else {
    try {
      cached = { addon: createRequire(import.meta.url)(ADDON_PATH) as Addon };
    } catch (error) {
      cached = { error: `the native addon failed to load: ${(error as Error).message}` };
    }
  }
  return cached;
}

/**
 * The instruction sets on which oneDNN 2.x has bfloat16 convolutions: AVX-512 (emulated on plain
 * avx512_core, in hardware from avx512_core_bf16). On AVX2 it has none, and creating one fails.
 */
export const BF16_ISAS = new Set(['avx512_core', 'avx512_core_vnni', 'avx512_core_bf16', 'avx512_core_amx']);

/** Whether this CPU can run the native engine in bf16 (false without the addon). */
export function bf16Available(): boolean {
  const { addon } = loadAddon();
  return addon !== undefined && BF16_ISAS.has(addon.info().isa);
}

/** The oneDNN engine. Kernels queue their work on the addon's compute thread. */
export class NativeEngine implements Engine {
  readonly name = 'native' as const;
  private readonly addon: Addon;

  readonly precision: 'fp32' | 'bf16';

  /**
   * `precision` 'bf16' computes convolutions and keeps activations in bfloat16 (fp32 master
   * weights, statistics and losses); 'auto' picks it where the CPU has bf16 arithmetic.
   * The addon's precision is process-wide: the last engine created sets it. 'bf16' on a CPU
   * without bfloat16 convolutions ({@link BF16_ISAS}) computes in fp32 after a warning.
   */
  constructor(addon: Addon, options: { threads?: number; precision?: 'fp32' | 'bf16' | 'auto'; warn?: (message: string) => void } = {}) {
    this.addon = addon;
    if (options.threads) addon.setThreads(options.threads);
    const wanted = options.precision ?? 'fp32';
    const info = addon.info();
    this.precision = wanted === 'auto' ? (info.bf16Native ? 'bf16' : 'fp32') : wanted;
    if (this.precision === 'bf16' && !BF16_ISAS.has(info.isa)) {
      const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
      warn(
        `warning: precision bf16: oneDNN ${info.version} has no bfloat16 convolutions on this CPU (${info.isa}; they need AVX-512), so it computes in fp32`,
      );
      this.precision = 'fp32';
    }
    addon.setPrecision(this.precision);
  }

  get description(): string {
    const info = this.addon.info();
    return `native: oneDNN ${info.version}, ${info.isa}, ${info.threads} thread${info.threads === 1 ? '' : 's'}, ${this.precision}`;
  }

  tensor(shape: readonly number[], data?: Float32Array): Tensor {
    return this.addon.tensor(shape, data);
  }
  zerosLike(like: Tensor): Tensor {
    return this.addon.zerosLike(like);
  }
  write(tensor: Tensor, data: Float32Array): void {
    this.addon.write(tensor, data);
  }
  read(tensor: Tensor): Promise<Float32Array> {
    return this.addon.read(tensor);
  }
  sync(): Promise<void> {
    return this.addon.sync();
  }
  setThreads(threads: number): void {
    this.addon.setThreads(threads);
  }
  stats(): EngineStats {
    return this.addon.stats();
  }

  /** Starts or stops timing every queued kernel by kind (for benchmarks). */
  setProfiling(on: boolean): void {
    this.addon.setProfiling(on);
  }

  /** The per-kind profile since the last call (waits for the queue). */
  takeProfile(): Record<string, ProfileEntry> {
    return this.addon.takeProfile();
  }

  /**
   * oneDNN's implementation of every primitive built so far, by profile label, e.g.
   * `{ 'conv3x3.fwd': ['brg:avx512_core'], 'upconv.fwd': ['jit:avx2'] }`. A `ref:` name is oneDNN's
   * reference code, tens to hundreds of times slower than its JIT kernels.
   */
  implementations(): Record<string, string[]> {
    return this.addon.implementations();
  }

  conv2d(options: Conv2dOptions): Conv2dKernel {
    return new this.addon.Conv2d(withDefaults(KERNEL_DEFAULTS.conv2d, options));
  }
  convTranspose2d(options: { stride: number }): ConvTranspose2dKernel {
    return new this.addon.ConvTranspose2d(options);
  }
  maxPool2d(): MaxPool2dKernel {
    return new this.addon.MaxPool2d();
  }
  batchNorm2d(options: BatchNorm2dOptions = {}): BatchNorm2dKernel {
    return new this.addon.BatchNorm2d(withDefaults(KERNEL_DEFAULTS.batchNorm2d, options));
  }
  relu(): ReluKernel {
    return new this.addon.Relu();
  }
  concat(): ConcatKernel {
    return new this.addon.Concat();
  }
  add(): AddKernel {
    return new this.addon.Add();
  }
  dropout(options: { rate: number }): DropoutKernel {
    return new this.addon.Dropout(options);
  }
  loss(options: LossOptions): LossKernel {
    return new this.addon.Loss(withDefaults(KERNEL_DEFAULTS.loss, options));
  }
  adam(options: AdamOptions = {}): AdamKernel {
    return new this.addon.Adam(withDefaults(KERNEL_DEFAULTS.adam, options));
  }
  sgd(options: SgdOptions = {}): SgdKernel {
    return new this.addon.Sgd(withDefaults(KERNEL_DEFAULTS.sgd, options));
  }
}
