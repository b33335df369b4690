import type { Random } from '../util/random.js';
import { randomBlob, type Blob, type Capsule } from './shapes.js';
import { sampleStain, type Stain } from './stain.js';

/**
 * The geometry and stain of one synthetic smear, drawn from a seeded generator. Sizes are
 * chosen in micrometres and converted with the pixel size, so a neutrophil is ≈ 10–14 µm
 * across at any resolution.
 */

/** What the scene sampler needs, already validated and with defaults applied. */
export interface SceneSettings {
  width: number;
  height: number;
  pixelSizeUm: number;
  cellCount: [number, number];
  redCellCount: [number, number];
  touchingFraction: number;
  clumpCount: [number, number];
  blurSigmaPx: [number, number];
  illumination: number;
}

/** A pus cell (neutrophil): a slightly irregular disc with 2–5 nuclear lobes joined by thin strands. */
export interface PusCell {
  outline: Blob;
  lobes: Blob[];
  strands: Capsule[];
  /** Multiplies the image's cytoplasm stain (cells take up stain unevenly). */
  cytoplasmDensity: number;
}

/** A red cell: a pale pink disc with a paler centre. */
export interface RedCell {
  outline: Blob;
  /** How much paler the centre is (0 flat … 1 empty centre). */
  pallor: number;
  density: number;
}

/** A small stained object that is background in the masks: speck, fragment, coccus, rod or fibre segment. */
export interface Mark {
  shape: { kind: 'blob'; blob: Blob } | { kind: 'capsule'; capsule: Capsule };
  purple: number;
  pink: number;
}

/** Everything drawn in one image. */
export interface Scene {
  cells: PusCell[];
  redCells: RedCell[];
  marks: Mark[];
  /** Fibres are chains of capsules painted as one stroke each. */
  fibres: Mark[][];
  stain: Stain;
}

/** The field of view of the default image (512 × 384 at 0.25 µm/px), in µm²: counts scale with area. */
export const REFERENCE_AREA_UM2 = 128 * 96;

const jitter = (random: Random, value: number, relative: number) => value * (1 + random.uniform(-relative, relative));

/** Draws a scene; the generator's streams are forked per layer so layers vary independently. */
export function sampleScene(random: Random, settings: SceneSettings): Scene {
  const cells = samplePusCells(random.fork(1), settings);
  addClumps(random.fork(5), settings, cells);
  const redCells = sampleRedCells(random.fork(2), settings, cells);
  const { marks, fibres } = sampleDebris(random.fork(3), settings);
  const stain = sampleStain(random.fork(4), settings);
  return { cells, redCells, marks, fibres, stain };
}

/** Cells per clump, inclusive: clumps are what distance-transform watershed splits worst. */
const CLUMP_SIZE: [number, number] = [2, 6];

/**
 * Adds clumps of 2–6 pus cells, each pressed into one or two members of its clump with up to a
 * quarter of their radii overlapping (more than pairs elsewhere), clear of all other cells. Every
 * cell keeps its own outline, so the instance labels stay one id per cell.
 */
function addClumps(random: Random, settings: SceneSettings, cells: PusCell[]): void {
  const { width, height, pixelSizeUm } = settings;
  const scale = 1 / pixelSizeUm;
  const clumps = random.int(settings.clumpCount[0], settings.clumpCount[1] + 1);
  for (let c = 0; c < clumps; c++) {
    const size = random.int(CLUMP_SIZE[0], CLUMP_SIZE[1] + 1);
    const members: PusCell[] = [];
    for (let attempt = 0; attempt < 400 && members.length < size; attempt++) {
      const radius = random.uniform(5, 7) * scale;
      let x = random.uniform(0, width);
      let y = random.uniform(0, height);
      if (members.length > 0) {
        const other = members[random.int(0, members.length)].outline;
        const angle = random.uniform(0, 2 * Math.PI);
        const distance = (other.radius + radius) * random.uniform(0.72, 0.9);
        x = other.centerX + distance * Math.cos(angle);
        y = other.centerY + distance * Math.sin(angle);
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
      }
      const gap = (cell: PusCell) => Math.hypot(cell.outline.centerX - x, cell.outline.centerY - y) - cell.outline.radius - radius;
      // Overlap at most 28% of the radii sum, so no cell hides most of another.
      const fits =
        members.every((cell) => gap(cell) > -0.28 * (cell.outline.radius + radius)) &&
        cells.every((cell) => members.includes(cell) || gap(cell) > 2);
      if (!fits) continue;
      const cell = samplePusCell(random, x, y, radius, scale);
      members.push(cell);
      cells.push(cell);
    }
  }
}

