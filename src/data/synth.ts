/**
 * Synthetic 100× bright-field smears of pus (Giemsa-like stain) with exact masks: pyocyte's
 * built-in dataset for the demo and the tests, so no real data has to be committed.
 *
 * - {@link synthesizeSmear} draws one image with its binary, three-class and instance masks.
 * - {@link writeSyntheticDataset} writes a whole dataset folder (`pyocyte synth`).
 *
 * The implementation is split by job: synth-scene (what is where), synth-shapes (outlines),
 * synth-labels (hard masks), synth-render (stain, optics, camera), synth-noise (textures, blur),
 * synth-dataset (files).
 */
export { resolveSynthOptions, synthesizeSmear, type ResolvedSynthOptions, type SynthImage, type SynthOptions } from './synth-smear.js';
export { MASK_STYLES, splitCounts, writeSyntheticDataset, type MaskStyle, type SyntheticDataset, type SyntheticDatasetOptions } from './synth-dataset.js';
