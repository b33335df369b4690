/**
 * The training batch loader: draws patches from samples (random with foreground oversampling,
 * or the seed project's fixed grid), augments them, normalises them and lays them out for the
 * engine. Batch k depends only on (seed, k), so a resumed run sees exactly the same batches.
 */
import { IGNORE_LABEL } from '../image/ignore.js';
import { fail, PyocyteErrors } from '../util/errors.js';
import { hash32, Random } from '../util/random.js';
import { checkName } from '../util/registry.js';
import {
  augmentPatch,
  drawAugmentation,
  resolveAugment,
  type AugmentedPatch,
  type AugmentOptions,
  type AugmentPresetName,
} from '../augment/pipeline.js';
import { labelComponents } from '../image/components.js';
import { normalizationAffine } from './normalize.js';
import { fixedPatches, samplePatchOrigin, type FixedPatch } from './patches.js';
import type { Sample } from './types.js';
import type { Batch, Normalization } from '../nn/types.js';
import { borderWeightMap } from './weights.js';
import { centreHeatmap, distanceTarget, threeClassTarget } from './instance-targets.js';
import { colourInstances, RAY_COUNT, starConvexTargets } from './star-distances.js';

/** Options of {@link createLoader}. */
export interface LoaderOptions {
  /** Input patch side in pixels. */
  patchSize: number;
  /** Target side (centre crop); smaller than `patchSize` for the unpadded U-Net. Default `patchSize`. */
  outputSize?: number;
  batchSize: number;
  /** Augmentation options, a preset name, or false. Default `'default'`. */
  augment?: AugmentOptions | AugmentPresetName | false;
  /** Random sampling: probability a patch is centred on foreground. Default 0.33. */
  foregroundFraction?: number;
  /** Default 0. */
  seed?: number;
  /** How the network's inputs are scaled; percentiles are computed once per whole sample image. */
  normalization: Normalization;
  /** The U-Net paper's border weights (see `borderWeightMap`); default false (no weights). */
  weightMap?: { w0?: number; sigmaPx?: number; classBalance?: boolean } | false;
  /** Number of classes including background: 2 for binary tasks. */
  classes: number;
  /** Default 'random'. */
  sampling?: SamplingName;
  /** Grid sampling: patches per image (default 15), or a fixed `gridStride` instead. */
  patchesPerImage?: number;
  gridStride?: number;
  /** The step the first `next()` returns; default 0 (set it when resuming). */
  startStep?: number;
  /**
   * Targets for separating touching cells, built from each sample's instances (its instance
   * plane, else the connected components of its labels): `threeClass` replaces the labels by
   * background / interior / boundary (needs `classes` 3); `distance` adds `regression`
   * `[N, 1, o, o]`, each cell's normalised distance to its boundary (see data/instance-targets.ts);
   * `starDist` adds `regression` `[N, 1 + R, o, o]`, the centre score and ray lengths of
   * data/star-distances.ts, computed from each augmented patch's cells (rays turn with the patch);
   * `centres` keeps the labels and adds `regression` `[N, 1, o, o]`, the heatmap of the sample's
   * annotated `cellCentres` (data/instance-targets.ts's centreHeatmap).
   */
  instanceTarget?: 'threeClass' | 'distance' | 'starDist' | 'centres';
  /**
   * Per-class loss weights, indexed by target class: each pixel's weight is its class's (times
   * its border weight with `weightMap`), set from the augmented patch's labels so it follows them
   * exactly. The batch then carries `weights`. Default: none.
   */
  classWeights?: readonly number[];
}

/** A deterministic batch source. */
export interface Loader {
  /** The batch of the current step; advances the step. Instant after `prefetch()`. */
  next(): Batch;
  /** The batch of any step, without changing the current one. */
  batchAt(stepIndex: number): Batch;
  /**
   * Computes the next batch now, so `next()` returns at once. Synchronous: call it after starting
   * an asynchronous engine step and before awaiting it, so both run at the same time.
   */
  prefetch(): void;
  /**
   * Hands a batch's arrays back for reuse once the engine is done with it. Optional, but it saves
   * the page faults of fresh multi-megabyte arrays (5–10 % of loader time). Do not touch the batch
   * afterwards: a later batch overwrites it.
   */
  release(batch: Batch): void;
  /** The step `next()` will return. */
  readonly stepIndex: number;
  /** Grid sampling: the number of fixed patches (one epoch); random sampling: the number of samples. */
  readonly epochSize: number;
}

