import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { toFloatImage } from '../../io/image/convert.js';
import { decodeImage } from '../../io/image/image-io.js';
import { resampleImage, resampleLabels, scaledSize } from '../../image/resample.js';
import { fail, PyocyteErrors } from '../../util/errors.js';
import { mapPool } from '../../util/pool.js';
import { discoverDataset, type ImagePair } from '../dataset.js';
import type { DatasetOptions, LabelScheme, OpenDataset } from '../prepare.js';
import { displayName, scaleFactor } from '../samples.js';
import { leftOut, type Split, splitStems } from '../split.js';
import type { Sample } from '../types.js';
import { findAnnotationFiles, readAnnotations } from './read.js';
import { annotatedCores, classesOf, rasterizeAnnotations, typicalRadii } from './rasterize.js';
import type { AnnotationSet, ImageAnnotations } from './types.js';
import { chooseWorkingScale, WORKING_DIAMETER_PX } from './working-scale.js';
import { listFolder } from '../../util/fs.js';

/**
 * True for a folder of images with box/point annotation files and no masks: `images/` plus
 * `train.csv`/`val.csv` (UMID), COCO JSON, or Pascal VOC XML in `annotations/`.
 */
export async function isAnnotatedDataset(dir: string): Promise<boolean> {
  const { folders } = await listFolder(dir).catch(() => ({ folders: [] as string[] }));
  if (!folders.includes('images') || folders.includes('masks') || folders.includes('labels')) return false;
  return (await findAnnotationFiles(dir)).length > 0;
}

/** An annotated dataset matched to its image files. */
export interface AnnotatedIndex {
  pairs: ImagePair[];
  annotations: AnnotationSet;
  /** Stem → the image's annotations (images without any are absent). */
  byStem: Map<string, ImageAnnotations>;
  /** Annotated image names with no image file. */
  unknownImages: string[];
  /** Image stems without any annotation. */
  unannotated: string[];
}

/** Indexes `images/` and the annotation files, matching annotations to image files by file name or stem. */
export async function indexAnnotatedDataset(dir: string, problems?: string[]): Promise<AnnotatedIndex> {
  const index = await discoverDataset(dir, { requireMasks: false, collectProblems: true });
  if (index.problems.length > 0 && !problems)
    throw new PyocyteErrors(`${dir}: ${index.problems.length} problems in the dataset`, index.problems);
  problems?.push(...index.problems);
  const annotations = await readAnnotations(index.root, problems ? { collectProblems: problems } : {});
  const stemOfName = new Map<string, string>();
  for (const pair of index.pairs) {
    stemOfName.set(basename(pair.imagePath), pair.stem);
    stemOfName.set(pair.stem, pair.stem);
  }
  const byStem = new Map<string, ImageAnnotations>();
  const unknownImages: string[] = [];
  for (const [name, image] of annotations.byImage) {
    const stem = stemOfName.get(basename(name));
    if (stem === undefined) unknownImages.push(name);
    else byStem.set(stem, image);
  }
  const unannotated = index.pairs.filter((p) => !byStem.has(p.stem)).map((p) => p.stem);
  return { pairs: index.pairs, annotations, byStem, unknownImages, unannotated };
}

/** The split: from train.* / val.* / test.* annotation files when there are any, else split.json or a seeded split of the annotated images. */
function annotationSplit(found: AnnotatedIndex, root: string, options: DatasetOptions): Split {
  const stems = [...found.byStem.keys()].sort();
  if (found.annotations.splits.size > 0 && !options.splitFile) {
    const split: Split = { train: [], val: [], test: [] };
    for (const stem of stems) {
      const subset = found.annotations.splits.get(found.byStem.get(stem)!.image);
      if (subset) split[subset].push(stem);
    }
    return split;
  }
  const ownSplit = resolve(root, 'split.json');
  const splitFile = options.splitFile ?? (existsSync(ownSplit) ? ownSplit : undefined);
  return splitStems(stems, { splitFile, counts: options.splitCounts, seed: options.splitSeed ?? 0 });
}

