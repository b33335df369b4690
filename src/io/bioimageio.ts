/**
 * A bioimage.io model package (model description format 0.5, https://bioimage.io): a zip of
 * `rdf.yaml`, the self-contained ONNX weights, test and sample tensors as NumPy `.npy`, a README
 * and a cover image, for deepImageJ/Fiji, ilastik, QuPath, BiaPy and bioimageio.core.
 *
 * The ONNX graph does its own intensity scaling, normalisation and activation, so the
 * description declares no pre- or post-processing: consumers feed raw pixels and read the outputs.
 */
import { RAY_UNIT_PX } from '../data/star-distances.js';
import { createHash } from 'node:crypto';
import { zipSync } from 'fflate';
import { dump } from 'npyjs';
import { stringify } from 'yaml';
import type { Model } from '../nn/model.js';
import { fail } from '../util/errors.js';
import { CLASS_HEAD, decisionRuleOf, decisionRuleText, packageVersion } from './onnx-metadata.js';
import type { OnnxInputType, OutputHead } from './onnx-pipeline.js';

/** The model description format version written. */
export const BIOIMAGEIO_FORMAT_VERSION = '0.5.4';

/** The U-Net paper, cited by every package. */
const UNET_CITATION = {
  text: 'Ronneberger, Fischer, Brox: U-Net: Convolutional Networks for Biomedical Image Segmentation (MICCAI 2015)',
  doi: '10.1007/978-3-319-24574-4_28',
};

/** A `[1, C, H, W]` tensor of one image. */
export interface ImageTensor<T extends Uint8Array | Float32Array = Uint8Array | Float32Array> {
  data: T;
  shape: [number, number, number, number];
}

