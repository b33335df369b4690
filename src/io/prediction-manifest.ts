/**
 * `<stem>_manifest.json`: written last, after every output file of an image, so its presence
 * says the image is finished. It records what the outputs were computed from (the image's and the
 * model's sha256 and the prediction settings) and the image's summary.csv and cells.csv rows, so a
 * re-run with the same inputs skips the image and still writes complete CSVs, and a queued job
 * that runs twice (its worker died after writing) finds its own work done.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import type { ImageSummary } from './prediction-outputs.js';

export const MANIFEST_FORMAT = 'pyocyte-prediction';
/** 2: cells.csv gained class, bounding box and score, summary.csv per-class counts; older manifests are recomputed. */
export const MANIFEST_VERSION = 2;

/** What an image's outputs were computed from: equal keys mean equal outputs. */
export interface PredictionKey {
  /** sha256 (hex) of the image file's bytes. */
  imageSha256: string;
  /** sha256 of the model files (io/model-hash.ts), or null for a model given as an object. */
  modelSha256: string | null;
  /** The prediction settings as given (threshold, TTA, tile size, …); unset ones left out. */
  settings: Record<string, unknown>;
}

/** The manifest of one predicted image. */
export interface PredictionManifest extends PredictionKey {
  format: typeof MANIFEST_FORMAT;
  version: number;
  /** The image file as it was named to the prediction. */
  source: string;
  /** The image's row of summary.csv. */
  summary: ImageSummary;
  /** The image's rows of cells.csv (no header). */
  cellsCsv: string;
  /** The output files, in the manifest's folder; the manifest itself not included. */
  outputs: string[];
}

/** The manifest's file name: `<stem>_manifest.json`. */
export function manifestFileName(stem: string): string {
  return `${stem}_manifest.json`;
}

/** sha256 (hex) of a file's bytes. */
export async function fileSha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** JSON with object keys sorted, so equal settings give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Writes the manifest atomically, after the outputs it lists. Same inputs, same bytes. */
export async function writeManifest(out: string, stem: string, manifest: Omit<PredictionManifest, 'format' | 'version'>): Promise<void> {
  const full: PredictionManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    ...manifest,
    settings: JSON.parse(canonicalJson(manifest.settings)),
  };
  await writeFileAtomic(join(out, manifestFileName(stem)), `${JSON.stringify(full, null, 2)}\n`);
}

/**
 * The image's manifest when it is finished for `key`: the manifest exists, parses, was computed
 * from the same image bytes, model and settings (a null model hash never matches), and every
 * output it lists exists. Otherwise undefined: the image is to be predicted (again).
 */
export async function finishedManifest(out: string, stem: string, key: PredictionKey): Promise<PredictionManifest | undefined> {
  if (key.modelSha256 === null) return undefined;
  let manifest: PredictionManifest;
  try {
    manifest = JSON.parse(await readFile(join(out, manifestFileName(stem)), 'utf8')) as PredictionManifest;
  } catch {
    return undefined;
  }
  const current =
    manifest.format === MANIFEST_FORMAT &&
    manifest.version === MANIFEST_VERSION &&
    manifest.imageSha256 === key.imageSha256 &&
    manifest.modelSha256 === key.modelSha256 &&
    canonicalJson(manifest.settings) === canonicalJson(key.settings) &&
    Array.isArray(manifest.outputs) &&
    manifest.outputs.every((name) => existsSync(join(out, name)));
  return current ? manifest : undefined;
}

/**
 * Removes the temporary files (`.<name>.tmp-…`, util/fs.ts) that a writer of these output names
 * left when it was killed mid-write. Called before an image is (re)computed: whoever held its job
 * before is dead or has lost the job.
 */
export async function removeStaleTemporaries(out: string, names: readonly string[]): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch {
    return;
  }
  const prefixes = names.map((name) => `.${name}.tmp-`);
  await Promise.all(entries.filter((e) => prefixes.some((p) => e.startsWith(p))).map((e) => rm(join(out, e), { force: true })));
}
