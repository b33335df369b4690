import type { Random } from '../util/random.js';
import type { SceneSettings } from './scene.js';

/**
 * The stain, lamp and optics of one synthetic smear: each image is stained and photographed a
 * little differently, as slides from different days and microscopes are.
 */

/** Stain densities and amounts, lamp colour, lens blur and illumination of one image. */
export interface Stain {
  /** Optical density per unit concentration, RGB, of the purple (azure/nuclear) and pink (eosin) stains. */
  purpleDensity: [number, number, number];
  pinkDensity: [number, number, number];
  /** Lamp colour, RGB in [0, 1], times `exposure`. */
  lamp: [number, number, number];
  exposure: number;
  backgroundPink: number;
  backgroundPurple: number;
  cytoplasmPink: number;
  cytoplasmPurple: number;
  nucleusPurple: number;
  nucleusPink: number;
  redCellPink: number;
  /** Relative amplitude of the cytoplasm's granules and the nuclei's chromatin clumps. */
  granularity: number;
  chromatin: number;
  /** Cytoplasm stain kept on the one-pixel seam where two pus cells touch. */
  seamFactor: number;
  blurSigmaPx: number;
  /** Illumination falloff: strength, vignette centre (pixels) and linear gradient per pixel. */
  illumination: { strength: number; centerX: number; centerY: number; gradientX: number; gradientY: number };
}

/** Draws the stain, lamp, blur and illumination of one image. */
export function sampleStain(random: Random, settings: SceneSettings): Stain {
  const tint = () => random.uniform(0.94, 1.06);
  const intensity = random.uniform(0.85, 1.15);
  const strength = settings.illumination * random.uniform(0.6, 1.2);
  const angle = random.uniform(0, 2 * Math.PI);
  const diagonal = Math.hypot(settings.width, settings.height);
  return {
    purpleDensity: [0.75 * tint(), 1.12 * tint(), 0.38 * tint()],
    pinkDensity: [0.13 * tint(), 0.4 * tint(), 0.3 * tint()],
    lamp: [1, random.uniform(0.94, 0.98), random.uniform(0.86, 0.93)],
    exposure: random.uniform(0.95, 1.02),
    backgroundPink: random.uniform(0.04, 0.16),
    backgroundPurple: random.uniform(0, 0.03),
    cytoplasmPink: random.uniform(0.15, 0.32) * intensity,
    cytoplasmPurple: random.uniform(0.12, 0.22) * intensity,
    nucleusPurple: random.uniform(1.3, 1.8) * intensity,
    nucleusPink: random.uniform(0.2, 0.5),
    redCellPink: random.uniform(0.9, 1.3),
    granularity: random.uniform(0.3, 0.6),
    chromatin: random.uniform(0.15, 0.35),
    seamFactor: random.uniform(0.55, 0.8),
    blurSigmaPx: random.uniform(settings.blurSigmaPx[0], settings.blurSigmaPx[1]),
    illumination: {
      strength,
      centerX: settings.width * random.uniform(0.3, 0.7),
      centerY: settings.height * random.uniform(0.3, 0.7),
      gradientX: (strength * 0.5 * Math.cos(angle)) / diagonal,
      gradientY: (strength * 0.5 * Math.sin(angle)) / diagonal,
    },
  };
}
