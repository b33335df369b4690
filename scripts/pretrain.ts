/**
 * Trains a model that ships with pyocyte (src/io/shipped-models.ts) by its recipe and writes it to
 * models/NAME/ with its weights in BF16 (half the size; a fine-tuning start and a bf16 engine lose
 * nothing by it) and a provenance.json: `npm run pretrain -- nuclei [--data DIR]`. The data is
 * ../shared/data/<recipe.data> unless --data names it. The run goes to .cache/pretrain/NAME and is
 * resumed when interrupted. About 25 minutes on 2 cores for `nuclei`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from '../bench/machine.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { SHIPPED_MODELS, type ShippedModelName } from '../src/io/shipped-models.js';
import { CHECKPOINTS } from '../src/train/checkpoint.js';
import { checkName } from '../src/util/registry.js';
import { writeFolderAtomic } from '../src/util/fs.js';
import { resumeTraining, train } from '../src/workflows/train.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { positionals, values } = parseArgs({ allowPositionals: true, options: { data: { type: 'string' } } });
const name = checkName(SHIPPED_MODELS, positionals[0] ?? '', 'shipped model') as ShippedModelName;
const { recipe, folder } = SHIPPED_MODELS[name];
const data = resolve(values.data ?? join(ROOT, '..', 'shared', 'data', recipe.data));
if (!existsSync(data)) {
  process.stderr.write(`pretrain: ${data} is missing; pass --data DIR (the ${recipe.data} dataset)\n`);
  process.exit(1);
}
const run = join(ROOT, '.cache', 'pretrain', name);
const result = existsSync(join(run, CHECKPOINTS.last, 'trainer.json'))
  ? await resumeTraining(run)
  : await train({ data, out: run, minutes: recipe.minutes });
if (result.interrupted) process.exit(130);

/** float32 → bfloat16 bits, rounded to nearest even. */
function toBfloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const half = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) half[i] = (bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) >>> 16;
  return half;
}

const modelJson = JSON.parse(readFileSync(join(run, 'model', 'model.json'), 'utf8'));
const { tensors } = decodeSafetensors(readFileSync(join(run, 'model', 'model.safetensors')));
const shipped = Object.fromEntries(
  Object.entries(tensors).map(([key, t]) => [
    key,
    t.data instanceof Float32Array ? { dtype: 'BF16' as const, shape: t.shape, data: toBfloat16(t.data) } : t,
  ]),
);
const provenance = {
  model: name,
  data: recipe.data,
  licence: recipe.licence,
  command: `npm run pretrain -- ${name}`,
  options: { minutes: recipe.minutes },
  epochs: result.epochs,
  steps: result.steps,
  train_seconds: result.seconds,
  validation_dice: result.valDice,
  weights: 'BF16, rounded to nearest even from the float32 run',
  machine: machineInfo(),
};
await writeFolderAtomic(join(ROOT, folder), {
  'model.json': `${JSON.stringify(modelJson, null, 2)}\n`,
  'model.safetensors': encodeSafetensors(shipped, { metadata: { format: 'pt', producer: 'pyocyte' } }),
  'provenance.json': `${JSON.stringify(provenance, null, 2)}\n`,
});
process.stderr.write(`pretrain: wrote ${join(folder)} (${result.steps} steps, validation Dice ${result.valDice?.toFixed(4)})\n`);
