// The PSF fit recovers the shape of simulated stars (known σ, FWHM, β) from the stars the
// proposer picks, with Poisson and read noise as the simulator draws them.
import { describe, expect, it } from 'vitest';
import { makeImage } from '../../../src-main/core/image.js';
import { fitPsf, proposeStars } from '../../../src-main/core/psf/fit.js';
import { GaussianPsf } from '../../../src-main/core/psf/gaussian.js';
import { MoffatPsf } from '../../../src-main/core/psf/moffat.js';
import type { Psf } from '../../../src-main/core/psf/types.js';
import { simulate } from '../../../src-main/core/simulate.js';

function field(psf: Psf, seed: number, count = 30) {
  const sim = simulate({ kind: 'stars', width: 160, height: 160, count, psf, seed, flux: [8000, 60000], background: 100 });
  return { image: makeImage(160, 160, Float64Array.from(sim.frames[0]!)), truth: sim.truth };
}

describe('PSF fit from stars', () => {
  it('proposes bright isolated stars near true positions', () => {
    const { image, truth } = field(new GaussianPsf(1.6), 11);
    const stars = proposeStars(image, { fwhm: 3.8 });
    expect(stars.length).toBeGreaterThanOrEqual(5);
    for (const s of stars) {
      const d = Math.min(...truth.map((t) => Math.hypot(t.x - s.x, t.y - s.y)));
      expect(d).toBeLessThan(1);
    }
    // Brightest first: the proposal starts with one of the brighter stars of the field.
    const nearest = (s: { x: number; y: number }) => truth.reduce((a, t) => (Math.hypot(t.x - s.x, t.y - s.y) < Math.hypot(a.x - s.x, a.y - s.y) ? t : a));
    const sortedFlux = truth.map((t) => t.flux).sort((a, b) => b - a);
    expect(nearest(stars[0]!).flux).toBeGreaterThanOrEqual(sortedFlux[Math.floor(truth.length / 3)]!);
  });

  it('recovers a Gaussian σ from a poor start', () => {
    const { image } = field(new GaussianPsf(1.8), 5);
    const stars = proposeStars(image, { fwhm: 4 });
    const r = fitPsf(image, 'gaussian', stars, { initial: { kind: 'gaussian', sigma: 1.2 } });
    expect(r.shape.kind).toBe('gaussian');
    expect(Math.abs((r.shape as { sigma: number }).sigma - 1.8)).toBeLessThan(0.03);
    expect(r.relativeResidual).toBeLessThan(0.1);
    // A blend that passed for an isolated star fits worse and is left out.
    expect(r.stars.length + r.rejected).toBe(stars.length);
    expect(r.stars.length).toBeGreaterThanOrEqual(5);
  });

  it('recovers a Moffat FWHM and β, and its residual beats a Gaussian fit', () => {
    const { image } = field(new MoffatPsf(4, 3), 8);
    const stars = proposeStars(image, { fwhm: 4 });
    const m = fitPsf(image, 'moffat', stars, { initial: { kind: 'moffat', fwhm: 3, beta: 2 } });
    const s = m.shape as { fwhm: number; beta: number };
    expect(Math.abs(s.fwhm - 4) / 4).toBeLessThan(0.04);
    expect(Math.abs(s.beta - 3) / 3).toBeLessThan(0.2);
    const g = fitPsf(image, 'gaussian', stars, { halfSize: m.boxes[0]!.size >> 1 });
    expect(m.relativeResidual).toBeLessThan(g.relativeResidual);
  });

  it('refuses stars too close to the edge to fit', () => {
    const { image } = field(new GaussianPsf(1.5), 3, 5);
    expect(() => fitPsf(image, 'gaussian', [{ x: 1, y: 1 }])).toThrow(/no star/);
  });
});