/** The object classes: `--classes` (checked against the labels) or every label's class. */
export function chooseClasses(annotations: Iterable<ImageAnnotations>, wanted?: readonly string[]): string[] {
  const present = classesOf(annotations);
  if (present.length === 0) fail('the annotations have no labelled objects (only missedlabel, or none at all)');
  if (!wanted) return present;
  const unknown = wanted.filter((c) => !present.includes(c));
  if (unknown.length > 0) fail(`--classes names ${unknown.join(', ')}, which no annotation has; the classes are ${present.join(', ')}`);
  return [...wanted];
}

/**
 * Opens a folder of images with box/point annotations (see {@link isAnnotatedDataset}) as a
 * dataset whose masks are drawn from the annotations ({@link rasterizeAnnotations}): background,
 * then one class per label (`point-pus` merged into `pus`), or only `options.classes`. One class
 * is a binary task, more a multi-class one. Images named in no annotation file are left out.
 */
export async function openAnnotatedDataset(dir: string, options: DatasetOptions = {}): Promise<OpenDataset> {
  const found = await indexAnnotatedDataset(dir);
  const note = options.onNote ?? (() => {});
  if (found.unknownImages.length > 0) {
    note(
      `${found.unknownImages.length} annotated images have no file in ${dir}/images (${found.unknownImages.slice(0, 5).join(', ')}${found.unknownImages.length > 5 ? ', …' : ''}); their annotations are skipped`,
    );
  }
  if (found.unannotated.length > 0) {
    note(
      `${found.unannotated.length} images have no annotation and are left out (${found.unannotated.slice(0, 5).join(', ')}${found.unannotated.length > 5 ? ', …' : ''})`,
    );
  }
  const annotated = [...found.byStem.values()];
  const classes = chooseClasses(annotated, options.classes);
  const pointRadiusPx = typicalRadii(annotated, classes, options.cellDiameterPx);
  const root = resolve(dir);
  const split = annotationSplit(found, root, options);
  const unused = leftOut(split, [...found.byStem.keys()]);
  if (unused.length > 0) note(`${unused.length} annotated images are in no split file and are left out`);
  const task = classes.length === 1 ? 'binary' : 'multiclass';
  const scheme: LabelScheme = {
    task,
    outputChannels: task === 'binary' ? 1 : classes.length + 1,
    classNames: ['background', ...classes],
    mask: {},
  };
  note(
    `annotations: ${found.annotations.files.map((f) => f.path).join(', ')}; classes ${classes.join(', ')}; point radius ${classes.map((c) => `${c} ${pointRadiusPx[c]?.toFixed(1) ?? '–'} px`).join(', ')}`,
  );
  // From the training images' boxes only, as every other choice made before training.
  const training = split.train.map((stem) => found.byStem.get(stem)!);
  const { factor, imageScale } = annotatedScale(training.length > 0 ? training : annotated, classes, options, note);
  const pairs = new Map(found.pairs.map((p) => [p.stem, p]));
  return {
    index: { root, convention: 'images-masks', pairs: found.pairs, ignored: [], warnings: [], problems: [] },
    split,
    scheme,
    pixelSizeUm: options.pixelSizeUm,
    ...(imageScale !== undefined ? { imageScale } : {}),
    weak: {
      annotationsOf: (stem) => scaleAnnotations(found.byStem.get(stem)!, factor),
      pointRadiusPx: Object.fromEntries(Object.entries(pointRadiusPx).map(([name, radius]) => [name, radius * factor])),
    },
    async load(subset, loadOptions = {}) {
      const stems = split[subset];
      if (stems.length === 0) fail(`the ${subset} subset of ${dir} is empty; check its annotation files or the split`);
      let done = 0;
      return mapPool(stems, 4, async (stem) => {
        const sample = await loadAnnotatedSample(pairs.get(stem)!, found.byStem.get(stem)!, {
          classes,
          pointRadiusPx,
          factor,
          channels: options.channels,
          intensityScaling: options.intensityScaling,
          pixelSizeUm: options.pixelSizeUm,
        });
        loadOptions.onProgress?.(++done, stems.length);
        return sample;
      });
    },
  };
}

