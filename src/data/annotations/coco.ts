import { PyocyteError } from '../../util/errors.js';
import type { ImageAnnotations } from './types.js';

interface CocoFile {
  images?: { id: number | string; file_name: string; width?: number; height?: number }[];
  annotations?: {
    image_id: number | string;
    category_id: number | string;
    bbox?: number[];
    keypoints?: number[];
    segmentation?: number[][] | object;
  }[];
  categories?: { id: number | string; name: string }[];
}

/**
 * Reads COCO JSON (Lin et al. 2014, cocodataset.org/#format-data): `bbox` `[x, y, width, height]`
 * becomes a box, each visible keypoint (`v > 0`) of `keypoints` `[x1, y1, v1, …]` a point, and a
 * polygon `segmentation` a polygon. RLE segmentations are skipped with a problem line. Images
 * without annotations are listed too (with their size), so `data check` can name them.
 * @returns images with their annotations, and one line per bad annotation.
 */
export function parseCoco(text: string, file: string): { images: ImageAnnotations[]; problems: string[] } {
  let coco: CocoFile;
  try {
    coco = JSON.parse(text) as CocoFile;
  } catch (error) {
    throw new PyocyteError(`${file} is not valid JSON: ${(error as Error).message}`, { file });
  }
  if (!Array.isArray(coco.images) || !Array.isArray(coco.annotations) || !Array.isArray(coco.categories)) {
    throw new PyocyteError(`${file} is not COCO JSON: it needs "images", "annotations" and "categories" lists`, { file });
  }
  const categories = new Map(coco.categories.map((c) => [c.id, c.name]));
  const images = new Map<number | string, ImageAnnotations>();
  for (const image of coco.images) {
    images.set(image.id, { image: image.file_name, width: image.width, height: image.height, boxes: [], points: [], polygons: [] });
  }
  const problems: string[] = [];
  coco.annotations.forEach((a, i) => {
    const where = `${file}: annotation ${i + 1}`;
    const entry = images.get(a.image_id);
    const label = categories.get(a.category_id);
    if (!entry) return void problems.push(`${where} refers to image id ${a.image_id}, which "images" does not list`);
    if (label === undefined) return void problems.push(`${where} refers to category id ${a.category_id}, which "categories" does not list`);
    const image = entry.image;
    if (Array.isArray(a.segmentation)) {
      for (const polygon of a.segmentation) if (polygon.length >= 6) entry.polygons.push({ image, label, points: polygon });
    } else if (a.segmentation) problems.push(`${where} has an RLE segmentation, which pyocyte does not read; its box is used`);
    if (a.keypoints) {
      for (let k = 0; k + 2 < a.keypoints.length; k += 3) {
        if (a.keypoints[k + 2] > 0) entry.points.push({ image, label, x: a.keypoints[k], y: a.keypoints[k + 1] });
      }
    }
    const hasShape = (Array.isArray(a.segmentation) && a.segmentation.length > 0) || (a.keypoints?.length ?? 0) > 0;
    if (a.bbox && !hasShape) {
      const [x, y, width, height] = a.bbox;
      if (![x, y, width, height].every(Number.isFinite)) problems.push(`${where}: bbox ${JSON.stringify(a.bbox)} is not four numbers`);
      else if (width === 0 && height === 0) entry.points.push({ image, label, x, y });
      else entry.boxes.push({ image, label, xmin: x, ymin: y, xmax: x + width, ymax: y + height });
    }
  });
  return { images: [...images.values()], problems };
}