/** What goes into a package besides the model. */
export interface BioimageioPackageInput {
  /** The self-contained ONNX file's bytes and its opset. */
  onnx: Uint8Array;
  opsetVersion: number;
  inputType: OnnxInputType;
  /** The graph's output heads (the class head first). */
  heads: readonly OutputHead[];
  /** Raw pixels of the test image, as the ONNX input takes them. */
  testInput: ImageTensor;
  /**
   * pyocyte's own outputs on it: `probabilities` `[1, K, H, W]`, `mask` `[1, 1, H, W]`, and one
   * `[1, C, H, W]` tensor per further head by its name (a distance head: `distance`).
   */
  testOutputs: {
    probabilities: ImageTensor<Float32Array>;
    mask: ImageTensor<Uint8Array>;
    heads?: Record<string, ImageTensor<Float32Array>>;
  };
  /** An overlay of the test image's prediction, PNG. */
  cover: Uint8Array;
  /** Human-readable model name. */
  name: string;
  description: string;
  authors: string[];
  /** SPDX licence identifier of the weights. */
  license: string;
  tags: string[];
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function npy(tensor: ImageTensor): Uint8Array {
  return new Uint8Array(dump(tensor.data, [...tensor.shape]));
}

function spaceAxes(sizeOf: (axis: 'y' | 'x') => unknown): Record<string, unknown>[] {
  return (['y', 'x'] as const).map((id) => ({ type: 'space', id, size: sizeOf(id) }));
}

/** What the further heads pyocyte trains hold (infer/instance-methods.ts). */
const HEAD_TEXT: Record<string, string> = {
  distance: "each cell pixel's distance to the cell boundary, normalised per cell to [0, 1] (deep watershed seeds)",
  centre:
    "how central each cell pixel is: its distance to the cell boundary normalised per cell to [0, 1], times √R (R rays; StarDist's object probability)",
  centres:
    "a heatmap of cell centres: a Gaussian of height 1 at each cell centre, σ 0.4 × the cell's core radius (pyocyte grows each class's cells from where it exceeds the seedThreshold of the instanceMethod metadata)",
  rays: `each cell pixel's distance to the cell boundary along R rays at angles 2πk/R from +x towards +y, in units of ${RAY_UNIT_PX} px (StarDist, Schmidt et al. 2018)`,
};

/**
 * The names of the class head's channels: the foreground class for one channel, the head's own
 * names when the model records them (`background,interior,boundary`), else the class names.
 */
function classChannelNames(model: Model, classHead: OutputHead): string[] {
  const channels = classHead.end - classHead.first;
  if (channels === 1) return [model.metadata.classNames[1] ?? 'foreground'];
  const recorded = model.metadata.instances?.heads[0]?.name.split(',');
  if (recorded?.length === channels) return recorded;
  return model.metadata.classNames.length === channels
    ? model.metadata.classNames
    : Array.from({ length: channels }, (_, c) => `class${c}`);
}

/** The generated README of the package: what the model does and how to run the ONNX file. */
function documentation(model: Model, input: BioimageioPackageInput): string {
  const { classNames, normalization, pixelSizeUm, imageScale, workingDiameterPx } = model.metadata;
  const normalisation =
    normalization.kind === 'percentile'
      ? `each image's own ${normalization.low}th–${normalization.high}th percentiles per channel map to 0–1`
      : `per-channel mean ${JSON.stringify(normalization.mean)} and std ${JSON.stringify(normalization.std)} of the training images`;
  return [
    `# ${input.name}`,
    '',
    input.description,
    '',
    `A pyocyte ${model.config.padding}-padding U-Net (depth ${model.config.depth}, ${model.config.filters} filters) trained for ${model.metadata.task} segmentation of ${classNames.slice(1).join(', ')}.`,
    pixelSizeUm
      ? `Trained at ${pixelSizeUm} µm per pixel; resample other images to it first.`
      : imageScale !== undefined && imageScale !== 1
        ? `Trained on images resampled by ×${imageScale} (its working scale, from the annotated boxes' sizes); resample images of the same microscope by it first, and the outputs back.`
        : workingDiameterPx !== undefined
          ? `Trained on images each resampled so that its median object is ${workingDiameterPx} px across (its working diameter); resample a new image so that its typical object is about ${workingDiameterPx} px across first, and the outputs back (\`pyocyte predict\` estimates the size itself).`
          : 'The pixel size of the training images is not recorded.',
    '',
    '## Inputs and outputs',
    '',
    `- \`image\`: ${input.inputType} \`[N, ${model.config.inChannels}, H, W]\`, any H and W, raw pixel values as the file holds them.`,
    `- \`probabilities\`: float32 \`[N, K, H, W]\`, ${classChannelNames(model, input.heads[0]).join(', ')}.`,
    `- \`mask\`: uint8 \`[N, 1, H, W]\`, ${decisionRuleText(decisionRuleOf(model, input.heads))}.`,
    ...input.heads
      .slice(1)
      .map(
        (head) =>
          `- \`${head.name}\`: float32 \`[N, ${head.end - head.first}, H, W]\` (${head.activation}), ${HEAD_TEXT[head.name] ?? 'a further output head'}.`,
      ),
    '',
    `The ONNX graph does everything pyocyte does before and after the network: intensity scaling, normalisation (${normalisation}), mirror padding to a size the network takes, the activation and the decision rule. Declare no further pre- or post-processing.`,
    '',
    'The whole image goes through the network in one pass; for very large images, tile with generous overlap.',
    '',
    `Exported by pyocyte ${packageVersion()}.`,
  ].join('\n');
}

/** The files of a package, `rdf.yaml` included, by name inside the zip. */
export function bioimageioFiles(model: Model, input: BioimageioPackageInput): Record<string, Uint8Array> {
  const classHead = input.heads[0];
  if (classHead?.name !== CLASS_HEAD) fail(`the first output head must be '${CLASS_HEAD}'`);
  const [, channels, height, width] = input.testInput.shape;
  if (channels !== model.config.inChannels)
    fail(`the test image has ${channels} channel${channels === 1 ? '' : 's'} but the model takes ${model.config.inChannels}`);
  const files: Record<string, Uint8Array> = {
    'model.onnx': input.onnx,
    'test_input.npy': npy(input.testInput),
    'sample_input.npy': npy(input.testInput),
    'test_probabilities.npy': npy(input.testOutputs.probabilities),
    'test_mask.npy': npy(input.testOutputs.mask),
    'README.md': new TextEncoder().encode(documentation(model, input)),
    'cover.png': input.cover,
  };
  const file = (name: string) => ({ source: name, sha256: sha256(files[name]) });
  const sameSize = (axis: 'y' | 'x') => ({ tensor_id: 'image', axis_id: axis });
  const channelNames = model.metadata.channels
    ? model.metadata.channels.map((c) => `channel${c}`)
    : model.config.inChannels === 3
      ? ['red', 'green', 'blue']
      : Array.from({ length: model.config.inChannels }, (_, c) => `channel${c}`);
  const classChannels = classChannelNames(model, classHead);
  const extraHeads = input.heads.slice(1);
  for (const head of extraHeads) {
    const tensor = input.testOutputs.heads?.[head.name];
    if (!tensor) fail(`no test output for the model's '${head.name}' head`);
    files[`test_${head.name}.npy`] = npy(tensor);
  }
  const rdf = {
    type: 'model',
    format_version: BIOIMAGEIO_FORMAT_VERSION,
    name: input.name,
    description: input.description,
    authors: input.authors.map((name) => ({ name })),
    cite: [UNET_CITATION],
    license: input.license,
    documentation: 'README.md',
    covers: ['cover.png'],
    tags: input.tags,
    version: '1',
    inputs: [
      {
        id: 'image',
        description: `raw pixel values [N, C, H, W] as the image file holds them (${height}×${width} in the test tensor); the graph normalises them itself`,
        axes: [{ type: 'batch' }, { type: 'channel', channel_names: channelNames }, ...spaceAxes(() => ({ min: 1, step: 1 }))],
        test_tensor: file('test_input.npy'),
        sample_tensor: file('sample_input.npy'),
        data: { type: input.inputType },
      },
    ],
    outputs: [
      {
        id: 'probabilities',
        description: 'class probabilities (sigmoid for one class, softmax over the channel axis for several)',
        axes: [{ type: 'batch' }, { type: 'channel', channel_names: classChannels }, ...spaceAxes(sameSize)],
        test_tensor: file('test_probabilities.npy'),
        data: { type: 'float32', range: [0, 1] },
      },
      {
        id: 'mask',
        description: decisionRuleText(decisionRuleOf(model, input.heads)),
        axes: [{ type: 'batch' }, { type: 'channel', channel_names: ['class'] }, ...spaceAxes(sameSize)],
        test_tensor: file('test_mask.npy'),
        data: { type: 'uint8' },
      },
      ...extraHeads.map((head) => ({
        id: head.name,
        description: `${HEAD_TEXT[head.name] ?? 'a further output head'} (${head.activation})`,
        axes: [
          { type: 'batch' },
          {
            type: 'channel',
            channel_names: Array.from({ length: head.end - head.first }, (_, c) =>
              head.end - head.first === 1 ? head.name : `${head.name}${c}`,
            ),
          },
          ...spaceAxes(sameSize),
        ],
        test_tensor: file(`test_${head.name}.npy`),
        data: { type: 'float32' },
      })),
    ],
    weights: { onnx: { ...file('model.onnx'), opset_version: input.opsetVersion } },
    config: { pyocyte: { version: packageVersion(), task: model.metadata.task, classNames: model.metadata.classNames } },
  };
  files['rdf.yaml'] = new TextEncoder().encode(stringify(rdf, { lineWidth: 0 }));
  return files;
}

/** The package as zip bytes (rdf.yaml first, as bioimage.io tools look for it). */
export function bioimageioZip(model: Model, input: BioimageioPackageInput): Uint8Array {
  const files = bioimageioFiles(model, input);
  const ordered: Record<string, Uint8Array> = { 'rdf.yaml': files['rdf.yaml'] };
  for (const [name, bytes] of Object.entries(files)) if (name !== 'rdf.yaml') ordered[name] = bytes;
  return zipSync(ordered, { level: 6 });
}
