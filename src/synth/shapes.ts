import type { PlaneSize } from '../image/plane.js';
import type { Random } from '../util/random.js';

/**
 * Analytic outlines for the synthetic smear generator. Every shape answers "how far is this
 * pixel outside me" (a signed distance in pixels, negative inside), cheaply enough to be
 * evaluated for every pixel of its bounding box.
 */

/**
 * A star-shaped closed outline: `radius(θ) = radius · (1 + Σ_k a_k cos(kθ − φ_k))`, k = 2…K.
 * Harmonic 2 makes ovals, 3–5 lumpy shapes, 7–9 a slightly ragged membrane.
 */
export interface Blob {
  centerX: number;
  centerY: number;
  radius: number;
  /** `a_k cos φ_k` for k = 1…K (index k − 1); k = 1 is always 0 so the centre stays put. */
  cosTerms: Float64Array;
  /** `a_k sin φ_k` for k = 1…K. */
  sinTerms: Float64Array;
  /** Σ |a_k|: the outline lies within `radius · (1 ± roughness)`. */
  roughness: number;
}

/** A line segment with round caps and a half width: thin nuclear strands, rods, fibres. */
export interface Capsule {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  halfWidth: number;
}

/** An axis-aligned pixel box, inclusive bounds, already clipped to the image. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * A blob with random phases; `amplitudes[k - 2]` is the largest amplitude of harmonic k,
 * each drawn uniformly in [0, amplitude].
 */
export function randomBlob(random: Random, centerX: number, centerY: number, radius: number, amplitudes: readonly number[]): Blob {
  const harmonics = amplitudes.length + 1;
  const cosTerms = new Float64Array(harmonics);
  const sinTerms = new Float64Array(harmonics);
  let roughness = 0;
  for (let k = 2; k <= harmonics; k++) {
    const amplitude = random.uniform(0, amplitudes[k - 2]);
    const phase = random.uniform(0, 2 * Math.PI);
    cosTerms[k - 1] = amplitude * Math.cos(phase);
    sinTerms[k - 1] = amplitude * Math.sin(phase);
    roughness += amplitude;
  }
  return { centerX, centerY, radius, cosTerms, sinTerms, roughness };
}

/**
 * The outline's radius in the direction of `(dx, dy)` from its centre (`distance` = |(dx, dy)|).
 * Uses the angle-addition recurrence instead of atan2/cos per harmonic.
 */
export function blobRadiusToward(blob: Blob, dx: number, dy: number, distance: number): number {
  if (distance < 1e-9) return blob.radius;
  const c = dx / distance;
  const s = dy / distance;
  let cosK = c;
  let sinK = s;
  let sum = 1;
  const { cosTerms, sinTerms } = blob;
  for (let k = 1; k < cosTerms.length; k++) {
    const nextCos = cosK * c - sinK * s;
    sinK = sinK * c + cosK * s;
    cosK = nextCos;
    sum += cosTerms[k] * cosK + sinTerms[k] * sinK;
  }
  return blob.radius * sum;
}

/**
 * Signed distance (pixels, negative inside) from pixel centre `(x, y)` to the blob outline,
 * measured along the ray from the centre: exact for circles, close for mildly wavy outlines.
 */
export function blobSignedDistance(blob: Blob, x: number, y: number): number {
  const dx = x - blob.centerX;
  const dy = y - blob.centerY;
  const distance = Math.sqrt(dx * dx + dy * dy);
  return distance - blobRadiusToward(blob, dx, dy, distance);
}

/** Signed distance (pixels, negative inside) from `(x, y)` to a capsule. */
export function capsuleSignedDistance(capsule: Capsule, x: number, y: number): number {
  const ux = capsule.x1 - capsule.x0;
  const uy = capsule.y1 - capsule.y0;
  const lengthSquared = ux * ux + uy * uy;
  let t = lengthSquared > 0 ? ((x - capsule.x0) * ux + (y - capsule.y0) * uy) / lengthSquared : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const px = x - (capsule.x0 + t * ux);
  const py = y - (capsule.y0 + t * uy);
  return Math.sqrt(px * px + py * py) - capsule.halfWidth;
}

/** The blob's bounding box grown by `margin` pixels and clipped to an image of `size`; null when off-image. */
export function blobBox(blob: Blob, margin: number, size: PlaneSize): PixelBox | null {
  const extent = blob.radius * (1 + blob.roughness) + margin;
  return clipBox(blob.centerX - extent, blob.centerY - extent, blob.centerX + extent, blob.centerY + extent, size);
}

/** The capsule's bounding box grown by `margin` pixels and clipped; null when off-image. */
export function capsuleBox(capsule: Capsule, margin: number, size: PlaneSize): PixelBox | null {
  const extent = capsule.halfWidth + margin;
  return clipBox(
    Math.min(capsule.x0, capsule.x1) - extent,
    Math.min(capsule.y0, capsule.y1) - extent,
    Math.max(capsule.x0, capsule.x1) + extent,
    Math.max(capsule.y0, capsule.y1) + extent,
    size,
  );
}

function clipBox(left: number, top: number, right: number, bottom: number, size: PlaneSize): PixelBox | null {
  const x0 = Math.max(0, Math.floor(left));
  const y0 = Math.max(0, Math.floor(top));
  const x1 = Math.min(size.width - 1, Math.ceil(right));
  const y1 = Math.min(size.height - 1, Math.ceil(bottom));
  return x0 > x1 || y0 > y1 ? null : { x0, y0, x1, y1 };
}

/**
 * Calls `visit` for every pixel of the blob's box (grown by one pixel, clipped to `size`) with
 * the pixel's index `y·width + x`, the distance from the blob's centre to the pixel's centre and
 * the outline's radius in that direction: a pixel is inside where distance < radius.
 */
export function forEachBlobPixel(blob: Blob, size: PlaneSize, visit: (p: number, distance: number, radius: number) => void): void {
  const box = blobBox(blob, 1, size);
  if (!box) return;
  for (let y = box.y0; y <= box.y1; y++) {
    const dy = y + 0.5 - blob.centerY;
    for (let x = box.x0; x <= box.x1; x++) {
      const dx = x + 0.5 - blob.centerX;
      const distance = Math.sqrt(dx * dx + dy * dy);
      visit(y * size.width + x, distance, blobRadiusToward(blob, dx, dy, distance));
    }
  }
}

/**
 * Antialiased coverage of a pixel from its signed distance: a one-pixel linear ramp centred
 * on the outline, so a pixel whose centre is inside (distance < 0) is more than half covered —
 * the same pixels the hard masks mark.
 */
export function coverage(signedDistance: number): number {
  const value = 0.5 - signedDistance;
  return value <= 0 ? 0 : value >= 1 ? 1 : value;
}