function samplePusCells(random: Random, settings: SceneSettings): PusCell[] {
  const { width, height, pixelSizeUm, touchingFraction } = settings;
  const scale = 1 / pixelSizeUm;
  const target = random.int(settings.cellCount[0], settings.cellCount[1] + 1);
  const cells: PusCell[] = [];
  for (let n = 0; n < target; n++) {
    const radius = random.uniform(5, 7) * scale;
    const touching = cells.length > 0 && random.chance(touchingFraction);
    for (let attempt = 0; attempt < 60; attempt++) {
      let x: number;
      let y: number;
      if (touching) {
        const other = cells[random.int(0, cells.length)].outline;
        const angle = random.uniform(0, 2 * Math.PI);
        // Centres closer than the radii sum, so the outlines overlap and press into a flat contact.
        const distance = (other.radius + radius) * random.uniform(0.84, 0.93);
        x = other.centerX + distance * Math.cos(angle);
        y = other.centerY + distance * Math.sin(angle);
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
      } else {
        x = random.uniform(0, width);
        y = random.uniform(0, height);
      }
      // A pressed cell may overlap its neighbours a little (never engulf them); a free one keeps a gap.
      const fits = cells.every((cell) => {
        const gap = Math.hypot(cell.outline.centerX - x, cell.outline.centerY - y) - cell.outline.radius - radius;
        return touching ? gap > -0.17 * (cell.outline.radius + radius) : gap > 2;
      });
      if (!fits) continue;
      cells.push(samplePusCell(random, x, y, radius, scale));
      break;
    }
  }
  return cells;
}

const LOBE_SIZE_BY_COUNT: Record<number, number> = { 2: 1.2, 3: 1.05, 4: 0.92, 5: 0.82 };

function samplePusCell(random: Random, centerX: number, centerY: number, radius: number, scale: number): PusCell {
  const outline = randomBlob(random, centerX, centerY, radius, [0.07, 0.035, 0.025, 0.015, 0.01, 0.008, 0.008, 0.006]);
  const roll = random.next();
  const lobeCount = roll < 0.2 ? 2 : roll < 0.6 ? 3 : roll < 0.9 ? 4 : 5;
  const lobeRadius = radius * random.uniform(0.23, 0.28) * LOBE_SIZE_BY_COUNT[lobeCount];
  // Lobes sit on an arc around (roughly) the cell centre: the horseshoe/chain shape of a neutrophil nucleus.
  const offsetAngle = random.uniform(0, 2 * Math.PI);
  const offset = random.uniform(0, 0.1) * radius;
  const arcX = centerX + offset * Math.cos(offsetAngle);
  const arcY = centerY + offset * Math.sin(offsetAngle);
  const maxArc = radius * 0.9 * (1 - outline.roughness) - offset - lobeRadius * 1.25;
  const arcRadius = Math.min(radius * random.uniform(0.38, 0.5), maxArc);
  // Consecutive lobes about one diameter apart: touching, or a little apart and joined by a strand.
  const chord = lobeRadius * random.uniform(1.8, 2.6);
  const step = Math.min(2 * Math.asin(Math.min(1, chord / (2 * arcRadius))), 5 / (lobeCount - 1)) * (random.chance(0.5) ? 1 : -1);
  const start = random.uniform(0, 2 * Math.PI);
  const lobes: Blob[] = [];
  for (let k = 0; k < lobeCount; k++) {
    const angle = start + k * step;
    const x = arcX + arcRadius * Math.cos(angle) + random.uniform(-0.04, 0.04) * radius;
    const y = arcY + arcRadius * Math.sin(angle) + random.uniform(-0.04, 0.04) * radius;
    lobes.push(randomBlob(random, x, y, jitter(random, lobeRadius, 0.12), [0.2, 0.06, 0.03]));
  }
  const strands: Capsule[] = [];
  for (let k = 0; k + 1 < lobeCount; k++) {
    strands.push({
      x0: lobes[k].centerX,
      y0: lobes[k].centerY,
      x1: lobes[k + 1].centerX,
      y1: lobes[k + 1].centerY,
      halfWidth: random.uniform(0.12, 0.25) * scale,
    });
  }
  return { outline, lobes, strands, cytoplasmDensity: random.uniform(0.8, 1.2) };
}

function sampleRedCells(random: Random, settings: SceneSettings, cells: PusCell[]): RedCell[] {
  const { width, height, pixelSizeUm } = settings;
  const scale = 1 / pixelSizeUm;
  const target = random.int(settings.redCellCount[0], settings.redCellCount[1] + 1);
  const redCells: RedCell[] = [];
  for (let n = 0; n < target; n++) {
    const radius = random.uniform(3.4, 4.1) * scale;
    for (let attempt = 0; attempt < 40; attempt++) {
      let x = random.uniform(-radius / 2, width + radius / 2);
      let y = random.uniform(-radius / 2, height + radius / 2);
      if (cells.length > 0 && random.chance(0.3)) {
        // Some red cells lean on a pus cell: the hard cases for the outline.
        const cell = cells[random.int(0, cells.length)].outline;
        const angle = random.uniform(0, 2 * Math.PI);
        const distance = cell.radius + radius * random.uniform(0.55, 1.05);
        x = cell.centerX + distance * Math.cos(angle);
        y = cell.centerY + distance * Math.sin(angle);
      }
      const clearOfPus = cells.every(
        (cell) => Math.hypot(cell.outline.centerX - x, cell.outline.centerY - y) > cell.outline.radius + 0.5 * radius,
      );
      const clearOfRed = redCells.every(
        (red) => Math.hypot(red.outline.centerX - x, red.outline.centerY - y) > 0.8 * (red.outline.radius + radius),
      );
      if (!clearOfPus || !clearOfRed) continue;
      redCells.push({
        outline: randomBlob(random, x, y, radius, [0.07, 0.02, 0.012, 0.01, 0.008]),
        pallor: random.uniform(0.4, 0.75),
        density: random.uniform(0.8, 1.15),
      });
      break;
    }
  }
  return redCells;
}

