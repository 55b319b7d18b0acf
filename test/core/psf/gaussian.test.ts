import { describe, expect, it } from 'vitest';
import { InvalidPsfError } from '../../../src-main/core/errors.js';
import { erf } from '../../../src-main/core/math.js';
import { GaussianPsf } from '../../../src-main/core/psf/gaussian.js';
import { centroid, gradientError, rng, stampOf, stampSum, symmetryError, valueAt } from './psf-checks.js';

describe('GaussianPsf', () => {
  const rand = rng(11);

  it('sums to 1 for sources at random sub-pixel positions (up to the documented truncation)', () => {
    for (const s of [0.6, 1.3, 2.7]) {
      const exact = new GaussianPsf(s, s, 9);
      const dflt = new GaussianPsf(s, 1.4 * s);
      for (let t = 0; t < 20; t++) {
        const x = 40 + rand();
        const y = 40 + rand();
        expect(Math.abs(stampSum(stampOf(exact, x, y)) - 1)).toBeLessThan(1e-12);
        // Default support: tapered to zero over the last σ before 4.5σ, removing below 1e-3 of
        // the flux per axis (as documented).
        const d = 1 - stampSum(stampOf(dflt, x, y));
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(2e-3);
      }
    }
  });

  it('is the pixel integral of the normal density: 1-D sum 1 and second moment σ² + 1/12', () => {
    for (const s of [1, 1.7, 3.2]) {
      const psf = new GaussianPsf(s, s, 10);
      const x = 30 + rand();
      const y = 30 + rand();
      const st = stampOf(psf, x, y);
      // Marginal over rows = the 1-D pixel-integrated profile along x.
      let m0 = 0;
      let m1 = 0;
      let m2 = 0;
      for (let i = 0; i < st.nx; i++) {
        let g = 0;
        for (let j = 0; j < st.ny; j++) g += st.v[j * st.nx + i];
        const u = st.x0 + i - x;
        m0 += g;
        m1 += g * u;
        m2 += g * u * u;
        // Each pixel holds ½[erf((u+½)/√2σ) − erf((u−½)/√2σ)] of the flux.
        expect(g).toBeCloseTo(0.5 * (erf((u + 0.5) / (Math.SQRT2 * s)) - erf((u - 0.5) / (Math.SQRT2 * s))), 14);
      }
      expect(Math.abs(m0 - 1)).toBeLessThan(1e-13);
      expect(Math.abs(m1)).toBeLessThan(1e-9);
      expect(Math.abs(m2 - (s * s + 1 / 12))).toBeLessThan(1e-8);
    }
  });

  it('has gradients equal to finite differences of its values', () => {
    for (const [sx, sy] of [[0.5, 0.5], [1.2, 2.1], [3, 3]]) {
      const psf = new GaussianPsf(sx, sy);
      for (let t = 0; t < 5; t++) {
        const { err, scale } = gradientError(psf, 50.13 + 0.7 * rand(), 50.21 + 0.5 * rand());
        expect(err).toBeLessThan(1e-8 * scale);
      }
    }
  });

  it('is symmetric about the source and centred on it', () => {
    const psf = new GaussianPsf(1.3, 1.3, 9);
    for (const kind of ['mirror-x', 'mirror-y', 'transpose'] as const) {
      expect(symmetryError(psf, 20, 20, 0.31, -0.17, kind)).toBeLessThan(1e-15);
    }
    const ell = new GaussianPsf(1.1, 2.2, 9);
    expect(symmetryError(ell, 20, 20, 0.31, -0.17, 'mirror-x')).toBeLessThan(1e-15);
    expect(symmetryError(ell, 20, 20, 0.31, -0.17, 'mirror-y')).toBeLessThan(1e-15);
    expect(symmetryError(ell, 20, 20, 0.31, -0.17, 'transpose')).toBeGreaterThan(1e-3);
    for (let t = 0; t < 10; t++) {
      const x = 20 + rand();
      const y = 20 + rand();
      const [cx, cy] = centroid(stampOf(ell, x, y));
      expect(Math.abs(cx - x)).toBeLessThan(1e-9);
      expect(Math.abs(cy - y)).toBeLessThan(1e-9);
    }
  });

  it('stamps a box of at most maxStampSide pixels containing the support', () => {
    const psf = new GaussianPsf(1.5, 0.8);
    const st = stampOf(psf, 10.5, 3.2);
    expect(st.nx).toBeLessThanOrEqual(psf.maxStampSide);
    expect(st.ny).toBeLessThanOrEqual(psf.maxStampSide);
    expect(valueAt(st, 10, 3)).toBeGreaterThan(0.05);
  });

  it('rejects bad widths with InvalidPsfError', () => {
    for (const s of [0, -1, NaN, Infinity, 500]) expect(() => new GaussianPsf(s)).toThrow(InvalidPsfError);
  });
});
