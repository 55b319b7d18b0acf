import { describe, expect, it } from 'vitest';
import { InvalidPsfError } from '../../../src-main/core/errors.js';
import { gaussLegendre } from '../../../src-main/core/math.js';
import { MoffatPsf } from '../../../src-main/core/psf/moffat.js';
import { allocStamp } from '../../../src-main/core/psf/types.js';
import { centroid, gradientError, rng, stampOf, stampSum, symmetryError, valueAt } from './psf-checks.js';

/** Brute-force ∫∫ over the pixel at offset (u, v) of (1 + r²/α²)^{−β}: 40×40 Gauss–Legendre. */
const GL = gaussLegendre(40);
function pixelIntegral(u: number, v: number, alpha: number, beta: number): number {
  const { nodes, weights } = GL;
  let s = 0;
  for (let i = 0; i < nodes.length; i++) {
    for (let j = 0; j < nodes.length; j++) {
      const uu = u + nodes[i] / 2;
      const vv = v + nodes[j] / 2;
      s += (weights[i] * weights[j] * Math.pow(1 + (uu * uu + vv * vv) / (alpha * alpha), -beta)) / 4;
    }
  }
  return s;
}

const CASES: [number, number][] = [
  [3, 2.5],
  [1, 2.5],
  [0.6, 3],
  [5, 4.765],
  [2, 10],
  [1.5, 1.8],
];

