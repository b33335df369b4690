import { EXPORT_OPTIONS } from '../workflows/options.js';
import { exportModel } from '../workflows/export.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'export',
  summary:
    'Export a trained model for other programs: a self-contained ONNX file (raw pixels in; normalisation, activation and decision rule inside) and a bioimage.io package.',
  usage: 'pyocyte export --model RUN [--format all|onnx|bioimageio] [--out DIR] [--opset 17] [--input-type float32|uint8]',
  options: EXPORT_OPTIONS,
} as const;

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** `pyocyte export`: writes RUN/model.onnx and RUN/NAME.zip (or into --out) atomically and prints what it wrote. */
export const command = defineCommand(spec, async ({ options }) => {
  const result = await exportModel(options);
  for (const file of result.files) {
    const what =
      file.format === 'onnx' ? `ONNX opset ${result.opsetVersion}, IR ${result.irVersion}` : 'bioimage.io model package, format 0.5';
    console.log(`wrote ${file.out} (${formatBytes(file.bytes)}, ${what})`);
  }
  console.log(`  input ${result.input}; outputs ${result.outputs}`);
  console.log('  class names, decision rule, pixel size, tiling and training summary are in the metadata_props (JSON)');
  return 0;
});
