import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { PyocyteError, PyocyteErrors } from '../util/errors.js';
import { readDatasetMetadata } from './dataset-metadata.js';
import type { ImageInfo } from '../io/image/image-io.js';
import { IMAGE_EXTENSIONS, isImageFile } from '../io/image/formats.js';
import type { MaskPolarity } from './masks.js';
import { checkPairFiles } from './pair-checks.js';
import { listFolder } from '../util/fs.js';

/** Folder layouts pyocyte recognises, tried in this order. */
export const DATASET_CONVENTIONS = {
  nnunet: 'nnU-Net: imagesTr/<case>_0000.<ext> with labelsTr/<case>.<ext>',
  'images-masks':
    'images/ and masks/ (or labels/) folders whose files share names (extensions may differ), with instance label images in instances/ if any',
  'suffix-mask': 'one folder: <name>.<ext> beside <name>_mask.<ext> (or Cellpose label images <name>_masks.<ext>)',
} as const;
export type DatasetConvention = keyof typeof DATASET_CONVENTIONS;

/** One image and its mask (absent for unlabelled images). */
export interface ImagePair {
  /** The shared file name without extension, e.g. `017`; the key in `split.json`. */
  stem: string;
  imagePath: string;
  maskPath?: string;
  /** Its instance label image in `instances/` beside `masks/` (pyocyte's synthetic layout), when there is one. */
  instancesPath?: string;
  /** The mask is named `<name>_masks` (Cellpose's instance label images). */
  cellposeMask?: boolean;
  /** The image's header, when discovery read it without a problem. */
  imageInfo?: ImageInfo;
  /** The mask's header, likewise. */
  maskInfo?: ImageInfo;
}

/** A dataset folder, indexed. */
export interface DatasetIndex {
  root: string;
  convention: DatasetConvention;
  /** Sorted by stem. */
  pairs: ImagePair[];
  /** `split.json` in the folder, when there is one. */
  splitFile?: string;
  /** From `pyocyte.json` / `dataset.json`. */
  pixelSizeUm?: number;
  valueMap?: Record<number, number>;
  classNames?: string[];
  maskPolarity?: MaskPolarity;
  /** Non-image files skipped (README, split.json, classes.csv, …), relative to `root`. */
  ignored: string[];
  /** Things worth a look that do not stop loading (a stray file among the images). */
  warnings: string[];
  /** With `collectProblems`: everything that is wrong, one line per file (otherwise they throw). */
  problems: string[];
}

/** Options for {@link discoverDataset}. */
export interface DiscoverOptions {
  /** Every image must have a mask (default true); false lists unlabelled images too. */
  requireMasks?: boolean;
  /** Read every file's header to check format and that each mask matches its image's size (default true). */
  checkFiles?: boolean;
  /** Return problems in `index.problems` instead of throwing them (for `data check`). Default false. */
  collectProblems?: boolean;
}

/** Mask files beside their images end with one of these (Cellpose uses `_masks`). */
const MASK_SUFFIXES = ['_mask', '_masks', '_label', '_labels'];
const MASK_FOLDERS = ['masks', 'labels'];
/** Instance label images beside the mask folder, under the images' names. */
const INSTANCE_FOLDER = 'instances';
const CELLPOSE_SUFFIX = '_masks';
const NNUNET_CHANNEL = /^(.*)_(\d{4})$/;

interface Listing {
  files: string[];
  folders: string[];
}

async function list(dir: string): Promise<Listing> {
  const { files, folders } = await listFolder(dir);
  const visible = (names: string[]) => names.filter((name) => !name.startsWith('.')).sort((a, b) => (a < b ? -1 : 1));
  return { files: visible(files), folders: visible(folders) };
}

const stemOf = (name: string) => name.slice(0, name.length - extname(name).length);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Groups image files of a folder by stem; two files with one stem are a problem. */
function byStem(folder: string, names: readonly string[], problems: string[], stemFn = stemOf): Map<string, string> {
  const found = new Map<string, string>();
  for (const name of names) {
    const stem = stemFn(name);
    const earlier = found.get(stem);
    if (earlier) problems.push(`${folder}${earlier} and ${folder}${name} have the same name ${stem}; keep one of them`);
    else found.set(stem, name);
  }
  return found;
}

function maskStem(name: string, imageStems: ReadonlySet<string>): string {
  const stem = stemOf(name);
  for (const suffix of MASK_SUFFIXES) {
    if (stem.endsWith(suffix) && !imageStems.has(stem)) return stem.slice(0, -suffix.length);
  }
  return stem;
}

interface Layout {
  convention: DatasetConvention;
  images: Map<string, string>;
  masks: Map<string, string>;
  imageFolder: string;
  maskFolder?: string;
  /** Stem → file in `instances/`. */
  instances: Map<string, string>;
}

