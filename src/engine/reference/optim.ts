import type { AdamKernel, AdamOptions, SgdKernel, SgdOptions, Tensor } from '../types.js';
import { checkShape, ref } from './tensor.js';

/** Adam / AdamW with PyTorch's arithmetic (bias corrections folded into the step size). */
export class RefAdam implements AdamKernel {
  constructor(private readonly options: Required<AdamOptions>) {}

  update(paramT: Tensor, gradT: Tensor, mT: Tensor, vT: Tensor, options: { learningRate: number; step: number }): void {
    for (const [name, t] of [
      ['grad', gradT],
      ['m', mT],
      ['v', vT],
    ] as const)
      checkShape(t, paramT.shape, `adam ${name}`);
    const [param, grad, m, v] = [paramT, gradT, mT, vT].map((t) => ref(t).data);
    const { beta1, beta2, epsilon, weightDecay, decoupled } = this.options;
    const lr = options.learningRate;
    const correction1 = 1 - beta1 ** options.step;
    const correction2Sqrt = Math.sqrt(1 - beta2 ** options.step);
    const stepSize = lr / correction1;
    for (let j = 0; j < param.length; j++) {
      let g = grad[j];
      if (weightDecay !== 0) {
        if (decoupled) param[j] *= 1 - lr * weightDecay;
        else g += weightDecay * param[j];
      }
      m[j] = beta1 * m[j] + (1 - beta1) * g;
      v[j] = beta2 * v[j] + (1 - beta2) * g * g;
      param[j] -= (stepSize * m[j]) / (Math.sqrt(v[j]) / correction2Sqrt + epsilon);
    }
  }
}

/** SGD with momentum (PyTorch's form: v = μv + g; p −= lr·v, or the Nesterov variant). */
export class RefSgd implements SgdKernel {
  constructor(private readonly options: Required<SgdOptions>) {}

  update(paramT: Tensor, gradT: Tensor, velocityT: Tensor, options: { learningRate: number }): void {
    checkShape(gradT, paramT.shape, 'sgd grad');
    checkShape(velocityT, paramT.shape, 'sgd velocity');
    const [param, grad, velocity] = [paramT, gradT, velocityT].map((t) => ref(t).data);
    const { momentum, nesterov, weightDecay } = this.options;
    for (let j = 0; j < param.length; j++) {
      const g = grad[j] + weightDecay * param[j];
      velocity[j] = momentum * velocity[j] + g;
      param[j] -= options.learningRate * (nesterov ? g + momentum * velocity[j] : velocity[j]);
    }
  }
}
