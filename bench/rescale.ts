/** Copies of a dataset's test images and masks at another resolution, for the scale benchmark. */
import { readFileSync, writeFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readImage, writeImage } from '../src/io/image/image-io.js';
import { toFloatImage } from '../src/io/image/convert.js';
import { resampleImage, resampleLabels } from '../src/image/resample.js';
import type { RasterImage } from '../src/image/types.js';

/**
 * Writes a dataset's test images and masks resampled by `scale` into a dataset folder of their own
 * (the first `limit` test images when given).
 */
export async function rescaledCopy(source: string, dir: string, scale: number, limit?: number): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  const split = JSON.parse(readFileSync(join(source, 'split.json'), 'utf8')) as { test: string[] };
  if (limit !== undefined) split.test = split.test.slice(0, limit);
  const imageFiles = await readdir(join(source, 'images'));
  for (const stem of split.test) {
    const file = imageFiles.find((f) => f.startsWith(`${stem}.`))!;
    const image = toFloatImage(await readImage(join(source, 'images', file)));
    const mask = await readImage(join(source, 'masks', `${stem}.png`));
    const width = Math.round(image.width * scale);
    const height = Math.round(image.height * scale);
    const resized = resampleImage(image, { width, height });
    const data = Uint8Array.from(resized.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
    await writeImage(join(dir, 'images', `${stem}.png`), { width, height, channels: image.channels, bitDepth: 8, data });
    // 16-bit instance label masks (dsb2018) stay 16-bit: resampleLabels keeps the array type.
    const labels = resampleLabels({ width: mask.width, height: mask.height, data: mask.data as Uint8Array }, { width, height }).data;
    const scaledMask: RasterImage = { width, height, channels: 1, bitDepth: mask.bitDepth, data: labels };
    await writeImage(join(dir, 'masks', `${stem}.png`), scaledMask);
  }
  writeFileSync(join(dir, 'split.json'), JSON.stringify({ train: [], val: [], test: split.test }));
  return dir;
}