/**
 * The factor the images are resampled by on load: the target pixel size's when one is given
 * (`imageScale` then absent: the model records a pixel size instead), else `--image-scale`, else
 * the working scale of the boxes (./working-scale.ts), said in a note when it is not 1.
 */
function annotatedScale(
  annotated: readonly ImageAnnotations[],
  classes: readonly string[],
  options: DatasetOptions,
  note: (line: string) => void,
): { factor: number; imageScale?: number } {
  const { pixelSizeUm, targetPixelSizeUm, imageScale } = options;
  if (targetPixelSizeUm !== undefined) {
    if (imageScale !== undefined) fail(`give either --image-scale or --target-pixel-size, not both`);
    return { factor: scaleFactor({ pixelSizeUm, targetPixelSizeUm }) };
  }
  if (imageScale !== undefined) {
    if (!(imageScale > 0 && imageScale <= 4)) fail(`--image-scale must be a factor above 0 and at most 4, got ${imageScale}`);
    return { factor: imageScale, imageScale };
  }
  const chosen = chooseWorkingScale(annotated, classes);
  if (chosen.scale === 1) return { factor: 1 };
  note(
    `working scale ×${chosen.scale}: the training boxes are ${chosen.medianBoxDiameterPx!.toFixed(1)} px across at the median (${chosen.boxes} box${chosen.boxes === 1 ? '' : 'es'}), brought to ${WORKING_DIAMETER_PX} px (see data/annotations/working-scale.ts); predict resamples new images the same way; --image-scale 1 keeps full resolution`,
  );
  return { factor: chosen.scale, imageScale: chosen.scale };
}

/** Annotations in the pixels of an image resampled by `factor`. */
function scaleAnnotations(annotations: ImageAnnotations, factor: number): ImageAnnotations {
  if (factor === 1) return annotations;
  const box = <T extends { xmin: number; ymin: number; xmax: number; ymax: number }>(b: T): T => ({
    ...b,
    xmin: b.xmin * factor,
    ymin: b.ymin * factor,
    xmax: b.xmax * factor,
    ymax: b.ymax * factor,
  });
  return {
    ...annotations,
    width: annotations.width && annotations.width * factor,
    height: annotations.height && annotations.height * factor,
    boxes: annotations.boxes.map(box),
    points: annotations.points.map((p) => ({ ...p, x: p.x * factor, y: p.y * factor })),
    polygons: annotations.polygons.map((p) => ({ ...p, points: p.points.map((v) => v * factor) })),
  };
}

/** Reads one image and draws its labels from its annotations (then resamples both by `factor`). */
async function loadAnnotatedSample(
  pair: ImagePair,
  annotations: ImageAnnotations,
  o: { classes: string[]; pointRadiusPx: Record<string, number>; factor: number } & Pick<
    DatasetOptions,
    'channels' | 'intensityScaling' | 'pixelSizeUm'
  >,
): Promise<Sample> {
  const name = displayName(pair.imagePath);
  const { image: raster } = await decodeImage(pair.imagePath, { name });
  const image = toFloatImage(raster, { file: name, channels: o.channels, scaling: o.intensityScaling });
  const { width, height } = image;
  const drawing = { width, height, classes: o.classes, pointRadiusPx: o.pointRadiusPx };
  const labels = rasterizeAnnotations(annotations, drawing);
  const cellCentres = annotatedCores(annotations, drawing).map(({ x, y, radiusXPx, radiusYPx }) => ({
    x: x * o.factor,
    y: y * o.factor,
    radiusXPx: radiusXPx * o.factor,
    radiusYPx: radiusYPx * o.factor,
  }));
  const sample: Sample = { stem: pair.stem, image, labels, cellCentres };
  if (o.factor !== 1) {
    const [w, h] = scaledSize(width, height, o.factor);
    sample.image = resampleImage(image, { width: w, height: h });
    sample.labels = resampleLabels({ width, height, data: labels }, { width: w, height: h }).data;
  }
  if (o.pixelSizeUm !== undefined) sample.pixelSizeUm = o.pixelSizeUm / o.factor;
  return sample;
}
