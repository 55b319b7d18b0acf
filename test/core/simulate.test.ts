import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src-main/core/errors.js';
import { DirichletPsf } from '../../src-main/core/psf/dirichlet.js';
import { GaussianPsf } from '../../src-main/core/psf/gaussian.js';
import { backgroundModel, simulate, type SimulateOptions } from '../../src-main/core/simulate.js';

const psf = new GaussianPsf(1.3);

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe('simulate', () => {
  it('is deterministic for a seed, differs between seeds, and draws sources independently of the noise', () => {
    const o: SimulateOptions = { width: 48, height: 40, count: 15, psf, seed: 7 };
    const a = simulate(o);
    const b = simulate(o);
    expect(a.truth).toEqual(b.truth);
    expect(a.frames).toEqual(b.frames);
    const c = simulate({ ...o, seed: 8 });
    expect(c.truth).not.toEqual(a.truth);
    expect(c.frames[0]).not.toEqual(a.frames[0]);
    const quiet = simulate({ ...o, noise: false, readNoise: 0, gain: 3 });
    expect(quiet.truth).toEqual(a.truth);
    expect(a.width).toBe(48);
    expect(a.height).toBe(40);
    expect(a.frames).toHaveLength(1);
    expect(a.frames[0]).toHaveLength(48 * 40);
  });

  it('pixels far from sources have mean offset + gain·background and variance gain²·background + readNoise²', () => {
    const gain = 2.5;
    const offset = 100;
    const background = 50;
    const readNoise = 3;
    const width = 160;
    const height = 160;
    const sim = simulate({ width, height, count: 20, psf, gain, offset, background, readNoise, backgroundGradient: 0, seed: 3 });
    const far = psf.radius + 2;
    const vals: number[] = [];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (sim.truth.every((s) => Math.abs(s.x - x) > far || Math.abs(s.y - y) > far)) vals.push(sim.frames[0][y * width + x]);
      }
    }
    expect(vals.length).toBeGreaterThan(10_000);
    const n = vals.length;
    const mean = sum(vals) / n;
    const variance = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
    const sigma2 = gain * gain * background + readNoise * readNoise;
    expect(Math.abs(mean - (offset + gain * background))).toBeLessThan(5 * Math.sqrt(sigma2 / n));
    // For a nearly normal law var(s²) ≈ 2σ⁴/n; the Poisson part adds gain⁴·λ/n of excess kurtosis.
    expect(Math.abs(variance - sigma2)).toBeLessThan(5 * Math.sqrt((2 * sigma2 * sigma2 + gain ** 4 * background) / n));
  });

  it('adds Σ flux·gain above the background, at the true positions (x along columns)', () => {
    const width = 64;
    const height = 48;
    const gain = 1.7;
    const offset = 12;
    const margin = psf.radius + 1;
    const o: SimulateOptions = { width, height, count: 12, psf, gain, offset, margin, seed: 21, flux: [5000, 50000] };
    const quiet = simulate({ ...o, noise: false });
    const bg = backgroundModel(quiet.config);
    const excess = quiet.frames[0].map((v, p) => (v - offset) / gain - bg[p]);
    const totalFlux = sum(quiet.truth.map((s) => s.flux));
    // The Gaussian stamp covers the pixels whose centres lie within 4σ, so up to ~3e-4 of a
    // source's flux (beyond 3.6σ on one side) can fall outside its support.
    expect(Math.abs(sum(excess) - totalFlux)).toBeLessThan(1e-3 * totalFlux);

    // With noise the total still matches, within the shot and read noise of the whole frame.
    const noisy = simulate({ ...o, readNoise: 4 });
    const expectedAdu = sum(quiet.frames[0]);
    const sd = Math.sqrt(gain * (expectedAdu - offset * width * height) + width * height * 16);
    expect(Math.abs(sum(noisy.frames[0]) - expectedAdu)).toBeLessThan(5 * sd);

    // A lone source's light is centred on its true position: x is the column, y the row.
    const one = simulate({ ...o, count: 1, noise: false, backgroundGradient: 0 });
    const s = one.truth[0];
    let m0 = 0;
    let mx = 0;
    let my = 0;
    const b = one.config.background;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = (one.frames[0][y * width + x] - offset) / gain - b;
        m0 += v;
        mx += v * x;
        my += v * y;
      }
    }
    expect(Math.abs(m0 - s.flux)).toBeLessThan(1e-3 * s.flux);
    expect(Math.abs(mx / m0 - s.x)).toBeLessThan(1e-3);
    expect(Math.abs(my / m0 - s.y)).toBeLessThan(1e-3);
  });

  it('puts the background ramp along the diagonal with the requested mean', () => {
    const sim = simulate({ width: 30, height: 20, count: 0, psf, background: 100, backgroundGradient: 0.5, noise: false });
    const f = sim.frames[0];
    expect(f[0]).toBeCloseTo(75, 10);
    expect(f[30 * 20 - 1]).toBeCloseTo(125, 10);
    expect(sum(f) / f.length).toBeCloseTo(100, 10);
    expect(f[29]).toBeCloseTo(100, 10); // top-right corner is half way
  });

  it('places stars uniformly inside the margins with fluxes in the range', () => {
    const width = 100;
    const height = 60;
    const margin = 7.5;
    const sim = simulate({ width, height, count: 4000, psf, margin, flux: [100, 10000], seed: 5, noise: false });
    expect(sim.truth).toHaveLength(4000);
    for (const s of sim.truth) {
      expect(s.x).toBeGreaterThanOrEqual(margin);
      expect(s.x).toBeLessThanOrEqual(width - 1 - margin);
      expect(s.y).toBeGreaterThanOrEqual(margin);
      expect(s.y).toBeLessThanOrEqual(height - 1 - margin);
      expect(s.flux).toBeGreaterThanOrEqual(100);
      expect(s.flux).toBeLessThanOrEqual(10000);
      expect(s.frame).toBe(0);
    }
    expect(sim.truth.map((s) => s.id)).toEqual(Array.from({ length: 4000 }, (_, i) => i + 1));
    const n = sim.truth.length;
    // Uniform x on [7.5, 91.5]: mean 49.5, sd 84/√12.
    const mx = sum(sim.truth.map((s) => s.x)) / n;
    expect(Math.abs(mx - 49.5)).toBeLessThan((5 * 84) / Math.sqrt(12 * n));
    // Log-uniform flux: log10 flux uniform on [2, 4].
    const ml = sum(sim.truth.map((s) => Math.log10(s.flux))) / n;
    expect(Math.abs(ml - 3)).toBeLessThan((5 * 2) / Math.sqrt(12 * n));
  });

  it('simulates SMLM movies: 100 frames by default, Poisson emitter counts, each frame with its own emitters', () => {
    const width = 40;
    const height = 40;
    const sim = simulate({ kind: 'smlm', width, height, psf, seed: 4, margin: psf.radius + 1 });
    expect(sim.frames).toHaveLength(100);
    expect(sim.config).toMatchObject({ count: 20, background: 40, offset: 100, gain: 1, readNoise: 1.5, fluxDistribution: 'uniform' });
    const perFrame = new Array(100).fill(0);
    let prev = 0;
    sim.truth.forEach((s, i) => {
      expect(s.id).toBe(i + 1);
      expect(s.frame).toBeGreaterThanOrEqual(prev);
      prev = s.frame;
      perFrame[s.frame]++;
      expect(s.flux).toBeGreaterThanOrEqual(800);
      expect(s.flux).toBeLessThanOrEqual(4000);
    });
    const mean = sum(perFrame) / 100;
    expect(Math.abs(mean - 20)).toBeLessThan(5 * Math.sqrt(20 / 100));
    expect(new Set(perFrame).size).toBeGreaterThan(3); // counts vary between frames

    // Noise-free: each frame's excess light is exactly the flux of that frame's emitters.
    const quiet = simulate({ kind: 'smlm', width, height, psf, seed: 4, margin: psf.radius + 1, noise: false });
    expect(quiet.truth).toEqual(sim.truth);
    for (const f of [0, 1, 50, 99]) {
      const excess = sum(quiet.frames[f]) - width * height * (100 + 40);
      const flux = sum(sim.truth.filter((s) => s.frame === f).map((s) => s.flux));
      expect(Math.abs(excess - flux)).toBeLessThan(1e-3 * flux + 1e-9);
    }
    // Pixel mean over the movie sits near offset + background plus the emitters' share.
    const total = sum(sim.frames.map((fr) => sum(fr)));
    const expected = sum(quiet.frames.map((fr) => sum(fr)));
    expect(Math.abs(total - expected)).toBeLessThan(5 * Math.sqrt(expected - 100 * 100 * width * height + 100 * width * height * 2.25));
  });

  it('wraps periodic 1-D PSFs around the signal', () => {
    const dpsf = new DirichletPsf(3, 32, 1);
    const sim = simulate({ width: 32, height: 1, count: 3, psf: dpsf, background: 10, backgroundGradient: 0, noise: false, margin: 0 });
    for (const s of sim.truth) expect(s.y).toBe(0);
    const flux = sum(sim.truth.map((s) => s.flux));
    expect(sum(sim.frames[0])).toBeCloseTo(32 * 10 + flux, 6);
    expect(() => simulate({ width: 32, height: 2, psf: dpsf })).toThrow(InvalidOptionError);
  });

  const bad: [string, Partial<SimulateOptions> & Record<string, unknown>][] = [
    ['--count', { count: -1 }],
    ['--count', { count: 2.5 }],
    ['--width', { width: 0 }],
    ['--width', { width: 10.5 }],
    ['--height', { height: Number.NaN }],
    ['--height', { height: -3 }],
    ['--background', { background: -1 }],
    ['--background', { background: Infinity }],
    ['--gain', { gain: 0 }],
    ['--gain', { gain: -2 }],
    ['--frames', { frames: 0 }],
    ['--frames', { frames: 1.5 }],
    ['--read-noise', { readNoise: -1 }],
    ['--margin', { margin: 20 }],
    ['--margin', { margin: -1 }],
    ['--flux', { flux: [500, 100] }],
    ['--flux', { flux: [0, 100] }],
    ['--background-gradient', { backgroundGradient: 3 }],
    ['--kind', { kind: 'galaxies' as never }],
    ['--seed', { seed: 0.5 }],
    ['--psf', { psf: undefined as never }],
    ['--offset', { offset: Number.NaN }],
  ];
  for (const [option, patch] of bad) {
    it(`rejects ${option} = ${JSON.stringify(Object.values(patch)[0])}`, () => {
      let err: unknown;
      try {
        simulate({ width: 32, height: 32, psf, ...patch } as SimulateOptions);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
    });
  }

  it('accepts a fractional mean emitter count for SMLM', () => {
    const sim = simulate({ kind: 'smlm', width: 16, height: 16, count: 0.5, frames: 40, psf, noise: false });
    expect(sim.frames).toHaveLength(40);
    expect(sim.truth.length).toBeLessThan(60);
  });
});

