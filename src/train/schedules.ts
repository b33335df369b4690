import { lookup } from '../util/registry.js';

/**
 * Learning-rate schedules as pure functions of the run's position, so a resumed run continues on
 * the same curve. A run of `--epochs N` knows its length in steps and uses `atStep`; a run on a
 * time budget does not (the machine's speed decides it) and uses `atFraction`, the share of the
 * budget spent when the step starts.
 */
export interface Schedule {
  /** The rate at `step` (from 0) of a run planned as `totalSteps` steps. */
  atStep(step: number, totalSteps: number, peak: number): number;
  /** The rate when `fraction` (0–1) of the run's time budget has been spent. */
  atFraction(fraction: number, peak: number): number;
}

const cosineBetween = (from: number, to: number, fraction: number) => to + ((from - to) * (1 + Math.cos(Math.PI * fraction))) / 2;
const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

/** PyTorch OneCycleLR's defaults: warm-up share (pct_start), initial peak/25, final initial/10⁴. */
const ONE_CYCLE = { warmupShare: 0.05, divFactor: 25, finalDivFactor: 1e4 };

/**
 * PyTorch's OneCycleLR with cosine annealing: warm up from peak/25 to the peak over the first
 * 5% of the run (the reference's pct_start), then anneal to peak/(25·10⁴).
 */
export const oneCycle: Schedule = {
  atStep(step, totalSteps, peak) {
    const warmup = Math.max(1, Math.round(ONE_CYCLE.warmupShare * totalSteps) - 1);
    const initial = peak / ONE_CYCLE.divFactor;
    if (step <= warmup) return cosineBetween(initial, peak, step / warmup);
    const fraction = Math.min(1, (step - warmup) / Math.max(1, totalSteps - 1 - warmup));
    return cosineBetween(peak, initial / ONE_CYCLE.finalDivFactor, fraction);
  },
  atFraction(fraction, peak) {
    const f = clamp01(fraction);
    const initial = peak / ONE_CYCLE.divFactor;
    const share = ONE_CYCLE.warmupShare;
    if (f <= share) return cosineBetween(initial, peak, f / share);
    return cosineBetween(peak, initial / ONE_CYCLE.finalDivFactor, (f - share) / (1 - share));
  },
};

const COSINE_WARMUP_SHARE = 0.03;

/** Cosine decay from the peak to 0 after a linear warm-up over 3% of the run. */
export const cosine: Schedule = {
  atStep(step, totalSteps, peak) {
    const warmup = Math.max(1, Math.round(COSINE_WARMUP_SHARE * totalSteps));
    if (step < warmup) return (peak * (step + 1)) / warmup;
    return cosineBetween(peak, 0, Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup)));
  },
  atFraction(fraction, peak) {
    const f = clamp01(fraction);
    if (f < COSINE_WARMUP_SHARE) return (peak * f) / COSINE_WARMUP_SHARE;
    return cosineBetween(peak, 0, (f - COSINE_WARMUP_SHARE) / (1 - COSINE_WARMUP_SHARE));
  },
};

/** The same rate throughout. */
export const constant: Schedule = { atStep: (_step, _totalSteps, peak) => peak, atFraction: (_fraction, peak) => peak };

export const SCHEDULES = { onecycle: oneCycle, cosine, constant } as const;
export type ScheduleName = keyof typeof SCHEDULES;

export function schedule(name: string): Schedule {
  return lookup(SCHEDULES, name, 'schedule');
}
