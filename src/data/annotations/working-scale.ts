/**
 * The scale a network sees boxes and points at when nobody gave a pixel size. UMID's 1280×720
 * images hold cells 38–52 px across (183 px for epithelial cells), about twice what a 16-filter
 * U-Net of depth 4 needs in a short budget: at full resolution a 256² patch holds a quarter of the
 * cells it could, and 10 minutes give fewer epochs. Cellpose brings every image to a mean cell
 * diameter of 30 px before its network (Stringer et al., Nature Methods 18, 2021: `diam_mean =
 * 30`); measured on UMID's validation images (30 held out of train.csv, 10 minutes of training),
 * a median box of 44 px (×1) gave pus F1 0.644, of 30 px (×0.68) 0.667, of 22 px (×0.5) 0.733,
 * 0.770 and 0.751 (three runs), and val.csv agreed (0.724 / 0.726 / 0.753, 0.762, 0.789; README);
 * 16 px (×0.36) gave 0.781 and 0.761 in one run, close to those. So the images are resampled so
 * the median box is {@link WORKING_DIAMETER_PX} across. Only downwards: small cells stay at full
 * resolution, where a box's outline is already coarse.
 */
import { median } from './rasterize.js';
import { className, type ImageAnnotations, isIgnoreLabel } from './types.js';

/** The median box diameter, px, the network sees (measured on UMID; see the module comment). */
export const WORKING_DIAMETER_PX = 22;
/** Boxes up to this factor above {@link WORKING_DIAMETER_PX} leave the images at full resolution. */
export const WORKING_SCALE_TOLERANCE = 1.15;

/** The median box diameter and the scale chosen from it (see the module comment). */
export interface WorkingScale {
  /** Resample the images by this factor (≤ 1; 1: full resolution), rounded to 2 decimals. */
  scale: number;
  /** The median diameter, px, of the object classes' boxes ((width + height) / 2); undefined without boxes. */
  medianBoxDiameterPx?: number;
  /** Boxes measured. */
  boxes: number;
}

/**
 * The working scale of a dataset of boxes and points: the factor that brings the median diameter
 * of the boxes of `classes` (`point-…` and `missedlabel` boxes left out, zero-size boxes are
 * points) to {@link WORKING_DIAMETER_PX}, or 1 when it is at most {@link WORKING_SCALE_TOLERANCE}
 * times that or there are no boxes.
 */
export function chooseWorkingScale(images: Iterable<ImageAnnotations>, classes: readonly string[]): WorkingScale {
  const diameters: number[] = [];
  for (const image of images)
    for (const box of image.boxes) {
      if (isIgnoreLabel(box.label) || !classes.includes(className(box.label))) continue;
      if (box.xmax > box.xmin && box.ymax > box.ymin) diameters.push((box.xmax - box.xmin + box.ymax - box.ymin) / 2);
    }
  if (diameters.length === 0) return { scale: 1, boxes: 0 };
  const diameter = median(diameters);
  const scale = diameter > WORKING_DIAMETER_PX * WORKING_SCALE_TOLERANCE ? Math.round((WORKING_DIAMETER_PX / diameter) * 100) / 100 : 1;
  return { scale, medianBoxDiameterPx: diameter, boxes: diameters.length };
}
