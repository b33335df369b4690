import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fail, PyocyteError, PyocyteErrors } from '../util/errors.js';
import { openAnnotatedDataset, isAnnotatedDataset } from './annotations/dataset.js';
import type { ImageAnnotations } from './annotations/types.js';
import { discoverDataset, type DatasetIndex } from './dataset.js';
import { instancesOfKind, type MaskKind, type MaskOptions, type MaskPolarity, type StrayValuePolicy } from './masks.js';
import { displayName, loadSamples, readPair, type LoadOptions } from './samples.js';
import { leftOut, type Split, splitStems } from './split.js';
import type { Sample } from './types.js';
import type { IntensityScaling, Task } from '../nn/types.js';
import { mapPool } from '../util/pool.js';
import type { ImagePair } from './dataset.js';
import { decodable, mixedChannels } from './pair-checks.js';
import { parseValueMap } from './value-map.js';

/** How a dataset folder is read and split; shared by train, evaluate and the benchmarks. */
export interface DatasetOptions {
  /** Default 'binary', or 'multiclass' when a value map is given or declared by the dataset. */
  task?: Task;
  maskPolarity?: MaskPolarity;
  /** Whether masks hold instance ids (see `MASK_KINDS`); default 'auto', decided per file. */
  maskKind?: MaskKind;
  /** File value → class, e.g. "0:background,128:cytoplasm,255:nucleus". */
  valueMap?: string;
  strayValues?: StrayValuePolicy;
  maskThreshold?: number;
  /** A split.json to honour; default the dataset's own split.json, else a seeded split. */
  splitFile?: string;
  /** Split counts `[train, val, test]` when there is no split file (e.g. the seed's 30/5/5). */
  splitCounts?: [number, number, number];
  splitSeed?: number;
  /** µm per pixel of the files (overrides the dataset's pyocyte.json). */
  pixelSizeUm?: number;
  /** Resample to this pixel size on load. */
  targetPixelSizeUm?: number;
  /**
   * Annotated datasets without a target pixel size: resample the images by this factor for the
   * network; default the boxes' working scale (data/annotations/working-scale.ts).
   */
  imageScale?: number;
  /** The image files' channels to use, in this order, 0-based (e.g. `[0, 2]`); default all but alpha. */
  channels?: number[];
  /** How stored values become floats; default 'range' (evaluation passes the model's). */
  intensityScaling?: IntensityScaling;
  /** Annotated datasets (boxes, points): the classes to keep as objects; default every label's class. */
  classes?: string[];
  /** Annotated datasets: the diameter in pixels of a cell marked by a point; default from the class's boxes. */
  cellDiameterPx?: number;
  onNote?: (note: string) => void;
}

/** What the masks mean, as a model must remember it. */
export interface LabelScheme {
  task: Task;
  /** Including background; 1 for binary (the network's output channels), K for K classes. */
  outputChannels: number;
  classNames: string[];
  mask: { polarity?: 'white' | 'black'; valueMap?: Record<number, number> };
}

export interface OpenDataset {
  index: DatasetIndex;
  split: Split;
  scheme: LabelScheme;
  pixelSizeUm?: number;
  /**
   * Datasets of boxes and points loaded without a target pixel size: the factor their images were
   * resampled by (the working scale, or `--image-scale`); absent when 1. The model records it so
   * that new images are resampled the same way.
   */
  imageScale?: number;
  /**
   * Datasets of boxes and points (data/annotations/): a sample's annotations, coordinates in the
   * loaded sample's pixels (resampled as the sample is), and each class's typical cell radius in
   * the same pixels. The count rule is chosen on them (train/count-rule.ts).
   */
  weak?: { annotationsOf(stem: string): ImageAnnotations; pointRadiusPx: Record<string, number> };
  /** Loads a subset with one set of mask rules for the whole dataset (fixed by the first load). */
  load(subset: keyof Split, options?: { onProgress?: (done: number, total: number) => void }): Promise<Sample[]>;
}

/**
 * Decodes pairs (and drops them), returning `data check`'s message for each broken file, in file
 * order, and for images whose channel counts disagree.
 */
async function decodeProblems(pairs: readonly ImagePair[], options: LoadOptions): Promise<string[]> {
  const results = await mapPool(pairs, 4, async (pair) => {
    try {
      return { name: displayName(pair.imagePath), channels: (await readPair(pair, options)).image.channels };
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      return error.message;
    }
  });
  const problems = results.filter((r) => typeof r === 'string');
  const mixed = mixedChannels(results.filter((r) => typeof r !== 'string'));
  return mixed ? [...problems, mixed] : problems;
}