describe('SMLM structure and drift', () => {
  it('--sites draws every emitter among fixed sites; --drift-rate moves frame f by f·rate', () => {
    const psf = new GaussianPsf(1.1);
    const base = { kind: 'smlm' as const, width: 40, height: 40, psf, count: 10, frames: 30, noise: false, seed: 4 };
    const still = simulate({ ...base, sites: 25 });
    const key = (x: number, y: number) => `${x.toFixed(9)},${y.toFixed(9)}`;
    const places = new Set(still.truth.map((t) => key(t.x, t.y)));
    expect(places.size).toBeLessThanOrEqual(25);
    expect(places.size).toBeGreaterThan(15);
    const moving = simulate({ ...base, sites: 25, drift: { x: 0.1, y: -0.05 } });
    expect(moving.truth).toHaveLength(still.truth.length);
    moving.truth.forEach((t, k) => {
      expect(t.x).toBeCloseTo(still.truth[k].x + 0.1 * t.frame, 12);
      expect(t.y).toBeCloseTo(still.truth[k].y - 0.05 * t.frame, 12);
    });
    // Without the options the movie is the one it always was.
    expect(simulate({ ...base }).truth).toEqual(simulate({ ...base, drift: { x: 0, y: 0 } }).truth);
    expect(() => simulate({ ...base, sites: 0 })).toThrow(/--sites/);
    expect(() => simulate({ ...base, kind: 'stars', sites: 5 })).toThrow(/--sites/);
    expect(() => simulate({ ...base, drift: { x: Number.NaN, y: 0 } })).toThrow(/--drift-rate/);
  });
});
