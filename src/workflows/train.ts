import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLoader } from '../data/loader.js';
import { computeNormalization } from '../data/normalize.js';
import { openDataset } from '../data/prepare.js';
import { createEngine } from '../engine/index.js';
import { MODEL_FOLDER, loadModel, loadModelTensors, modelTensors, saveModel } from '../io/model-file.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { type Model, unet } from '../nn/model.js';
import { fail } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { CHECKPOINTS, type TrainerState, loadLastCheckpoint, saveBestCheckpoint, saveLastCheckpoint } from '../train/checkpoint.js';
import { writeTrainingLog } from '../train/log.js';
import { type ResolvedTrainOptions, type TrainOptions, resolveTrainOptions } from '../train/options.js';
import { type ProgressStream, createProgress } from '../util/progress.js';
import { schedule } from '../train/schedules.js';
import { chooseDecisionRule, countsToScores, validate } from '../train/validate.js';

export interface TrainHooks {
  /** Aborting stops after the current step, saves the `last` checkpoint and resolves (resumable). */
  signal?: AbortSignal;
  /** Messages for the user; default: stderr. */
  log?: (line: string) => void;
  /** Where the progress bar goes; null for none. Default stderr. */
  progressStream?: ProgressStream | null;
  /** Called after every optimisation step. */
  onStep?: (step: number) => void;
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

/** Continues an interrupted run exactly where it stopped (same batches, same schedule). */
export async function resumeTraining(runDir: string, overrides: Pick<TrainOptions, 'threads' | 'engine' | 'precision'> = {}, hooks: TrainHooks = {}): Promise<TrainResult> {
  const file = join(runDir, 'config.json');
  if (!existsSync(file)) fail(`cannot resume ${runDir}: no config.json there (is it a pyocyte training run?)`);
  const checkpoint = join(runDir, CHECKPOINTS.last, 'trainer.json');
  if (!existsSync(checkpoint)) fail(`cannot resume ${runDir}: it has no checkpoint yet (${checkpoint} is missing)`);
  const saved = JSON.parse(await readFile(file, 'utf8')) as ResolvedTrainOptions;
  return run(resolveTrainOptions({ ...saved, ...overrides, out: runDir }), true, hooks);
}

async function run(o: ResolvedTrainOptions, resume: boolean, hooks: TrainHooks): Promise<TrainResult> {
  const log = hooks.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dataset = await openDataset(o.data, { ...o, onNote: (note) => log(`note: ${note}`) });
  const { split, scheme } = dataset;
  log(`data: ${dataset.index.pairs.length} image/mask pairs in ${o.data}; split ${split.train.length}/${split.val.length}/${split.test.length} (train/val/test)`);
  const trainSamples = await dataset.load('train');
  const valSamples = split.val.length > 0 ? await dataset.load('val') : [];
  // Written once the data has been read, so a typo in --data leaves no run folder behind.
  if (!resume) await writeFileAtomic(join(o.out, 'config.json'), `${JSON.stringify(o, null, 2)}\n`);
  const engine = createEngine({ backend: o.engine, threads: o.threads, precision: o.precision, warn: log });
  log(`engine: ${engine.description}`);
  const configure = (m: Model) => m.configureTraining({ loss: o.loss, optimizer: o.optimizer, optimizerOptions: { weightDecay: o.weightDecay }, seed: o.seed });
  let model: Model;
  let state: TrainerState;
  if (resume) {
    ({ model, state } = await loadLastCheckpoint(o.out, engine, configure));
    log(`resuming ${o.out} at step ${state.step}/${state.totalSteps} (epoch ${state.epoch})`);
  } else {
    model = unet(
      { inChannels: trainSamples[0].image.channels, classes: scheme.outputChannels, depth: o.depth, filters: o.filters, padding: o.padding, norm: o.norm, dropout: o.dropout },
      {
        engine,
        seed: o.seed,
        metadata: {
          task: scheme.task, classNames: scheme.classNames, mask: scheme.mask, threshold: 0.5,
          normalization: computeNormalization(trainSamples.map((s) => s.image), { kind: o.normalization }),
          ...(o.channels ? { channels: o.channels } : {}),
          pixelSizeUm: trainSamples[0].pixelSizeUm,
        },
      },
    );
    if (o.initialWeights) {
      const start = await loadModel(o.initialWeights, { engine });
      loadModelTensors(model, await modelTensors(start), o.initialWeights);
      model.metadata.normalization = start.metadata.normalization;
    }
    configure(model);
    state = freshState();
  }
  log(`model: U-Net depth ${o.depth}, ${o.filters} filters, ${o.padding} padding, ${model.network.parameterCount().toLocaleString('en')} parameters; ${o.loss} loss, ${o.optimizer}`);
  const outputSize = model.outputSize(o.patchSize)!;
  const loader = createLoader(trainSamples, {
    patchSize: o.patchSize, outputSize, batchSize: o.batchSize, augment: o.augment, foregroundFraction: o.foregroundFraction,
    seed: o.seed, normalization: model.metadata.normalization, classes: Math.max(2, scheme.outputChannels), sampling: o.sampling,
    patchesPerImage: o.patchesPerImage, weightMap: o.loss === 'weighted' ? { w0: 10, sigmaPx: 5 } : false, startStep: state.step,
  });
  let sessionStart = Date.now();
  const elapsed = () => state.elapsedSeconds + (Date.now() - sessionStart) / 1000;
  /** Folds this session's time into the saved state. */
  const recordElapsed = () => {
    state.elapsedSeconds = elapsed();
    sessionStart = Date.now();
  };
  const lossName = o.loss;
  const predict = { tileSize: o.validationTileSize };
  const lr = schedule(o.schedule);
  if (state.totalSteps === 0) {
    const natural = Math.ceil((o.sampling === 'grid' ? loader.epochSize : trainSamples.length * o.patchesPerImage) / o.batchSize);
    state.stepsPerEpoch = natural;
    state.totalSteps = o.epochs !== undefined ? o.epochs * natural : await planBudget();
  }
  const progress = hooks.progressStream === null ? undefined : createProgress({ total: state.totalSteps, initialDone: state.step, label: 'train', stream: hooks.progressStream });
  let stopReason = '';
  let interrupted = false;
  while (state.step < state.totalSteps) {
    if (hooks.signal?.aborted) {
      interrupted = true;
      break;
    }
    await step();
    if (state.step % state.stepsPerEpoch === 0 || state.step === state.totalSteps) {
      await endEpoch();
      if (o.patience > 0 && state.epochsWithoutImprovement >= o.patience) {
        stopReason = `early stop: validation Dice has not improved for ${o.patience} epochs`;
        break;
      }
    }
  }
  recordElapsed();
  if (interrupted) {
    await saveLastCheckpoint(o.out, model, state);
    await writeTrainingLog(o.out, state.history);
    progress?.done(`interrupted at step ${state.step}; resume with: pyocyte train --resume ${o.out}`);
    return { runDir: o.out, interrupted: true, epochs: state.epoch, steps: state.step, seconds: state.elapsedSeconds, bestEpoch: state.bestEpoch, threshold: 0.5 };
  }
  progress?.done(stopReason || undefined);
  return finish();

  /** One optimisation step; the next batch is prepared while the engine computes this one. */
  async function step(): Promise<void> {
    const batch = loader.next();
    const pending = model.trainStep(batch, { learningRate: lr(state.step, state.totalSteps, o.learningRate) });
    // trainStep has copied the batch to the engine: its arrays can be reused for the next one.
    loader.release(batch);
    loader.prefetch();
    const result = await pending;
    state.step += 1;
    const sums = state.epochSums;
    sums.loss += result.loss;
    sums.steps += 1;
    sums.counts = sums.counts.length ? sums.counts.map((c, i) => c + result.counts[i]) : result.counts;
    hooks.onStep?.(state.step);
    const last = state.history[state.history.length - 1];
    progress?.update(state.step, {
      epoch: `${state.epoch + 1}/${Math.ceil(state.totalSteps / state.stepsPerEpoch)}`,
      step: `${state.step}/${state.totalSteps}`,
      loss: sums.loss / sums.steps,
      ...(last?.val ? { 'val dice': last.val.dice } : {}),
    });
  }

  async function endEpoch(): Promise<void> {
    state.epoch += 1;
    const sums = state.epochSums;
    const train = { loss: sums.loss / Math.max(1, sums.steps), ...countsToScores(sums.counts) };
    const val = valSamples.length > 0 ? (await validate(model, valSamples, { lossName, predict })).scores : undefined;
    const score = val?.dice ?? train.dice;
    const best = score > state.bestDice;
    if (best) {
      state.bestDice = score;
      state.bestEpoch = state.epoch;
      state.epochsWithoutImprovement = 0;
      await saveBestCheckpoint(o.out, model);
    } else {
      state.epochsWithoutImprovement += 1;
    }
    state.history.push({
      epoch: state.epoch, step: state.step, seconds: Math.round(elapsed() * 10) / 10,
      learningRate: lr(state.step - 1, state.totalSteps, o.learningRate), train, val, best,
    });
    state.epochSums = { loss: 0, steps: 0, counts: [] };
    if (o.minutes !== undefined && state.epoch >= 2 && state.step < 0.3 * state.totalSteps) replan();
    // Re-planning stops at 30 % of the schedule; if the machine slows down later, the budget
    // still holds. The shortened plan is saved, so the run counts as complete.
    if (o.minutes !== undefined && elapsed() >= o.minutes * 60 && state.step < state.totalSteps) {
      stopReason = `time budget reached after ${state.epoch} of ${Math.round(state.totalSteps / state.stepsPerEpoch)} planned epochs`;
      state.totalSteps = state.step;
    }
    recordElapsed();
    await saveLastCheckpoint(o.out, model, state);
    await writeTrainingLog(o.out, state.history);
    const f = (v: number) => v.toFixed(4);
    progress?.log(`epoch ${state.epoch}: train loss ${f(train.loss)} dice ${f(train.dice)}` +
      (val ? ` | val loss ${f(val.loss)} dice ${f(val.dice)} iou ${f(val.iou)} acc ${f(val.accuracy)}` : '') + (best ? ' *' : ''));
  }

  /**
   * Plans a time-budgeted run: times a few real steps and one validation pass, then fixes the
   * number of epochs (and so the schedule) to end within the budget.
   */
  async function planBudget(): Promise<number> {
    const budget = o.minutes! * 60;
    const warmup = 3;
    const provisional = 1e6;
    let stepSeconds = 0;
    for (let i = 0; i < warmup; i++) {
      const t0 = Date.now();
      const pending = model.trainStep(loader.next(), { learningRate: lr(state.step, provisional, o.learningRate) });
      loader.prefetch();
      const result = await pending;
      state.step += 1;
      state.epochSums.loss += result.loss;
      state.epochSums.steps += 1;
      state.epochSums.counts = state.epochSums.counts.length ? state.epochSums.counts.map((c, k) => c + result.counts[k]) : result.counts;
      if (i > 0) stepSeconds += (Date.now() - t0) / 1000 / (warmup - 1);
    }
    const t0 = Date.now();
    if (valSamples.length > 0) await validate(model, valSamples, { lossName, predict });
    const validationSeconds = (Date.now() - t0) / 1000;
    // Keep validation under a fifth of the time: lengthen short epochs.
    state.stepsPerEpoch = Math.max(state.stepsPerEpoch, Math.ceil((4 * validationSeconds) / stepSeconds));
    const remaining = 0.97 * budget - elapsed();
    const epochSeconds = state.stepsPerEpoch * stepSeconds + validationSeconds;
    let epochs = Math.floor(remaining / epochSeconds);
    if (epochs < 1) {
      epochs = 1;
      state.stepsPerEpoch = Math.max(warmup + 1, Math.floor((remaining - validationSeconds) / stepSeconds));
    }
    log(`budget: ${o.minutes} min → ${epochs} epochs of ${state.stepsPerEpoch} steps (${(stepSeconds * 1000).toFixed(0)} ms/step, validation ${validationSeconds.toFixed(1)} s)`);
    return epochs * state.stepsPerEpoch;
  }

  /**
   * A time budget is planned from a few warm-up steps, which other work on the machine (or the
   * first touches of fresh memory) can make slow or fast. While the schedule is in its first 30 %,
   * the plan is corrected after every epoch from the median real epoch time (the first epoch,
   * which pays for compiling kernels, left out).
   */
  function replan(): void {
    const budget = 0.97 * o.minutes! * 60;
    const durations = state.history.slice(1).map((e, i) => e.seconds - state.history[i].seconds).sort((a, b) => a - b);
    const epochSeconds = durations[Math.floor((durations.length - 1) / 2)];
    if (!(epochSeconds > 0)) return; // epochs shorter than the log's 0.1 s resolution: keep the plan
    const epochs = Math.max(state.epoch, state.epoch + Math.floor((budget - elapsed()) / epochSeconds));
    const planned = epochs * state.stepsPerEpoch;
    if (Math.abs(planned - state.totalSteps) > 0.03 * state.totalSteps) {
      log(`budget: epochs take ${epochSeconds.toFixed(1)} s; re-planned ${Math.round(state.totalSteps / state.stepsPerEpoch)} → ${epochs} epochs`);
      state.totalSteps = planned;
      progress?.setTotal(planned);
    }
  }

  /** Restores the best weights, chooses the decision rule on validation, saves the model. */
  async function finish(): Promise<TrainResult> {
    const bestFile = join(o.out, CHECKPOINTS.best, 'model.safetensors');
    if (existsSync(bestFile)) loadModelTensors(model, decodeSafetensors(await readFile(bestFile), { file: bestFile }).tensors, bestFile);
    let valDice: number | undefined;
    if (valSamples.length > 0) {
      const rule = await chooseDecisionRule(model, valSamples, { predict });
      Object.assign(model.metadata, { threshold: rule.threshold, postprocessing: rule.postprocessing, tta: rule.tta });
      valDice = rule.dice;
      log(rule.summary);
    }
    model.metadata.training = {
      data: o.data, epochs: state.epoch, steps: state.step, seconds: Math.round(state.elapsedSeconds), bestEpoch: state.bestEpoch,
      valDice, loss: o.loss, optimizer: o.optimizer, patchSize: o.patchSize, batchSize: o.batchSize, engine: engine.description,
    };
    await saveModel(join(o.out, MODEL_FOLDER), model);
    await writeTrainingLog(o.out, state.history);
    log(`model saved to ${join(o.out, MODEL_FOLDER)} (best epoch ${state.bestEpoch}${valDice !== undefined ? `, val Dice ${valDice.toFixed(4)}` : ''}, threshold ${model.metadata.threshold})`);
    return {
      runDir: o.out, interrupted: false, epochs: state.epoch, steps: state.step, seconds: state.elapsedSeconds,
      bestEpoch: state.bestEpoch, valDice, threshold: model.metadata.threshold,
    };
  }
}

function freshState(): TrainerState {
  return {
    step: 0, epoch: 0, totalSteps: 0, stepsPerEpoch: 1, elapsedSeconds: 0, bestDice: -1, bestEpoch: 0,
    epochsWithoutImprovement: 0, epochSums: { loss: 0, steps: 0, counts: [] }, history: [],
  };
}

