#!/usr/bin/env node
/**
 * `npm run bench:convergence`: the talk's convergence figures (../shared/reference/cpgd-talk.md),
 * regenerated with the project's solver and written as SVG under bench/results/:
 *
 * - convergence-2d.svg and convergence-2d-loglog.svg: F(μ_t) − F* against iterations for the
 *   2-D spikes deconvolution with the Dirichlet kernel on the torus (the talk's example, the setup
 *   of test/core/solver/talk.test.ts: three spikes on a 24×24 torus, K = 4, λ = 5e-4,
 *   noise-free): conic particle gradient descent (particles move; exponential once near the
 *   optimum), and fixed positions on a dense grid with multiplicative weight updates (the talk's
 *   rate log(t)/t) and with additive (projected gradient) updates (the talk's t^(−2/(d+2)) =
 *   t^(−1/2) in 2-D, slower);
 * - trajectories-1d.svg: the positions of the particles against iterations in the signed 1-D
 *   example (four spikes ±, K = 8 on 64 samples), + in red and − in blue, opacity by weight.
 *
 *   node bench/convergence.mjs [--iterations N]
 *
 * CPGD and the multiplicative fixed-grid flow are the project's solveCpgd (the talk's plain flow:
 * no preconditioner, no sliding, merging or births; β = 0 freezes positions). The additive flow is
 * not a solver option, so it is written out here: a ← max(0, a − V/L) on the same grid, with
 * L the largest eigenvalue of the grid's Gram matrix (the largest stable constant step).
 * F* is the best objective any run reaches (the reference run: CPGD with sliding, merging and
 * births from CPGD's end point to a 1e-12 relative duality gap, or 3000 iterations).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirichletPsf } from '../out/node/core/psf/dirichlet.js';
import { allocStamp } from '../out/node/core/psf/types.js';
import { solveCpgd } from '../out/node/core/solver/cpgd.js';
import { svgPlot } from './lib/svg.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results');
const args = process.argv.slice(2);
const ITER = args.includes('--iterations') ? Number(args[args.indexOf('--iterations') + 1]) : 2000;

/** The talk's problem on the torus: data = Σ a_s φ(· − x_s), unit weights, no background. */
function torusProblem(spikes, K, N, M, lambda) {
  const psf = new DirichletPsf(K, N, M);
  const data = new Float64Array(N * M);
  const st = allocStamp(psf);
  for (const s of spikes) {
    psf.stamp(s.x, s.y, st);
    for (let k = 0; k < N * M; k++) data[k] += s.a * st.v[k];
  }
  return { width: N, height: M, data, weights: new Float64Array(N * M).fill(1), psf, lambda, background: null, signed: spikes.some((s) => s.a < 0) };
}

const PLAIN = { precondition: false, slideEvery: 0, mergeDistance: 0, births: false, certificateEvery: 1_000_000, tolerance: 0 };

// ---- 2-D: F − F* for CPGD, fixed grid multiplicative, fixed grid additive --------------------
const spikes = [
  { x: 3.3, y: 5.7, a: 1.0 },
  { x: 12.1, y: 14.6, a: 0.7 },
  { x: 18.8, y: 4.2, a: 1.3 },
];
const N = 24;
const LAMBDA = 5e-4;
const problem = torusProblem(spikes, 4, N, N, LAMBDA);
// CPGD starts from a particle every 2 px (144 particles), the fixed-grid flows from a grid 4×
// denser (every 0.5 px, 2304 particles; the talk's rates are for an infinitely dense grid); every
// start holds the same total mass 1.44.
const CPGD_SPACING = 2;
const GRID_SPACING = 0.5;
const A0 = 0.01;
const a0Grid = (A0 * (N / CPGD_SPACING) ** 2) / (N / GRID_SPACING) ** 2;

