/**
 * Before/after figures of a retrained model on the dataset's validation images: Dice and cell
 * counts from `evaluate` for the old and the new model, and small overlay pictures of both.
 */
import sharp from 'sharp';
import { drawOverlay } from '../../image/overlay.js';
import { predictAtObjectScale } from '../../infer/rescale.js';
import { segment } from '../../infer/segment.js';
import { modelInput } from '../../infer/model-input.js';
import { previewImage } from '../../io/image/convert.js';
import type { EvaluationReport } from '../../io/reports.js';
import type { Model } from '../../nn/model.js';
import { PyocyteError } from '../../util/errors.js';
import { evaluate } from '../evaluate.js';
import type { ComparedImage, Comparison } from './api-types.js';
import type { Workspace } from './workspace.js';

const FIGURE_IMAGES = 6;
const FIGURE_SIZE = 256;

async function scores(model: Model, data: string): Promise<EvaluationReport> {
  return evaluate({ model, data, subset: 'val', progressStream: null, log: () => {} });
}

/** An overlay of the model's cells on an image, at most {@link FIGURE_SIZE} px, as PNG. */
async function figure(workspace: Workspace, model: Model, id: string): Promise<Buffer> {
  const raster = await workspace.raster(id);
  const image = modelInput(raster, model);
  const settings = { threshold: model.metadata.threshold, postprocessing: model.metadata.postprocessing };
  // At the scale predict uses (a working scale or the object size), so the figure shows its cells.
  const { map, scale } = await predictAtObjectScale(model, image, { instancesOf: (m) => segment(m, settings).instances });
  const { labels, instances } = segment(map, { ...settings, toModelScale: scale });
  const overlay = drawOverlay(previewImage(image), map.channels === 1 ? instances.data : labels.data, {
    thickness: Math.max(1, Math.round(Math.min(raster.width, raster.height) / 200)),
  });
  return sharp(overlay.data, { raw: { width: overlay.width, height: overlay.height, channels: 3 } })
    .resize(FIGURE_SIZE, FIGURE_SIZE, { fit: 'inside' })
    .png()
    .toBuffer();
}

/**
 * Scores both models on the validation subset and draws figures of the first few images into
 * `figures` (name → PNG).
 */
export async function compareModels(
  workspace: Workspace,
  run: string,
  before: Model | undefined,
  after: Model,
  figures: Map<string, Buffer>,
): Promise<Comparison> {
  const data = workspace.options.data;
  let afterReport: EvaluationReport;
  try {
    afterReport = await scores(after, data);
  } catch (error) {
    if (error instanceof PyocyteError) return { run, images: [], note: `no before/after figures: ${error.message}` };
    throw error;
  }
  const beforeReport = before ? await scores(before, data).catch(() => undefined) : undefined;
  figures.clear();
  const images: ComparedImage[] = [];
  for (const [k, scored] of afterReport.perImage.entries()) {
    const old = beforeReport?.perImage.find((p) => p.image === scored.image);
    const row: ComparedImage = {
      image: scored.image,
      diceAfter: scored.metrics.meanDice,
      cellsAfter: scored.objects.predictedCount,
      cellsTrue: scored.objects.trueCount,
      diceBefore: old?.metrics.meanDice,
      cellsBefore: old?.objects.predictedCount,
    };
    if (k < FIGURE_IMAGES && workspace.images.has(scored.image)) {
      row.figureAfter = `${scored.image}-after.png`;
      figures.set(row.figureAfter, await figure(workspace, after, scored.image));
      if (before) {
        row.figureBefore = `${scored.image}-before.png`;
        figures.set(row.figureBefore, await figure(workspace, before, scored.image));
      }
    }
    images.push(row);
  }
  return { run, diceBefore: beforeReport?.pixels.meanDice, diceAfter: afterReport.pixels.meanDice, images };
}
