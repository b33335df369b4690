/**
 * The target value of pixels the losses skip (PyTorch's `ignore_index`): a ring around a weak
 * annotation where the cell's edge is unknown, an object nobody classified. Such pixels add
 * nothing to cross-entropy, focal or Dice, get a zero gradient, and are not counted in the
 * confusion counts; the pixel terms are averaged over the other pixels. Class labels are 0..254.
 */
export const IGNORE_LABEL = 255;

/** `labels` `[H, W]` with ignored pixels as background (0): they are no object of any class. The array itself when it has none. */
export function withoutIgnored(labels: Uint8Array): Uint8Array {
  return labels.includes(IGNORE_LABEL) ? labels.map((c) => (c === IGNORE_LABEL ? 0 : c)) : labels;
}
