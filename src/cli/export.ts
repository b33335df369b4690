import { join } from 'node:path';
import { createEngine } from '../engine/index.js';
import { resolveModelPath, runFolderOf, loadModel } from '../io/model-file.js';
import { exportOnnx, onnxIrVersion, unetInputSizes } from '../io/onnx-export.js';
import { fail } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { checkName } from '../util/registry.js';
import { defineCommand, type CommandSpec } from './args.js';

/** The formats `pyocyte export` writes. */
export const EXPORT_FORMATS = {
  onnx: 'ONNX opset 13–21, for onnxruntime (Python, Node, web), OpenCV DNN, TensorRT',
} as const;
export type ExportFormat = keyof typeof EXPORT_FORMATS;

const spec: CommandSpec = {
  name: 'export',
  summary: 'Export a trained model for other runtimes. The file carries the normalisation, threshold and class names in its metadata.',
  usage: 'pyocyte export --model RUN [--format onnx] [--out FILE] [--opset 17] [--logits]',
  flags: {
    model: { type: 'string', short: 'm', description: "a training run's folder, a checkpoint folder, or its model.json" },
    format: { type: 'string', short: 'f', description: `output format: ${Object.keys(EXPORT_FORMATS).join(', ')}`, defaultText: 'onnx' },
    out: { type: 'string', short: 'o', description: 'file to write', defaultText: 'RUN/model.onnx' },
    opset: { type: 'number', description: 'ONNX opset version (13 to 21)', defaultText: '17' },
    logits: { type: 'boolean', description: 'output raw logits instead of probabilities (no sigmoid/softmax)' },
  },
};

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** `pyocyte export`: writes RUN/model.onnx (or --out) atomically and prints what it wrote. */
export const command = defineCommand(spec, async ({ flags }) => {
  const modelPath = (flags.model as string | undefined) ?? fail(`'export' needs --model RUN; usage: ${spec.usage}`);
  const format = checkName(EXPORT_FORMATS, (flags.format as string | undefined) ?? 'onnx', 'export format');
  const opsetVersion = (flags.opset as number | undefined) ?? 17;
  const irVersion = onnxIrVersion(opsetVersion);
  const modelFile = resolveModelPath(modelPath);
  // Export only reads weights, so the reference engine is enough (and never warns about the addon).
  const model = await loadModel(modelFile, { engine: createEngine({ backend: 'reference' }) });
  const bytes = await exportOnnx(model, { opsetVersion, includeActivation: flags.logits !== true });
  // Beside the run's model folder, not inside it: saving a model replaces that folder whole.
  const out = (flags.out as string | undefined) ?? join(runFolderOf(modelFile), `model.${format}`);
  await writeFileAtomic(out, bytes);
  const { inChannels, classes, padding } = model.config;
  const sizes = unetInputSizes(model.config);
  const outputName = flags.logits === true ? 'logits' : 'probabilities';
  const outputDims = padding === 'same' ? 'H, W' : `H - ${2 * sizes.outputMargin}, W - ${2 * sizes.outputMargin}`;
  console.log(`wrote ${out} (${formatBytes(bytes.length)}, ONNX opset ${opsetVersion}, IR ${irVersion})`);
  console.log(`  input float32[N, ${inChannels}, H, W], H and W = ${sizes.smallest} + k·${sizes.step}; output ${outputName}[N, ${classes}, ${outputDims}]`);
  console.log('  normalisation, threshold and class names are in the metadata_props (JSON) and the doc string');
  return 0;
});