const failWith = (summary: string, problems: string[]): never => {
  throw new PyocyteErrors(`${summary}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the dataset`, problems);
};

/**
 * Indexes a dataset folder, fixes its label scheme and split, and loads subsets on demand. The
 * first load decodes every image of the split, so no command passes over a file that `data check`
 * calls broken; problems fail in one {@link PyocyteErrors}, all found at once as `data check` does.
 */
export async function openDataset(dir: string, options: DatasetOptions = {}): Promise<OpenDataset> {
  if (await isAnnotatedDataset(dir)) return openAnnotatedDataset(dir, options);
  if (options.imageScale !== undefined)
    fail(`--image-scale is for boxes and points; ${dir} has masks: resample it with --pixel-size and --target-pixel-size`);
  const fileRules = { channels: options.channels, intensityScaling: options.intensityScaling };
  const index = await discoverDataset(dir, { collectProblems: true });
  // Header problems (unpaired, empty, renamed files) and decode problems are reported together.
  if (index.problems.length > 0) failWith(dir, [...index.problems, ...(await decodeProblems(index.pairs.filter(decodable), fileRules))]);
  const mapped = options.valueMap ? parseValueMap(options.valueMap) : undefined;
  const valueMap = mapped?.valueMap ?? index.valueMap;
  const task: Task = options.task ?? (valueMap ? 'multiclass' : 'binary');
  let classNames = mapped?.classNames ?? index.classNames;
  if (task === 'multiclass' && !valueMap) {
    fail(
      'a multi-class task needs to know which mask value is which class: pass --value-map, e.g. "0:background,128:cytoplasm,255:nucleus"',
    );
  }
  if (task === 'binary') classNames = ['background', 'foreground'];
  const splitFile = options.splitFile ?? (index.splitFile && existsSync(index.splitFile) ? index.splitFile : undefined);
  if (options.splitFile && !existsSync(options.splitFile)) fail(`the split file ${options.splitFile} does not exist`);
  const stems = index.pairs.map((p) => p.stem);
  const split = splitStems(stems, { splitFile, counts: options.splitCounts, seed: options.splitSeed ?? 0 });
  const unused = leftOut(split, stems);
  if (unused.length > 0) {
    options.onNote?.(
      `the split names ${stems.length - unused.length} of ${stems.length} images; the other ${unused.length} are left out (${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ', …' : ''})`,
    );
  }
  const pixelSizeUm = options.pixelSizeUm ?? index.pixelSizeUm;
  const scheme: LabelScheme = {
    task,
    outputChannels: task === 'binary' ? 1 : classNames!.length,
    classNames: classNames!,
    mask: task === 'binary' ? {} : { valueMap },
  };
  let maskRules: MaskOptions | undefined;
  const baseRules: MaskOptions = {
    task,
    polarity: options.maskPolarity ?? index.maskPolarity ?? 'auto',
    valueMap: task === 'multiclass' ? valueMap : undefined,
    strayValues: options.strayValues,
    threshold: options.maskThreshold,
    instances: instancesOfKind(options.maskKind),
  };
  const named = new Set([...split.train, ...split.val, ...split.test]);
  let verified = false;
  return {
    index,
    split,
    scheme,
    pixelSizeUm,
    async load(subset, loadOptions = {}) {
      const wanted = new Set(split[subset]);
      const pairs = index.pairs.filter((p) => wanted.has(p.stem));
      if (pairs.length === 0) fail(`the ${subset} subset of ${dir} is empty; check its split.json or the split counts`);
      if (!verified) {
        // Every image of the split, not only this subset: no command passes over a broken file.
        const problems = await decodeProblems(
          index.pairs.filter((p) => named.has(p.stem)),
          { ...fileRules, pixelSizeUm },
        );
        if (problems.length > 0) failWith(dir, problems);
        verified = true;
      }
      const samples = await loadSamples(pairs, {
        ...(maskRules ?? baseRules),
        ...fileRules,
        pixelSizeUm,
        targetPixelSizeUm: options.targetPixelSizeUm,
        onNote: options.onNote,
        onProgress: loadOptions.onProgress,
        onResolved: (resolved) => {
          if (maskRules) return;
          const { task: t, polarity, valueMap: v, strayValues, threshold, background, instances } = resolved;
          maskRules = { task: t, polarity, valueMap: v, strayValues, threshold, background, instances };
          if (task === 'binary' && (polarity === 'white' || polarity === 'black')) scheme.mask.polarity = polarity;
        },
      });
      return samples;
    },
  };
}

/** The conventional location of a dataset's split file. */
export const splitFileOf = (dir: string) => join(dir, 'split.json');
