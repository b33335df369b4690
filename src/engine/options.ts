/** The engine options of every command that computes (train, evaluate, predict, demo). */
import { defineOptions } from '../util/options.js';
import { BACKENDS, PRECISIONS } from './index.js';

/** Which engine computes, on how many threads, in which arithmetic. */
export const ENGINE_OPTIONS = defineOptions({
  threads: { type: 'number', doc: 'compute threads', defaultText: 'all cores' },
  engine: {
    type: 'string',
    choices: BACKENDS,
    default: 'auto',
    defaultText: 'auto (native oneDNN, else reference)',
    doc: 'compute engine',
  },
  precision: {
    type: 'string',
    choices: PRECISIONS,
    default: 'fp32',
    doc: 'arithmetic of the native engine: fp32, bf16 (about twice as fast where the CPU has it) or auto',
  },
});