const t0 = performance.now();
const cpgd = solveCpgd(problem, { ...PLAIN, init: 'grid', gridSpacing: CPGD_SPACING, initialWeight: A0, maxStep: 20, maxIter: ITER });
// F*: CPGD's end point polished with sliding, merging and births until the certificate's
// relative duality gap is 1e-12 (or 3000 more iterations).
const reference = solveCpgd(problem, { ...PLAIN, init: cpgd.particles, maxStep: 20, slideEvery: 5, mergeDistance: 0.3, births: true, certificateEvery: 10, maxIter: 3000, tolerance: 1e-12 });
const frozen = solveCpgd(problem, { ...PLAIN, init: 'grid', gridSpacing: GRID_SPACING, initialWeight: a0Grid, maxStep: 20, maxIter: ITER, betaOverAlpha: 0 });
const additive = additiveFlow(problem, GRID_SPACING, a0Grid, ITER);
const Fstar = Math.min(reference.objective, ...reference.history, ...cpgd.history, ...frozen.history, ...additive.history);
console.log(`2-D torus: F* = ${Fstar.toExponential(10)} (reference ${reference.status}, relative gap ${reference.certificate.relativeGap.toExponential(1)}, ${reference.iterations} iterations)`);
for (const [name, r] of [['CPGD', cpgd], ['fixed grid, multiplicative', frozen], ['fixed grid, additive', additive]]) {
  const h = r.history;
  const at = (t) => (h[Math.min(t, h.length - 1)] - Fstar).toExponential(2);
  console.log(`  ${name.padEnd(28)} F − F* at t = 10: ${at(10)}, 100: ${at(100)}, 1000: ${at(1000)}, ${h.length - 1}: ${at(h.length - 1)}`);
}

// The fixed-grid flows cannot go below the best objective on their grid; F_grid* is estimated by
// running the multiplicative flow much longer, and shown as a dotted line.
const gap = (h) => h.map((F, t) => [t, Math.max(F - Fstar, 0)]);
const series = [
  { label: 'CPGD (particles move)', points: gap(cpgd.history), color: '#d62728' },
  { label: `fixed grid (${GRID_SPACING} px), multiplicative`, points: gap(frozen.history), color: '#1f77b4' },
  { label: `fixed grid (${GRID_SPACING} px), additive`, points: gap(additive.history), color: '#2ca02c' },
];
const floor = Math.max(1e-16, Math.abs(Fstar) * 1e-15);
const yMax = Math.max(...series.flatMap((s) => s.points.map((p) => p[1])));
const yMin = Math.min(...series.flatMap((s) => s.points.map((p) => p[1]).filter((g) => g > floor)));
const clampPts = (pts) => pts.map(([t, g]) => [t, g > floor ? g : null]).map((p) => (p[1] === null ? null : p));
const title = `Spikes on the 2-D torus (Dirichlet kernel, K = 4, 3 spikes, λ = ${LAMBDA})`;
mkdirSync(RESULTS, { recursive: true });
writeFileSync(
  join(RESULTS, 'convergence-2d.svg'),
  svgPlot({
    title,
    xLabel: 'iteration t',
    yLabel: 'F(μ_t) − F*',
    yLog: true,
    xDomain: [0, ITER],
    yDomain: [yMin / 3, yMax * 2],
    series: series.map((s) => ({ ...s, points: clampPts(s.points) })),
    legendPosition: 'bottom-left',
  }),
);
// Log–log: the power laws of the fixed-grid flows, with the talk's rates as reference slopes
// (scaled to meet each curve at t = 10).
const ref = (curve, f, label, color) => {
  const c = curve[10][1] / f(10);
  return { label, points: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].filter((t) => t <= ITER).map((t) => [t, c * f(t)]), color, dash: '2 4', width: 1.5 };
};
writeFileSync(
  join(RESULTS, 'convergence-2d-loglog.svg'),
  svgPlot({
    title: `${title}, log–log`,
    xLabel: 'iteration t',
    yLabel: 'F(μ_t) − F*',
    xLog: true,
    yLog: true,
    xDomain: [1, ITER],
    yDomain: [yMin / 3, yMax * 2],
    series: [
      ...series.map((s) => ({ ...s, points: clampPts(s.points).filter((p) => p === null || p[0] >= 1) })),
      ref(series[1].points, (t) => Math.log(t + 1) / t, 'rate log(t)/t (talk, multiplicative)', '#1f77b4'),
      ref(series[2].points, (t) => t ** -0.5, 'rate t^(−1/2) (talk, additive, d = 2)', '#2ca02c'),
    ],
    legendPosition: 'bottom-left',
  }),
);