/** How training patches are chosen. */
export const SAMPLINGS = {
  random: 'a random patch per draw, centred on foreground with probability foregroundFraction',
  grid: 'a fixed grid of patches per image (the seed project used 15), shuffled each epoch',
} as const;
export type SamplingName = keyof typeof SAMPLINGS;

function checkOptions(samples: readonly Sample[], options: LoaderOptions): void {
  const problems: string[] = [];
  const { patchSize, batchSize, classes } = options;
  const outputSize = options.outputSize ?? patchSize;
  if (samples.length === 0) fail('the loader needs at least one sample; check the dataset folder and split');
  if (!(Number.isInteger(patchSize) && patchSize >= 1)) problems.push(`patchSize must be a positive integer, got ${patchSize}`);
  if (!(Number.isInteger(outputSize) && outputSize >= 1 && outputSize <= patchSize && (patchSize - outputSize) % 2 === 0)) {
    problems.push(`outputSize must be an integer ≤ patchSize (${patchSize}) with an even difference, got ${outputSize}`);
  }
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) problems.push(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(classes) && classes >= 2 && classes <= 256))
    problems.push(`classes must be an integer in 2…256 (2 for binary), got ${classes}`);
  const fraction = options.foregroundFraction ?? 0.33;
  if (!(fraction >= 0 && fraction <= 1)) problems.push(`foregroundFraction must be in [0, 1], got ${fraction}`);
  const channels = samples[0].image.channels;
  const { normalization } = options;
  if (normalization.kind === 'meanStd' && (normalization.mean.length !== channels || normalization.std.length !== channels)) {
    problems.push(`the normalisation has ${normalization.mean.length} channel(s) but the images have ${channels}`);
  }
  for (const sample of samples) {
    const { width, height } = sample.image;
    if (sample.image.channels !== channels)
      problems.push(`${sample.stem}: ${sample.image.channels} channel(s), but ${samples[0].stem} has ${channels}`);
    if (sample.labels.length !== width * height)
      problems.push(`${sample.stem}: ${sample.labels.length} labels for a ${width}×${height} image`);
    let maxLabel = 0;
    for (let i = 0; i < sample.labels.length; i++)
      if (sample.labels[i] > maxLabel && sample.labels[i] !== IGNORE_LABEL) maxLabel = sample.labels[i];
    if (maxLabel >= classes)
      problems.push(`${sample.stem}: label ${maxLabel} found but there are only ${classes} classes (0…${classes - 1})`);
  }
  if (problems.length > 0) throw new PyocyteErrors('cannot create the training loader', problems);
}

/**
 * Creates a deterministic training loader over in-memory samples. Every batch is
 * `x: [N, C, P, P]` normalised, `y: [N, o, o]` class indices as floats and, with `weightMap`,
 * `weights: [N, o, o]`, where P = patchSize and o = outputSize.
 */
