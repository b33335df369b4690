/**
 * The end-to-end training job: open the dataset, create the engine, the model and the batch
 * loader, wire the callbacks, run the loop (src/train/loop.ts) under its plan (a step count or a
 * time budget, src/train/budget.ts), then choose the decision rule on the validation images and
 * save the model.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Loader, type LoaderOptions, createLoader } from '../data/loader.js';
import { computeNormalization } from '../data/normalize.js';
import { openDataset } from '../data/prepare.js';
import type { Sample } from '../data/types.js';
import { type WorkingDiameter, chooseWorkingDiameter, normalizeObjectSizes } from '../data/object-scale.js';
import { trainingObjectSizes } from '../data/object-sizes.js';
import { type Engine, createEngine } from '../engine/index.js';
import { MODEL_FOLDER, loadModel, modelTensors, saveModel } from '../io/model-file.js';
import type { Model, ModelMetadata } from '../nn/model.js';
import { unet } from '../nn/model.js';
import { type LossDefinition, lossDefinition } from '../nn/losses.js';
import { newBudget, planFor } from '../train/budget.js';
import { type Callback, type TrainPhase, checkpointing, earlyStopping, progressReport, restoreBestWeights } from '../train/callbacks.js';
import { CHECKPOINTS, type TrainerState, loadLastCheckpoint } from '../train/checkpoint.js';
import { TrainingClock, runLoop } from '../train/loop.js';
import { WeightAverage, weightAveraging } from '../train/weight-average.js';
import { initialWeightsOf, loadInitialWeights } from '../train/initial-weights.js';
import { type ResolvedTrainOptions, type TrainOptions, resolveTrainOptions } from '../train/options.js';
import { schedule } from '../train/schedules.js';
import { chooseDecisionRule, validate } from '../train/validate.js';
import { chooseInstanceRule, initialInstanceRule } from '../train/instance-rule.js';
import { chooseModelCountRule } from '../train/count-rule.js';
import { refineTrainingLabels } from '../train/refine-labels.js';
import { instanceMethod, resolveInstanceMethod } from '../infer/instance-methods.js';
import { scaleSummary } from '../infer/rescale.js';
import { fail } from '../util/errors.js';
import { recoverAtomicWrites, writeFileAtomic } from '../util/fs.js';
import { type ProgressStream, createProgress } from '../util/progress.js';

export interface TrainHooks {
  /** Aborting stops after the current step, saves the `last` checkpoint and resolves (resumable). */
  signal?: AbortSignal;
  /** Messages for the user; default: stderr. */
  log?: (line: string) => void;
  /** Where the progress bar goes; null for none. Default stderr. */
  progressStream?: ProgressStream | null;
  /** Called after every optimisation step. */
  onStep?: (step: number) => void;
  /** The training clock in milliseconds (monotonic); default `performance.now`. Tests inject one. */
  now?: () => number;
  /**
   * Called as each phase starts. Default: none, or with the environment variable
   * PYOCYTE_ANNOUNCE_PHASES=1 a line `pyocyte phase: PHASE step N` on stderr (the crash tests
   * use it to kill a run mid-step, mid-validation or mid-checkpoint).
   */
  onPhase?: (phase: TrainPhase, step: number) => void;
}

export interface TrainResult {
  runDir: string;
  interrupted: boolean;
  epochs: number;
  steps: number;
  /** Training seconds, summed over resumed sessions. */
  seconds: number;
  bestEpoch: number;
  /** Validation Dice of the saved model at its tuned threshold. */
  valDice?: number;
  threshold: number;
}

/** Trains a U-Net on a dataset folder; writes the model, checkpoints, log.jsonl and curves.png to `out`. */
export async function train(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  return run(resolveTrainOptions(options), false, hooks);
}

/**
 * Continues an interrupted or killed run where its `last` checkpoint stopped (same batches, same
 * schedule). First repairs what a killed process left of its atomic writes.
 */
export async function resumeTraining(
  runDir: string,
  overrides: Pick<TrainOptions, 'threads' | 'engine' | 'precision'> = {},
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const file = join(runDir, 'config.json');
  if (!existsSync(file)) fail(`cannot resume ${runDir}: no config.json there (is it a pyocyte training run?)`);
  await recoverAtomicWrites(runDir);
  await recoverAtomicWrites(join(runDir, 'checkpoints'));
  const checkpoint = join(runDir, CHECKPOINTS.last, 'trainer.json');
  if (!existsSync(checkpoint)) fail(`cannot resume ${runDir}: it has no checkpoint yet (${checkpoint} is missing)`);
  const saved = JSON.parse(await readFile(file, 'utf8')) as ResolvedTrainOptions;
  return run(resolveTrainOptions({ ...saved, ...overrides, out: runDir }), true, hooks);
}