// ---- 1-D signed: particle trajectories --------------------------------------------------------
const signed = [
  { x: 10.3, y: 0, a: 1.0 },
  { x: 25.7, y: 0, a: -0.8 },
  { x: 44.2, y: 0, a: 0.6 },
  { x: 52.9, y: 0, a: -0.5 },
];
const M = 64;
const p1 = torusProblem(signed, 8, M, 1, 2e-3);
// Every iteration's particles; identity across iterations from the solver's order, which pruning
// keeps (it only removes): an old particle continues as the next new one of the same sign within
// one step's reach (0.5 sample), otherwise it was pruned.
/** @type {{ sign: number, pts: ([number, number] | null)[], a: number, x: number }[]} */
let tracks = [];
let live = [];
const ITER_1D = 3000;
const keepAt = new Set();
for (let k = 0; k <= 400; k++) keepAt.add(Math.round(ITER_1D ** (k / 400)));
const record = (t, list) => {
  if (t === 0) {
    live = list.map((p) => {
      const tr = { sign: p.sign ?? 1, pts: [[p.x, 0.5]], a: p.a, x: p.x };
      tracks.push(tr);
      return tr;
    });
    return;
  }
  const next = [];
  let j = 0;
  for (const tr of live) {
    if (j >= list.length) break;
    const p = list[j];
    const dx = Math.abs(((((p.x - tr.x) % M) + 1.5 * M) % M) - 0.5 * M);
    // A step moves a particle by at most 0.5 sample (the solver's cap).
    if ((p.sign ?? 1) === tr.sign && dx <= 0.75) {
      // Break the line where the particle wraps around the torus.
      if (Math.abs(p.x - tr.x) > M / 2) tr.pts.push(null);
      if (keepAt.has(t) || Math.abs(p.x - tr.x) > M / 2) tr.pts.push([p.x, t]);
      tr.x = p.x;
      tr.a = p.a;
      next.push(tr);
      j++;
    }
  }
  live = next;
};
const start = solveCpgd(p1, { ...PLAIN, init: 'grid', gridSpacing: 1, initialWeight: 0.01, maxIter: 0 });
record(0, start.particles);
let lastT = 0;
const traj = solveCpgd(p1, {
  ...PLAIN,
  init: 'grid',
  gridSpacing: 1,
  initialWeight: 0.01,
  maxIter: ITER_1D,
  onProgress: (pr) => {
    record(pr.iteration, pr.snapshot());
    lastT = pr.iteration;
  },
});
for (const tr of live) if (tr.pts.length && tr.pts[tr.pts.length - 1]?.[1] !== lastT) tr.pts.push([tr.x, lastT]);
const aMax = Math.max(...traj.particles.map((p) => p.a));
const found = traj.particles.filter((p) => p.a > 1e-2).sort((a, b) => a.x - b.x);
console.log(`1-D signed: ${traj.status} after ${traj.iterations} iterations; particles with a > 0.01: ${found.map((p) => `${p.sign === -1 ? '−' : '+'}${p.a.toFixed(3)} at ${p.x.toFixed(3)}`).join(', ')}`);
for (const sp of signed) {
  const near = traj.particles.filter((p) => (p.sign ?? 1) === Math.sign(sp.a) && Math.abs(p.x - sp.x) < 0.5);
  const mass = near.reduce((t, p) => t + p.a, 0);
  const far = Math.max(...near.filter((p) => p.a > 1e-2).map((p) => Math.abs(p.x - sp.x)));
  console.log(`  spike ${sp.a > 0 ? '+' : '−'}${Math.abs(sp.a)} at ${sp.x}: ${near.length} particles within 0.5, total weight ${mass.toFixed(4)} (λ/G shrinkage ${(2e-3 / (17 / 64)).toFixed(4)}), the farthest with a > 0.01 at ${far.toFixed(4)}`);
}
console.log(`  true spikes: ${signed.map((s) => `${s.a < 0 ? '−' : '+'}${Math.abs(s.a)} at ${s.x}`).join(', ')}; ${tracks.length} particles at the start, ${live.length} at the end`);
writeFileSync(
  join(RESULTS, 'trajectories-1d.svg'),
  svgPlot({
    title: 'Signed 1-D spikes deconvolution: trajectories of the particles (K = 8, 64 samples)',
    xLabel: 'position x (samples, periodic)',
    yLabel: 'iteration t',
    yLog: true,
    xDomain: [0, M],
    yDomain: [0.5, lastT],
    height: 520,
    series: [
      ...tracks.map((tr) => ({
        points: tr.pts,
        color: tr.sign > 0 ? '#d62728' : '#1f77b4',
        width: 1.2,
        opacity: Math.max(0.12, Math.min(1, live.includes(tr) ? tr.a / aMax : 0.12)),
        legend: false,
      })),
      { label: 'particle of weight +a (opacity ∝ final a)', points: [], color: '#d62728' },
      { label: 'particle of weight −a (opacity ∝ final a)', points: [], color: '#1f77b4' },
    ],
    markers: signed.map((s) => ({ x: s.x, color: s.a > 0 ? '#ff9896' : '#9ecae1', label: s.a > 0 ? 'true spike, weight > 0' : 'true spike, weight < 0' })),
    legendPosition: 'below',
  }),
);
console.log(`written: bench/results/convergence-2d.svg, convergence-2d-loglog.svg, trajectories-1d.svg (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

/**
 * Fixed positions on a grid of spacing h, additive updates: projected gradient descent
 * a ← max(0, a − V/L), V_i = Σ_p (model − f)_p φ(p − x_i) + λ, with the constant step 1/L,
 * L = ‖Φ‖² the largest eigenvalue of the Gram matrix (power iteration).
 */
function additiveFlow(p, h, a0, iterations) {
  const { width: W, height: H, psf, data, lambda } = p;
  const nx = Math.round(W / h);
  const ny = Math.round(H / h);
  const n = nx * ny;
  const P = W * H;
  const phi = new Float64Array(n * P);
  const st = allocStamp(psf);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      psf.stamp(i * h, j * h, st);
      const row = (j * nx + i) * P;
      for (let q = 0; q < st.ny; q++) {
        for (let r = 0; r < st.nx; r++) {
          const px = (((st.x0 + r) % W) + W) % W;
          const py = (((st.y0 + q) % H) + H) % H;
          phi[row + py * W + px] += st.v[q * st.nx + r];
        }
      }
    }
  }
  const model = new Float64Array(P);
  const apply = (a) => {
    model.fill(0);
    for (let i = 0; i < n; i++) {
      if (a[i] === 0) continue;
      const row = i * P;
      for (let k = 0; k < P; k++) model[k] += a[i] * phi[row + k];
    }
  };
  // L by power iteration on ΦΦᵀ.
  let v = new Float64Array(n).fill(1);
  let L = 0;
  for (let it = 0; it < 100; it++) {
    apply(v);
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const row = i * P;
      for (let k = 0; k < P; k++) s += phi[row + k] * model[k];
      w[i] = s;
    }
    const norm = Math.hypot(...w);
    L = norm / Math.hypot(...v);
    v = w.map((x) => x / norm);
  }
  const a = new Float64Array(n).fill(a0);
  const F = () => {
    apply(a);
    let s = 0;
    for (let k = 0; k < P; k++) s += 0.5 * (model[k] - data[k]) ** 2;
    for (let i = 0; i < n; i++) s += lambda * a[i];
    return s;
  };
  const history = [F()];
  for (let it = 1; it <= iterations; it++) {
    // model is current (F() just ran).
    for (let i = 0; i < n; i++) {
      let V = lambda;
      const row = i * P;
      for (let k = 0; k < P; k++) V += phi[row + k] * (model[k] - data[k]);
      a[i] = Math.max(0, a[i] - V / L);
    }
    history.push(F());
  }
  return { history, objective: history[history.length - 1] };
}
