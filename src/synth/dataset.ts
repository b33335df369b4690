import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { hash32 } from '../util/random.js';
import { lookup } from '../util/registry.js';
import { writeImage } from '../io/image/image-io.js';
import type { RasterImage } from '../image/types.js';
import { resolveSynthOptions, synthesizeSmear, type SynthImage, type SynthOptions } from './smear.js';

/** How binary masks are drawn: the pixel values of cells and background. */
export const MASK_STYLES = {
  /** Cells 0 on 255, like the seed project's masks. */
  'black-on-white': { cell: 0, background: 255 },
  /** Cells 255 on 0. */
  'white-on-black': { cell: 255, background: 0 },
} as const;
export type MaskStyle = keyof typeof MASK_STYLES;

/** Options of {@link writeSyntheticDataset}: the smear options plus the dataset's shape. */
export interface SyntheticDatasetOptions extends SynthOptions {
  /** Number of images (default 40). */
  count?: number;
  /** Binary mask drawing (default 'black-on-white'). */
  maskStyle?: MaskStyle;
  /** Relative sizes of train/val/test (default [30, 5, 5], i.e. 30/5/5 of 40). */
  split?: [number, number, number];
  /** Called after each image is written. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link writeSyntheticDataset} wrote. */
export interface SyntheticDataset {
  outDir: string;
  count: number;
  stems: string[];
  split: { train: string[]; val: string[]; test: string[] };
}

/** The entries a synthetic dataset folder may hold; anything else means the folder is someone else's. */
const DATASET_ENTRIES = ['images', 'masks', 'masks3', 'instances', 'split.json', 'dataset.json'];

/**
 * Splits `count` items in proportion to `weights` (largest remainders); when there are at least
 * as many items as non-zero weights, each such part gets at least one.
 */
export function splitCounts(count: number, weights: readonly [number, number, number]): [number, number, number] {
  const total = weights[0] + weights[1] + weights[2];
  const exact = weights.map((w) => (count * w) / total);
  const parts = exact.map(Math.floor) as [number, number, number];
  const byRemainder = [0, 1, 2].sort((a, b) => exact[b] - parts[b] - (exact[a] - parts[a]) || a - b);
  for (let left = count - parts[0] - parts[1] - parts[2], i = 0; left > 0; left--, i++) parts[byRemainder[i % 3]]++;
  const nonZero = weights.filter((w) => w > 0).length;
  if (count >= nonZero) {
    for (let i = 0; i < 3; i++) {
      if (weights[i] > 0 && parts[i] === 0) {
        const donor = [0, 1, 2].reduce((best, j) => (parts[j] > parts[best] ? j : best), 0);
        parts[donor]--;
        parts[i]++;
      }
    }
  }
  return parts;
}

/** Writes the four PNGs of one image. */
async function writeSample(outDir: string, stem: string, sample: SynthImage, style: MaskStyle): Promise<void> {
  const { width, height } = sample.image;
  const { cell, background } = MASK_STYLES[style];
  const binary = new Uint8Array(sample.binary.length);
  const threeClass = new Uint8Array(sample.threeClass.length);
  const levels = [0, 128, 255];
  for (let p = 0; p < binary.length; p++) {
    binary[p] = sample.binary[p] ? cell : background;
    threeClass[p] = levels[sample.threeClass[p]];
  }
  const gray = (data: Uint8Array | Uint16Array): RasterImage => ({
    width,
    height,
    channels: 1,
    bitDepth: data instanceof Uint16Array ? 16 : 8,
    data,
  });
  const file = (folder: string) => join(outDir, folder, `${stem}.png`);
  await Promise.all([
    writeImage(file('images'), sample.image),
    writeImage(file('masks'), gray(binary)),
    writeImage(file('masks3'), gray(threeClass)),
    writeImage(file('instances'), gray(sample.instances)),
  ]);
}

/** Refuses folders with foreign content, and clears an earlier synthetic dataset so no stale stems remain. */
async function prepareFolder(outDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR')
      fail(`${outDir} is a file; give a folder for the synthetic dataset`, { file: outDir });
    throw error;
  }
  const foreign = entries.filter((entry) => !DATASET_ENTRIES.includes(entry) && !entry.startsWith('.'));
  if (foreign.length > 0) {
    fail(
      `${outDir} already holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); choose an empty or new folder`,
      { file: outDir },
    );
  }
  await Promise.all(entries.filter((e) => DATASET_ENTRIES.includes(e)).map((e) => rm(join(outDir, e), { recursive: true, force: true })));
}

