// The PSF-matched correlation behind the start and the certificate: the FFT path for large stamps
// gives the direct sums (image edges included) to rounding.
import { describe, expect, it } from 'vitest';
import { buildPsf } from '../../../src-main/core/psf/spec.js';
import { allocStamp } from '../../../src-main/core/psf/types.js';
import { Rng } from '../../../src-main/core/rng.js';
import { correlate, correlateDirect, correlateFft, FFT_MIN_STAMP_PIXELS } from '../../../src-main/core/solver/correlate.js';

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
});