export function createLoader(samples: readonly Sample[], options: LoaderOptions): Loader {
  checkOptions(samples, options);
  const { patchSize, batchSize, normalization } = options;
  const outputSize = options.outputSize ?? patchSize;
  const seed = options.seed ?? 0;
  const foregroundFraction = options.foregroundFraction ?? 0.33;
  const augment = resolveAugment(options.augment ?? 'default');
  const sampling = checkName(SAMPLINGS, options.sampling ?? 'random', 'patch sampling');
  const weightMap = options.weightMap || undefined;
  const instanceTarget = options.instanceTarget;
  // The distance map and the centre heatmap ride in the bilinearly warped weights slot.
  const warpedTarget = instanceTarget === 'distance' || instanceTarget === 'centres';
  if ((warpedTarget || instanceTarget === 'starDist') && weightMap)
    fail(`the ${instanceTarget} instance method cannot be combined with border weight maps (loss weighted)`);
  if (instanceTarget === 'centres' && samples.some((s) => !s.cellCentres))
    fail('the centres target needs annotated cell centres (a dataset of boxes and points)');
  if (instanceTarget === 'threeClass' && options.classes !== 3) fail(`the threeClass target needs 3 classes, got ${options.classes}`);
  const classWeights = options.classWeights;
  if (classWeights && !(classWeights.length === options.classes && classWeights.every((w) => w >= 0 && Number.isFinite(w))))
    fail(`classWeights must give ${options.classes} finite weights ≥ 0 (one per class), got [${classWeights.join(', ')}]`);
  const weighted = Boolean(weightMap || classWeights);
  const channels = samples[0].image.channels;
  const pool: FixedPatch[] =
    sampling === 'grid'
      ? fixedPatches(
          samples,
          options.gridStride !== undefined
            ? { patchSize, outputSize, stride: options.gridStride }
            : { patchSize, outputSize, count: options.patchesPerImage ?? 15 },
        )
      : [];
  const epochSize = sampling === 'grid' ? pool.length : samples.length;

  // One map per whole sample image, so every patch of an image is normalised alike (and like prediction).
  const affines = new Map<number, ReturnType<typeof normalizationAffine>>();
  const affineOf = (index: number) => {
    let affine = affines.get(index);
    if (!affine) affines.set(index, (affine = normalizationAffine(samples[index].image, normalization)));
    return affine;
  };
  const weightMaps = new Map<number, Float32Array>();
  const weightsOf = (index: number) => {
    let weights = weightMaps.get(index);
    if (!weights) {
      const { image, labels, instances } = samples[index];
      const { width, height } = image;
      const ids = instances ?? labelComponents({ width, height, data: labels }).data;
      weights = borderWeightMap({ width, height, data: ids }, { ...weightMap, labels }).data;
      weightMaps.set(index, weights);
    }
    return weights;
  };
  // Separation targets per whole sample, so augmentation warps them with the image.
  const separationTargets = new Map<number, Uint8Array | Float32Array>();
  const separationOf = (index: number) => {
    let plane = separationTargets.get(index);
    if (!plane) {
      const { image, labels, instances, cellCentres } = samples[index];
      const { width, height } = image;
      if (instanceTarget === 'centres') {
        plane = centreHeatmap(cellCentres!, width, height);
        separationTargets.set(index, plane);
        return plane;
      }
      const ids = { width, height, data: instances ?? labelComponents({ width, height, data: labels }).data };
      plane =
        instanceTarget === 'threeClass'
          ? threeClassTarget(ids)
          : instanceTarget === 'starDist'
            ? colourInstances(
                ids,
                Uint8Array.from(labels, (v) => (v === IGNORE_LABEL ? 1 : 0)),
              )
            : distanceTarget(ids);
      separationTargets.set(index, plane);
    }
    return plane;
  };
  // Each epoch visits every sample (or grid patch) once, in an order fixed by (seed, epoch).
  let orderEpoch = -1;
  let order = new Int32Array(0);
  const itemAt = (globalIndex: number): number => {
    const epoch = Math.floor(globalIndex / epochSize);
    if (epoch !== orderEpoch) {
      order = Int32Array.from(new Random(hash32(seed ^ 0x51a3e, epoch)).shuffle([...Array(epochSize).keys()]));
      orderEpoch = epoch;
    }
    return order[globalIndex - epoch * epochSize];
  };

  const scratch: AugmentedPatch = {
    image: new Float32Array(0),
    labels: new Uint8Array(outputSize * outputSize),
    weights: weightMap || warpedTarget ? new Float32Array(outputSize * outputSize) : undefined,
  };
  const plane = patchSize * patchSize;
  const target = outputSize * outputSize;
  const regressionChannels = warpedTarget ? 1 : instanceTarget === 'starDist' ? 1 + RAY_COUNT : 0;

  // Released batches' arrays; every element is overwritten when one is reused.
  const free: Batch[] = [];
  const batchAt = (stepIndex: number): Batch => {
    if (!(Number.isInteger(stepIndex) && stepIndex >= 0)) fail(`batch step must be a non-negative integer, got ${stepIndex}`);
    const rng = new Random(hash32(seed, stepIndex));
    const recycled = free.pop();
    const x = recycled?.x ?? new Float32Array(batchSize * channels * plane);
    const y = recycled?.y ?? new Float32Array(batchSize * target);
    const weights = weighted ? (recycled?.weights ?? new Float32Array(batchSize * target)) : undefined;
    const regression =
      regressionChannels > 0 ? (recycled?.regression ?? new Float32Array(batchSize * regressionChannels * target)) : undefined;
    for (let n = 0; n < batchSize; n++) {
      const item = itemAt(stepIndex * batchSize + n);
      let sampleIndex: number;
      let origin: { x: number; y: number };
      if (sampling === 'grid') {
        ({ sampleIndex, ...origin } = pool[item]);
      } else {
        sampleIndex = item;
        origin = samplePatchOrigin(samples[sampleIndex], { patchSize, outputSize, foregroundFraction, rng });
      }
      const sample = samples[sampleIndex];
      const params = drawAugmentation(augment, rng);
      const source = { image: sample.image, labels: sample.labels, weights: weightMap ? weightsOf(sampleIndex) : undefined };
      // warpedTarget's map rides in the weights slot (weight maps are excluded above).
      // starDist's cells ride in the label slot, recoloured to 8 bits (neighbours differ), warped nearest-neighbour.
      if (instanceTarget === 'threeClass' || instanceTarget === 'starDist') source.labels = separationOf(sampleIndex) as Uint8Array;
      else if (warpedTarget) source.weights = separationOf(sampleIndex) as Float32Array;
      // Augmented and normalised straight into the batch.
      scratch.image = x.subarray(n * channels * plane, (n + 1) * channels * plane);
      const patch = augmentPatch(source, { ...origin, patchSize, outputSize }, params, { out: scratch, normalize: affineOf(sampleIndex) });
      const labels = patch.labels!;
      if (instanceTarget === 'starDist') {
        const slice = regression!.subarray(n * regressionChannels * target, (n + 1) * regressionChannels * target);
        starConvexTargets({ width: outputSize, height: outputSize, data: labels }, RAY_COUNT, slice);
        for (let i = 0; i < target; i++) y[n * target + i] = labels[i] === IGNORE_LABEL ? IGNORE_LABEL : labels[i] > 0 ? 1 : 0;
      } else for (let i = 0; i < target; i++) y[n * target + i] = labels[i];
      if (weightMap) weights!.set(patch.weights!, n * target);
      else if (weights) weights.fill(1, n * target, (n + 1) * target);
      if (classWeights) {
        // Ignored pixels never reach the loss, so their weight does not matter.
        for (let i = 0; i < target; i++) weights![n * target + i] *= classWeights[y[n * target + i]] ?? 1;
      }
      if (warpedTarget) regression!.set(patch.weights!, n * target);
    }
    return {
      x,
      y,
      weights,
      regression,
      inputShape: [batchSize, channels, patchSize, patchSize],
      targetShape: [batchSize, outputSize, outputSize],
    };
  };

  let step = options.startStep ?? 0;
  let ready: { step: number; batch: Batch } | undefined;
  return {
    next() {
      const batch = ready?.step === step ? ready.batch : batchAt(step);
      ready = undefined;
      step++;
      return batch;
    },
    batchAt,
    prefetch() {
      if (ready?.step !== step) ready = { step, batch: batchAt(step) };
    },
    release(batch) {
      const fits =
        batch.x.length === batchSize * channels * plane &&
        batch.y.length === batchSize * target &&
        (weighted ? batch.weights?.length === batchSize * target : true) &&
        (regressionChannels > 0 ? batch.regression?.length === batchSize * regressionChannels * target : true);
      if (fits && free.length < 4 && !free.includes(batch) && batch !== ready?.batch) free.push(batch);
    },
    get stepIndex() {
      return step;
    },
    epochSize,
  };
}
