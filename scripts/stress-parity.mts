/**
 * Stress check for a fixed native-engine race: a gradient passed to a backward kernel as a JS
 * temporary (`bn.backward(e.tensor(...))`) could be garbage-collected, and its buffer freed,
 * before the compute thread ran the queued backward, which then read freed memory (about 1 run
 * in 200–600 here gave a wrong dx or dGamma; transposed-convolution dBias once in the suite).
 * Kernels now own the tensors their queued primitives read (Exec::set with a TensorPtr, and
 * LayoutCache owns its source). Repeats a BatchNorm training forward + backward on fresh engines
 * and counts mismatches with the reference; run it beside other load to vary the timing.
 *
 *   RELU=1 T=2 node --import tsx scripts/stress-parity.mts 600
 */
import { createEngine } from '../src/engine/index.js';
import type { Engine } from '../src/engine/types.js';
import { randomArray, relativeError } from '../tests/engine/helpers.js';

async function run(e: Engine): Promise<Float32Array[]> {
  const C = 5;
  const bn = e.batchNorm2d({ relu: process.env.RELU !== '0' });
  const params = { gamma: e.tensor([C], new Float32Array(C).fill(1.5)), beta: e.tensor([C]), runningMean: e.tensor([C]), runningVar: e.tensor([C], new Float32Array(C).fill(1)) };
  const x = e.tensor([2, C, 8, 8], randomArray(2 * C * 64, 1));
  const z = bn.forward(x, params, { training: true });
  const g = bn.backward(e.tensor(z.shape, randomArray(2 * C * 64, 3)));
  return [await e.read(g.dx), await e.read(g.dGamma)];
}

const runs = Number(process.argv[2] ?? 600);
const want = await run(createEngine({ backend: 'reference' }));
let bad = 0;
for (let i = 0; i < runs; i++) {
  const got = await run(createEngine({ backend: 'native', threads: Number(process.env.T ?? 2) }));
  const errors = want.map((w, k) => relativeError(got[k], w));
  if (errors.some((v) => v > 1e-4)) {
    bad++;
    console.log(`run ${i}: relative errors dx ${errors[0].toExponential(2)}, dGamma ${errors[1].toExponential(2)}`);
  }
}
console.log(`${bad} of ${runs} runs differ from the reference`);
process.exitCode = bad > 0 ? 1 : 0;