/**
 * Writes a synthetic dataset in pyocyte's folder layout:
 * `images/<stem>.png` (RGB), `masks/<stem>.png` (binary, per `maskStyle`),
 * `masks3/<stem>.png` (0 background, 128 cytoplasm, 255 nucleus), `instances/<stem>.png`
 * (16-bit ids), `split.json` ({train, val, test}) and `dataset.json` (written last: its presence
 * marks a complete dataset). Stems are 001, 002, …; image i uses seed `hash32(seed, i)`, so
 * `synthesizeSmear({ ...options, seed: hash32(seed, i) })` regenerates it alone.
 *
 * ```ts
 * await writeSyntheticDataset('data/synth', { count: 40, seed: 1 });
 * ```
 */
export async function writeSyntheticDataset(outDir: string, options: SyntheticDatasetOptions = {}): Promise<SyntheticDataset> {
  const { count = 40, maskStyle = 'black-on-white', split = [30, 5, 5], onProgress, ...smearOptions } = options;
  if (!Number.isInteger(count) || count < 1 || count > 99999) fail(`synth: count must be an integer from 1 to 99999; got ${count}`);
  lookup(MASK_STYLES, maskStyle, 'mask style');
  if (
    !Array.isArray(split) ||
    split.length !== 3 ||
    !split.every((w) => Number.isFinite(w) && w >= 0) ||
    split[0] + split[1] + split[2] <= 0
  ) {
    fail(`synth: split must be three non-negative sizes [train, val, test], not all 0; got ${JSON.stringify(split)}`);
  }
  const settings = resolveSynthOptions(smearOptions);
  await prepareFolder(outDir);
  const digits = Math.max(3, String(count).length);
  const stems = Array.from({ length: count }, (_, i) => String(i + 1).padStart(digits, '0'));
  // Encoding runs on sharp's threads while the next image is drawn on this one.
  let pending: Promise<void> | undefined;
  for (let i = 0; i < count; i++) {
    const sample = synthesizeSmear({ ...smearOptions, seed: hash32(settings.seed, i + 1) });
    await pending;
    if (i > 0) onProgress?.(i, count);
    pending = writeSample(outDir, stems[i], sample, maskStyle);
  }
  await pending;
  onProgress?.(count, count);
  const [train, val] = splitCounts(count, split);
  const splits = { train: stems.slice(0, train), val: stems.slice(train, train + val), test: stems.slice(train + val) };
  await writeFileAtomic(join(outDir, 'split.json'), `${JSON.stringify(splits, null, 2)}\n`);
  const description = {
    name: 'pyocyte synthetic stained smears',
    generator: 'pyocyte synth',
    seed: settings.seed,
    count,
    width: settings.width,
    height: settings.height,
    pixelSizeUm: settings.pixelSizeUm,
    maskStyle,
    masks: {
      masks: `binary: pus cell ${MASK_STYLES[maskStyle].cell}, background ${MASK_STYLES[maskStyle].background}`,
      masks3: '0 background, 128 cytoplasm, 255 nucleus',
      instances: '16-bit pus cell ids, 0 background',
    },
    imageSeeds: 'image i (1-based) uses seed hash32(seed, i)',
    options: { ...settings },
  };
  await writeFileAtomic(join(outDir, 'dataset.json'), `${JSON.stringify(description, null, 2)}\n`);
  return { outDir, count, stems, split: splits };
}
