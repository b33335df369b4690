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
 * classes), drawn about 1/400 of the shorter side thick so they stay visible on large images;
 * with `classes` (the class map of instance `labels`) each cell in its class's colour (class 1
 * yellow, then image/overlay.ts's DEFAULT_PALETTE: cyan, magenta, green, …).
 */
export async function writeOverlayImage(
  out: string,
  stem: string,
  image: FloatImage | RasterImage,
  labels: Int32Array | Uint8Array,
  classes?: Uint8Array,
): Promise<string> {
  const name = `${stem}_overlay.png`;
  const thickness = Math.max(1, Math.round(Math.min(image.width, image.height) / 400));
  await writeImage(join(out, name), drawOverlay(image, labels, { thickness, classes }));
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
 * One cell as cells.csv holds it (infer/cells.ts's classifyCells computes it). Coordinates are
 * pixel indices (the top-left pixel's centre is (0, 0)).
 */
export interface CellRow {
  /** The cell's id in the instance image. */
  id: number;
  /** The cell's class, one of the model's class names (a binary model's foreground name). */
  className: string;
  centroidX: number;
  centroidY: number;
  /** First column of the cell's pixels. */
  bboxXmin: number;
  /** First row of the cell's pixels. */
  bboxYmin: number;
  /** Last column of the cell's pixels (inclusive). */
  bboxXmax: number;
  /** Last row of the cell's pixels (inclusive). */
  bboxYmax: number;
  areaPx: number;
  /** Mean probability of the cell's class over its pixels (of foreground for a binary model), 0–1. */
  score: number;
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

const CELL_COLUMNS =
  'id,class,centroid_x,centroid_y,bbox_xmin,bbox_ymin,bbox_xmax,bbox_ymax,area_px,score,area_um2,equivalent_diameter_px,equivalent_diameter_um,circularity';

/**
 * The cells as CSV, one row per cell: `[image,]id,class,centroid_x,centroid_y,bbox_xmin,
 * bbox_ymin,bbox_xmax,bbox_ymax,area_px,score,area_um2,equivalent_diameter_px,
 * equivalent_diameter_um,circularity` (bounding boxes as first and last pixel, inclusive). The µm
 * columns are empty when the pixel size is unknown (neither in the cells nor in `options`).
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
        csvField(cell.className),
        format(cell.centroidX),
        format(cell.centroidY),
        String(cell.bboxXmin),
        String(cell.bboxYmin),
        String(cell.bboxXmax),
        String(cell.bboxYmax),
        String(cell.areaPx),
        format(cell.score),
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

/** One image of a batch in summary.csv: its size and cell counts, or the error that stopped it. */
export interface ImageSummary {
  /** The image's stem, which names its output files. */
  image: string;
  width?: number;
  height?: number;
  /** All cells, of every class. */
  cells?: number;
  /** Cells per foreground class name, every class of the model in its order (infer/cells.ts's countByClass). */
  counts?: Record<string, number>;
  /** Share of pixels in a non-background class, 0–1. */
  foregroundFraction?: number;
  /** Why the image could not be predicted; the other fields are then absent. */
  error?: string;
}

/**
 * The class names of summary.csv's `count_<class>` columns: those of the first row with counts
 * (every row of a batch comes from one model), else none.
 */
export function countedClasses(rows: readonly ImageSummary[]): string[] {
  return Object.keys(rows.find((r) => r.counts !== undefined)?.counts ?? {});
}

/**
 * summary.csv's text: `image,width,height,cell_count,count_<class>…,foreground_fraction,error`,
 * one row per image in the order given, a `count_<class>` column per class of
 * {@link countedClasses}; `error` is empty for every image that was predicted, and a multi-line
 * error becomes one line.
 */
export function summaryCsv(rows: readonly ImageSummary[]): string {
  const classes = countedClasses(rows);
  const header = ['image', 'width', 'height', 'cell_count', ...classes.map((c) => csvField(`count_${c}`)), 'foreground_fraction', 'error'];
  const line = (r: ImageSummary) =>
    [
      csvField(r.image),
      r.width ?? '',
      r.height ?? '',
      r.cells ?? '',
      ...classes.map((c) => r.counts?.[c] ?? ''),
      r.foregroundFraction?.toFixed(6) ?? '',
      csvField((r.error ?? '').replace(/\s*\n\s*/g, ' ')),
    ].join(',');
  return `${[header.join(','), ...rows.map(line)].join('\n')}\n`;
}

/** Writes `summary.csv` (see {@link summaryCsv}). */
export async function writeSummaryCsv(out: string, rows: readonly ImageSummary[]): Promise<void> {
  await writeFileAtomic(join(out, 'summary.csv'), summaryCsv(rows));
}

/**
 * The count table `pyocyte predict` prints: one line per predicted image (failed ones left out)
 * with its cell count and the count of each class of {@link countedClasses}, then a `total` line
 * when there are several images; columns right-aligned under their header.
 */
export function countTable(rows: readonly ImageSummary[]): string {
  const predicted = rows.filter((r) => r.error === undefined && r.cells !== undefined);
  const classes = countedClasses(predicted);
  const line = (image: string, cells: number, counts: (c: string) => number) => [
    image,
    String(cells),
    ...classes.map((c) => String(counts(c))),
  ];
  const table = [['image', 'cells', ...classes], ...predicted.map((r) => line(r.image, r.cells ?? 0, (c) => r.counts?.[c] ?? 0))];
  if (predicted.length > 1) {
    const sum = (value: (r: ImageSummary) => number) => predicted.reduce((n, r) => n + value(r), 0);
    table.push(
      line(
        'total',
        sum((r) => r.cells ?? 0),
        (c) => sum((r) => r.counts?.[c] ?? 0),
      ),
    );
  }
  const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  return `${table.map((row) => row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')).join('\n')}\n`;
}