const announcePhase = (phase: TrainPhase, step: number) => process.stderr.write(`pyocyte phase: ${phase} step ${step}\n`);

async function run(o: ResolvedTrainOptions, resume: boolean, hooks: TrainHooks): Promise<TrainResult> {
  const log = hooks.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const onPhase = hooks.onPhase ?? (process.env.PYOCYTE_ANNOUNCE_PHASES === '1' ? announcePhase : undefined);
  const dataset = await openDataset(o.data, { ...o, onNote: (note) => log(`note: ${note}`) });
  const { split } = dataset;
  log(
    `data: ${dataset.index.pairs.length} image/mask pairs in ${o.data}; split ${split.train.length}/${split.val.length}/${split.test.length} (train/val/test)`,
  );
  let trainSamples = await dataset.load('train');
  let valSamples = split.val.length > 0 ? await dataset.load('val') : [];
  const working = dataset.weak ? undefined : chooseWorkingDiameter(trainSamples, o, (note) => log(`note: ${note}`));
  if (working) {
    const normalized = normalizeObjectSizes(trainSamples, working.diameterPx);
    trainSamples = normalized.samples;
    valSamples = normalizeObjectSizes(valSamples, working.diameterPx).samples;
    const { minScale, medianScale, maxScale } = scaleSummary(normalized.scales);
    log(
      `note: working diameter ${working.diameterPx} px: each training image resampled so its median object is ${working.diameterPx} px across (×${minScale}–×${maxScale}, median ×${medianScale}); predict brings new images to it by their estimated object size`,
    );
  }
  // Written once the data has been read, so a typo in --data leaves no run folder behind.
  if (!resume) await writeFileAtomic(join(o.out, 'config.json'), `${JSON.stringify(o, null, 2)}\n`);
  const engine = createEngine({ backend: o.engine, threads: o.threads, precision: o.precision, warn: log });
  log(`engine: ${engine.description}`);
  if (o.refineLabelsWith) trainSamples = await refinedSamples(o, engine, trainSamples, dataset, hooks, log);
  const average = o.emaDecay > 0 ? new WeightAverage(o.emaDecay) : undefined;
  const { model, state } = resume
    ? await loadLastCheckpoint(o.out, engine, configurer(o), average)
    : await newModel(o, engine, trainSamples, dataset, working, log);
  log(
    `model: U-Net depth ${o.depth}, ${o.filters} filters, ${o.padding} padding, ${model.network.parameterCount().toLocaleString('en')} parameters; ${o.loss} loss, ${o.optimizer}${average ? `, weights averaged (EMA decay ${o.emaDecay})` : ''}; instances: ${model.metadata.instances?.method ?? 'watershed'}`,
  );
  const loader = batchLoader(o, model, trainSamples, state.step);
  if (!resume) {
    state.stepsPerEpoch = Math.ceil((o.sampling === 'grid' ? loader.epochSize : trainSamples.length * o.patchesPerImage) / o.batchSize);
    if (o.epochs !== undefined) state.totalSteps = o.epochs * state.stepsPerEpoch;
    else state.budget = newBudget(o.minutes! * 60);
  }
  const plan = planFor(state, schedule(o.schedule), o.learningRate);
  log(
    resume
      ? `resuming ${o.out} at step ${state.step} (epoch ${state.epoch}, ${state.elapsedSeconds.toFixed(1)} s of training)`
      : plan.describe(),
  );
  const clock = new TrainingClock(state, hooks.now);
  const start = plan.progress(clock.elapsedSeconds());
  const progress =
    hooks.progressStream === null
      ? undefined
      : createProgress({ total: start.total, initialDone: start.done, label: 'train', stream: hooks.progressStream });
  const predict = { tileSize: o.validationTileSize };
  const callbacks: Callback[] = [
    ...(average ? [weightAveraging(average)] : []),
    earlyStopping(o.patience),
    checkpointing(o.out, { fresh: !resume, average }),
    ...(progress ? [progressReport(progress, o.out)] : []),
    { onStepEnd: (r) => hooks.onStep?.(r.state.step) },
    restoreBestWeights(o.out),
  ];
  // Validation scores the average, the weights `best` will hold.
  const withAverage = <T>(work: () => Promise<T>) => (average ? average.with(model, work) : work());
  const { interrupted } = await runLoop({
    model,
    loader,
    state,
    plan,
    clock,
    callbacks,
    signal: hooks.signal,
    onPhase,
    validate:
      valSamples.length > 0
        ? () => withAverage(async () => (await validate(model, valSamples, { lossName: o.loss, predict })).scores)
        : undefined,
  });
  const result = {
    runDir: o.out,
    interrupted,
    epochs: state.epoch,
    steps: state.step,
    seconds: state.elapsedSeconds,
    bestEpoch: state.bestEpoch,
    threshold: 0.5,
  };
  if (interrupted) return result;

  let valDice: number | undefined;
  if (valSamples.length > 0) {
    onPhase?.('decision rule', state.step);
    const rule = await chooseDecisionRule(model, valSamples, { predict, keepMaps: dataset.weak !== undefined });
    Object.assign(model.metadata, { threshold: rule.threshold, postprocessing: rule.postprocessing, tta: rule.tta });
    valDice = rule.dice;
    log(rule.summary);
    // A centres model's seed threshold is chosen with its count rule, on the annotated cells.
    if (model.metadata.instances && model.metadata.instances.decoder !== 'centres') {
      const chosen = await chooseInstanceRule(model, valSamples, { predict: { ...predict, tta: rule.tta }, ...rule });
      model.metadata.instances = chosen.rule;
      log(chosen.summary);
    }
    if (dataset.weak && rule.maps) {
      const { weak } = dataset;
      const chosen = chooseModelCountRule(
        model,
        rule.maps,
        valSamples.map((s) => weak.annotationsOf(s.stem)),
        { pointRadiusPx: weak.pointRadiusPx, segment: { threshold: rule.threshold, postprocessing: rule.postprocessing } },
      );
      model.metadata.countRule = chosen.rule;
      if (chosen.instances) model.metadata.instances = chosen.instances;
      log(chosen.summary);
    }
  }
  model.metadata.training = {
    data: o.data,
    epochs: state.epoch,
    steps: state.step,
    seconds: Math.round(state.elapsedSeconds),
    bestEpoch: state.bestEpoch,
    valDice,
    loss: o.loss,
    optimizer: o.optimizer,
    ...(average ? { emaDecay: o.emaDecay } : {}),
    patchSize: o.patchSize,
    batchSize: o.batchSize,
    engine: engine.description,
  };
  onPhase?.('saving model', state.step);
  await saveModel(join(o.out, MODEL_FOLDER), model);
  log(
    `model saved to ${join(o.out, MODEL_FOLDER)} (best epoch ${state.bestEpoch}${valDice !== undefined ? `, val Dice ${valDice.toFixed(4)}` : ''}, threshold ${model.metadata.threshold})`,
  );
  return { ...result, valDice, threshold: model.metadata.threshold };
}

