/** Literal annotations and label grids shared by the annotation tests. */
import type { ImageAnnotations } from '../../../src/data/annotations/types.js';

/** Labels as rows of characters: `.` background, `x` ignore, digits classes. */
export function rows(labels: Uint8Array, width: number): string[] {
  const out: string[] = [];
  for (let y = 0; y < labels.length / width; y++) {
    out.push([...labels.slice(y * width, (y + 1) * width)].map((v) => (v === 0 ? '.' : v === 255 ? 'x' : String(v))).join(''));
  }
  return out;
}

/** The annotations of `a.png`: nothing but what `partial` gives. */
export const image = (partial: Partial<ImageAnnotations>): ImageAnnotations => ({
  image: 'a.png',
  boxes: [],
  points: [],
  polygons: [],
  ...partial,
});

/** One `point-rbc` click at (4, 4) of an 8×8 image. */
export const rbcPoint = image({ points: [{ image: 'a.png', label: 'point-rbc', x: 4, y: 4 }] });

/** Drawing options for 8×8 grids of pus (1) and rbc (2): points of radius 3 / 2, rings to 1.5×. */
export const pusRbcGrid = {
  width: 8,
  height: 8,
  classes: ['pus', 'rbc'],
  pointRadiusPx: { pus: 3, rbc: 2 },
  coreFraction: 0.75,
  pointRingFactor: 1.5,
};
