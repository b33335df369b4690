/**
 * Weak annotations: boxes and points drawn by people instead of pixel masks (UMID, LabelImg, CVAT,
 * COCO, Fiji multi-point). Coordinates are in pixels of the original image, x to the right and y
 * down, with (0, 0) at the top-left corner of the top-left pixel.
 */

/** A labelled box, `xmin ≤ xmax`, `ymin ≤ ymax`, in pixels. A point annotation read from a box CSV (xmin = xmax, ymin = ymax) becomes a {@link PointAnnotation}. */
export interface BoxAnnotation {
  /** The image's file name as written in the annotation file, e.g. `17.jpg`. */
  image: string;
  /** The label as written (`pus`, `rbc`, `missedlabel`, …). */
  label: string;
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/** A labelled point (one cell marked by a click), in pixels. */
export interface PointAnnotation {
  image: string;
  /** The label as written (`point-pus`, `pus`, …). */
  label: string;
  x: number;
  y: number;
}

/** A labelled polygon (COCO segmentation), vertices in pixels as `[x0, y0, x1, y1, …]`. */
export interface PolygonAnnotation {
  image: string;
  label: string;
  points: number[];
}

/** Everything annotated on one image. */
export interface ImageAnnotations {
  /** The image's file name as written in the annotation file. */
  image: string;
  /** Image size in pixels when the annotation file states it (COCO, VOC). */
  width?: number;
  height?: number;
  boxes: BoxAnnotation[];
  points: PointAnnotation[];
  polygons: PolygonAnnotation[];
}

/** Which split an annotation file defines, from its name (`train.csv`, `val.json`, `test.xml`). */
export type AnnotationSplit = 'train' | 'val' | 'test';

/** One annotation file, read. */
export interface AnnotationFile {
  /** Path as given (relative to the dataset root when found by discovery). */
  path: string;
  /** The split its name defines, if any. */
  split?: AnnotationSplit;
  /** One entry per image, in the order first met in the file. */
  images: ImageAnnotations[];
}

/** A dataset's annotations: every image's annotations merged across files, and the split they define. */
export interface AnnotationSet {
  /** Image file name → its annotations. */
  byImage: Map<string, ImageAnnotations>;
  /** The files read. */
  files: AnnotationFile[];
  /** Image file name → split, for images listed in train.* / val.* / test.* files. */
  splits: Map<string, AnnotationSplit>;
}

/** Label suffix rules: `point-pus` → `pus`; `missedlabel` marks unlabelled objects, ignored in training and evaluation. */
export const IGNORE_LABELS = ['missedlabel'] as const;
export const POINT_LABEL_PREFIX = 'point-';

/** The class name of a label: `point-pus` → `pus`; other labels unchanged. */
export function className(label: string): string {
  return label.startsWith(POINT_LABEL_PREFIX) ? label.slice(POINT_LABEL_PREFIX.length) : label;
}

/** True for labels that mark objects to ignore (`missedlabel`). */
export function isIgnoreLabel(label: string): boolean {
  return (IGNORE_LABELS as readonly string[]).includes(label.toLowerCase());
}
