/**
 * Fine-tuning from another model (`--initial-weights`), as Cellpose users start from a generalist
 * model and nnU-Net's `load_pretrained_weights` starts a task from another task's network: every
 * tensor whose name and shape match loads; the output head starts fresh when the start predicts
 * other outputs (nnU-Net never carries its segmentation layers across tasks); a first convolution
 * made for another number of input channels is adapted as timm's `adapt_input_conv` adapts
 * ImageNet's RGB stem (Wightman, pytorch-image-models). Any other difference (depth, filters,
 * padding, norm) is an error that names it.
 */
import { failOnTensorProblems, float32Of, restoreBatchesTracked } from '../io/model-file.js';
import type { SafetensorsTensor } from '../io/safetensors.js';
import { type ShippedModelName, shippedModelFolder } from '../io/shipped-models.js';
import type { Model, ModelMetadata } from '../nn/model.js';
import { UNET_DEFAULTS, type UNetConfig } from '../nn/unet.js';
import { fail } from '../util/errors.js';

/** What must match between a start and the run: everything but the input channels and the head. */
const ARCHITECTURE_FIELDS = ['depth', 'filters', 'padding', 'norm'] as const;

/**
 * The shipped model a run on box and point annotations starts from when not told otherwise: boxes
 * and points draw no outline, and a start that knows cells' outlines learns pus cells faster
 * (UMID, 10 minutes: pus F1 0.812 from it against 0.742–0.789 in eleven runs from scratch;
 * README, "Starting from a trained model").
 */
export const WEAK_LABEL_START: ShippedModelName = 'nuclei';

/** `--initial-weights none`: start from scratch even where a shipped model would be the start. */
export const NO_INITIAL_WEIGHTS = 'none';

/**
 * The model a run starts from, or undefined for a fresh network: `initialWeights` when given
 * (`none` for none); else, on box and point annotations at the default depth, filters, padding
 * and norm, {@link WEAK_LABEL_START} when it is installed.
 */
export function initialWeightsOf(
  o: { initialWeights?: string } & Pick<UNetConfig, (typeof ARCHITECTURE_FIELDS)[number]>,
  weakLabels: boolean,
): string | undefined {
  if (o.initialWeights !== undefined) return o.initialWeights === NO_INITIAL_WEIGHTS ? undefined : o.initialWeights;
  const defaultArchitecture = ARCHITECTURE_FIELDS.every((f) => o[f] === UNET_DEFAULTS[f]);
  return weakLabels && defaultArchitecture && shippedModelFolder(WEAK_LABEL_START) ? WEAK_LABEL_START : undefined;
}

/** The U-Net's 1×1 output convolution and its first 3×3 convolution, by state_dict name. */
export const HEAD_PREFIX = 'head.';
export const INPUT_CONVOLUTION = 'down.0.0.weight';

/** How one tensor of the new model starts. */
export type TensorStart = 'loaded' | 'fresh' | 'adapted';

export interface InitialWeightsPlan {
  /** How each of the new model's tensors starts, by name. */
  starts: Record<string, TensorStart>;
  /** One line for the log: what loaded, what was adapted, what starts fresh and why. */
  summary: string;
}

/** What a plan needs to know of a model: its architecture and what its head predicts. */
export interface PlannedModel {
  config: UNetConfig;
  metadata: Pick<ModelMetadata, 'task' | 'classNames'> & { instances?: { method: string } };
  /** Tensor shapes by state_dict name. */
  shapes: Record<string, readonly number[]>;
}

/** What a head predicts, for comparing two models' heads: task, classes, instance method. */
function headMeaning(m: PlannedModel): string {
  const { task, classNames, instances } = m.metadata;
  return `${task}: ${classNames.join('/')}${instances ? ` (${instances.method})` : ''}`;
}

/**
 * Decides how each tensor of `target` starts from `start` (pure; no data is read).
 * Errors: a different depth, filters, padding or norm (with the flag to pass); a tensor of the
 * body missing from `start` or of another shape.
 */
