import { type ImageInfo, readImageInfo } from '../io/image/image-io.js';
import { PyocyteError } from '../util/errors.js';
import { mapPool } from '../util/pool.js';
import type { ImagePair } from './dataset.js';

/** Checks across files that name the files involved: a mask against its image, images against each other. */

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What an EXIF/TIFF orientation does to the stored pixels when it is applied. */
export const ORIENTATIONS: Record<number, string> = {
  2: 'mirrored left–right',
  3: 'turned 180°',
  4: 'mirrored top–bottom',
  5: 'transposed',
  6: 'turned 90° clockwise',
  7: 'transverse-mirrored',
  8: 'turned 90° counter-clockwise',
};

/** Says which of two files carries an applied orientation, for messages about sizes or register. */
function orientationHint(files: { name: string; info: Pick<ImageInfo, 'orientation'> }[]): string {
  const turned = files.filter((f) => f.info.orientation);
  if (turned.length === 0) return '';
  const which = turned.map(
    (f) =>
      `${f.name} carries EXIF orientation ${f.info.orientation} and is ${ORIENTATIONS[f.info.orientation!]} on reading, as viewers show it`,
  );
  return `; ${which.join('; ')}: if the mask was drawn on the stored pixels, save the image without the orientation tag (e.g. exiftool -Orientation#=1) or turn the mask to match`;
}

/** The problem of a mask whose size differs from its image's, or undefined when they match. */
export function sizeMismatch(
  mask: { name: string; info: Pick<ImageInfo, 'width' | 'height' | 'orientation'> },
  image: { name: string; info: Pick<ImageInfo, 'width' | 'height' | 'orientation'> },
): string | undefined {
  if (mask.info.width === image.info.width && mask.info.height === image.info.height) return undefined;
  return `${mask.name} is ${mask.info.width}×${mask.info.height} but ${image.name} is ${image.info.width}×${image.info.height}${orientationHint([image, mask])}`;
}

/**
 * The problem of images whose channel counts differ, naming the odd ones (the first few and a
 * count) against the most common count; undefined when they agree.
 */
export function mixedChannels(images: readonly { name: string; channels: number }[]): string | undefined {
  const groups = new Map<number, string[]>();
  for (const { name, channels } of images) groups.set(channels, [...(groups.get(channels) ?? []), name]);
  if (groups.size <= 1) return undefined;
  const sorted = [...groups].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
  const [common, commonNames] = sorted[0];
  const odd = sorted.slice(1).map(([channels, names]) => {
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? `, … (${names.length} in all)` : '');
    return `${plural(names.length, 'image')} ${names.length === 1 ? 'has' : 'have'} ${plural(channels, 'channel')} (${shown})`;
  });
  return (
    `the images mix ${[...groups.keys()].sort((a, b) => a - b).join(' and ')} channels: ${odd.join('; ')}, while ${commonNames.length} ${commonNames.length === 1 ? 'has' : 'have'} ${common}; ` +
    `convert them to one kind (all gray or all RGB), or choose the channels to use with --channels (e.g. --channels 0)`
  );
}

/** Whether a pair can be decoded: it has a mask, both headers read fine and their sizes match. */
export function decodable(pair: ImagePair): boolean {
  if (!pair.maskPath || !pair.imageInfo || !pair.maskInfo) return false;
  return !sizeMismatch({ name: '', info: pair.maskInfo }, { name: '', info: pair.imageInfo });
}

/** A file's header, or the user-facing problem with it (other errors are bugs and propagate). */
async function headerOrProblem(path: string, name: string): Promise<ImageInfo | PyocyteError> {
  try {
    return await readImageInfo(path, { name });
  } catch (error) {
    if (error instanceof PyocyteError) return error;
    throw error;
  }
}

/** Reads every pair's headers (8 at a time), storing them on the pairs and pushing each unreadable file and size mismatch to `problems`. */
export async function checkPairFiles(pairs: ImagePair[], root: string, problems: string[]): Promise<void> {
  const rel = (path: string) => path.slice(root.length + 1);
  const found = await mapPool(pairs, 8, async (pair) => {
    const [image, mask, instances] = await Promise.all([
      headerOrProblem(pair.imagePath, rel(pair.imagePath)),
      pair.maskPath ? headerOrProblem(pair.maskPath, rel(pair.maskPath)) : undefined,
      pair.instancesPath ? headerOrProblem(pair.instancesPath, rel(pair.instancesPath)) : undefined,
    ]);
    const messages = [image, mask, instances].filter((r) => r instanceof PyocyteError).map((r) => r.message);
    if (instances && !(instances instanceof PyocyteError) && !(image instanceof PyocyteError)) {
      const mismatch = sizeMismatch({ name: rel(pair.instancesPath!), info: instances }, { name: rel(pair.imagePath), info: image });
      if (mismatch) messages.push(mismatch);
    }
    if (!(image instanceof PyocyteError)) pair.imageInfo = image;
    if (mask && !(mask instanceof PyocyteError)) pair.maskInfo = mask;
    if (pair.imageInfo && pair.maskInfo) {
      const mismatch = sizeMismatch(
        { name: rel(pair.maskPath!), info: pair.maskInfo },
        { name: rel(pair.imagePath), info: pair.imageInfo },
      );
      if (mismatch) messages.push(mismatch);
    }
    return messages;
  });
  for (const messages of found) problems.push(...messages);
}
