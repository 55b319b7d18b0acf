/**
 * The claims of the talk that defines the method (../shared/reference/cpgd-talk.md), reproduced
 * on its own examples: spikes deconvolution with the Dirichlet kernel on the torus.
 */
import { describe, expect, it } from 'vitest';
import { DirichletPsf } from '../../../src-main/core/psf/dirichlet.js';
import { allocStamp } from '../../../src-main/core/psf/types.js';
import { solveCpgd, type CpgdOptions, type CpgdProblem, type ParticleInit } from '../../../src-main/core/solver/cpgd.js';

interface Spike {
  x: number;
  y: number;
  a: number;
}

function torusProblem(spikes: Spike[], K: number, N: number, M: number, lambda: number): CpgdProblem {
  const psf = new DirichletPsf(K, N, M);
  const data = new Float64Array(N * M);
  const st = allocStamp(psf);
  for (const s of spikes) {
    psf.stamp(s.x, s.y, st);
    for (let k = 0; k < N * M; k++) data[k] += s.a * st.v[k];
  }
  return { width: N, height: M, data, weights: new Float64Array(N * M).fill(1), psf, lambda, background: null, signed: spikes.some((s) => s.a < 0) };
}

/** Torus distance on a period. */
const wrap = (d: number, n: number) => Math.abs(((((d % n) + 1.5 * n) % n) - 0.5 * n));

function significant(particles: ParticleInit[], floor: number): ParticleInit[] {
  return particles.filter((p) => p.a > floor).sort((a, b) => a.x - b.x);
}

/** The talk's plain flow: no preconditioner, no sliding polish, no merging or births. */
const PLAIN: CpgdOptions = { precondition: false, slideEvery: 0, mergeDistance: 0, births: false, certificateEvery: 1_000_000, tolerance: 0 };

