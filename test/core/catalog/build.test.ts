import { describe, expect, it } from 'vitest';
import { buildCatalogue, type BuildInput, type BuildOptions } from '../../../src-main/core/catalog/build.js';
import { prepareFrame, validateDetectOptions, type DetectOptions } from '../../../src-main/core/detect.js';
import { DirichletPsf } from '../../../src-main/core/psf/dirichlet.js';
import { GaussianPsf } from '../../../src-main/core/psf/gaussian.js';
import { MoffatPsf } from '../../../src-main/core/psf/moffat.js';
import type { Psf } from '../../../src-main/core/psf/types.js';
import { simulate } from '../../../src-main/core/simulate.js';
import { BackgroundBasis, type BackgroundKind } from '../../../src-main/core/solver/background.js';
import { solveCpgd, type ParticleInit } from '../../../src-main/core/solver/cpgd.js';
import { buildCatalogueReference } from './build.reference.js';

/** The input buildCatalogue gets in detect(): CPGD's particles and background on a one-tile image. */
function cpgdInput(width: number, height: number, frame: Float64Array, options: DetectOptions): { input: BuildInput; mergeRadius: number } {
  const o = validateDetectOptions(options);
  const prep = prepareFrame({ width, height, data: frame }, o);
  expect(prep.tiles).toHaveLength(1);
  const background = prep.background === 'none' ? null : new BackgroundBasis(prep.background, width, height);
  const problem = { width, height, data: prep.data, weights: prep.weights, psf: o.psf, lambda: prep.lambda, background, signed: o.signed };
  const res = solveCpgd(problem, o.cpgd);
  const input = { ...problem, backgroundCoefficients: res.backgroundCoefficients, particles: res.particles };
  return { input, mergeRadius: o.mergeRadius };
}

/** Truth positions as particles, each split in two (as CPGD leaves them), over a known background. */
function splitParticles(psf: Psf, width: number, height: number, kind: BackgroundKind, seed: number): BuildInput {
  const sim = simulate({ kind: 'stars', width, height, count: 40, psf, seed, readNoise: 5, background: 100, backgroundGradient: 0.2, margin: 0 });
  const particles: ParticleInit[] = [];
  for (const t of sim.truth) {
    // Within the merge radius (merged at once) for some, beyond it (merged after refinement, if
    // it pulls them together) for others.
    const d = t.id % 2 === 0 ? 0.3 : 1.2;
    particles.push({ x: t.x - d / 2, y: height === 1 ? 0 : t.y, a: 0.4 * t.flux }, { x: t.x + d / 2, y: height === 1 ? 0 : t.y + 0.1, a: 0.5 * t.flux });
  }
  const data = sim.frames[0];
  const weights = new Float64Array(width * height).fill(1 / 150);
  // Masked pixels (a saturated column, NaN in the image) carry no weight.
  for (let y = 0; y < height; y++) weights[y * width + 7] = 0;
  const background = kind === 'none' ? null : new BackgroundBasis(kind, width, height);
  const coefficients = new Float64Array(background ? background.size : 0);
  if (background) coefficients[0] = 100;
  return { width, height, data, weights, psf, background, backgroundCoefficients: coefficients, particles };
}

function expectSameCatalogue(input: BuildInput, options: BuildOptions, minSources: number): void {
  const ref = buildCatalogueReference(input, options);
  // The reference refines every source in every sweep, as settleTolerance 0 does.
  const fast = buildCatalogue(input, { ...options, settleTolerance: 0 });
  expect(ref.length).toBeGreaterThanOrEqual(minSources);
  // Errors are finite where the reference's are: a comparison of NaN with NaN proves nothing.
  expect(ref.filter((s) => Number.isFinite(s.xErr) && Number.isFinite(s.fluxErr)).length).toBeGreaterThanOrEqual(minSources);
  // Every sum keeps its pixel order and operations: the same catalogue to the bit.
  expect(fast).toEqual(ref);
}

describe('buildCatalogue', () => {
  it('gives the reference catalogue to the bit on a crowded star field (CPGD particles, plane background)', () => {
    const psf = new GaussianPsf(1.5);
    const sim = simulate({ kind: 'stars', width: 200, height: 200, count: 150, psf, seed: 1, readNoise: 5, background: 200, backgroundGradient: 0.1 });
    const { input, mergeRadius } = cpgdInput(200, 200, sim.frames[0], { psf });
    expectSameCatalogue(input, { mergeRadius }, 120);
  });

  it('skips settled sources and stays within 2 % of its errors of the catalogue that refines every source', () => {
    const psf = new GaussianPsf(1.5);
    for (const seed of [1, 2]) {
      const sim = simulate({ kind: 'stars', width: 200, height: 200, count: 150, psf, seed, readNoise: 5, background: 200, backgroundGradient: 0.1 });
      const { input, mergeRadius } = cpgdInput(200, 200, sim.frames[0], { psf });
      const every = buildCatalogue(input, { mergeRadius, settleTolerance: 0 });
      const settled = buildCatalogue(input, { mergeRadius });
      expect(settled.length).toBe(every.length);
      expect(every.length).toBeGreaterThan(120);
      let worst = 0;
      let moved = 0;
      for (let i = 0; i < every.length; i++) {
        const e = every[i];
        const s = settled[i];
        const d = Math.max(Math.abs(s.x - e.x) / e.xErr, Math.abs(s.y - e.y) / e.yErr, Math.abs(s.flux - e.flux) / e.fluxErr);
        worst = Math.max(worst, d);
        if (d > 0) moved++;
      }
      expect(worst).toBeLessThan(0.02);
      // Skipping happened: some sources kept their state from an earlier sweep.
      expect(moved).toBeGreaterThan(0);
    }
  });

  it('gives the reference catalogue to the bit on an SMLM frame (CPGD particles, constant background)', () => {
    const psf = new GaussianPsf(1.1);
    const sim = simulate({ kind: 'smlm', width: 64, height: 64, count: 35, frames: 2, psf, seed: 5, gain: 2, offset: 100, background: 40 });
    for (const frame of sim.frames) {
      const { input, mergeRadius } = cpgdInput(64, 64, frame, { psf, noise: { gain: 2, offset: 100 } });
      expectSameCatalogue(input, { mergeRadius }, 20);
    }
  });

  it('gives the reference catalogue to the bit for every background model, masked pixels and split particles', () => {
    const psf = new GaussianPsf(1.3);
    for (const kind of ['none', 'constant', 'plane', 'surface'] as const) expectSameCatalogue(splitParticles(psf, 80, 72, kind, 3), {}, 30);
    expectSameCatalogue(splitParticles(psf, 80, 72, 'plane', 4), { refineSweeps: 3, mergeRadius: 1.5 }, 30);
    expectSameCatalogue(splitParticles(psf, 80, 72, 'plane', 4), { refineSweeps: 0 }, 30);
  });

  it('gives the reference catalogue to the bit with a non-separable PSF, a 1-D PSF and signed sources', () => {
    expectSameCatalogue(splitParticles(new MoffatPsf(2.5, 3.5), 80, 72, 'plane', 5), {}, 30);
    expectSameCatalogue(splitParticles(new DirichletPsf(20, 128, 1), 128, 1, 'constant', 6), {}, 10);
    const signed = splitParticles(new GaussianPsf(1.3), 80, 72, 'plane', 7);
    signed.particles = signed.particles.map((p, i) => (i % 6 < 2 ? { ...p, a: 0.1 * p.a, sign: -1 } : p));
    expectSameCatalogue(signed, {}, 25);
  });
});