/** The training samples with labels redrawn by `--refine-labels-with`'s model (train/refine-labels.ts). */
async function refinedSamples(
  o: ResolvedTrainOptions,
  engine: Engine,
  samples: Sample[],
  dataset: Awaited<ReturnType<typeof openDataset>>,
  hooks: TrainHooks,
  log: (line: string) => void,
): Promise<Sample[]> {
  const started = performance.now();
  const teacher = await loadModel(o.refineLabelsWith!, { engine });
  const refined = await refineTrainingLabels(teacher, samples, dataset, {
    modelName: o.refineLabelsWith!,
    predict: { tileSize: o.validationTileSize },
    progressStream: hooks.progressStream,
  });
  const { refined: redrawn, kept } = refined.counts;
  log(
    `refine: ${o.refineLabelsWith} segmented the ${samples.length} training images in ${((performance.now() - started) / 1000).toFixed(0)} s; ${redrawn} cells take its outline, ${kept} keep the drawn core (not found, too small, or spilling out of the box)`,
  );
  return refined.samples;
}

/** Sets a model up for training with the run's loss, optimizer and seed. */
function configurer(o: ResolvedTrainOptions): (model: Model) => void {
  return (model) =>
    model.configureTraining({ loss: o.loss, optimizer: o.optimizer, optimizerOptions: { weightDecay: o.weightDecay }, seed: o.seed });
}

