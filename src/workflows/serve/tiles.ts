/**
 * Deep-zoom tiles for the viewer (OpenSeadragon): the image pyramid is cut once by sharp in the
 * DeepZoom layout, and overlay tiles (contours, cell colours, class colours, probability heat map)
 * are drawn on demand from the label maps at each level's resolution, so they stay sharp at any
 * zoom and cost nothing until looked at.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_PALETTE, type Rgb } from '../../image/overlay.js';
import type { RasterImage } from '../../image/types.js';

/** Tile side in pixels at every level; tiles do not overlap. */
export const TILE_SIZE = 256;

/** Overlay layers, drawn in this order (fills under contours). */
export const OVERLAY_LAYERS = {
  probability: 'foreground probability as a heat map (predictions only)',
  classes: 'cells filled in their class colour',
  instances: 'each cell filled in its own colour',
  contours: 'cell outlines in their class colour',
} as const;
export type OverlayLayer = keyof typeof OVERLAY_LAYERS;

/** What overlays are drawn from: `[H, W]` planes of one image. */
export interface OverlaySource {
  width: number;
  height: number;
  labels: Uint8Array;
  instances: Int32Array;
  /** Foreground probability per pixel in [0, 1], when the labels are a prediction. */
  probability?: Float32Array;
}

/** The DeepZoom level of full resolution: levels run 0 (1×1 px) … maxLevel. */
export function maxLevelOf(width: number, height: number): number {
  return Math.ceil(Math.log2(Math.max(width, height, 1)));
}

/** Width and height of a level (each level halves the next, rounding up). */
export function levelSize(width: number, height: number, level: number): { width: number; height: number; scale: number } {
  const scale = 2 ** (maxLevelOf(width, height) - level);
  return { width: Math.ceil(width / scale), height: Math.ceil(height / scale), scale };
}

/** Class 1 in yellow and later classes in the overlay palette, as `drawOverlay` colours them. */
export function classColor(classIndex: number): Rgb {
  return classIndex <= 1 ? [255, 255, 0] : DEFAULT_PALETTE[(classIndex - 2) % DEFAULT_PALETTE.length];
}

/** A distinct colour per cell id (golden-ratio hues). */
export function cellColor(id: number): Rgb {
  const hue = (id * 0.618033988749895) % 1;
  const sector = Math.floor(hue * 6);
  const f = hue * 6 - sector;
  const [v, q, t] = [230, Math.round(230 * (1 - f)), Math.round(230 * f)];
  return (
    [
      [v, t, 40],
      [q, v, 40],
      [40, v, t],
      [40, q, v],
      [t, 40, v],
      [v, 40, q],
    ] as const
  )[sector % 6];
}

const FILL_ALPHA = 110;

/**
 * One RGBA overlay tile of `level`/`column`/`row` (DeepZoom numbering, no overlap). Each tile
 * pixel shows the source pixel under its centre. Only pixels of cells (instance id > 0) are drawn;
 * contours where a tile pixel's cell or class differs from a 4-neighbour's (the image's edge is no contour).
 * @returns `[h, w, 4]` RGBA and its size (edge tiles are smaller than {@link TILE_SIZE}).
 */
