import { describe, expect, it } from 'vitest';
import { InvalidPsfError } from '../../../src-main/core/errors.js';
import { makeImage, type Image } from '../../../src-main/core/image.js';
import { erf } from '../../../src-main/core/math.js';
import { GaussianPsf } from '../../../src-main/core/psf/gaussian.js';
import { MoffatPsf } from '../../../src-main/core/psf/moffat.js';
import { SampledPsf } from '../../../src-main/core/psf/sampled.js';
import { allocStamp } from '../../../src-main/core/psf/types.js';
import { centroid, gradientError, peak, rng, stampOf, stampSum, symmetryError, valueAt } from './psf-checks.js';

/**
 * An n×n stamp of a Gaussian of width σ image pixels sampled s times finer: each stamp pixel
 * holds the Gaussian integrated over it (1/s image pixel wide), the centre at ((n − 1)/2, (n − 1)/2).
 */
function gaussianStamp(sigma: number, s: number, n: number, sigmaY = sigma): Image {
  const c = (n - 1) / 2;
  const axis = (sg: number): Float64Array => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t = (i - c) / s;
      a[i] = 0.5 * (erf((t + 0.5 / s) / (Math.SQRT2 * sg)) - erf((t - 0.5 / s) / (Math.SQRT2 * sg)));
    }
    return a;
  };
  const ax = axis(sigma);
  const ay = axis(sigmaY);
  const d = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) d[j * n + i] = 7 * ax[i] * ay[j];
  return makeImage(n, n, d);
}

/** Largest |sampled − Gaussian| over the Gaussian's stamp, relative to its peak. */
function mismatch(a: SampledPsf, g: GaussianPsf, x: number, y: number): number {
  const sa = stampOf(a, x, y);
  const sg = stampOf(g, x, y);
  let worst = 0;
  for (let j = 0; j < sg.ny; j++) {
    for (let i = 0; i < sg.nx; i++) {
      const px = sg.x0 + i;
      const py = sg.y0 + j;
      worst = Math.max(worst, Math.abs(valueAt(sa, px, py) - sg.v[j * sg.nx + i]));
    }
  }
  return worst / peak(sg);
}

