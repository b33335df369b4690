import { relative } from 'node:path';
import { PyocyteError } from '../util/errors.js';
import { equivalentDiameter, instanceAreas, labelComponents } from '../image/components.js';
import { discoverDataset, type DatasetConvention } from './dataset.js';
import { decodable, mixedChannels } from './pair-checks.js';
import type { ImageInfo } from '../io/image/image-io.js';
import { farRanges, formatValue, type ValueRange } from './intensity.js';
import { mergeHistograms, type ValueHistogram } from './mask-values.js';
import { resolveMaskOptions, surveyMask, type MaskSurvey } from './masks.js';
import { mapPool } from '../util/pool.js';
import { displayName, pairToSample, readerNotes, readPair, scaleFactor, type LoadedPair, type LoadOptions } from './samples.js';
import { leftOut, splitStems } from './split.js';
import type { Task } from '../nn/types.js';
import type { NormalizationKind } from './normalize.js';

/** What `pyocyte data check` found in a dataset folder. */
export interface DatasetSummary {
  root: string;
  convention?: DatasetConvention;
  /** Images with a mask. */
  pairs: number;
  /** Images without a mask (only with `requireMasks: false`). */
  unlabelled: number;
  /** Distinct image sizes, most common first. */
  sizes: { width: number; height: number; count: number }[];
  /** Image files by channel count and sample type, as `"3 channels, 8-bit"` → count. */
  imageKinds: Record<string, number>;
  /** Mask files the same way. */
  maskKinds: Record<string, number>;
  pixelSizeUm?: number;
  task: Task;
  /** Every mask value over all masks, with pixel counts. */
  maskValues?: ValueHistogram;
  polarity?: 'white' | 'black';
  classes?: number;
  classNames?: string[];
  /** Pixels per class over all labels after conversion (index 0 background). */
  classPixels?: number[];
  /** Stems whose mask has no foreground at all. */
  emptyMasks: string[];
  /** Connected foreground regions (or instance ids) and their equivalent diameters in pixels. */
  objects?: { count: number; medianDiameterPx: number; p10DiameterPx: number; p90DiameterPx: number };
  split?: { source: string; train: number; val: number; test: number; leftOut: number };
  /** Each decoded image's stored value range (channels used), by file name relative to `root`. */
  valueRanges: { image: string; range: ValueRange }[];
  /** Images whose value range is far from the others' (see `farRanges`), and the typical range. */
  farRanges?: { images: string[]; typical: { low: number; high: number } };
  notes: string[];
  warnings: string[];
  /** Anything that would stop training; non-empty makes `pyocyte data check` exit 1. */
  problems: string[];
}

/** Options for {@link checkDataset}. */
export interface CheckOptions extends LoadOptions {
  /** The normalisation training will use, for advice on value ranges (default 'percentile'). */
  normalization?: NormalizationKind;
  /** Unlabelled images are fine (default false: every image needs a mask). */
  allowMissingMasks?: boolean;
  /** Class names for the report (e.g. from `parseValueMap`). */
  classNames?: string[];
}

/** Median equivalent diameter below which objects are too small to segment well at this scale. */
const TINY_OBJECT_PX = 6;

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

function emptySummary(root: string, task: Task): DatasetSummary {
  return {
    root,
    pairs: 0,
    unlabelled: 0,
    sizes: [],
    imageKinds: {},
    maskKinds: {},
    task,
    emptyMasks: [],
    valueRanges: [],
    notes: [],
    warnings: [],
    problems: [],
  };
}

/** `"3 channels, 8-bit"`, `"1 channel, 16-bit signed"`, `"2 channels with alpha, 32-bit float"`. */
function kindOf(info: Pick<ImageInfo, 'channels' | 'alpha' | 'sampleType'>): string {
  const [, type, bits] = /^([a-z]+)(\d+)$/.exec(info.sampleType) ?? ['', 'uint', '8'];
  const suffix = type === 'int' ? ' signed' : type === 'float' ? ' float' : '';
  return `${info.channels} channel${info.channels === 1 ? '' : 's'}${info.alpha ? ' with alpha' : ''}, ${bits}-bit${suffix}`;
}

/**
 * Checks a dataset folder end to end and summarises it: pairing and sizes, every image and mask
 * decoded, mask values and how they become labels, foreground share, object sizes, the split.
 * Problems (anything that would stop training) are collected, not thrown, so the summary shows
 * them all; a missing folder still throws.
 */
