import { gaussianBlurPlane } from '../image/gaussian.js';
import type { PlaneSize } from '../image/plane.js';
import type { Random } from '../util/random.js';
import type { CellLayers } from './labels.js';
import { NormalSource, valueNoise } from './noise.js';
import type { Mark, Scene } from './scene.js';
import { blobBox, blobSignedDistance, capsuleBox, capsuleSignedDistance, coverage, forEachBlobPixel } from './shapes.js';

/**
 * Paints a scene as a bright-field photograph. Stains are concentration maps turned into
 * colour with the Beer–Lambert law (transmitted light = lamp · exp(−Σ density · concentration)),
 * so overlapping objects darken and mix like real dyes; then the lens blurs and the camera adds noise.
 */

/** What the camera does after the optics: noise standard deviation (8-bit grey levels, at full brightness). */
export interface CameraSettings {
  pixelSizeUm: number;
  noiseStd: number;
}

/** Renders the RGB image, `[H, W, 3]` 8-bit of the cells' size, from a scene and its already rasterised pus cells. */
export function renderImage(scene: Scene, cells: CellLayers, random: Random, camera: CameraSettings): Uint8Array {
  const { width, height } = cells;
  const size = width * height;
  const scale = 1 / camera.pixelSizeUm;
  const stain = scene.stain;
  const textures = random.fork(1);
  const mottleCoarse = valueNoise(cells, 20 * scale, textures);
  const mottleFine = valueNoise(cells, 6 * scale, textures);
  const granules = valueNoise(cells, 0.35 * scale, textures);
  const chromatin = valueNoise(cells, 0.7 * scale, textures);

  const pink = new Float32Array(size);
  const purple = new Float32Array(size);
  for (let p = 0; p < size; p++) {
    pink[p] = stain.backgroundPink * Math.max(0, 1 + 0.6 * mottleCoarse[p] + 0.3 * mottleFine[p]);
    purple[p] = stain.backgroundPurple * Math.max(0, 1 + 0.8 * mottleFine[p]);
  }
  paintFibres(scene.fibres, cells, pink, purple);
  paintRedCells(scene, cells, pink, mottleFine);
  const { cytoplasm, nucleus } = cells;
  for (let p = 0; p < size; p++) {
    const cover = cytoplasm[p];
    if (cover > 0) {
      const grain = granules[p];
      pink[p] += cover * stain.cytoplasmPink * (1 + 0.4 * stain.granularity * grain);
      purple[p] += cover * stain.cytoplasmPurple * (1 + 1.6 * stain.granularity * grain);
    }
    const core = nucleus[p];
    if (core > 0) {
      purple[p] += core * stain.nucleusPurple * (1 + stain.chromatin * chromatin[p]);
      pink[p] += core * stain.nucleusPink;
    }
  }
  for (const mark of scene.marks) paintMark(mark, cells, pink, purple);

  const red = new Float32Array(size);
  const green = new Float32Array(size);
  const blue = new Float32Array(size);
  const { strength, centerX, centerY, gradientX, gradientY } = stain.illumination;
  const falloff = strength / ((width * width + height * height) / 4);
  const [pinkR, pinkG, pinkB] = stain.pinkDensity;
  const [purpleR, purpleG, purpleB] = stain.purpleDensity;
  const lampR = 255 * stain.exposure * stain.lamp[0];
  const lampG = 255 * stain.exposure * stain.lamp[1];
  const lampB = 255 * stain.exposure * stain.lamp[2];
  for (let y = 0; y < height; y++) {
    const ry = y - centerY;
    const rowLight = gradientY * (y - height / 2);
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const rx = x - centerX;
      const light = Math.max(0.3, 1 - falloff * (rx * rx + ry * ry) + gradientX * (x - width / 2) + rowLight);
      const a = pink[p];
      const b = purple[p];
      red[p] = lampR * light * Math.exp(-(a * pinkR + b * purpleR));
      green[p] = lampG * light * Math.exp(-(a * pinkG + b * purpleG));
      blue[p] = lampB * light * Math.exp(-(a * pinkB + b * purpleB));
    }
  }
  // The stain maps are spent: reuse one as the blur's scratch plane.
  for (const plane of [red, green, blue]) gaussianBlurPlane({ width, height, data: plane }, stain.blurSigmaPx, pink);

  // Shot noise grows with brightness, read noise does not: variance = std² · (0.3 + 0.7 · I / 255).
  const normal = new NormalSource(random.fork(2));
  const readVariance = 0.3 * camera.noiseStd * camera.noiseStd;
  const shotVariance = (0.7 * camera.noiseStd * camera.noiseStd) / 255;
  const image = new Uint8Array(size * 3);
  const planes = [red, green, blue];
  const draws = new Float32Array(size);
  for (let c = 0; c < 3; c++) {
    const plane = planes[c];
    normal.fill(draws);
    for (let p = 0; p < size; p++) {
      const value = plane[p];
      const noisy = value + draws[p] * Math.sqrt(readVariance + shotVariance * (value > 0 ? value : 0));
      image[p * 3 + c] = noisy <= 0 ? 0 : noisy >= 255 ? 255 : Math.round(noisy);
    }
  }
  return image;
}