describe('SampledPsf', () => {
  const rand = rng(3);
  const positions = (): [number, number][] =>
    [[30, 30], [30.5, 30.5], [30.25, 29.75]].concat(Array.from({ length: 5 }, () => [30 + rand(), 30 + rand()])) as [number, number][];

  it('reproduces a pixel-sampled Gaussian (oversample 1, odd and even stamps) to < 1e-3 of the peak', () => {
    const g = new GaussianPsf(2.5, 2.5, 12);
    for (const n of [35, 36]) {
      const psf = SampledPsf.fromImage(gaussianStamp(2.5, 1, n));
      for (const [x, y] of positions()) expect(mismatch(psf, g, x, y), `${n}×${n} at ${x},${y}`).toBeLessThan(1e-3);
    }
  });

  it('reproduces a finely sampled Gaussian (oversample 4, and 3) to < 1e-3 of the peak', () => {
    for (const [sigma, s, n] of [[1.2, 4, 56], [1.2, 4, 57], [1, 3, 33], [1.5, 2, 30]] as const) {
      const g = new GaussianPsf(sigma, sigma, 12);
      const psf = SampledPsf.fromImage(gaussianStamp(sigma, s, n), { oversample: s });
      for (const [x, y] of positions()) expect(mismatch(psf, g, x, y), `σ ${sigma}, s ${s}, ${n}×${n}`).toBeLessThan(1e-3);
    }
  });

  it('sums to 1 for sources at random sub-pixel positions', () => {
    for (const [s, n] of [[1, 15], [1, 16], [4, 40], [3, 31]] as const) {
      const psf = SampledPsf.fromImage(gaussianStamp(1.3, s, n, 0.9), { oversample: s });
      for (let t = 0; t < 10; t++) expect(Math.abs(stampSum(stampOf(psf, 20 + rand(), 20 + rand())) - 1)).toBeLessThan(1e-12);
    }
  });

  it('has gradients equal to finite differences of its values', () => {
    for (const [s, n] of [[1, 15], [4, 40], [3, 31]] as const) {
      const psf = SampledPsf.fromImage(gaussianStamp(1.1, s, n, 1.6), { oversample: s });
      for (let t = 0; t < 5; t++) {
        const { err, scale } = gradientError(psf, 20.02 + 0.96 * rand(), 20.02 + 0.96 * rand());
        expect(err).toBeLessThan(1e-7 * scale);
      }
    }
  });

  it('keeps the symmetry of a symmetric stamp and is centred on the source', () => {
    for (const [s, n] of [[1, 21], [1, 20], [4, 48], [3, 33]] as const) {
      const psf = SampledPsf.fromImage(gaussianStamp(2, s, n), { oversample: s });
      for (const kind of ['mirror-x', 'mirror-y', 'transpose'] as const) {
        expect(symmetryError(psf, 30, 30, 0.29, -0.43, kind)).toBeLessThan(1e-15);
      }
      for (let t = 0; t < 5; t++) {
        const x = 30 + rand();
        const y = 30 + rand();
        const [cx, cy] = centroid(stampOf(psf, x, y));
        // Exact for the table; the interpolant between nodes is off by ≲ 1e-3 of the peak.
        expect(Math.abs(cx - x)).toBeLessThan(3e-4);
        expect(Math.abs(cy - y)).toBeLessThan(3e-4);
      }
    }
  });

  it('puts the PSF centre at the centre of the array, for odd and even sizes', () => {
    // A Gaussian drawn 0.3 px right of and 0.2 px above the array centre: the PSF's centroid is
    // offset from the source by the same amount.
    for (const [s, n] of [[1, 21], [1, 22], [4, 84], [3, 61]] as const) {
      const c = (n - 1) / 2;
      const d = new Float64Array(n * n);
      const cell = (t: number, mu: number): number =>
        0.5 * (erf((t - mu + 0.5 / s) / (Math.SQRT2 * 2)) - erf((t - mu - 0.5 / s) / (Math.SQRT2 * 2)));
      for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) d[j * n + i] = cell((i - c) / s, 0.3) * cell((j - c) / s, -0.2);
      const psf = SampledPsf.fromImage(makeImage(n, n, d), { oversample: s });
      const [cx, cy] = centroid(stampOf(psf, 20.4, 20.7));
      expect(Math.abs(cx - 20.7)).toBeLessThan(1e-4);
      expect(Math.abs(cy - 20.5)).toBeLessThan(1e-4);
    }
  });

  it('reports sigma as FWHM / 2.3548 (the Psf interface\'s core width) and the support', () => {
    const p1 = SampledPsf.fromImage(gaussianStamp(1.7, 1, 25));
    expect(p1.sigma).toBeCloseTo(1.7, 2);
    // Elliptical: the geometric mean, as GaussianPsf's.
    expect(Math.abs(SampledPsf.fromImage(gaussianStamp(1.2, 1, 31, 2)).sigma / Math.sqrt(1.2 * 2) - 1)).toBeLessThan(0.01);
    // A Moffat's heavy wings do not count: FWHM 3.5 px, β 2.5 (r.m.s. width 2.9 px).
    const m = new MoffatPsf(3.5, 2.5);
    const ms = stampOf(m, 0, 0);
    const pm = SampledPsf.fromImage(makeImage(ms.nx, ms.ny, ms.v.slice(0, ms.nx * ms.ny)));
    expect(Math.abs(pm.sigma / m.sigma - 1)).toBeLessThan(0.03);
    const p4 = SampledPsf.fromImage(gaussianStamp(1.7, 4, 100), { oversample: 4, name: 'psf.fits' });
    expect(p4.sigma).toBeCloseTo(1.7, 2);
    expect(p4.label).toBe('file:psf.fits@4');
    expect(p4.oversample).toBe(4);
    // Half the stamp extent (12.5 px) plus the box filter and the spline's reach.
    expect(p4.radius).toBeCloseTo((100 + 4 + 6) / 8, 12);
    const st = stampOf(p4, 20.3, 20.6);
    expect(st.nx).toBeLessThanOrEqual(p4.maxStampSide);
    // The box reaches the edge of the support: its border pixels are (near) zero.
    for (let i = 0; i < st.nx; i++) expect(Math.abs(st.v[i])).toBeLessThan(1e-12);
  });

  it('clips negative pixels (noise) to zero before normalising', () => {
    const img = gaussianStamp(1.5, 1, 15);
    const noisy = makeImage(15, 15, Float64Array.from(img.data));
    const clipped = makeImage(15, 15, Float64Array.from(img.data));
    for (const k of [0, 3, 14, 100, 224]) {
      noisy.data[k] = -0.01;
      clipped.data[k] = 0;
    }
    const a = stampOf(SampledPsf.fromImage(noisy), 10.3, 10.7);
    const b = stampOf(SampledPsf.fromImage(clipped), 10.3, 10.7);
    for (let k = 0; k < a.nx * a.ny; k++) expect(a.v[k]).toBe(b.v[k]);
  });

  it('rejects unusable stamps with InvalidPsfError naming the file', () => {
    const bad = (img: Image, oversample?: number): InvalidPsfError => {
      try {
        SampledPsf.fromImage(img, { oversample, name: 'psf.fits' });
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidPsfError);
        expect((e as InvalidPsfError).file).toBe('psf.fits');
        expect((e as InvalidPsfError).describe()).toMatch(/^psf\.fits: /);
        return e as InvalidPsfError;
      }
      throw new Error('expected InvalidPsfError');
    };
    expect(bad(makeImage(9, 9)).message).toMatch(/sums to 0/);
    expect(bad(makeImage(9, 9, new Float64Array(81).fill(-1))).message).toMatch(/sums to -81/);
    const nan = gaussianStamp(1, 1, 9);
    nan.data[40] = NaN;
    expect(bad(nan).message).toMatch(/non-finite value \(NaN\) at x=4, y=4/);
    const inf = gaussianStamp(1, 1, 9);
    inf.data[3] = Infinity;
    expect(bad(inf).message).toMatch(/non-finite/);
    expect(bad(gaussianStamp(1, 1, 2)).message).toMatch(/at least 3×3/);
    expect(bad(makeImage(2, 9, new Float64Array(18).fill(1))).message).toMatch(/at least 3×3/);
    for (const s of [0, -2, 1.5, NaN]) expect(bad(gaussianStamp(1, 1, 9), s).message).toMatch(/positive integer/);
    expect(bad(gaussianStamp(1, 1, 5), 8).message).toMatch(/smaller than one image pixel/);
  });
});
