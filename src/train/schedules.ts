import { lookup } from '../util/registry.js';

/**
 * Learning-rate schedules as pure functions of the step, so a resumed run continues on the same
 * curve. `step` counts from 0; `totalSteps` is the planned length of the run.
 */
export type Schedule = (step: number, totalSteps: number, peak: number) => number;

const cosineBetween = (from: number, to: number, fraction: number) => to + ((from - to) * (1 + Math.cos(Math.PI * fraction))) / 2;

/**
 * PyTorch's OneCycleLR with cosine annealing: warm up from peak/25 to the peak over the first
 * 5% of steps (the reference's pct_start), then anneal to peak/(25·10⁴).
 */
export const oneCycle: Schedule = (step, totalSteps, peak) => {
  const warmup = Math.max(1, Math.round(0.05 * totalSteps) - 1);
  const initial = peak / 25;
  if (step <= warmup) return cosineBetween(initial, peak, step / warmup);
  const fraction = Math.min(1, (step - warmup) / Math.max(1, totalSteps - 1 - warmup));
  return cosineBetween(peak, initial / 1e4, fraction);
};

/** Cosine decay from the peak to 0 after a linear warm-up over 3% of the steps. */
export const cosine: Schedule = (step, totalSteps, peak) => {
  const warmup = Math.max(1, Math.round(0.03 * totalSteps));
  if (step < warmup) return (peak * (step + 1)) / warmup;
  return cosineBetween(peak, 0, Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup)));
};

/** The same rate throughout. */
export const constant: Schedule = (_step, _totalSteps, peak) => peak;

export const SCHEDULES = { onecycle: oneCycle, cosine, constant } as const;
export type ScheduleName = keyof typeof SCHEDULES;

export function schedule(name: string): Schedule {
  return lookup(SCHEDULES, name, 'schedule');
}