/** A fresh U-Net for the data (or `initialWeights`' weights, to fine-tune), configured for training, and a trainer state at step 0. */
async function newModel(
  o: ResolvedTrainOptions,
  engine: Engine,
  trainSamples: readonly Sample[],
  { scheme, imageScale, weak }: Pick<Awaited<ReturnType<typeof openDataset>>, 'scheme' | 'imageScale' | 'weak'>,
  working: WorkingDiameter | undefined,
  log: (line: string) => void,
): Promise<{ model: Model; state: TrainerState }> {
  const methodName = resolveInstanceMethod(o.instanceMethod, {
    binary: scheme.task === 'binary',
    hasInstances: trainSamples.some((s) => s.instances !== undefined),
    hasCellCentres: trainSamples.some((s) => s.cellCentres !== undefined),
  });
  const method = instanceMethod(methodName);
  const model = unet(
    {
      inChannels: trainSamples[0].image.channels,
      classes: methodName === 'watershed' || method.classes === 'task' ? scheme.outputChannels : method.classes,
      ...(method.regressionChannels > 0 ? { regressionChannels: method.regressionChannels } : {}),
      depth: o.depth,
      filters: o.filters,
      padding: o.padding,
      norm: o.norm,
      dropout: o.dropout,
    },
    {
      engine,
      seed: o.seed,
      metadata: {
        task: scheme.task,
        classNames: scheme.classNames,
        mask: scheme.mask,
        threshold: 0.5,
        normalization: computeNormalization(
          trainSamples.map((s) => s.image),
          { kind: o.normalization },
        ),
        ...(o.channels ? { channels: o.channels } : {}),
        pixelSizeUm: trainSamples[0].pixelSizeUm,
        ...(imageScale !== undefined ? { imageScale } : {}),
        ...(methodName === 'watershed' ? {} : { instances: initialInstanceRule(methodName, scheme.classNames) }),
        ...objectSizeMetadata(trainSamples, working),
      },
    },
  );
  const initialWeights = initialWeightsOf(o, weak !== undefined);
  if (initialWeights) {
    const start = await loadModel(initialWeights, { engine });
    const tensors = await modelTensors(start);
    log(loadInitialWeights(model, { config: start.config, metadata: start.metadata, tensors }, initialWeights).summary);
  }
  configurer(o)(model);
  const state: TrainerState = {
    step: 0,
    epoch: 0,
    totalSteps: 0,
    stepsPerEpoch: 1,
    elapsedSeconds: 0,
    bestDice: -1,
    bestEpoch: 0,
    epochsWithoutImprovement: 0,
    epochSums: { loss: 0, steps: 0, counts: [] },
    history: [],
  };
  return { model, state };
}

/** The model's training object sizes, and at a working diameter that diameter and σ*'s calibration (measured before resampling). */
function objectSizeMetadata(trainSamples: readonly Sample[], working: WorkingDiameter | undefined): Partial<ModelMetadata> {
  const sizes = trainingObjectSizes(trainSamples);
  if (!working) return { objectDiameterPx: sizes };
  const { diameterPx, diameterPerSigma } = working;
  return { workingDiameterPx: diameterPx, objectDiameterPx: sizes && { ...sizes, ...(diameterPerSigma ? { diameterPerSigma } : {}) } };
}

/** The training batches from `startStep` on; the weighted loss gets its border weight maps. */
function batchLoader(o: ResolvedTrainOptions, model: Model, trainSamples: readonly Sample[], startStep: number): Loader {
  const loss: LossDefinition = lossDefinition(o.loss);
  return createLoader(trainSamples, {
    patchSize: o.patchSize,
    outputSize: model.outputSize(o.patchSize)!,
    batchSize: o.batchSize,
    augment: o.augment,
    foregroundFraction: o.foregroundFraction,
    seed: o.seed,
    normalization: model.metadata.normalization,
    classes: Math.max(2, model.config.classes),
    ...separationTargets(model.metadata.instances?.method),
    sampling: o.sampling,
    patchesPerImage: o.patchesPerImage,
    weightMap: loss.weightMap ?? false,
    startStep,
  });
}

/** The loader target an instance method trains on (none for the plain foreground) and its class weights. */
function separationTargets(method: string | undefined): Pick<LoaderOptions, 'instanceTarget' | 'classWeights'> {
  if (!method) return {};
  const { target, classWeights } = instanceMethod(method);
  return { ...(target === 'labels' ? {} : { instanceTarget: target }), ...(classWeights ? { classWeights } : {}) };
}