describe('MoffatPsf', () => {
  const rand = rng(7);

  it('derives α from the FWHM and holds all but 1e-3 of the flux inside the core radius', () => {
    const psf = new MoffatPsf(3, 2.5);
    // I(FWHM/2) = I(0)/2
    expect(Math.pow(1 + (1.5 / psf.alpha) ** 2, -2.5)).toBeCloseTo(0.5, 14);
    // Flux outside radius R of the untruncated profile: (1 + R²/α²)^{1−β}
    expect(Math.pow(1 + (psf.coreRadius / psf.alpha) ** 2, -1.5)).toBeCloseTo(1e-3, 14);
    expect(psf.sigma).toBeCloseTo(3 / 2.3548, 14);
    expect(psf.label).toBe('moffat:3,2.5');
    expect(psf.radius).toBeGreaterThan(psf.coreRadius);
  });

  it('sums to 1 for sources at random sub-pixel positions', () => {
    for (const [fwhm, beta] of CASES) {
      const psf = new MoffatPsf(fwhm, beta);
      for (let t = 0; t < 10; t++) {
        expect(Math.abs(stampSum(stampOf(psf, 100 + 10 * rand(), 100 + 10 * rand())) - 1)).toBeLessThan(1e-12);
      }
    }
  });

  it('integrates the profile over each pixel to the requested tolerance', () => {
    for (const [fwhm, beta] of CASES) {
      for (const tolerance of [1e-6, 1e-9]) {
        const psf = new MoffatPsf(fwhm, beta, { tolerance });
        for (const [x, y] of [[50.5, 50.5], [50.3, 49.77]]) {
          const st = stampOf(psf, x, y);
          // Ratios to the central pixel do not depend on the normalisation; compare inside R₀.
          const cx = Math.round(x);
          const cy = Math.round(y);
          const c = valueAt(st, cx, cy);
          const cref = pixelIntegral(cx - x, cy - y, psf.alpha, beta);
          let worst = 0;
          for (let j = 0; j < st.ny; j += 1) {
            for (let i = 0; i < st.nx; i += 1) {
              const u = st.x0 + i - x;
              const v = st.y0 + j - y;
              // Every pixel near the centre, a sparse sample of the wings.
              const d = Math.hypot(u, v);
              if (d > psf.coreRadius || (d > 6 && (i * 7 + j * 3) % 11 !== 0)) continue;
              const r = st.v[j * st.nx + i] / c - pixelIntegral(u, v, psf.alpha, beta) / cref;
              worst = Math.max(worst, Math.abs(r));
            }
          }
          expect(worst, `FWHM ${fwhm}, β ${beta}, tolerance ${tolerance}`).toBeLessThan(tolerance);
        }
      }
    }
  });

  it('has gradients equal to finite differences of its values (through rule blends and the taper)', () => {
    for (const [fwhm, beta] of CASES) {
      const psf = new MoffatPsf(fwhm, beta);
      for (let t = 0; t < 3; t++) {
        const { err, scale } = gradientError(psf, 60.05 + 0.9 * rand(), 60.05 + 0.9 * rand());
        expect(err, `FWHM ${fwhm}, β ${beta}`).toBeLessThan(1e-7 * scale);
      }
    }
  });

  it('is continuous where a pixel changes integration rule or enters the taper', () => {
    // Move the source along x in small steps: values change smoothly (no jumps above the
    // first-order change), which the finite-difference check alone could miss between samples.
    const psf = new MoffatPsf(3, 2.5);
    const a = allocStamp(psf);
    const b = allocStamp(psf);
    const h = 1e-4;
    let worst = 0;
    for (let x = 30; x < 30.25; x += h) {
      psf.stamp(x, 30.3, a);
      psf.stamp(x + h, 30.3, b);
      for (let j = 0; j < a.ny; j++) {
        for (let i = 0; i < a.nx; i++) {
          const px = a.x0 + i;
          const py = a.y0 + j;
          const predicted = a.v[j * a.nx + i] + h * a.dx[j * a.nx + i];
          worst = Math.max(worst, Math.abs(valueAt(b, px, py) - predicted));
        }
      }
    }
    // Second-order remainder only: h² |∂²φ| ≲ 1e-8 · 0.1.
    expect(worst).toBeLessThan(1e-9);
  });

  it('is circularly symmetric', () => {
    for (const [fwhm, beta] of [[2.2, 3], [1, 2.5], [4, 4.765]] as const) {
      const psf = new MoffatPsf(fwhm, beta);
      for (const kind of ['mirror-x', 'mirror-y', 'transpose'] as const) {
        expect(symmetryError(psf, 40, 40, 0.37, -0.21, kind)).toBeLessThan(1e-15);
      }
    }
  });

  it('is centred on the source when adequately sampled', () => {
    // The first moment of a pixel-integrated profile sampled on the pixel grid is biased by about
    // its Fourier transform at 1 cycle/pixel (Poisson summation): ~1e-2 px for FWHM 1 px, below
    // 1e-6 px from FWHM 3 px for β = 2.5; the taper adds a few 1e-6 px.
    for (const [fwhm, beta] of [[3, 2.5], [4, 3], [5, 4.765]] as const) {
      const psf = new MoffatPsf(fwhm, beta);
      for (let t = 0; t < 5; t++) {
        const x = 40 + rand();
        const y = 40 + rand();
        const [cx, cy] = centroid(stampOf(psf, x, y));
        expect(Math.abs(cx - x)).toBeLessThan(1e-5);
        expect(Math.abs(cy - y)).toBeLessThan(1e-5);
      }
    }
  });

  it('has the requested FWHM on a finely sampled profile', () => {
    for (const [fwhm, beta] of [[20, 3], [16, 4.765]] as const) {
      const psf = new MoffatPsf(fwhm, beta);
      const c = 200;
      const st = stampOf(psf, c, c);
      const row = (dx: number): number => valueAt(st, c + dx, c);
      const half = row(0) / 2;
      let k = 0;
      while (row(k + 1) > half) k++;
      // Linear interpolation of the crossing between samples k and k + 1, both sides.
      const right = k + (row(k) - half) / (row(k) - row(k + 1));
      let l = 0;
      while (row(l - 1) > half) l--;
      const left = l - (row(l) - half) / (row(l) - row(l - 1));
      // Pixel integration and linear interpolation change a 16–20 px FWHM by well under 0.5 %.
      expect(Math.abs(right - left - fwhm) / fwhm).toBeLessThan(5e-3);
    }
  });

  it('gives zero values and gradients outside the support radius', () => {
    const psf = new MoffatPsf(2, 3);
    const x = 20.3;
    const y = 20.8;
    const st = stampOf(psf, x, y);
    for (let j = 0; j < st.ny; j++) {
      for (let i = 0; i < st.nx; i++) {
        if (Math.hypot(st.x0 + i - x, st.y0 + j - y) >= psf.radius) {
          expect(st.v[j * st.nx + i]).toBe(0);
          expect(st.dx[j * st.nx + i]).toBe(0);
        }
      }
    }
    expect(st.nx).toBeLessThanOrEqual(psf.maxStampSide);
  });

  it('rejects bad parameters with InvalidPsfError', () => {
    expect(() => new MoffatPsf(0, 2.5)).toThrow(InvalidPsfError);
    expect(() => new MoffatPsf(-2, 2.5)).toThrow(/FWHM/);
    expect(() => new MoffatPsf(NaN, 2.5)).toThrow(InvalidPsfError);
    expect(() => new MoffatPsf(3, 1)).toThrow(/beta must be a number greater than 1/);
    expect(() => new MoffatPsf(3, 0.5)).toThrow(InvalidPsfError);
    expect(() => new MoffatPsf(3, Infinity)).toThrow(InvalidPsfError);
    // β close to 1: the wings hold too much flux for a finite stamp.
    expect(() => new MoffatPsf(3, 1.2)).toThrow(/support radius/);
    expect(() => new MoffatPsf(3, 2.5, { maxRadius: 20 })).toThrow(/support radius of 29 px/);
    expect(() => new MoffatPsf(3, 2.5, { maxRadius: 30 })).not.toThrow();
  });
});
