/**
 * Facts about the machine a benchmark ran on, stored with every result so numbers from different
 * machines are never compared blindly.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';

/** The machine and runtime a benchmark ran on. */
export interface MachineInfo {
  cpuModel: string;
  /** Logical cores the process may use. */
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  osRelease: string;
  /** ISO 8601 time of the run. */
  date: string;
  /** The vector and matrix extensions that decide the native engine's speed and whether `auto` precision is bf16 (Linux only). */
  cpuFeatures?: string[];
}

/** Extensions worth recording: AVX2 only, AVX-512, bf16 dot products, AMX tiles. */
const RECORDED_FEATURES = ['avx2', 'avx512f', 'avx512_bf16', 'amx_bf16'] as const;

function cpuFeatures(): string[] | undefined {
  try {
    const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? []);
    return RECORDED_FEATURES.filter((f) => flags.has(f));
  } catch {
    return undefined;
  }
}

/** Describes this machine, for the `machine` field of every benchmark JSON. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    osRelease: release(),
    date: new Date().toISOString(),
    cpuFeatures: cpuFeatures(),
  };
}

/** `yyyy-mm-dd` of a date in UTC, for result file names (one file per benchmark and day). */
export function dayStamp(date = new Date()): string {
  return date.toISOString().slice(0, 10);
}

/**
 * Milliseconds for a fixed scalar loop (2²⁰ multiply-adds over a Float32Array), best of 20.
 * Stored beside results so a slow run can be told apart from a busy or slower machine.
 */
export function calibrationLoopMs(): number {
  const data = new Float32Array(1 << 20).fill(0.5);
  let best = Infinity;
  for (let run = 0; run < 20; run++) {
    const start = performance.now();
    for (let i = 0; i < data.length; i++) data[i] = data[i] * 0.999 + 0.0005;
    best = Math.min(best, performance.now() - start);
  }
  return Math.round(best * 1000) / 1000;
}