/** Red cells: pink discs, paler in the middle and a little denser at the rim (the biconcave look). */
function paintRedCells(scene: Scene, size: PlaneSize, pink: Float32Array, mottle: Float32Array): void {
  const base = scene.stain.redCellPink;
  for (const red of scene.redCells) {
    forEachBlobPixel(red.outline, size, (p, distance, radius) => {
      const cover = coverage(distance - radius);
      if (cover === 0) return;
      const relative = distance / radius;
      const rim = (relative - 0.8) / 0.14;
      const pale = (relative * relative) / 0.2;
      const profile = 1 - red.pallor * Math.exp(-pale * pale) + 0.15 * Math.exp(-rim * rim);
      pink[p] += cover * base * red.density * profile * (1 + 0.06 * mottle[p]);
    });
  }
}

function markDistance(mark: Mark, x: number, y: number): number {
  return mark.shape.kind === 'blob' ? blobSignedDistance(mark.shape.blob, x, y) : capsuleSignedDistance(mark.shape.capsule, x, y);
}

function markBox(mark: Mark, size: PlaneSize) {
  return mark.shape.kind === 'blob' ? blobBox(mark.shape.blob, 1, size) : capsuleBox(mark.shape.capsule, 1, size);
}

/** Adds one small object's stain: debris and bacteria sit on top of whatever is there. */
function paintMark(mark: Mark, size: PlaneSize, pink: Float32Array, purple: Float32Array): void {
  const { width } = size;
  const box = markBox(mark, size);
  if (!box) return;
  for (let y = box.y0; y <= box.y1; y++) {
    for (let x = box.x0; x <= box.x1; x++) {
      const cover = coverage(markDistance(mark, x + 0.5, y + 0.5));
      if (cover === 0) continue;
      pink[y * width + x] += cover * mark.pink;
      purple[y * width + x] += cover * mark.purple;
    }
  }
}

/** Fibres are chains of overlapping capsules; each is painted as one stroke (max, not sum, over its segments). */
function paintFibres(fibres: Mark[][], size: PlaneSize, pink: Float32Array, purple: Float32Array): void {
  if (fibres.length === 0) return;
  const { width } = size;
  const stroke = new Float32Array(pink.length);
  for (const fibre of fibres) {
    if (fibre.length === 0) continue;
    const touched: number[] = [];
    for (const segment of fibre) {
      const box = markBox(segment, size);
      if (!box) continue;
      for (let y = box.y0; y <= box.y1; y++) {
        for (let x = box.x0; x <= box.x1; x++) {
          const cover = coverage(markDistance(segment, x + 0.5, y + 0.5));
          const p = y * width + x;
          if (cover <= stroke[p]) continue;
          if (stroke[p] === 0) touched.push(p);
          stroke[p] = cover;
        }
      }
    }
    const { pink: fibrePink, purple: fibrePurple } = fibre[0];
    for (const p of touched) {
      pink[p] += stroke[p] * fibrePink;
      purple[p] += stroke[p] * fibrePurple;
      stroke[p] = 0;
    }
  }
}