export function renderOverlayTile(
  source: OverlaySource,
  layers: ReadonlySet<OverlayLayer>,
  level: number,
  column: number,
  row: number,
): { width: number; height: number; data: Uint8Array } {
  const size = levelSize(source.width, source.height, level);
  const x0 = column * TILE_SIZE;
  const y0 = row * TILE_SIZE;
  const width = Math.max(0, Math.min(TILE_SIZE, size.width - x0));
  const height = Math.max(0, Math.min(TILE_SIZE, size.height - y0));
  const data = new Uint8Array(width * height * 4);
  if (width === 0 || height === 0) return { width: 0, height: 0, data };
  // Source index under each tile pixel, with a one-pixel border for the contour test (-1 outside).
  const w2 = width + 2;
  const index = new Int32Array(w2 * (height + 2));
  for (let ty = -1; ty <= height; ty++) {
    const ly = y0 + ty;
    const sy = Math.min(source.height - 1, Math.floor((ly + 0.5) * size.scale));
    for (let tx = -1; tx <= width; tx++) {
      const lx = x0 + tx;
      const sx = Math.min(source.width - 1, Math.floor((lx + 0.5) * size.scale));
      index[(ty + 1) * w2 + tx + 1] = lx < 0 || ly < 0 || lx >= size.width || ly >= size.height ? -1 : sy * source.width + sx;
    }
  }
  // Pixels outside every cell (e.g. objects below the minimum size) are background here.
  const key = (i: number) => (source.instances[i] === 0 ? 0 : source.instances[i] * 256 + source.labels[i]);
  const blend = (o: number, rgb: Rgb, alpha: number) => {
    const a = alpha / 255;
    const under = data[o + 3] / 255;
    const out = a + under * (1 - a);
    for (let c = 0; c < 3; c++) data[o + c] = out === 0 ? 0 : Math.round((rgb[c] * a + data[o + c] * under * (1 - a)) / out);
    data[o + 3] = Math.round(out * 255);
  };
  for (let ty = 0; ty < height; ty++) {
    for (let tx = 0; tx < width; tx++) {
      const k = (ty + 1) * w2 + tx + 1;
      const i = index[k];
      const o = (ty * width + tx) * 4;
      if (layers.has('probability') && source.probability) {
        const p = Math.min(1, Math.max(0, source.probability[i]));
        if (p > 0.02) blend(o, [255, Math.round(255 * (1 - p)), 0], Math.round(200 * p));
      }
      const id = source.instances[i];
      if (id === 0) continue;
      const label = source.labels[i];
      if (layers.has('classes') && label > 0) blend(o, classColor(label), FILL_ALPHA);
      if (layers.has('instances')) blend(o, cellColor(id), FILL_ALPHA);
      if (layers.has('contours')) {
        const own = key(i);
        const edge = [k - 1, k + 1, k - w2, k + w2].some((n) => index[n] >= 0 && key(index[n]) !== own);
        if (edge) blend(o, classColor(Math.max(1, label)), 255);
      }
    }
  }
  return { width, height, data };
}

/** An overlay tile as PNG bytes (a 1×1 transparent PNG for tiles outside the level). */
export async function overlayTilePng(
  source: OverlaySource,
  layers: ReadonlySet<OverlayLayer>,
  level: number,
  column: number,
  row: number,
): Promise<Buffer> {
  const tile = renderOverlayTile(source, layers, level, column, row);
  if (tile.width === 0)
    return sharp({ create: { width: 1, height: 1, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
  return sharp(tile.data, { raw: { width: tile.width, height: tile.height, channels: 4 } })
    .png({ compressionLevel: 3 })
    .toBuffer();
}

/**
 * Cuts the DeepZoom pyramid of an 8-bit RGB raster into `dir` (`dir/<level>/<column>_<row>.jpeg`),
 * once: a pyramid already there is kept. Written beside and renamed into place, so a half-cut
 * pyramid is never served.
 */
export async function buildPyramid(image: RasterImage, dir: string): Promise<void> {
  if (existsSync(join(dir, String(maxLevelOf(image.width, image.height))))) return;
  const scratch = `${dir}.part-${process.pid}-${Date.now().toString(36)}`;
  await mkdir(scratch, { recursive: true });
  try {
    await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels as 3 }, limitInputPixels: false })
      .jpeg({ quality: 90 })
      .tile({ size: TILE_SIZE, overlap: 0, layout: 'dz', container: 'fs' })
      .toFile(join(scratch, 'pyramid.dz'));
    await rm(dir, { recursive: true, force: true });
    await rename(join(scratch, 'pyramid_files'), dir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