describe('talk claims: spikes deconvolution on the torus (Dirichlet kernel)', () => {
  const spikes: Spike[] = [
    { x: 3.3, y: 5.7, a: 1.0 },
    { x: 12.1, y: 14.6, a: 0.7 },
    { x: 18.8, y: 4.2, a: 1.3 },
  ];
  const N = 24;

  it('(1) recovers positions within 1e-3 px and weights within 1e-2 from a uniform grid start, noise-free', () => {
    const problem = torusProblem(spikes, 4, N, N, 2e-4);
    // Over-parameterised start: a particle every 2 px over the whole torus (144 particles).
    const res = solveCpgd(problem, { init: 'grid', gridSpacing: 2, initialWeight: 0.01, precondition: false, maxStep: 20, maxIter: 4000, tolerance: 1e-9 });
    const found = significant(res.particles, 1e-3);
    expect(found.length).toBe(spikes.length);
    for (const s of spikes) {
      const p = found.reduce((best, q) => (Math.hypot(wrap(q.x - s.x, N), wrap(q.y - s.y, N)) < Math.hypot(wrap(best.x - s.x, N), wrap(best.y - s.y, N)) ? q : best));
      expect(wrap(p.x - s.x, N)).toBeLessThan(1e-3);
      expect(wrap(p.y - s.y, N)).toBeLessThan(1e-3);
      expect(Math.abs(p.a - s.a)).toBeLessThan(1e-2);
    }
    // The certificate says so too: V ≥ 0 up to rounding and a tiny duality gap.
    expect(res.certificate.relativeGap).toBeLessThan(1e-5);
    expect(res.certificate.minV / problem.lambda).toBeGreaterThan(-1e-5);
    // F never increased.
    for (let i = 1; i < res.history.length; i++) expect(res.history[i]).toBeLessThanOrEqual(res.history[i - 1]);
  });

  it('(2) recovers signed 1-D spikes with the two families +φ and −φ', () => {
    const signed: Spike[] = [
      { x: 10.3, y: 0, a: 1.0 },
      { x: 25.7, y: 0, a: -0.8 },
      { x: 44.2, y: 0, a: 0.6 },
      { x: 52.9, y: 0, a: -0.5 },
    ];
    const M = 64;
    // λ/G = 0.0075 is the expected shrinkage of every weight (G = Σφ² = 17/64).
    const problem = torusProblem(signed, 8, M, 1, 2e-3);
    expect(problem.psf.dims).toBe(1);
    const res = solveCpgd(problem, { init: 'grid', gridSpacing: 1, initialWeight: 0.01, maxIter: 3000, tolerance: 1e-8 });
    const found = significant(res.particles, 1e-2);
    expect(found.length).toBe(signed.length);
    for (const s of signed) {
      const p = found.find((q) => wrap(q.x - s.x, M) < 0.01);
      expect(p, `spike at ${s.x}`).toBeDefined();
      expect(p!.sign).toBe(Math.sign(s.a));
      expect(Math.abs(p!.a - Math.abs(s.a))).toBeLessThan(2e-2);
      expect(p!.y).toBe(0);
    }
    // Nothing else carries mass.
    const total = res.particles.reduce((t, p) => t + p.a, 0);
    const kept = found.reduce((t, p) => t + p.a, 0);
    expect(total - kept).toBeLessThan(1e-3);
  });

  const nearStart = spikes.map((s) => ({ x: s.x + 0.08, y: s.y - 0.05, a: s.a * 0.9 }));

  it('(3) non-degenerate case: log(F − F*) falls linearly in iterations near the optimum', () => {
    const problem = torusProblem(spikes, 4, N, N, 5e-4);
    const fixed: CpgdOptions = { ...PLAIN, init: nearStart, adaptiveStep: false, maxStep: 0.1 };
    const reference = solveCpgd(problem, { ...fixed, maxStep: 1, maxIter: 5000 });
    const Fstar = Math.min(...reference.history);
    const run = solveCpgd(problem, { ...fixed, maxIter: 200 });
    // Fit log(F − F*) = c + slope·t over the window where the gap is well above rounding.
    const pts: [number, number][] = [];
    run.history.forEach((F, t) => {
      const gap = F - Fstar;
      if (t >= 20 && gap > 1e-11 && gap < 1e-4) pts.push([t, Math.log(gap)]);
    });
    expect(pts.length).toBeGreaterThan(60);
    const n = pts.length;
    const mx = pts.reduce((s, p) => s + p[0], 0) / n;
    const my = pts.reduce((s, p) => s + p[1], 0) / n;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (const [x, y] of pts) {
      sxy += (x - mx) * (y - my);
      sxx += (x - mx) ** 2;
      syy += (y - my) ** 2;
    }
    const slope = sxy / sxx;
    const r2 = (sxy * sxy) / (sxx * syy);
    // Exponential convergence: a clearly negative slope and a straight line in log scale.
    expect(slope).toBeLessThan(-0.03);
    expect(r2).toBeGreaterThan(0.99);
  });

  it('(4) with positions frozen (β = 0) the same problem converges markedly slower', () => {
    const problem = torusProblem(spikes, 4, N, N, 5e-4);
    const grid: CpgdOptions = { ...PLAIN, init: 'grid', gridSpacing: 2, initialWeight: 0.01, maxStep: 20 };
    const reference = solveCpgd(problem, { ...grid, slideEvery: 5, mergeDistance: 0.3, births: true, certificateEvery: 10, maxIter: 3000, tolerance: 1e-10 });
    const Fstar = reference.objective;
    const moving = solveCpgd(problem, { ...grid, maxIter: 600 });
    const frozen = solveCpgd(problem, { ...grid, maxIter: 600, betaOverAlpha: 0 });
    const gapMoving = moving.objective - Fstar;
    const gapFrozen = frozen.objective - Fstar;
    expect(gapMoving).toBeGreaterThanOrEqual(-1e-12);
    expect(gapFrozen).toBeGreaterThan(100 * Math.max(gapMoving, 1e-12));
    // And frozen particles never reach the spikes: the nearest grid node is up to 1.4 px away.
    expect(frozen.particles.every((p) => Number.isInteger(p.x) && Number.isInteger(p.y))).toBe(true);
  });
});