export async function checkDataset(dir: string, options: CheckOptions = {}): Promise<DatasetSummary> {
  const task = options.task ?? 'binary';
  const summary = emptySummary(dir, task);
  const index = await discoverDataset(dir, { requireMasks: !options.allowMissingMasks, collectProblems: true });
  // Header problems come first; every pair whose headers were fine is still decoded below.
  summary.problems.push(...index.problems);
  summary.root = index.root;
  summary.convention = index.convention;
  summary.warnings.push(...index.warnings);
  summary.pixelSizeUm = options.pixelSizeUm ?? index.pixelSizeUm;
  summary.classNames = options.classNames ?? index.classNames;
  const maskOptions: LoadOptions = {
    ...options,
    task,
    valueMap: options.valueMap ?? index.valueMap,
    polarity: options.polarity ?? index.maskPolarity,
    pixelSizeUm: summary.pixelSizeUm,
  };
  const factor = scaleFactor(maskOptions);
  const labelled = index.pairs.filter((p) => p.maskPath);
  summary.pairs = labelled.length;
  summary.unlabelled = index.pairs.length - labelled.length;

  const sizes = new Map<string, number>();
  const countSize = (width: number, height: number) => sizes.set(`${width}×${height}`, (sizes.get(`${width}×${height}`) ?? 0) + 1);
  const countKind = (info: ImageInfo) => (summary.imageKinds[kindOf(info)] = (summary.imageKinds[kindOf(info)] ?? 0) + 1);
  const results = await mapPool(labelled.filter(decodable), 4, async (pair) => {
    try {
      return await readPair(pair, maskOptions);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      return error.message;
    }
  });
  // In file order, whatever order the decodes finished in.
  for (const result of results) if (typeof result === 'string') summary.problems.push(result);
  const loaded = results.filter((r): r is LoadedPair => typeof r !== 'string');
  for (const pair of index.pairs.filter((p) => !p.maskPath && p.imageInfo)) {
    countSize(pair.imageInfo!.width, pair.imageInfo!.height);
    countKind(pair.imageInfo!);
  }

  const usable: LoadedPair[] = [];
  const surveys: MaskSurvey[] = [];
  const allValues: ValueHistogram = { values: [], counts: [] };
  for (const item of loaded) {
    countSize(item.image.width, item.image.height);
    countKind(item.file);
    summary.valueRanges.push({ image: relative(index.root, item.pair.imagePath), range: item.range });
    const maskKind = kindOf(item.maskFile);
    summary.maskKinds[maskKind] = (summary.maskKinds[maskKind] ?? 0) + 1;
    try {
      const survey = surveyMask(item.mask, displayName(item.pair.maskPath!));
      surveys.push(survey);
      mergeHistograms(allValues, survey.histogram);
      usable.push(item);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      summary.problems.push(error.message);
    }
  }
  summary.sizes = [...sizes]
    .map(([size, count]) => {
      const [width, height] = size.split('×').map(Number);
      return { width, height, count };
    })
    .sort((a, b) => b.count - a.count);
  const mixed = mixedChannels(usable.map((u) => ({ name: displayName(u.pair.imagePath), channels: u.image.channels })));
  if (mixed) summary.problems.push(mixed);
  surveyRanges(summary, options);
  summary.warnings.push(...readerNotes(usable, 20));
  if (usable.length === 0) return summary;
  summary.maskValues = allValues;

  const resolved = resolveMaskOptions(surveys, maskOptions);
  if (resolved.note) summary.notes.push(`masks: ${resolved.note}`);
  const classPixels: number[] = [];
  const diameters: number[] = [];
  let instanceMasks = 0;
  for (const item of usable) {
    let result;
    try {
      result = pairToSample(item, resolved.options, factor, summary.pixelSizeUm);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      summary.problems.push(error.message);
      continue;
    }
    const { sample, note, polarity } = result;
    if (polarity) summary.polarity = polarity;
    if (sample.instances) instanceMasks++;
    else if (note) summary.notes.push(note);
    let foreground = 0;
    for (let i = 0; i < sample.labels.length; i++) {
      const c = sample.labels[i];
      classPixels[c] = (classPixels[c] ?? 0) + 1;
      if (c > 0) foreground++;
    }
    if (foreground === 0) summary.emptyMasks.push(sample.stem);
    const areas = sample.instances
      ? instanceAreas(sample.instances)
      : instanceAreas(labelComponents({ width: sample.image.width, height: sample.image.height, data: sample.labels }).data);
    for (const area of areas) diameters.push(equivalentDiameter(area));
  }
  for (let c = 0; c < classPixels.length; c++) classPixels[c] ??= 0;
  summary.classPixels = classPixels;
  summary.classes = Math.max(
    2,
    classPixels.length,
    resolved.options.valueMap ? Math.max(...Object.values(resolved.options.valueMap)) + 1 : 0,
  );
  if (instanceMasks > 0) summary.notes.push(`masks: ${instanceMasks} are instance label images (0 = background, one id per object)`);
  diameters.sort((a, b) => a - b);
  if (diameters.length > 0) {
    summary.objects = {
      count: diameters.length,
      medianDiameterPx: quantile(diameters, 0.5),
      p10DiameterPx: quantile(diameters, 0.1),
      p90DiameterPx: quantile(diameters, 0.9),
    };
  }
  judge(summary, task, options);
  summarizeSplit(
    summary,
    index.splitFile,
    index.pairs.map((p) => p.stem),
  );
  return summary;
}

