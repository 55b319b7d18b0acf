/** The PSF models of the core: interface, Gaussian, Moffat, Dirichlet, sampled stamps, specs. */
export { allocStamp, SeparablePsf } from './types.js';
export type { Psf, Stamp } from './types.js';
export { GaussianPsf } from './gaussian.js';
export { MoffatPsf } from './moffat.js';
export type { MoffatOptions } from './moffat.js';
export { DirichletPsf } from './dirichlet.js';
export { SampledPsf } from './sampled.js';
export type { SampledPsfOptions } from './sampled.js';
export { buildPsf, formatPsfSpec, parsePsfSpec } from './spec.js';
export type { BuildPsfOptions, PsfSpec } from './spec.js';
