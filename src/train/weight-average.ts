/**
 * An exponential moving average of the weights (Polyak averaging: Polyak & Juditsky, SIAM J.
 * Control Optim. 30, 1992), as YOLOv5's `ModelEMA` keeps one, with the warm-up of TensorFlow's
 * `ExponentialMovingAverage(num_updates)`: update t moves the average towards the weights by
 * 1 − d_t, with d_t = min(decay, (1 + t) / (10 + t)), so that early averages follow the weights
 * instead of remembering the random start (update 0 copies them). BatchNorm's running statistics
 * are averaged the same way. Training steps use the weights; validation, the `best` checkpoint and
 * so the final model use the average. The `last` checkpoint keeps the average beside the optimizer
 * state, so a resumed run goes on with it.
 */
import type { Model } from '../nn/model.js';
import { fail } from '../util/errors.js';
import type { Callback } from './callbacks.js';

/** The suffix of an averaged tensor's name in the `last` checkpoint's optimizer.safetensors. */
const SUFFIX = '.average';

/** The decay of update `t` (counting from 0) for a target decay: TensorFlow's warm-up. */
export function averageDecay(decay: number, t: number): number {
  return Math.min(decay, (1 + t) / (10 + t));
}

/** The moving average of one model's weights; see the file header. */
export class WeightAverage {
  /** Updates so far. */
  updates = 0;
  private readonly averages = new Map<string, Float32Array>();
  /** The weights the average stands in for while it is swapped in (see {@link swapIn}). */
  private held?: Map<string, Float32Array>;

  /** @param decay the target decay, in (0, 1): about 1 / (1 − decay) steps are remembered. */
  constructor(readonly decay: number) {
    if (!(decay > 0 && decay < 1)) fail(`the weight-average decay must lie between 0 and 1 (exclusive), got ${decay}`);
  }

  /** Moves the average towards the model's current weights (after an optimisation step). */
  async update(model: Model): Promise<void> {
    const targets = model.network.stateTensors();
    const values = await Promise.all(targets.map((t) => model.engine.read(t.value)));
    const keep = averageDecay(this.decay, this.updates);
    this.updates += 1;
    targets.forEach(({ name }, i) => {
      const average = this.averages.get(name);
      if (!average) {
        this.averages.set(name, values[i]);
        return;
      }
      const value = values[i];
      const move = 1 - keep;
      for (let j = 0; j < average.length; j++) average[j] += move * (value[j] - average[j]);
    });
  }

  /** Puts the average into the model, holding its weights until {@link swapOut}. */
  async swapIn(model: Model): Promise<void> {
    if (this.held) fail('the weight average is already swapped in');
    if (this.averages.size === 0) return;
    const targets = model.network.stateTensors();
    const values = await Promise.all(targets.map((t) => model.engine.read(t.value)));
    this.held = new Map(targets.map(({ name }, i) => [name, values[i]]));
    for (const { name, value } of targets) model.engine.write(value, this.averages.get(name)!);
  }

  /** Gives the model back the weights {@link swapIn} held. */
  swapOut(model: Model): void {
    const held = this.held;
    if (!held) return;
    for (const { name, value } of model.network.stateTensors()) model.engine.write(value, held.get(name)!);
    this.held = undefined;
  }

  /** Runs `work` with the average in the model, then gives the weights back. */
  async with<T>(model: Model, work: () => Promise<T>): Promise<T> {
    await this.swapIn(model);
    try {
      return await work();
    } finally {
      this.swapOut(model);
    }
  }

  /** The averages for the `last` checkpoint, as `<tensor name>.average`. */
  checkpointTensors(model: Model): Record<string, { shape: number[]; data: Float32Array }> {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const { name, value } of model.network.stateTensors()) {
      const average = this.averages.get(name);
      if (average) tensors[`${name}${SUFFIX}`] = { shape: [...value.shape], data: average };
    }
    return tensors;
  }

  /** Takes the averages back from a `last` checkpoint's tensors; `file` names it in errors. */
  load(model: Model, tensors: Record<string, { data: unknown }>, updates: number, file: string): void {
    this.updates = updates;
    this.averages.clear();
    if (updates === 0) return;
    for (const { name, value } of model.network.stateTensors()) {
      const saved = tensors[`${name}${SUFFIX}`]?.data;
      const elements = value.shape.reduce((a, b) => a * b, 1);
      if (!(saved instanceof Float32Array) || saved.length !== elements) {
        fail(`${file} lacks the weight average of '${name}' (the run averages its weights); the checkpoint is incomplete`);
      }
      this.averages.set(name, saved);
    }
  }
}

/**
 * Updates `average` after every step. The run validates it (train.ts) and `checkpointing` saves it
 * as `best`, so the final model, restored from `best`, is the average.
 */
export function weightAveraging(average: WeightAverage): Callback {
  return { onStepEnd: (run) => average.update(run.model) };
}
