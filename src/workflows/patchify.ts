/**
 * Cuts a dataset into overlapping patches on disk (the seed project's preprocessing), for users
 * whose other tools want fixed-size tiles. Masks keep their stored values (not class indices), so
 * the patch folder is a dataset of the same kind as the source.
 */
import { copyFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fail } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { checkName } from '../util/registry.js';
import { discoverDataset } from '../data/dataset.js';
import { readImage, writeImage } from '../io/image/image-io.js';
import { MASK_POLARITIES } from '../data/masks.js';
import type { PatchifyOptionFields } from './options.generated.js';
import { PATCHIFY_DEFAULTS } from './options.js';
import { extractPatch, gridPatches, type GridOptions } from '../data/patches.js';
import type { PixelGrid } from '../image/plane.js';
import { mapPool } from '../util/pool.js';
import { readSplitFile } from '../data/split.js';
import type { RasterImage } from '../image/types.js';

/** Options of {@link patchifyDataset}, documented in PATCHIFY_OPTIONS (./options.ts). Give `stride` or `perImage`, not both. */
export interface PatchifyOptions extends PatchifyOptionFields {
  /** Called after each image. */
  onProgress?: (done: number, total: number, stem: string) => void;
}

/** One written patch, as listed in `patches.json`. */
export interface PatchRecord {
  /** The patch's stem, `<source stem>_pNN`. */
  stem: string;
  source: string;
  image: string;
  mask: string;
  /** Top-left corner in the source image; negative or past the edge where mirror-padded. */
  x: number;
  y: number;
}

/** What {@link patchifyDataset} wrote. */
export interface PatchifyResult {
  outDir: string;
  images: number;
  patches: number;
  /** `patches.json`: the options and every patch with its source and position. */
  manifest: string;
  /** Things the user should know (e.g. how the split was carried over). */
  notes: string[];
}

const rasterGrid = (raster: RasterImage): PixelGrid => raster as PixelGrid;

async function nonEmpty(dir: string): Promise<boolean> {
  return existsSync(dir) && (await readdir(dir)).length > 0;
}

/**
 * Writes `OUT/images/<stem>_pNN.png` and `OUT/masks/<stem>_pNN.png` for every image of the
 * dataset in `dataDir` (32-bit float files as `.tif`), mirror-padding patches that reach past an
 * image's border, plus `OUT/patches.json`. A `split.json` is carried over patch by patch (each
 * patch in its source image's set, so no image leaks across sets), and `pyocyte.json` /
 * `dataset.json` are copied.
 */
export async function patchifyDataset(dataDir: string, outDir: string, options: PatchifyOptions = {}): Promise<PatchifyResult> {
  const patchSize = options.patchSize ?? PATCHIFY_DEFAULTS.patchSize;
  if (options.stride !== undefined && options.perImage !== undefined) {
    fail('give either a stride or a number of patches per image, not both');
  }
  const grid: GridOptions =
    options.perImage !== undefined
      ? { patchSize, count: options.perImage }
      : { patchSize, stride: options.stride ?? Math.max(1, Math.round((patchSize * 3) / 4)) };
  gridPatches({ width: patchSize, height: patchSize }, grid); // checks the numbers before any file is read
  if (options.maskPolarity !== undefined) checkName(MASK_POLARITIES, options.maskPolarity, 'mask polarity');
  const index = await discoverDataset(dataDir);
  const out = resolve(outDir);
  if (out === index.root) fail(`the output folder ${outDir} is the dataset folder; choose a new folder for the patches`);
  for (const folder of ['images', 'masks']) {
    if (await nonEmpty(join(out, folder)))
      fail(`${join(outDir, folder)} is not empty; choose a new output folder (patchify does not overwrite)`, { file: outDir });
  }

  const records: PatchRecord[] = [];
  let done = 0;
  const perPair = await mapPool(index.pairs, 2, async (pair) => {
    const [image, mask] = await Promise.all([readImage(pair.imagePath), readImage(pair.maskPath!)]);
    if (mask.width !== image.width || mask.height !== image.height) {
      fail(`${pair.maskPath} is ${mask.width}×${mask.height} but ${pair.imagePath} is ${image.width}×${image.height}`, {
        file: pair.maskPath,
      });
    }
    const origins = gridPatches(image, grid);
    const digits = Math.max(2, String(origins.length - 1).length);
    const written: PatchRecord[] = [];
    for (const [k, { x, y }] of origins.entries()) {
      const stem = `${pair.stem}_p${String(k).padStart(digits, '0')}`;
      const files = {
        image: `images/${stem}${image.bitDepth === 32 ? '.tif' : '.png'}`,
        mask: `masks/${stem}${mask.bitDepth === 32 ? '.tif' : '.png'}`,
      };
      const region = { x, y, size: patchSize };
      const imagePatch = extractPatch(rasterGrid(image), region);
      const maskPatch = extractPatch(rasterGrid(mask), region);
      await writeImage(join(out, files.image), {
        ...image,
        width: patchSize,
        height: patchSize,
        data: imagePatch.data as RasterImage['data'],
      });
      await writeImage(join(out, files.mask), {
        ...mask,
        width: patchSize,
        height: patchSize,
        data: maskPatch.data as RasterImage['data'],
      });
      written.push({ stem, source: pair.stem, ...files, x, y });
    }
    options.onProgress?.(++done, index.pairs.length, pair.stem);
    return written;
  });
  for (const list of perPair) records.push(...list);

  const notes: string[] = [];
  for (const name of ['pyocyte.json', 'dataset.json']) {
    if (existsSync(join(index.root, name))) await copyFile(join(index.root, name), join(out, name));
  }
  if (index.splitFile) {
    const split = await readSplitFile(index.splitFile);
    const setOf = new Map<string, 'train' | 'val' | 'test'>();
    for (const set of ['train', 'val', 'test'] as const) for (const stem of split[set]) setOf.set(stem, set);
    const patched = { train: [] as string[], val: [] as string[], test: [] as string[] };
    for (const record of records) {
      const set = setOf.get(record.source);
      if (set) patched[set].push(record.stem);
    }
    await writeFileAtomic(join(out, 'split.json'), `${JSON.stringify(patched, null, 2)}\n`);
    notes.push(
      `split.json carried over: ${patched.train.length} train / ${patched.val.length} val / ${patched.test.length} test patches, each in its source image's set`,
    );
  }
  const manifest = join(out, 'patches.json');
  const grid_ = 'stride' in grid ? { stride: grid.stride } : { perImage: grid.count };
  await writeFileAtomic(
    manifest,
    `${JSON.stringify(
      {
        source: index.root,
        patchSize,
        ...grid_,
        padding: 'reflect',
        maskPolarity: options.maskPolarity ?? index.maskPolarity,
        patches: records,
      },
      null,
      2,
    )}\n`,
  );
  return { outDir: out, images: index.pairs.length, patches: records.length, manifest, notes };
}
