/**
 * The files `pyocyte predict` writes, one function per kind: per image `<stem>_mask.png`,
 * `<stem>_probability[_<class>].png`, `<stem>_overlay.png`, `<stem>_instances.png` (`.tif` past
 * 65 535 cells); per batch `summary.csv` and `cells.csv`. Every file is written atomically under a
 * name that depends only on the image's stem and the model, so writing an image twice (a queued
 * job that ran twice) leaves the same bytes once. The per-image manifest that marks an image as
 * finished is in prediction-manifest.ts.
 */
import { join } from 'node:path';
import { drawOverlay } from '../image/overlay.js';
import type { InstanceLabels } from '../image/components.js';
import type { PlanarImage } from '../image/plane.js';
import type { FloatImage, RasterImage } from '../image/types.js';
import { csvField } from '../util/csv.js';
import { fail } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { writeImage } from './image/image-io.js';

/** Per-pixel class probabilities, `[channels, H, W]` planar: 1 channel (foreground) or K (softmax); infer/predict.ts's ProbabilityMap. */
type PlanarProbabilities = PlanarImage<Float32Array>;

/** One probability map channel as a 16-bit gray image: 0–65535 ↔ probability 0–1. */
export function probabilityRaster(map: PlanarProbabilities, channel: number): RasterImage {
  const plane = map.width * map.height;
  const data = new Uint16Array(plane);
  for (let i = 0; i < plane; i++) data[i] = Math.round(Math.min(1, Math.max(0, map.data[channel * plane + i])) * 65535);
  return { width: map.width, height: map.height, channels: 1, bitDepth: 16, data };
}

/**
 * The probability map file names: `<stem>_probability.png` for a binary model, else one
 * `<stem>_probability_<class name>.png` per foreground class (background is 1 − their sum).
 */
export function probabilityFileNames(stem: string, channels: number, classNames: readonly string[]): string[] {
  if (channels === 1) return [`${stem}_probability.png`];
  return Array.from({ length: channels - 1 }, (_, i) => `${stem}_probability_${classNames[i + 1] ?? i + 1}.png`);
}

/** Writes the probability maps of {@link probabilityFileNames}; returns their names. */
export async function writeProbabilityMaps(
  out: string,
  stem: string,
  map: PlanarProbabilities,
  classNames: readonly string[],
): Promise<string[]> {
  const names = probabilityFileNames(stem, map.channels, classNames);
  const first = map.channels === 1 ? 0 : 1;
  for (const [i, name] of names.entries()) await writeImage(join(out, name), probabilityRaster(map, first + i));
  return names;
}

/** Writes `<stem>_mask.png`, the class map drawn like the training masks (data/value-map.ts's labelsToMask). */
export async function writeMaskImage(out: string, stem: string, mask: RasterImage): Promise<string> {
  const name = `${stem}_mask.png`;
  await writeImage(join(out, name), mask);
  return name;
}

/**
 * Writes `<stem>_overlay.png`: the image with the contours of `labels` (`[H, W]`, instances or
 * classes), drawn about 1/400 of the shorter side thick so they stay visible on large images.
 */
export async function writeOverlayImage(
  out: string,
  stem: string,
  image: FloatImage | RasterImage,
  labels: Int32Array | Uint8Array,
): Promise<string> {
  const name = `${stem}_overlay.png`;
  const thickness = Math.max(1, Math.round(Math.min(image.width, image.height) / 400));
  await writeImage(join(out, name), drawOverlay(image, labels, { thickness }));
  return name;
}

/** The instance image's name: 16-bit PNG up to 65 535 cells, else a 32-bit float TIFF. */
export function instanceFileName(stem: string, count: number): string {
  return `${stem}_instances.${count <= 65535 ? 'png' : 'tif'}`;
}

/** Writes the instance label image (`[H, W]`, 0 = background, 1… = cell id); returns its name. */
export async function writeInstanceImage(out: string, stem: string, instances: InstanceLabels): Promise<string> {
  const { width, height, count, data } = instances;
  const name = instanceFileName(stem, count);
  const raster: RasterImage =
    count <= 65535
      ? { width, height, channels: 1, bitDepth: 16, data: Uint16Array.from(data) }
      : { width, height, channels: 1, bitDepth: 32, data: Float32Array.from(data) };
  await writeImage(join(out, name), raster);
  return name;
}

