// The PSF-matched correlation behind the start and the certificate: the FFT path for large stamps
// gives the direct sums (image edges included) to rounding.
import { describe, expect, it } from 'vitest';
import { buildPsf } from '../../../src-main/core/psf/spec.js';
import { GaussianPsf } from '../../../src-main/core/psf/gaussian.js';
import { allocStamp, SeparablePsf } from '../../../src-main/core/psf/types.js';
import { Rng } from '../../../src-main/core/rng.js';
import { correlate, correlateDirect, correlateFft, correlateSeparable, FFT_MIN_STAMP_PIXELS } from '../../../src-main/core/solver/correlate.js';

/** A separable PSF whose profile is not mirror-symmetric (a skewed bump over 2σ px). */
class SkewedPsf extends SeparablePsf {
  readonly label = 'skewed';
  readonly radius = 4.5;
  readonly sigma = 1.5;
  protected profile(_axis: 0 | 1, c: number, p0: number, n: number, val: Float64Array, der: Float64Array, off = 0): void {
    for (let k = 0; k < n; k++) {
      const t = p0 + k - c;
      val[off + k] = Math.abs(t) < this.radius ? Math.exp(-t * t / 4.5) * (1 + 0.3 * Math.tanh(t)) : 0;
      der[off + k] = 0;
    }
  }
}

/** The separable sums written plainly: rows, then columns, every tap through bounds checks. */
function plainSeparable(psf: SeparablePsf, u: Float64Array, width: number, height: number): Float64Array {
  const R = Math.floor(psf.radius);
  const n = 2 * R + 1;
  const gx = new Float64Array(n);
  const gy = new Float64Array(n);
  psf.axisProfile(0, 0, -R, n, gx, new Float64Array(n));
  psf.axisProfile(1, 0, -R, n, gy, new Float64Array(n));
  const tmp = new Float64Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let p = Math.max(0, x - R); p <= Math.min(width - 1, x + R); p++) tmp[y * width + x] += u[y * width + p]! * gx[p - x + R]!;
  const out = new Float64Array(width * height);
  if (psf.dims === 1 || height === 1) return tmp.map((v) => v * gy[R]!);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let p = Math.max(0, y - R); p <= Math.min(height - 1, y + R); p++) out[y * width + x] += tmp[p * width + x]! * gy[p - y + R]!;
  return out;
}

function noise(n: number, seed: number): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: n }, () => r.normal());
}

describe('correlate', () => {
  for (const [w, h] of [
    [150, 97],
    [40, 300],
    [7, 5],
  ] as const) {
    it(`FFT blocks equal direct sums for a wide Moffat on ${w}×${h}`, () => {
      const psf = buildPsf({ kind: 'moffat', fwhm: 3.5, beta: 2.5 });
      const st = allocStamp(psf);
      psf.stamp(0.3, -0.2, st); // an off-centre stamp: x0, y0 not symmetric
      expect(st.nx * st.ny).toBeGreaterThanOrEqual(FFT_MIN_STAMP_PIXELS);
      const u = noise(w * h, w + h);
      const fast = correlateFft(st, u, w, h);
      // The direct sums with the same stamp, through a PSF whose stamp is that one.
      const direct = correlateDirect({ ...psf, stamp: (_x: number, _y: number, out: typeof st) => Object.assign(out, st) } as never, u, w, h, new Float64Array(w * h));
      let scale = 0;
      for (const v of direct) scale = Math.max(scale, Math.abs(v));
      let worst = 0;
      for (let i = 0; i < w * h; i++) worst = Math.max(worst, Math.abs(fast[i]! - direct[i]!));
      expect(worst / scale).toBeLessThan(1e-12);
    });
  }

  it('takes the FFT path for large non-separable stamps and gives the same as the direct sums', () => {
    const psf = buildPsf({ kind: 'moffat', fwhm: 3, beta: 3 });
    const u = noise(64 * 48, 5);
    const a = correlate(psf, u, 64, 48);
    const b = correlateDirect(psf, u, 64, 48, new Float64Array(64 * 48));
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 10);
  });

  for (const [label, psf] of [
    ['a Gaussian', new GaussianPsf(1.5)],
    ['an elliptical Gaussian', new GaussianPsf(0.8, 2.3)],
    ['a narrow Gaussian (R = 2)', new GaussianPsf(0.5)],
    ['a skewed separable profile', new SkewedPsf()],
  ] as const) {
    for (const [w, h] of [
      [61, 47],
      [5, 40],
      [33, 1],
      [3, 3],
    ] as const) {
      it(`separable sums (ring of rows, paired taps) equal the plain sums for ${label} on ${w}×${h}, also in place`, () => {
        const u = noise(w * h, w * 7 + h);
        const ref = plainSeparable(psf, u, w, h);
        const got = correlate(psf, u, w, h);
        let scale = 0;
        for (const v of ref) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < w * h; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThanOrEqual(1e-12 * scale);
        const inPlace = Float64Array.from(u);
        expect(correlateSeparable(psf, inPlace, w, h, inPlace)).toBe(inPlace);
        expect(inPlace).toEqual(got);
      });
    }
  }

  it('correlates in place through the non-separable paths too (out = u)', () => {
    const psf = buildPsf({ kind: 'moffat', fwhm: 3, beta: 3 });
    const u = noise(40 * 30, 6);
    const a = correlate(psf, u, 40, 30);
    const b = Float64Array.from(u);
    correlate(psf, b, 40, 30, b);
    expect(b).toEqual(a);
  });
});
