import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { PyocyteError, PyocyteErrors } from '../../util/errors.js';
import { parseCoco } from './coco.js';
import { parseAnnotationCsv } from './csv.js';
import type { AnnotationFile, AnnotationSet, AnnotationSplit, ImageAnnotations } from './types.js';
import { parseVocXml } from './voc.js';
import { listFolder } from '../../util/fs.js';

/** Annotation file formats, by extension. */
export const ANNOTATION_FORMATS = {
  '.csv': 'CSV boxes (image,xmin,ymin,xmax,ymax,label) or points (image,x,y,label; Fiji X,Y)',
  '.json': 'COCO JSON (bbox, keypoints, polygon segmentation)',
  '.xml': 'Pascal VOC XML (LabelImg, CVAT) or CVAT for images XML',
} as const;

/** JSON files at a dataset's top level that are not annotations. */
const NOT_ANNOTATIONS = new Set(['split.json', 'pyocyte.json', 'dataset.json', 'stats.json', 'package.json']);
/** Folders that hold annotation files (LabelImg writes one XML per image). */
export const ANNOTATION_FOLDERS = ['annotations', 'Annotations'];

const SPLIT_NAMES: Record<string, AnnotationSplit> = { train: 'train', val: 'val', valid: 'val', validation: 'val', test: 'test' };

/** The split a file's name defines: `train.csv` → train, `val.json` → val, `instances_test.json` → test; else undefined. */
export function splitOfFile(path: string): AnnotationSplit | undefined {
  const stem = basename(path, extname(path)).toLowerCase();
  return SPLIT_NAMES[stem] ?? SPLIT_NAMES[stem.split(/[_\-.]/).at(-1) ?? ''];
}

/** The annotation files of a dataset folder: top-level `*.csv|json|xml` (not split.json etc.) and those in `annotations/`, relative to `root`. */
export async function findAnnotationFiles(root: string): Promise<string[]> {
  const isAnnotation = (name: string) => extname(name).toLowerCase() in ANNOTATION_FORMATS && !NOT_ANNOTATIONS.has(name.toLowerCase());
  const entries = await listFolder(root);
  const files = entries.files.filter(isAnnotation);
  for (const folder of entries.folders.filter((name) => ANNOTATION_FOLDERS.includes(name))) {
    const inner = (await listFolder(join(root, folder))).files;
    files.push(...inner.filter(isAnnotation).map((name) => join(folder, name)));
  }
  return files.sort();
}

/** Reads one annotation file, by extension; bad rows go to `problems`, an unreadable file throws. */
export function parseAnnotationFile(text: string, file: string): { images: ImageAnnotations[]; problems: string[] } {
  const extension = extname(file).toLowerCase();
  if (extension === '.json') return parseCoco(text, file);
  if (extension === '.xml') return parseVocXml(text, file);
  if (extension !== '.csv') {
    throw new PyocyteError(
      `${file}: pyocyte reads annotations as ${Object.entries(ANNOTATION_FORMATS)
        .map(([e, d]) => `${e} (${d})`)
        .join(', ')}`,
      { file },
    );
  }
  // Fiji's per-image point exports have no image column: the file is named after its image.
  const parsed = parseAnnotationCsv(text, file, basename(file, extname(file)));
  const byImage = new Map<string, ImageAnnotations>();
  const entry = (image: string) => {
    let found = byImage.get(image);
    if (!found) byImage.set(image, (found = { image, boxes: [], points: [], polygons: [] }));
    return found;
  };
  for (const box of parsed.boxes) entry(box.image).boxes.push(box);
  for (const point of parsed.points) entry(point.image).points.push(point);
  return { images: [...byImage.values()], problems: parsed.problems };
}

/** Merges b into a (same image named in two files). */
function merge(a: ImageAnnotations, b: ImageAnnotations): void {
  a.boxes.push(...b.boxes);
  a.points.push(...b.points);
  a.polygons.push(...b.polygons);
  a.width ??= b.width;
  a.height ??= b.height;
}

/**
 * Reads every annotation file of a dataset folder (see {@link findAnnotationFiles}) and merges
 * them by image. Files named `train.*`, `val.*`, `test.*` put their images in that split; an image
 * in two splits is a problem.
 * @throws PyocyteErrors listing every bad row of every file, unless `collectProblems` is given.
 */
export async function readAnnotations(root: string, options: { collectProblems?: string[] } = {}): Promise<AnnotationSet> {
  const set: AnnotationSet = { byImage: new Map(), files: [], splits: new Map() };
  const problems: string[] = [];
  for (const name of await findAnnotationFiles(root)) {
    const { images, problems: found } = parseAnnotationFile(await readFile(join(root, name), 'utf8'), name);
    problems.push(...found);
    const file: AnnotationFile = { path: name, split: splitOfFile(name), images };
    set.files.push(file);
    for (const image of images) {
      const earlier = set.byImage.get(image.image);
      if (earlier) merge(earlier, image);
      else set.byImage.set(image.image, { ...image, boxes: [...image.boxes], points: [...image.points], polygons: [...image.polygons] });
      if (!file.split) continue;
      const split = set.splits.get(image.image);
      if (split && split !== file.split)
        problems.push(`${image.image} is annotated in both the ${split} and the ${file.split} files; keep it in one`);
      set.splits.set(image.image, file.split);
    }
  }
  if (options.collectProblems) options.collectProblems.push(...problems);
  else if (problems.length > 0)
    throw new PyocyteErrors(`${root}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the annotations`, problems);
  return set;
}
