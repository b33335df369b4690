/** Exports a saved model for other runtimes (ONNX), as `pyocyte export` does. */
import { join } from 'node:path';
import { createEngine } from '../engine/index.js';
import { loadModel, resolveModelPath, runFolderOf } from '../io/model-file.js';
import { exportOnnx, onnxIrVersion, unetInputSizes } from '../io/onnx-export.js';
import { writeFileAtomic } from '../util/fs.js';
import { checkName } from '../util/registry.js';
import type { ExportOptionFields } from './options.generated.js';
import { EXPORT_DEFAULTS, EXPORT_FORMATS } from './options.js';

/** Options of {@link exportModel}, documented in EXPORT_OPTIONS (./options.ts). */
export interface ExportOptions extends ExportOptionFields {}

/** What {@link exportModel} wrote. */
export interface ExportResult {
  out: string;
  bytes: number;
  opsetVersion: number;
  irVersion: number;
  /** `float32[N, 3, H, W]`. */
  input: string;
  /** Which input sizes the network takes: `H and W = 16 + k·16`. */
  inputSizes: string;
  /** `probabilities[N, 1, H, W]` (or `logits[…]`). */
  output: string;
}

/**
 * Writes a model as ONNX, atomically, beside its run's model folder by default: the file carries
 * the normalisation, threshold and class names in its metadata.
 */
export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  const format = checkName(EXPORT_FORMATS, options.format ?? EXPORT_DEFAULTS.format, 'export format');
  const opsetVersion = options.opsetVersion ?? EXPORT_DEFAULTS.opsetVersion;
  const logits = options.logits ?? EXPORT_DEFAULTS.logits;
  const irVersion = onnxIrVersion(opsetVersion);
  const modelFile = resolveModelPath(options.model);
  // Export only reads weights, so the reference engine is enough (and never warns about the addon).
  const model = await loadModel(modelFile, { engine: createEngine({ backend: 'reference' }) });
  const bytes = await exportOnnx(model, { opsetVersion, includeActivation: !logits });
  // Beside the run's model folder, not inside it: saving a model replaces that folder whole.
  const out = options.out ?? join(runFolderOf(modelFile), `model.${format}`);
  await writeFileAtomic(out, bytes);
  const { inChannels, classes, padding } = model.config;
  const sizes = unetInputSizes(model.config);
  const outputDims = padding === 'same' ? 'H, W' : `H - ${2 * sizes.outputMargin}, W - ${2 * sizes.outputMargin}`;
  return {
    out,
    bytes: bytes.length,
    opsetVersion,
    irVersion,
    input: `float32[N, ${inChannels}, H, W]`,
    inputSizes: `H and W = ${sizes.smallest} + k·${sizes.step}`,
    output: `${logits ? 'logits' : 'probabilities'}[N, ${classes}, ${outputDims}]`,
  };
}
