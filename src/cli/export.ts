import { EXPORT_OPTIONS } from '../workflows/options.js';
import { exportModel } from '../workflows/export.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'export',
  summary: 'Export a trained model for other runtimes. The file carries the normalisation, threshold and class names in its metadata.',
  usage: 'pyocyte export --model RUN [--format onnx] [--out FILE] [--opset 17] [--logits]',
  options: EXPORT_OPTIONS,
} as const;

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** `pyocyte export`: writes RUN/model.onnx (or --out) atomically and prints what it wrote. */
export const command = defineCommand(spec, async ({ options }) => {
  const result = await exportModel(options);
  console.log(`wrote ${result.out} (${formatBytes(result.bytes)}, ONNX opset ${result.opsetVersion}, IR ${result.irVersion})`);
  console.log(`  input ${result.input}, ${result.inputSizes}; output ${result.output}`);
  console.log('  normalisation, threshold and class names are in the metadata_props (JSON) and the doc string');
  return 0;
});