async function folderLayout(
  root: string,
  top: Listing,
  index: Pick<DatasetIndex, 'ignored' | 'warnings'>,
  problems: string[],
): Promise<Layout> {
  const nnunet = top.folders.includes('imagesTr');
  const imageFolder = nnunet ? 'imagesTr' : 'images';
  const maskFolder = nnunet
    ? top.folders.includes('labelsTr')
      ? 'labelsTr'
      : undefined
    : MASK_FOLDERS.find((f) => top.folders.includes(f));
  const imageNames = await imageFiles(root, imageFolder, index);
  let stems: (name: string) => string = stemOf;
  if (nnunet) {
    const cases = new Map<string, string[]>();
    for (const name of imageNames) {
      const match = NNUNET_CHANNEL.exec(stemOf(name));
      if (!match) problems.push(`imagesTr/${name} does not follow nnU-Net naming <case>_0000${extname(name)}`);
      else cases.set(match[1], [...(cases.get(match[1]) ?? []), match[2]]);
    }
    for (const [name, channels] of cases) {
      if (channels.length > 1 || channels[0] !== '0000') {
        problems.push(
          `nnU-Net case ${name} has channel files ${channels.map((c) => `${name}_${c}`).join(', ')}; pyocyte reads one file per image (_0000): merge the channels into one RGB file`,
        );
      }
    }
    stems = (name) => NNUNET_CHANNEL.exec(stemOf(name))?.[1] ?? stemOf(name);
  }
  const images = byStem(
    `${imageFolder}/`,
    imageNames.filter((n) => !nnunet || NNUNET_CHANNEL.test(stemOf(n))),
    problems,
    stems,
  );
  let masks = new Map<string, string>();
  if (maskFolder) {
    const maskNames = await imageFiles(root, maskFolder, index);
    const imageStems = new Set(images.keys());
    masks = byStem(`${maskFolder}/`, maskNames, problems, (n) => maskStem(n, imageStems));
  }
  const instances =
    !nnunet && maskFolder && top.folders.includes(INSTANCE_FOLDER)
      ? byStem(`${INSTANCE_FOLDER}/`, await imageFiles(root, INSTANCE_FOLDER, index), problems)
      : new Map<string, string>();
  return { convention: nnunet ? 'nnunet' : 'images-masks', images, masks, imageFolder, maskFolder, instances };
}

/** Image files in a sub-folder; anything else there is ignored with a warning. */
async function imageFiles(root: string, folder: string, index: Pick<DatasetIndex, 'ignored' | 'warnings'>): Promise<string[]> {
  const listing = await list(join(root, folder));
  const others = [...listing.files.filter((n) => !isImageFile(n)), ...listing.folders.map((n) => `${n}/`)];
  for (const other of others) {
    index.ignored.push(`${folder}/${other}`);
    index.warnings.push(`${folder}/${other} is not an image pyocyte reads (${IMAGE_EXTENSIONS.join(' ')}); ignored`);
  }
  return listing.files.filter(isImageFile);
}

function flatLayout(top: Listing, index: Pick<DatasetIndex, 'ignored'>, problems: string[]): Layout {
  const imageNames = top.files.filter(isImageFile);
  index.ignored.push(...top.files.filter((n) => !isImageFile(n)), ...top.folders.map((n) => `${n}/`));
  const isMask = (name: string) => MASK_SUFFIXES.some((s) => stemOf(name).endsWith(s));
  const plain = imageNames.filter((n) => !isMask(n));
  const images = byStem('', plain, problems);
  const imageStems = new Set(images.keys());
  const masks = byStem('', imageNames.filter(isMask), problems, (n) => maskStem(n, imageStems));
  return { convention: 'suffix-mask', images, masks, imageFolder: '', instances: new Map() };
}

/** Instance label images that do not line up with the images: usable, but worth saying. */
function instanceWarnings(layout: Layout, warnings: string[]): void {
  if (layout.instances.size === 0) return;
  const orphans = [...layout.instances.keys()].filter((stem) => !layout.images.has(stem));
  for (const stem of orphans) warnings.push(`${INSTANCE_FOLDER}/${layout.instances.get(stem)} has no image; ignored`);
  const missing = [...layout.images.keys()].filter((stem) => !layout.instances.has(stem));
  if (missing.length > 0) {
    warnings.push(
      `${plural(missing.length, 'image')} (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}) have no instance label image in ${INSTANCE_FOLDER}/; their objects are scored as connected components of the mask, where touching cells merge`,
    );
  }
}

