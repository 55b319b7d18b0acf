/**
 * Detection with a PSF that has heavy wings: a Moffat profile (FWHM 3.5 px, β 2.5, the seeing of
 * a ground-based telescope) given as a PSF file, as users hand one to `cpgd detect --psf file:…`.
 * Its support is ~10 FWHM wide, far wider than its core; what a user relies on is that this does
 * not cost quality against the same star field seen through a Gaussian-like PSF.
 */
import { describe, expect, it } from 'vitest';
import { matchCatalogs } from '../../src-main/core/catalog/match.js';
import { detect, prepareFrame, validateDetectOptions } from '../../src-main/core/detect.js';
import { MoffatPsf } from '../../src-main/core/psf/moffat.js';
import { SampledPsf } from '../../src-main/core/psf/sampled.js';
import { allocStamp } from '../../src-main/core/psf/types.js';
import { simulate } from '../../src-main/core/simulate.js';

/** The stamp a user would save: the Moffat over its whole support (65×65 px), centred. */
function moffatFile(): SampledPsf {
  const m = new MoffatPsf(3.5, 2.5);
  const st = allocStamp(m);
  m.stamp(0, 0, st);
  expect(st.x0).toBe(-(st.nx - 1) / 2);
  return SampledPsf.fromImage({ width: st.nx, height: st.ny, data: st.v.slice(0, st.nx * st.ny) }, { name: 'moffat.fits' });
}

describe('detect with a wide-winged PSF file', () => {
  it('models a star as the simulator renders it, and as the analytic Moffat to 0.6 % of the peak', () => {
    // One star, noise-free, on no sky: the image is flux · φ of the simulator's PSF.
    const psf = moffatFile();
    const analytic = new MoffatPsf(3.5, 2.5);
    const sim = simulate({ kind: 'stars', width: 96, height: 96, count: 1, seed: 4, psf, noise: false, background: 0, readNoise: 0, margin: 40 });
    const { x, y, flux } = sim.truth[0];
    for (const [model, tol] of [[psf, 1e-12], [analytic, 6e-3]] as const) {
      const st = allocStamp(model);
      model.stamp(x, y, st);
      const img = new Float64Array(96 * 96);
      for (let j = 0; j < st.ny; j++) for (let i = 0; i < st.nx; i++) img[(st.y0 + j) * 96 + st.x0 + i] = flux * st.v[j * st.nx + i];
      let worst = 0;
      let peak = 0;
      for (let k = 0; k < img.length; k++) {
        worst = Math.max(worst, Math.abs(img[k] - sim.frames[0][k]));
        peak = Math.max(peak, img[k]);
      }
      expect(worst / peak, model.label).toBeLessThan(tol);
    }
  });

  it('chooses the background model from the sky, not from the PSF support', () => {
    // 30 stars on 128² is ordinary density (one per 550 px²), yet discs of the PSF support
    // (radius 36 px) around them covered every pixel, and the choice fell back to a constant
    // whatever the sky. A 10 % sky gradient must give a plane, a flat sky a constant.
    const psf = moffatFile();
    const o = validateDetectOptions({ psf });
    for (const seed of [1, 3]) {
      for (const [gradient, expected] of [[0.1, 'plane'], [0, 'constant']] as const) {
        const sim = simulate({ kind: 'stars', width: 128, height: 128, count: 30, seed, psf, backgroundGradient: gradient });
        const prep = prepareFrame({ width: 128, height: 128, data: sim.frames[0] }, o);
        expect(prep.background, `seed ${seed}, gradient ${gradient}`).toBe(expected);
      }
    }
  });

  it('finds the stars with few false ones (128², 30 stars on a sky with a 10 % gradient)', () => {
    // bench:peers' moffat-file case at a quarter of its area. With the background fallen back to
    // a constant, this field gave 43 sources of which 15 false (snr 2–6, in the bright corner
    // of the sky gradient); now 29 with 2 false, both fragments next to bright stars (snr < 3).
    const psf = moffatFile();
    const sim = simulate({ kind: 'stars', width: 128, height: 128, count: 30, seed: 3, psf });
    const res = detect({ width: 128, height: 128, data: sim.frames[0] }, { psf });
    expect(res.background).toBe('plane');
    expect(res.status).toBe('converged');
    const m = matchCatalogs(res.sources, sim.truth, 1);
    expect(m.recall).toBeGreaterThanOrEqual(0.85);
    expect(m.precision).toBeGreaterThanOrEqual(0.9);
    // What a user keeps at snr ≥ 3 is clean.
    const kept = matchCatalogs(res.sources.filter((s) => s.snr >= 3), sim.truth, 1);
    expect(kept.precision).toBeGreaterThanOrEqual(0.95);
    expect(kept.recall).toBeGreaterThanOrEqual(0.85);
  });
});
