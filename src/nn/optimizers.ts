import type { AdamKernel, Engine, SgdKernel, Tensor } from '../engine/types.js';
import { fail } from '../util/errors.js';
import { lookup } from '../util/registry.js';
import type { Parameter } from './layers.js';

export interface OptimizerOptions {
  /** Default 1e-4 for AdamW, 0 for Adam and SGD. Biases and normalisation parameters are never decayed. */
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  momentum?: number;
}

/** The optimizers; names are what `--optimizer` accepts. */
export const OPTIMIZERS = {
  adam: (engine: Engine, o: OptimizerOptions, decay: boolean) =>
    engine.adam({ beta1: o.beta1, beta2: o.beta2, weightDecay: decay ? (o.weightDecay ?? 0) : 0, decoupled: false }),
  adamw: (engine: Engine, o: OptimizerOptions, decay: boolean) =>
    engine.adam({ beta1: o.beta1, beta2: o.beta2, weightDecay: decay ? (o.weightDecay ?? 1e-4) : 0, decoupled: true }),
  sgd: (engine: Engine, o: OptimizerOptions, decay: boolean) =>
    engine.sgd({ momentum: o.momentum, nesterov: true, weightDecay: decay ? (o.weightDecay ?? 0) : 0 }),
} as const;
export type OptimizerName = keyof typeof OPTIMIZERS;

/**
 * Applies one kernel per parameter group (decayed or not). State tensors (Adam's moments, SGD's
 * velocity) are created on the first step, after the kernels have moved each weight into its
 * preferred layout, so that they share it.
 */
export class Optimizer {
  readonly name: OptimizerName;
  /** Steps taken so far; Adam's bias correction counts from 1. */
  step = 0;
  private readonly kernels: { decay: AdamKernel | SgdKernel; plain: AdamKernel | SgdKernel };
  private readonly state = new Map<string, Tensor[]>();

  constructor(
    private readonly engine: Engine,
    name: string,
    options: OptimizerOptions = {},
  ) {
    const make = lookup(OPTIMIZERS, name, 'optimizer');
    this.name = name as OptimizerName;
    this.kernels = { decay: make(engine, options, true), plain: make(engine, options, false) };
  }

  /** Queues the update of every parameter that has a gradient. */
  apply(parameters: readonly Parameter[], learningRate: number): void {
    this.step += 1;
    for (const p of parameters) {
      if (!p.grad) continue;
      const kernel = p.decay ? this.kernels.decay : this.kernels.plain;
      const slots = this.slots(p);
      if (this.name === 'sgd') (kernel as SgdKernel).update(p.value, p.grad, slots[0], { learningRate });
      else (kernel as AdamKernel).update(p.value, p.grad, slots[0], slots[1], { learningRate, step: this.step });
    }
  }

  private slots(p: Parameter): Tensor[] {
    let slots = this.state.get(p.name);
    if (!slots) {
      slots = this.name === 'sgd' ? [this.engine.zerosLike(p.value)] : [this.engine.zerosLike(p.value), this.engine.zerosLike(p.value)];
      this.state.set(p.name, slots);
    }
    return slots;
  }

  /** State for checkpoints: `{ 'down.0.0.weight.m': data, ... }` plus the step count. */
  async stateDict(
    parameters: readonly Parameter[],
  ): Promise<{ step: number; tensors: Record<string, { shape: number[]; data: Float32Array }> }> {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    const suffixes = this.name === 'sgd' ? ['velocity'] : ['m', 'v'];
    for (const p of parameters) {
      const slots = this.state.get(p.name);
      if (!slots) continue;
      for (let i = 0; i < slots.length; i++) {
        tensors[`${p.name}.${suffixes[i]}`] = { shape: [...p.value.shape], data: await this.engine.read(slots[i]) };
      }
    }
    return { step: this.step, tensors };
  }

  loadStateDict(parameters: readonly Parameter[], state: { step: number; tensors: Record<string, { data: Float32Array }> }): void {
    this.step = state.step;
    const suffixes = this.name === 'sgd' ? ['velocity'] : ['m', 'v'];
    for (const p of parameters) {
      const saved = suffixes.map((s) => state.tensors[`${p.name}.${s}`]);
      const missing = suffixes.filter((_, i) => !saved[i]).map((s) => `${p.name}.${s}`);
      if (missing.length === suffixes.length && state.step === 0) continue;
      if (missing.length > 0) fail(`the optimizer state lacks ${missing.join(', ')}; the checkpoint is incomplete`);
      const slots = this.slots(p);
      saved.forEach((t, i) => this.engine.write(slots[i], t!.data));
    }
  }
}
