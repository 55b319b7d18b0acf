/**
 * Detection on simulated star fields: what a user relies on is that real stars are found at the
 * right place with the right flux, few false ones appear, and the stated errors are honest.
 */
import { describe, expect, it } from 'vitest';
import { matchCatalogs } from '../../src-main/core/catalog/match.js';
import { detect, validateDetectOptions } from '../../src-main/core/detect.js';
import { InvalidOptionError, InvalidPsfError, InvalidImageError } from '../../src-main/core/errors.js';
import { GaussianPsf } from '../../src-main/core/psf/gaussian.js';
import { allocStamp } from '../../src-main/core/psf/types.js';
import { Cholesky } from '../../src-main/core/solver/background.js';
import { simulate } from '../../src-main/core/simulate.js';

describe('detect on simulated star fields', () => {
  it('finds the stars of a sparse field (recall and precision at 1 px)', () => {
    const psf = new GaussianPsf(1.3);
    const sim = simulate({ kind: 'stars', width: 128, height: 128, count: 30, psf, seed: 11, flux: [1500, 30000] });
    const res = detect({ width: 128, height: 128, data: sim.frames[0] }, { psf });
    const m = matchCatalogs(res.sources, sim.truth, 1);
    expect(m.recall).toBeGreaterThanOrEqual(0.95);
    expect(m.precision).toBeGreaterThanOrEqual(0.95);
    expect(res.status).toBe('converged');
    expect(res.relativeGap).toBeLessThanOrEqual(1e-5);
  });

  it('separates a crowded field: F1 ≥ 0.92 at 1 px with default options', () => {
    // The benchmark case: 200×200, σ 1.5 px, 150 stars of 400–40000 counts, sky 200 with a
    // gentle gradient, Poisson + read noise 5.
    const psf = new GaussianPsf(1.5);
    const sim = simulate({ kind: 'stars', width: 200, height: 200, count: 150, psf, seed: 1, readNoise: 5, background: 200, backgroundGradient: 0.1 });
    const res = detect({ width: 200, height: 200, data: sim.frames[0] }, { psf });
    const m = matchCatalogs(res.sources, sim.truth, 1);
    expect(m.f1).toBeGreaterThanOrEqual(0.92);
    expect(m.precision).toBeGreaterThanOrEqual(0.95);
    expect(res.background).not.toBe('none');
  });

  it('places bright isolated stars within 1.5× the Cramér–Rao bound, fluxes within 5 %, with honest errors', () => {
    const psf = new GaussianPsf(1.4);
    const W = 256;
    const sky = 150;
    // Bright stars on a coarse jittered grid: isolated by ≥ 14 px.
    const stars: { x: number; y: number; flux: number }[] = [];
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let gy = 0; gy < 12; gy++) for (let gx = 0; gx < 12; gx++) stars.push({ x: 12 + gx * 20 + 6 * (rnd() - 0.5), y: 12 + gy * 20 + 6 * (rnd() - 0.5), flux: 8000 + 12000 * rnd() });
    // Expected image and a Poisson draw (exact Poisson via the simulator's RNG is tested
    // elsewhere; here a normal approximation with the Poisson variance is enough for counts ≥ 150).
    const st = allocStamp(psf);
    const mean = new Float64Array(W * W).fill(sky);
    for (const s of stars) {
      psf.stamp(s.x, s.y, st);
      for (let j = 0; j < st.ny; j++) for (let i = 0; i < st.nx; i++) mean[(st.y0 + j) * W + st.x0 + i] += s.flux * st.v[j * st.nx + i];
    }
    let g = 987654321;
    const normal = () => {
      // Box–Muller on an LCG: deterministic and independent of the code under test.
      g = (g * 1103515245 + 12345) % 2 ** 31;
      const u1 = (g + 1) / (2 ** 31 + 1);
      g = (g * 1103515245 + 12345) % 2 ** 31;
      const u2 = g / 2 ** 31;
      return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    };
    const data = mean.map((m) => m + Math.sqrt(m) * normal());
    const res = detect({ width: W, height: W, data }, { psf, noise: { gain: 1, offset: 0, readNoise: 0 }, background: 'constant' });
    const m = matchCatalogs(res.sources, stars.map((s, i) => ({ id: i + 1, frame: 0, ...s })), 1);
    expect(m.tp).toBe(stars.length);
    // Cramér–Rao bound of x for each star from the true model (Poisson weights 1/mean),
    // parameters (flux, x, y, sky).
    let crb2 = 0;
    let err2 = 0;
    let reported2 = 0;
    for (const pair of m.pairs) {
      const s = stars[pair.truth];
      const d = res.sources[pair.detected];
      psf.stamp(s.x, s.y, st);
      const F = new Float64Array(16);
      for (let j = 0; j < st.ny; j++) {
        for (let i = 0; i < st.nx; i++) {
          const k = j * st.nx + i;
          const w = 1 / mean[(st.y0 + j) * W + st.x0 + i];
          const J = [st.v[k], s.flux * st.dx[k], s.flux * st.dy[k], 1];
          for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) F[a * 4 + b] += w * J[a] * J[b];
        }
      }
      const inv = new Cholesky(F, 4).solve(Float64Array.of(0, 1, 0, 0));
      crb2 += inv[1];
      err2 += (d.x - s.x) ** 2;
      reported2 += d.xErr ** 2;
      expect(Math.abs(d.flux / s.flux - 1)).toBeLessThan(0.05);
    }
    const n = m.pairs.length;
    const rmsErr = Math.sqrt(err2 / n);
    const crb = Math.sqrt(crb2 / n);
    expect(rmsErr).toBeLessThan(1.5 * crb);
    // The reported x_err is the Fisher bound of the fitted model: close to the true CRB.
    expect(Math.sqrt(reported2 / n) / crb).toBeGreaterThan(0.8);
    expect(Math.sqrt(reported2 / n) / crb).toBeLessThan(1.25);
  });

  it('is deterministic for a given input', () => {
    const psf = new GaussianPsf(1.2);
    const sim = simulate({ kind: 'stars', width: 64, height: 64, count: 12, psf, seed: 3 });
    const a = detect({ width: 64, height: 64, data: sim.frames[0] }, { psf });
    const b = detect({ width: 64, height: 64, data: sim.frames[0] }, { psf });
    expect(b.sources).toEqual(a.sources);
  });

  it('certifies a tiled frame first at iteration 3, a single frame at 5, then every 5 (or as asked)', () => {
    const psf = new GaussianPsf(1.5);
    const sim = simulate({ kind: 'stars', width: 300, height: 120, count: 60, psf, seed: 8, flux: [1000, 20000], background: 100 });
    const image = { width: 300, height: 120, data: sim.frames[0] };
    const certIters = (r: { tiles: { certificates: { iteration: number }[] }[] }) => r.tiles.map((t) => t.certificates.map((c) => c.iteration));
    // Two tiles of 150×120 (tileSize 160): each solve's certificates at 3, 8, 13, …
    const tiled = detect(image, { psf, tileSize: 160 });
    expect(tiled.tiles.length).toBe(2);
    for (const its of certIters(tiled)) {
      expect(its[0]).toBe(3);
      for (let k = 1; k < its.length; k++) expect(its[k] - its[k - 1]).toBe(5);
    }
    // One tile: at 5, 10, …; and the options override either default.
    const single = detect(image, { psf, tileSize: 512 });
    expect(single.tiles.length).toBe(1);
    expect(certIters(single)[0].slice(0, 2)).toEqual([5, 10].slice(0, certIters(single)[0].length));
    const asked = detect(image, { psf, tileSize: 160, cpgd: { firstCertificate: 2, certificateEvery: 4 } });
    for (const its of certIters(asked)) expect(its.slice(0, 2)).toEqual([2, 6].slice(0, its.length));
    expect(() => detect(image, { psf, cpgd: { firstCertificate: 0 } })).toThrow(InvalidOptionError);
  });

  it('honours shouldStop with the cancelled status and reports progress', () => {
    const psf = new GaussianPsf(1.2);
    const sim = simulate({ kind: 'stars', width: 96, height: 96, count: 30, psf, seed: 4 });
    let calls = 0;
    const res = detect({ width: 96, height: 96, data: sim.frames[0] }, { psf, onProgress: () => calls++, shouldStop: () => calls >= 3 });
    expect(res.status).toBe('cancelled');
    expect(calls).toBe(3);
  });
});

