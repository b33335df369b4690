import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PyocyteError } from '../util/errors.js';
import { Random } from '../util/random.js';

/** Which image stems are for training, validation (model selection) and testing (final scores). */
export interface Split {
  train: string[];
  val: string[];
  test: string[];
}

/** How to split when the dataset has no `split.json`. */
export interface SplitOptions {
  /** A `split.json` `{train, val, test}` to honour instead of drawing a split. */
  splitFile?: string;
  /** A split already read (e.g. with `readSplitFile`); takes precedence over `splitFile`. */
  split?: Split;
  /** Exact numbers `[train, val, test]`, e.g. `[30, 5, 5]`; must add up to the number of stems. */
  counts?: [number, number, number];
  /** Fractions `[train, val, test]`; default `[0.7, 0.15, 0.15]`. */
  fractions?: [number, number, number];
  /** Seed of the shuffle; the same seed gives the same split on every machine. Default 0. */
  seed?: number;
}

const DEFAULT_FRACTIONS: [number, number, number] = [0.7, 0.15, 0.15];
const SETS = ['train', 'val', 'test'] as const;

/** Checks the shape of parsed `split.json` content; `name` names the file in messages. */
export function parseSplit(content: unknown, name: string): Split {
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw new PyocyteError(`${name} must hold an object like {"train": [...], "val": [...], "test": [...]}`, { file: name });
  }
  const record = content as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => !(SETS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new PyocyteError(
      `${name} has unknown key${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}; valid keys are train, val, test`,
      { file: name },
    );
  }
  const split: Split = { train: [], val: [], test: [] };
  for (const set of SETS) {
    const list = record[set] ?? [];
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
      throw new PyocyteError(`${name}: "${set}" must be a list of image names (strings, e.g. "001"), without extensions`, { file: name });
    }
    split[set] = list as string[];
  }
  // A split without training images is fine for evaluation; training checks its own subset.
  if (split.train.length + split.val.length + split.test.length === 0) throw new PyocyteError(`${name} lists no images`, { file: name });
  return split;
}

/** Reads and checks a `split.json` file. */
export async function readSplitFile(path: string): Promise<Split> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PyocyteError(`cannot read the split file ${path}`, { file: path });
  }
  return parseSplitText(text, path);
}

function parseSplitText(text: string, path: string): Split {
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new PyocyteError(`${path} is not valid JSON (${(error as Error).message})`, { file: path });
  }
  return parseSplit(content, path);
}

/**
 * Checks a given split against the dataset's stems: no name in two sets, none without an image.
 * A split may name a subset of the images (e.g. 30/5/100 of 300): the rest are left out.
 */
function checkSplit(split: Split, stems: readonly string[], name: string): Split {
  const known = new Set(stems);
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const set of SETS) {
    for (const stem of split[set]) {
      const earlier = seen.get(stem);
      if (earlier) problems.push(`"${stem}" is in both ${earlier} and ${set}`);
      seen.set(stem, set);
    }
  }
  const missing = [...seen.keys()].filter((s) => !known.has(s));
  if (missing.length > 0) {
    problems.push(
      `${missing.length} name${missing.length === 1 ? '' : 's'} with no image in the dataset: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`,
    );
  }
  if (problems.length > 0) throw new PyocyteError(`${name} does not match the dataset: ${problems.join('; ')}`, { file: name });
  return { train: [...split.train], val: [...split.val], test: [...split.test] };
}

function sizesFromFractions(n: number, fractions: [number, number, number]): [number, number, number] {
  if (fractions.some((f) => !(f >= 0)) || Math.abs(fractions[0] + fractions[1] + fractions[2] - 1) > 1e-6 || fractions[0] <= 0) {
    throw new PyocyteError(`split fractions must be ≥ 0, add up to 1 and give training images some share; got ${fractions.join('/')}`);
  }
  let val = Math.round(n * fractions[1]);
  let test = Math.round(n * fractions[2]);
  // Keep a non-empty set non-empty when there are enough images for all three.
  if (fractions[1] > 0 && val === 0 && n >= 3) val = 1;
  if (fractions[2] > 0 && test === 0 && n >= 3) test = 1;
  return [n - val - test, val, test];
}

/** The stems that a split leaves out of all three sets, sorted. */
export function leftOut(split: Split, stems: readonly string[]): string[] {
  const named = new Set([...split.train, ...split.val, ...split.test]);
  return stems.filter((s) => !named.has(s)).sort();
}

/**
 * Splits image stems into train/val/test. A `split` or `splitFile` is honoured exactly (names
 * without an image, or in two sets, fail listing them; images it does not name are left out, see
 * {@link leftOut}). Otherwise the stems are sorted (so
 * file-system order does not matter), shuffled with `seed`, and cut by `counts` or `fractions`.
 * Each returned list is sorted.
 */
export function splitStems(stems: readonly string[], options: SplitOptions = {}): Split {
  const duplicates = stems.filter((s, i) => stems.indexOf(s) !== i);
  if (duplicates.length > 0) throw new PyocyteError(`the image names to split contain duplicates: ${[...new Set(duplicates)].join(', ')}`);
  if (options.split) return checkSplit(options.split, stems, 'the given split');
  if (options.splitFile) return checkSplit(parseSplitText(readSplitText(options.splitFile), options.splitFile), stems, options.splitFile);
  const n = stems.length;
  if (n === 0) throw new PyocyteError(`there are no images to split`);
  let sizes: [number, number, number];
  if (options.counts) {
    const total = options.counts.reduce((a, b) => a + b, 0);
    if (options.counts.some((c) => !Number.isInteger(c) || c < 0) || options.counts[0] === 0) {
      throw new PyocyteError(`split counts must be whole numbers ≥ 0 with at least one training image; got ${options.counts.join('/')}`);
    }
    if (total !== n) {
      throw new PyocyteError(
        `split counts ${options.counts.join('/')} add up to ${total} but the dataset has ${n} images; give counts that add up to ${n}, or fractions`,
      );
    }
    sizes = options.counts;
  } else {
    sizes = sizesFromFractions(n, options.fractions ?? DEFAULT_FRACTIONS);
  }
  const order = [...stems].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  new Random(options.seed ?? 0).shuffle(order);
  const sort = (list: string[]) => list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    train: sort(order.slice(0, sizes[0])),
    val: sort(order.slice(sizes[0], sizes[0] + sizes[1])),
    test: sort(order.slice(sizes[0] + sizes[1])),
  };
}

function readSplitText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new PyocyteError(`cannot read the split file ${path}`, { file: path });
  }
}
