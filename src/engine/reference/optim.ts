import type { AdamKernel, AdamOptions, SgdKernel, SgdOptions, Tensor } from '../types.js';
import { checkShape, ref } from './tensor.js';

/** Adam / AdamW with PyTorch's arithmetic (bias corrections folded into the step size). */
export class RefAdam implements AdamKernel {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;
  private readonly decoupled: boolean;

  constructor(options: AdamOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupled = options.decoupled ?? false;
  }

  update(paramT: Tensor, gradT: Tensor, mT: Tensor, vT: Tensor, options: { learningRate: number; step: number }): void {
    for (const [name, t] of [['grad', gradT], ['m', mT], ['v', vT]] as const) checkShape(t, paramT.shape, `adam ${name}`);
    const [param, grad, m, v] = [paramT, gradT, mT, vT].map((t) => ref(t).data);
    const lr = options.learningRate;
    const correction1 = 1 - this.beta1 ** options.step;
    const correction2Sqrt = Math.sqrt(1 - this.beta2 ** options.step);
    const stepSize = lr / correction1;
    for (let j = 0; j < param.length; j++) {
      let g = grad[j];
      if (this.weightDecay !== 0) {
        if (this.decoupled) param[j] *= 1 - lr * this.weightDecay;
        else g += this.weightDecay * param[j];
      }
      m[j] = this.beta1 * m[j] + (1 - this.beta1) * g;
      v[j] = this.beta2 * v[j] + (1 - this.beta2) * g * g;
      param[j] -= (stepSize * m[j]) / (Math.sqrt(v[j]) / correction2Sqrt + this.epsilon);
    }
  }
}

/** SGD with momentum (PyTorch's form: v = μv + g; p −= lr·v, or the Nesterov variant). */
export class RefSgd implements SgdKernel {
  private readonly momentum: number;
  private readonly nesterov: boolean;
  private readonly weightDecay: number;

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0.9;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
  }

  update(paramT: Tensor, gradT: Tensor, velocityT: Tensor, options: { learningRate: number }): void {
    checkShape(gradT, paramT.shape, 'sgd grad');
    checkShape(velocityT, paramT.shape, 'sgd velocity');
    const [param, grad, velocity] = [paramT, gradT, velocityT].map((t) => ref(t).data);
    for (let j = 0; j < param.length; j++) {
      const g = grad[j] + this.weightDecay * param[j];
      velocity[j] = this.momentum * velocity[j] + g;
      param[j] -= options.learningRate * (this.nesterov ? g + this.momentum * velocity[j] : velocity[j]);
    }
  }
}