function sampleDebris(random: Random, settings: SceneSettings): { marks: Mark[]; fibres: Mark[][] } {
  const { width, height, pixelSizeUm } = settings;
  const scale = 1 / pixelSizeUm;
  const areaFactor = (width * height * pixelSizeUm * pixelSizeUm) / REFERENCE_AREA_UM2;
  const count = (low: number, high: number) => Math.round(random.uniform(low, high) * areaFactor);
  const blob = (x: number, y: number, radiusUm: number, amplitudes: number[]) =>
    ({ kind: 'blob', blob: randomBlob(random, x, y, radiusUm * scale, amplitudes) }) as const;
  const marks: Mark[] = [];
  for (let n = count(10, 50); n > 0; n--) {
    const shape = blob(random.uniform(0, width), random.uniform(0, height), random.uniform(0.12, 0.4), [0.2, 0.1]);
    marks.push({ shape, purple: random.uniform(0.6, 1.8), pink: random.uniform(0, 0.4) });
  }
  for (let n = count(2, 10); n > 0; n--) {
    // Nuclear debris and cell fragments: lobe-sized, dark or pink, but with no cell around them.
    const shape = blob(random.uniform(0, width), random.uniform(0, height), random.uniform(0.6, 1.6), [0.25, 0.15, 0.1, 0.05]);
    const dark = random.chance(0.6);
    marks.push({ shape, purple: dark ? random.uniform(0.6, 1.4) : random.uniform(0.1, 0.4), pink: random.uniform(0.2, 0.8) });
  }
  for (let n = count(0, 6); n > 0; n--) sampleBacteria(random, settings, marks);
  const fibres: Mark[][] = [];
  for (let n = count(0, 4); n > 0; n--) {
    let x = random.uniform(0, width);
    let y = random.uniform(0, height);
    let heading = random.uniform(0, 2 * Math.PI);
    const halfWidth = random.uniform(0.3, 1) * scale;
    const pink = random.uniform(0.08, 0.25);
    const purple = random.uniform(0, 0.06);
    const fibre: Mark[] = [];
    for (let length = random.uniform(20, 80) * scale; length > 0; length -= 2 * scale) {
      heading += random.uniform(-0.25, 0.25);
      const x1 = x + 2 * scale * Math.cos(heading);
      const y1 = y + 2 * scale * Math.sin(heading);
      fibre.push({ shape: { kind: 'capsule', capsule: { x0: x, y0: y, x1, y1, halfWidth } }, purple, pink });
      x = x1;
      y = y1;
    }
    fibres.push(fibre);
  }
  return { marks, fibres };
}

function sampleBacteria(random: Random, settings: SceneSettings, marks: Mark[]): void {
  const scale = 1 / settings.pixelSizeUm;
  // Gram-positive stain purple, Gram-negative pink.
  const positive = random.chance(0.5);
  const purple = positive ? random.uniform(1.3, 2) : random.uniform(0.2, 0.4);
  const pink = positive ? random.uniform(0, 0.2) : random.uniform(1.4, 2.2);
  let x = random.uniform(0, settings.width);
  let y = random.uniform(0, settings.height);
  const members = random.int(1, 12);
  if (random.chance(0.5)) {
    const radius = random.uniform(0.4, 0.5) * scale;
    for (let m = 0; m < members; m++) {
      marks.push({ shape: { kind: 'blob', blob: randomBlob(random, x, y, radius, [0.08]) }, purple, pink });
      const angle = random.uniform(0, 2 * Math.PI);
      x += 2 * radius * Math.cos(angle);
      y += 2 * radius * Math.sin(angle);
    }
  } else {
    for (let m = 0; m < members; m++) {
      const length = random.uniform(1.5, 3) * scale;
      const angle = random.uniform(0, Math.PI);
      const cx = x + random.uniform(-3, 3) * scale;
      const cy = y + random.uniform(-3, 3) * scale;
      const dx = (length / 2) * Math.cos(angle);
      const dy = (length / 2) * Math.sin(angle);
      const halfWidth = random.uniform(0.35, 0.45) * scale;
      marks.push({ shape: { kind: 'capsule', capsule: { x0: cx - dx, y0: cy - dy, x1: cx + dx, y1: cy + dy, halfWidth } }, purple, pink });
    }
  }
}