/**
 * The measurements of one cell that cells.csv holds (infer/cells.ts's measureCells adds the
 * perimeter). Coordinates are pixel indices (the top-left pixel's centre is (0, 0)).
 */
export interface CellRow {
  /** The cell's id in the instance image. */
  id: number;
  centroidX: number;
  centroidY: number;
  areaPx: number;
  areaUm2?: number;
  /** Diameter of the disc with the same area, √(4A/π). */
  equivalentDiameterPx: number;
  equivalentDiameterUm?: number;
  /** 4πA/P², clipped to ≤ 1: 1 for a disc, lower for elongated or ragged cells. */
  circularity: number;
}

/** Six significant digits, no trailing zeros, '' for missing values. */
function format(value: number | undefined): string {
  return value === undefined ? '' : String(Number(value.toPrecision(6)));
}

const CELL_COLUMNS = 'id,centroid_x,centroid_y,area_px,area_um2,equivalent_diameter_px,equivalent_diameter_um,circularity';

/**
 * The cells as CSV, one row per cell:
 * `[image,]id,centroid_x,centroid_y,area_px,area_um2,equivalent_diameter_px,equivalent_diameter_um,circularity`.
 * The µm columns are empty when the pixel size is unknown (neither in the cells nor in `options`).
 * With `image`, every row starts with that name (the cells of many images in one file); with
 * `header: false` only the rows are returned, for appending.
 */
export function cellsCsv(cells: readonly CellRow[], options: { pixelSizeUm?: number; image?: string; header?: boolean } = {}): string {
  const { pixelSizeUm, image } = options;
  if (pixelSizeUm !== undefined && !(pixelSizeUm > 0)) fail(`pixelSizeUm must be > 0, got ${pixelSizeUm}`);
  const lines = options.header === false ? [] : [image === undefined ? CELL_COLUMNS : `image,${CELL_COLUMNS}`];
  const prefix = image === undefined ? [] : [csvField(image)];
  for (const cell of cells) {
    const areaUm2 = cell.areaUm2 ?? (pixelSizeUm === undefined ? undefined : cell.areaPx * pixelSizeUm * pixelSizeUm);
    const diameterUm = cell.equivalentDiameterUm ?? (pixelSizeUm === undefined ? undefined : cell.equivalentDiameterPx * pixelSizeUm);
    lines.push(
      [
        ...prefix,
        String(cell.id),
        format(cell.centroidX),
        format(cell.centroidY),
        String(cell.areaPx),
        format(areaUm2),
        format(cell.equivalentDiameterPx),
        format(diameterUm),
        format(cell.circularity),
      ].join(','),
    );
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * Writes `cells.csv` of a batch: the header, then each image's rows (from `cellsCsv(cells,
 * { image, header: false })`) in the order given.
 */
export async function writeCellsCsv(out: string, rowsPerImage: readonly string[]): Promise<void> {
  await writeFileAtomic(join(out, 'cells.csv'), `image,${CELL_COLUMNS}\n${rowsPerImage.join('')}`);
}

/** One image of a batch in summary.csv: its size and cell count, or the error that stopped it. */
export interface ImageSummary {
  /** The image's stem, which names its output files. */
  image: string;
  width?: number;
  height?: number;
  cells?: number;
  /** Share of pixels in a non-background class, 0–1. */
  foregroundFraction?: number;
  /** Why the image could not be predicted; the other fields are then absent. */
  error?: string;
}

/** summary.csv's columns; `error` is empty for every image that was predicted. */
export const SUMMARY_COLUMNS = 'image,width,height,cell_count,foreground_fraction,error';

/** summary.csv's text: one row per image, in the order given; a multi-line error becomes one line. */
export function summaryCsv(rows: readonly ImageSummary[]): string {
  const line = (r: ImageSummary) =>
    [
      csvField(r.image),
      r.width ?? '',
      r.height ?? '',
      r.cells ?? '',
      r.foregroundFraction?.toFixed(6) ?? '',
      csvField((r.error ?? '').replace(/\s*\n\s*/g, ' ')),
    ].join(',');
  return `${[SUMMARY_COLUMNS, ...rows.map(line)].join('\n')}\n`;
}

/** Writes `summary.csv` (see {@link summaryCsv}). */
export async function writeSummaryCsv(out: string, rows: readonly ImageSummary[]): Promise<void> {
  await writeFileAtomic(join(out, 'summary.csv'), summaryCsv(rows));
}