describe('detect rejects bad input with typed errors', () => {
  const img = { width: 32, height: 32, data: new Float64Array(32 * 32).fill(10) };
  it('bad options', () => {
    expect(() => new GaussianPsf(0)).toThrow(InvalidPsfError);
    expect(() => new GaussianPsf(-1.5)).toThrow(InvalidPsfError);
    const psf = new GaussianPsf(1.5);
    expect(() => detect(img, { psf, lambda: -1 })).toThrow(InvalidOptionError);
    expect(() => detect(img, { psf, lambda: { auto: 0 } })).toThrow(InvalidOptionError);
    expect(() => detect(img, { psf, background: 'wavy' as never })).toThrow(InvalidOptionError);
    expect(() => detect(img, { psf, noise: { gain: 0 } })).toThrow(InvalidOptionError);
    expect(() => detect(img, { psf, noise: { readNoise: -2 } })).toThrow(InvalidOptionError);
    expect(() => detect(img, { psf, cpgd: { maxIter: -5 } })).toThrow(InvalidOptionError);
    expect(() => validateDetectOptions({} as never)).toThrow(InvalidOptionError);
    try {
      detect(img, { psf, lambda: -1 });
    } catch (e) {
      expect((e as InvalidOptionError).code).toBe('invalid-option');
      expect((e as InvalidOptionError).option).toBe('--lambda');
    }
  });
  it('an image without a finite pixel', () => {
    const psf = new GaussianPsf(1.5);
    expect(() => detect({ width: 8, height: 8, data: new Float64Array(64).fill(NaN) }, { psf })).toThrow(InvalidImageError);
  });
  it('masks NaN pixels instead of failing', () => {
    const psf = new GaussianPsf(1.3);
    const sim = simulate({ kind: 'stars', width: 64, height: 64, count: 8, psf, seed: 9, flux: [5000, 20000] });
    const data = Float64Array.from(sim.frames[0]);
    for (let x = 0; x < 64; x++) data[10 * 64 + x] = NaN;
    const res = detect({ width: 64, height: 64, data }, { psf });
    const m = matchCatalogs(res.sources, sim.truth, 1);
    expect(m.recall).toBeGreaterThanOrEqual(0.85);
    expect(res.sources.every((s) => Number.isFinite(s.x) && Number.isFinite(s.flux))).toBe(true);
  });
});