export function planInitialWeights(target: PlannedModel, start: PlannedModel, file: string): InitialWeightsPlan {
  const differing = ARCHITECTURE_FIELDS.filter((f) => target.config[f] !== start.config[f]);
  if (differing.length > 0) {
    const flags = differing.map((f) => `--${f} ${start.config[f]}`).join(' ');
    fail(
      `${file} is a U-Net with ${differing.map((f) => `${f} ${start.config[f]}`).join(', ')} but this run's has ${differing.map((f) => `${f} ${target.config[f]}`).join(', ')}: pass ${flags} to fine-tune it`,
    );
  }
  const sameHead = headMeaning(target) === headMeaning(start);
  const starts: Record<string, TensorStart> = {};
  const problems: string[] = [];
  for (const [name, shape] of Object.entries(target.shapes)) {
    const saved = start.shapes[name];
    if (name.startsWith(HEAD_PREFIX) && !sameHead) starts[name] = 'fresh';
    else if (!saved) problems.push(`'${name}' is missing`);
    else if (saved.join('x') === shape.join('x')) starts[name] = 'loaded';
    else if (name === INPUT_CONVOLUTION && saved.length === 4 && saved[0] === shape[0] && saved[2] === shape[2] && saved[3] === shape[3])
      starts[name] = 'adapted';
    else problems.push(`'${name}' is [${saved}] but the model expects [${shape}]`);
  }
  failOnTensorProblems(`${file} does not fit this run's model`, problems);
  const count = (how: TensorStart) => Object.values(starts).filter((s) => s === how).length;
  const parts = [`${count('loaded')} of ${Object.keys(starts).length} tensors loaded`];
  if (count('adapted') > 0)
    parts.push(`first convolution adapted from ${start.config.inChannels} to ${target.config.inChannels} input channels`);
  if (!sameHead) parts.push(`output head starts fresh (${file} predicts ${headMeaning(start)}; this run ${headMeaning(target)})`);
  return { starts, summary: `fine-tuning from ${file}: ${parts.join('; ')}` };
}

/**
 * A first convolution's weight `[O, I, k, k]` for `channels` input channels, as timm's
 * `adapt_input_conv`: to 1 channel, the sum over the saved ones (a gray image gives what the
 * start gave for that gray in every channel); to C channels, saved channel c mod I scaled by I / C,
 * so an image whose channels are equal still gives the start's response.
 */
export function adaptInputConvolution(weight: Float32Array, shape: readonly number[], channels: number): Float32Array {
  const [outChannels, inChannels, kh, kw] = shape;
  const area = kh * kw;
  const adapted = new Float32Array(outChannels * channels * area);
  for (let o = 0; o < outChannels; o++) {
    for (let c = 0; c < channels; c++) {
      const sources = channels === 1 ? Array.from({ length: inChannels }, (_, i) => i) : [c % inChannels];
      const scale = channels === 1 ? 1 : inChannels / channels;
      const to = (o * channels + c) * area;
      for (const i of sources) {
        const from = (o * inChannels + i) * area;
        for (let k = 0; k < area; k++) adapted[to + k] += weight[from + k] * scale;
      }
    }
  }
  return adapted;
}

/**
 * Writes `start`'s weights into `model` as {@link planInitialWeights} decides (fresh tensors keep
 * `model`'s initialisation) and returns the plan. The start's normalisation is kept when its
 * inputs are the model's, so fine-tuning sees the intensities the start was trained on.
 */
export function loadInitialWeights(
  model: Model,
  start: { config: UNetConfig; metadata: ModelMetadata; tensors: Record<string, SafetensorsTensor> },
  file: string,
): InitialWeightsPlan {
  const targets = model.network.stateTensors();
  const shapes = (entries: [string, readonly number[]][]) => Object.fromEntries(entries);
  const plan = planInitialWeights(
    { config: model.config, metadata: model.metadata, shapes: shapes(targets.map((t) => [t.name, t.value.shape])) },
    { config: start.config, metadata: start.metadata, shapes: shapes(Object.entries(start.tensors).map(([n, t]) => [n, t.shape])) },
    file,
  );
  for (const { name, value } of targets) {
    if (plan.starts[name] === 'fresh') continue;
    const saved = start.tensors[name];
    const values = float32Of(saved) ?? fail(`${file}: '${name}' is ${saved.dtype}, not F32 or BF16`);
    const data = plan.starts[name] === 'adapted' ? adaptInputConvolution(values, saved.shape, value.shape[1]) : values;
    model.engine.write(value, data);
  }
  restoreBatchesTracked(model, start.tensors);
  if (start.config.inChannels === model.config.inChannels) model.metadata.normalization = start.metadata.normalization;
  return plan;
}
