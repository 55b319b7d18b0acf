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

  /** The tapered pixel profile and its derivative in c from erf and the taper formula, pixel by pixel. */
  function direct(s: number, psf: GaussianPsf, c: number, p: number): [number, number] {
    const r = psf.radius;
    const tw = r / psf.truncation;
    const t0 = r - tw;
    const u = p - c;
    const a = Math.abs(u);
    if (a >= r) return [0, 0];
    const G = 0.5 * (erf((u + 0.5) / (Math.SQRT2 * s)) - erf((u - 0.5) / (Math.SQRT2 * s)));
    const N = (w: number) => Math.exp((-0.5 * w * w) / (s * s)) / (Math.sqrt(2 * Math.PI) * s);
    const dG = N(u - 0.5) - N(u + 0.5);
    if (a <= t0) return [G, dG];
    const ph = (Math.PI * (a - t0)) / tw;
    const T = 0.5 * (1 + Math.cos(ph));
    const dT = ((0.5 * Math.PI) / tw) * Math.sin(ph) * Math.sign(u);
    return [T * G, T * dG + dT * G];
  }

  it('matches erf and the taper formula (values within 5e-13, derivatives within 1e-10 of the peak density) for widths 0.1 to 200 px', () => {
    const cases: [number, number, number][] = [[0.1, 0.1, 4.5], [0.3, 0.3, 4.5], [0.6, 0.84, 4.5], [1.1, 1.1, 4.5], [1.5, 2.2, 4.5], [3, 3, 2], [1.3, 1.3, 9], [17, 17, 3.3], [200, 200, 4.5]];
    for (const [sx, sy, tr] of cases) {
      const psf = new GaussianPsf(sx, sy, tr);
      const n = psf.maxStampSide + 2;
      const val = new Float64Array(n);
      const der = new Float64Array(n);
      for (let t = 0; t < 40; t++) {
        const axis = (t & 1) as 0 | 1;
        const s = axis === 0 ? sx : sy;
        const c = 37 + 2 * rand();
        const p0 = Math.ceil(c - psf.radius) - 1;
        psf.axisProfile(axis, c, p0, n, val, der);
        let dv = 0;
        let dd = 0;
        for (let k = 0; k < n; k++) {
          const [v, d] = direct(s, psf, c, p0 + k);
          dv = Math.max(dv, Math.abs(val[k] - v));
          dd = Math.max(dd, Math.abs(der[k] - d));
        }
        expect(dv).toBeLessThan(5e-13);
        // Relative to the density's peak 1/√(2π)σ, which bounds the derivative.
        expect(dd).toBeLessThan(1e-10 / (Math.sqrt(2 * Math.PI) * s));
      }
    }
  });

  it('has derivatives that are the derivatives of its values, smooth across table nodes (central differences, h = 1e-5 and 1e-3)', () => {
    for (const s of [0.4, 1.1, 2.5]) {
      const psf = new GaussianPsf(s);
      const n = psf.maxStampSide + 2;
      const [v0, d0, vp, dp, vm, dm] = Array.from({ length: 6 }, () => new Float64Array(n));
      for (let t = 0; t < 50; t++) {
        const c = 20 + rand();
        const p0 = Math.ceil(c - psf.radius) - 1;
        psf.axisProfile(0, c, p0, n, v0, d0);
        // Values: a central difference of step h errs by h²/6 times the third derivative (below
        // 1e-10 here) plus rounding.
        let h = 1e-5;
        psf.axisProfile(0, c + h, p0, n, vp, dp);
        psf.axisProfile(0, c - h, p0, n, vm, dm);
        let dmax = 0;
        for (let k = 0; k < n; k++) dmax = Math.max(dmax, Math.abs(d0[k]));
        for (let k = 0; k < n; k++) expect(Math.abs((vp[k] - vm[k]) / (2 * h) - d0[k])).toBeLessThan(1e-9 * dmax);
        // Second derivatives as the solver's Newton steps take them (differences of derivatives,
        // h = 1e-3) agree with the exact ones: the table is C², so no node shows up as a jump.
        h = 1e-3;
        psf.axisProfile(0, c + h, p0, n, vp, dp);
        psf.axisProfile(0, c - h, p0, n, vm, dm);
        for (let k = 0; k < n; k++) {
          const u = p0 + k - c;
          // The taper's own second derivative jumps where it starts; stay clear of it.
          if (Math.abs(u) > psf.radius - s - 2 * h) continue;
          const N1 = (w: number) => ((-w / (s * s)) * Math.exp((-0.5 * w * w) / (s * s))) / (Math.sqrt(2 * Math.PI) * s);
          const d2 = N1(u + 0.5) - N1(u - 0.5);
          expect(Math.abs((dp[k] - dm[k]) / (2 * h) - d2)).toBeLessThan(1e-6 / (s * s * s));
        }
      }
    }
  });

  it('falls back to the direct formula where a table would be too large (very elongated PSFs)', () => {
    const psf = new GaussianPsf(40, 0.3);
    const n = psf.maxStampSide;
    const [a, b, c, d] = Array.from({ length: 4 }, () => new Float64Array(n));
    for (const axis of [0, 1] as const) {
      const x = 200.37;
      const p0 = Math.ceil(x - psf.radius);
      psf.axisProfile(axis, x, p0, n, a, b);
      psf.profileExact(axis, x, p0, n, c, d);
      if (axis === 1) {
        expect(a).toEqual(c);
        expect(b).toEqual(d);
      }
      for (let k = 0; k < n; k++) {
        const [v, g] = direct(axis === 0 ? 40 : 0.3, psf, x, p0 + k);
        expect(Math.abs(a[k] - v)).toBeLessThan(1e-13);
        expect(Math.abs(b[k] - g)).toBeLessThan(1e-10);
      }
    }
  });

  it('rejects bad widths with InvalidPsfError', () => {
    for (const s of [0, -1, NaN, Infinity, 500]) expect(() => new GaussianPsf(s)).toThrow(InvalidPsfError);
  });
});