/**
 * Indexes a dataset folder. Recognises nnU-Net `imagesTr/labelsTr`, `images/` + `masks/` (or
 * `labels/`) with matching names, and `<name>_mask.<ext>` beside `<name>.<ext>`. Hidden files and
 * non-image files are skipped (listed in `ignored`). Every problem — images without masks, masks
 * without images, duplicate names, unreadable files, masks whose size differs from their image's —
 * is collected and reported together in one {@link PyocyteErrors} (or returned in `problems`).
 */
export async function discoverDataset(dir: string, options: DiscoverOptions = {}): Promise<DatasetIndex> {
  const requireMasks = options.requireMasks ?? true;
  const root = resolve(dir);
  const info = await stat(root).catch(() => undefined);
  if (!info) throw new PyocyteError(`dataset folder ${dir} does not exist`, { file: dir });
  if (!info.isDirectory()) throw new PyocyteError(`${dir} is a file, not a dataset folder`, { file: dir });

  const metadata = await readDatasetMetadata(root);
  const top = await list(root);
  const index: DatasetIndex = { root, convention: 'suffix-mask', pairs: [], ignored: [], warnings: [], problems: [] };
  const problems: string[] = [];
  const foldered = top.folders.includes('imagesTr') || top.folders.includes('images');
  const layout = foldered ? await folderLayout(root, top, index, problems) : flatLayout(top, index, problems);
  if (foldered)
    index.ignored.push(
      ...top.files,
      ...top.folders
        .filter((f) => f !== layout.imageFolder && f !== layout.maskFolder && !(f === INSTANCE_FOLDER && layout.instances.size > 0))
        .map((f) => `${f}/`),
    );
  index.convention = layout.convention;

  if (layout.images.size === 0 && layout.masks.size === 0 && problems.length === 0) {
    const where = foldered ? `${dir}/${layout.imageFolder}` : dir;
    throw new PyocyteError(
      `${where} contains no images (${IMAGE_EXTENSIONS.join(' ')}); pyocyte expects ${Object.values(DATASET_CONVENTIONS).join('; or ')}`,
      { file: dir },
    );
  }
  const imageDir = layout.imageFolder ? `${layout.imageFolder}/` : '';
  const maskDir = layout.maskFolder ? `${layout.maskFolder}/` : '';
  const noMasks = requireMasks && layout.masks.size === 0 && layout.images.size > 0;
  if (noMasks) {
    const example = [...layout.images.keys()][0];
    const expected = layout.convention === 'nnunet' ? 'labelsTr/' : 'masks/';
    problems.push(
      !foldered
        ? `${dir} has ${plural(layout.images.size, 'image')} but no masks; put each mask beside its image as <name>_mask.png (e.g. ${example}_mask.png), or use images/ and masks/ folders`
        : layout.maskFolder
          ? `${maskDir} in ${dir} holds no masks; put each image's mask there under the same name (e.g. ${maskDir}${example}.png)`
          : `${dir} has ${imageDir} but no ${expected} folder; put each image's mask in ${expected} under the same name (e.g. ${expected}${example}.png)`,
    );
  }
  for (const [stem, name] of layout.images) {
    const maskName = layout.masks.get(stem);
    if (!maskName && requireMasks && !noMasks) {
      const expected = layout.convention === 'suffix-mask' ? `${stem}_mask.png` : `${maskDir}${stem}.png`;
      problems.push(`${imageDir}${name} has no mask (expected e.g. ${expected})`);
    }
    const pair: ImagePair = { stem, imagePath: join(root, imageDir, name), maskPath: maskName ? join(root, maskDir, maskName) : undefined };
    if (maskName && stemOf(maskName) === `${stem}${CELLPOSE_SUFFIX}`) pair.cellposeMask = true;
    const instanceName = layout.instances.get(stem);
    if (instanceName) pair.instancesPath = join(root, INSTANCE_FOLDER, instanceName);
    index.pairs.push(pair);
  }
  instanceWarnings(layout, index.warnings);
  for (const [stem, name] of layout.masks) {
    if (!layout.images.has(stem)) problems.push(`${maskDir}${name} has no image (expected e.g. ${imageDir}${stem}.png)`);
  }
  index.pairs.sort((a, b) => (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0));
  if (options.checkFiles ?? true) await checkPairFiles(index.pairs, root, problems);
  if (problems.length > 0 && !options.collectProblems)
    throw new PyocyteErrors(`${dir}: ${plural(problems.length, 'problem')} in the dataset`, problems);
  index.problems = problems;

  if (existsSync(join(root, 'split.json'))) index.splitFile = join(root, 'split.json');
  Object.assign(index, {
    pixelSizeUm: metadata.pixelSizeUm,
    valueMap: metadata.valueMap,
    classNames: metadata.classNames,
    maskPolarity: metadata.maskPolarity,
  });
  for (const key of ['pixelSizeUm', 'valueMap', 'classNames', 'maskPolarity'] as const) if (index[key] === undefined) delete index[key];
  return index;
}
