import { describe, expect, it } from 'vitest';
import { GaussianPsf } from '../../src-main/core/psf/gaussian.js';
import { brightestPixel, cutout, preview, psfBox, psfOf, stampLimits } from '../../src-renderer/lib/psf-preview.js';

/** A 40×30 frame with one star of flux 5000 at (20.3, 14.6) on a background of 100. */
function frame(sigma = 1.5) {
  const width = 40;
  const height = 30;
  const psf = new GaussianPsf(sigma, sigma);
  const box = psfBox(psf, 20.3, 14.6, { x0: 0, y0: 0, size: 40 });
  const pixels = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels[y * width + x] = 100 + 5000 * box[y * 40 + x]!;
  return { width, height, pixels };
}

describe('PSF preview', () => {
  it('the right PSF at the star fits its flux and background with a residual near zero', () => {
    const p = preview(frame(), { kind: 'gaussian', sigma: 1.5 }, 20.3, 14.6)!;
    expect(p.flux).toBeCloseTo(5000, 0);
    expect(p.background).toBeCloseTo(100, 1);
    expect(Math.max(...p.residual.map(Math.abs))).toBeLessThan(0.05);
  });

  it('a wrong width leaves a residual that shows it', () => {
    const good = preview(frame(), { kind: 'gaussian', sigma: 1.5 }, 20.3, 14.6)!;
    const wide = preview(frame(), { kind: 'gaussian', sigma: 2.5 }, 20.3, 14.6)!;
    const rms = (r: Float64Array) => Math.sqrt(r.reduce((a, v) => a + v * v, 0) / r.length);
    expect(rms(wide.residual)).toBeGreaterThan(100 * rms(good.residual));
    expect(preview(frame(), { kind: 'moffat', fwhm: 3.5, beta: 3 }, 20.3, 14.6)).not.toBeNull();
  });

  it('cut-outs are NaN beyond the frame; bad settings give no PSF; limits', () => {
    const c = cutout(frame(), 1, 1, 5);
    expect(c.x0).toBe(-1);
    expect(Number.isNaN(c.data[0]!)).toBe(true);
    expect(Number.isFinite(c.data[6]!)).toBe(true);
    expect(psfOf({ kind: 'gaussian', sigma: -1 })).toBeNull();
    expect(brightestPixel(frame())).toEqual({ x: 20, y: 15 });
    expect(stampLimits([1, NaN, 3])).toEqual({ lo: 1, hi: 3 });
    expect(stampLimits([-1, 4], true)).toEqual({ lo: -4, hi: 4 });
  });
});