/** Names the images whose stored values are far from the rest, and says what that means. */
function surveyRanges(summary: DatasetSummary, options: CheckOptions): void {
  const { far, typical } = farRanges(summary.valueRanges.map((r) => r.range));
  if (far.length === 0) return;
  const images = far.map((i) => summary.valueRanges[i].image);
  summary.farRanges = { images, typical };
  const shown = far.slice(0, 5).map((i) => {
    const { image, range } = summary.valueRanges[i];
    return `${image} (${formatValue(range.low)}–${formatValue(range.high)})`;
  });
  const more = far.length > 5 ? ` and ${far.length - 5} more` : '';
  const consequence =
    options.normalization === 'meanStd'
      ? 'with dataset mean/std normalisation they are misread: use the default per-image percentile normalisation, or convert them'
      : "per-image percentile normalisation (the default) maps each image's own range to 0–1, so this is fine unless they are different images altogether";
  summary.warnings.push(
    `${far.length === 1 ? 'one image holds values' : `${far.length} images hold values`} far from the others' (1st–99.8th percentile ${formatValue(typical.low)}–${formatValue(typical.high)} typically): ${shown.join(', ')}${more}; ${consequence}`,
  );
}

/** Warnings and problems that need the whole dataset's statistics. */
function judge(summary: DatasetSummary, task: Task, options: CheckOptions): void {
  const pixels = summary.classPixels ?? [];
  const total = pixels.reduce((a, b) => a + b, 0);
  const foreground = total - (pixels[0] ?? 0);
  const classesPresent = pixels.filter((n) => n > 0).length;
  if (task === 'multiclass' && classesPresent < 2 && summary.problems.length === 0) {
    summary.problems.push(
      `multiclass training needs at least two classes, but the masks hold only class ${pixels.findIndex((n) => n > 0)}`,
    );
  } else if (summary.emptyMasks.length === summary.pairs && summary.problems.length === 0) {
    summary.problems.push(`no mask has any foreground; check --mask-polarity or --value-map`);
  } else if (summary.emptyMasks.length > 0) {
    const list = summary.emptyMasks.slice(0, 10).join(', ') + (summary.emptyMasks.length > 10 ? ', …' : '');
    summary.warnings.push(
      `${summary.emptyMasks.length} mask${summary.emptyMasks.length === 1 ? ' is' : 's are'} all background (${list}); fine for images without cells`,
    );
  }
  if (task === 'binary' && options.polarity && options.polarity !== 'auto' && foreground > total / 2) {
    summary.warnings.push(
      `foreground covers ${((100 * foreground) / total).toFixed(1)}% of pixels; if the objects are the other colour, use --mask-polarity ${options.polarity === 'white' ? 'black' : 'white'}`,
    );
  }
  if (task === 'multiclass') {
    for (let c = 1; c < (summary.classes ?? 0); c++) {
      if (!pixels[c]) summary.warnings.push(`class ${c}${summary.classNames?.[c] ? ` (${summary.classNames[c]})` : ''} appears in no mask`);
    }
  }
  if (summary.objects && summary.objects.medianDiameterPx < TINY_OBJECT_PX) {
    summary.warnings.push(
      `objects are tiny (median diameter ${summary.objects.medianDiameterPx.toFixed(1)} px); consider enlarging the images with --scale`,
    );
  }
}

function summarizeSplit(summary: DatasetSummary, splitFile: string | undefined, stems: string[]): void {
  try {
    if (splitFile || stems.length >= 3) {
      const split = splitStems(stems, splitFile ? { splitFile } : {});
      const source = splitFile ? 'split.json' : 'no split.json; drawn with seed 0 (70/15/15%)';
      summary.split = {
        source,
        train: split.train.length,
        val: split.val.length,
        test: split.test.length,
        leftOut: leftOut(split, stems).length,
      };
    }
  } catch (error) {
    if (!(error instanceof PyocyteError)) throw error;
    summary.problems.push(error.message);
  }
}
