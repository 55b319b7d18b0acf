#!/usr/bin/env node
/**
 * `npm run bench`: quality and speed of detection on simulated fields, printed as tables.
 * Every case is simulated with the project's own simulator (fixed seeds) and scored by one-to-one
 * matching within 1 px. Times are wall-clock on this machine, solver threads = all cores.
 *
 *   node bench/run.mjs [--quick] [--only crowded|scale]
 */
import { availableParallelism, cpus } from 'node:os';
import { GaussianPsf } from '../out/node/core/psf/gaussian.js';
import { simulate } from '../out/node/core/simulate.js';
import { matchCatalogs } from '../out/node/core/catalog/match.js';
import { DetectPool, detectFrameParallel } from '../out/node/jobs/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const threads = availableParallelism();
const pool = new DetectPool({ threads });

function table(title, header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padStart(widths[i])).join(' | ') + ' |';
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

/** Per-axis and radial RMSE over matched pairs. */
function errors(m, det, truth) {
  let sx = 0;
  for (const p of m.pairs) {
    const d = det[p.detected];
    const t = truth[p.truth];
    sx += ((d.x - t.x) ** 2 + (d.y - t.y) ** 2) / 2;
  }
  return { perAxis: Math.sqrt(sx / Math.max(1, m.pairs.length)), radial: m.rmse };
}

async function run(sim, psf, options) {
  const t0 = performance.now();
  const res = await detectFrameParallel({ width: sim.width, height: sim.height, data: sim.frames[0] }, { psf: undefined, psfSpec: { kind: 'gaussian', sigmaX: psf.sigmaX, sigmaY: psf.sigmaY }, ...options }, pool, {});
  const seconds = (performance.now() - t0) / 1000;
  const m = matchCatalogs(res.sources, sim.truth, 1);
  const particles = res.tiles.reduce((s, t) => s + t.particleHistory[t.particleHistory.length - 1], 0);
  return { res, m, seconds, particles };
}

console.log(`cpgd benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'}, ${threads} threads, Node ${process.version}`);

if (!only || only === 'crowded') {
  // Issue target: 200×200, σ 1.5 px, 150 stars of 400–40000 counts (log-uniform), sky ~200 with
  // a gentle gradient, Poisson + read noise 5; default options. F1 ≥ 0.92, RMSE ≤ 0.17 px.
  const psf = new GaussianPsf(1.5);
  const rows = [];
  const seeds = quick ? [1, 2] : [1, 2, 3, 4, 5];
  let sum = { f1: 0, p: 0, r: 0, ax: 0, rad: 0, fl: 0, t: 0 };
  for (const seed of seeds) {
    const sim = simulate({ kind: 'stars', width: 200, height: 200, count: 150, psf, seed, readNoise: 5, background: 200, backgroundGradient: 0.1 });
    const { res, m, seconds } = await run(sim, psf, {});
    const e = errors(m, res.sources, sim.truth);
    rows.push([seed, res.sources.length, m.tp, m.fp, m.fn, m.precision.toFixed(3), m.recall.toFixed(3), m.f1.toFixed(3), e.perAxis.toFixed(3), e.radial.toFixed(3), (100 * m.medianFluxError).toFixed(1) + ' %', res.iterations, res.relativeGap.toExponential(1), res.status, seconds.toFixed(2)]);
    sum = { f1: sum.f1 + m.f1, p: sum.p + m.precision, r: sum.r + m.recall, ax: sum.ax + e.perAxis, rad: sum.rad + e.radial, fl: sum.fl + m.medianFluxError, t: sum.t + seconds };
  }
  const n = seeds.length;
  rows.push(['mean', '', '', '', '', (sum.p / n).toFixed(3), (sum.r / n).toFixed(3), (sum.f1 / n).toFixed(3), (sum.ax / n).toFixed(3), (sum.rad / n).toFixed(3), ((100 * sum.fl) / n).toFixed(1) + ' %', '', '', '', (sum.t / n).toFixed(2)]);
  table('Crowded field 200×200, 150 stars, σ 1.5 px (targets: F1 ≥ 0.92, RMSE ≤ 0.17 px)', ['seed', 'found', 'TP', 'FP', 'FN', 'precision', 'recall', 'F1', 'RMSE/axis px', 'RMSE radial px', 'median flux error', 'iterations', 'rel. gap', 'status', 'time s'], rows);
  // The Cramér–Rao floor of the radial error for this flux distribution (σ_x² ≈ σ²/f·(1 + 8πσ²b/f)).
  let crb = 0;
  const N = 200000;
  for (let k = 0; k < N; k++) {
    const f = Math.exp(Math.log(400) + (Math.log(40000) - Math.log(400)) * ((k + 0.5) / N));
    crb += 2 * ((1.5 * 1.5) / f) * (1 + (8 * Math.PI * 1.5 * 1.5 * 225) / f);
  }
  console.log(`\nCramér–Rao floor of the radial RMSE over all 150 stars (sky + read noise 225 counts²/px): ${Math.sqrt(crb / N).toFixed(3)} px; per axis ${Math.sqrt(crb / N / 2).toFixed(3)} px.`);
}

if (!only || only === 'scale') {
  // ~25 stars per 10⁴ px, σ 1.5 px, 1000–40000 counts, sky 200, read noise 5. Target: 2048² in
  // under 10 s on 2 cores with recall and precision ≥ 0.95.
  const psf = new GaussianPsf(1.5);
  const rows = [];
  for (const size of quick ? [512, 1024] : [512, 1024, 2048]) {
    const count = Math.round((size * size * 25) / 1e4);
    const sim = simulate({ kind: 'stars', width: size, height: size, count, psf, seed: 7, flux: [1000, 40000], readNoise: 5, background: 200, backgroundGradient: 0.1 });
    const { res, m, seconds, particles } = await run(sim, psf, {});
    const e = errors(m, res.sources, sim.truth);
    rows.push([`${size}²`, count, res.tiles.length, seconds.toFixed(1), res.iterations, particles, m.recall.toFixed(3), m.precision.toFixed(3), e.perAxis.toFixed(3), e.radial.toFixed(3), res.relativeGap.toExponential(1), res.status]);
  }
  table('Scale: fields at 25 stars per 10⁴ px, σ 1.5 px, 1000–40000 counts (target: 2048² < 10 s, recall and precision ≥ 0.95)', ['size', 'stars', 'tiles', 'time s', 'iterations (max tile)', 'particles', 'recall', 'precision', 'RMSE/axis px', 'RMSE radial px', 'max rel. gap', 'status'], rows);
}

await pool.close();
