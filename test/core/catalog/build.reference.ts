/**
 * The catalogue builder as it was before its speed-up (commit 05071fc, src-main/core/catalog/build.ts),
 * kept verbatim as the reference the fast one must match to the bit. Do not optimise it.
 *
 * From the CPGD measure to a catalogue: particles that converged to one source are merged, every
 * source is refined by weighted least squares without the λ penalty (the L1 term shrinks every
 * flux by about λ/Σwφ², which is large for faint sources), and uncertainties come from the Fisher
 * information of the fitted model, F = Jᵀ W J over the source and the neighbours it overlaps.
 */

import type { BuildInput, BuildOptions, RawSource } from '../../../src-main/core/catalog/build.js';
import { allocStamp, type Stamp } from '../../../src-main/core/psf/types.js';
import { Cholesky } from '../../../src-main/core/solver/background.js';
import type { ParticleInit } from '../../../src-main/core/solver/cpgd.js';
import { copyStamp, groupSystem, proximityGroups, type Member } from '../../../src-main/core/solver/groups.js';

interface Src {
  x: number;
  y: number;
  a: number;
  s: 1 | -1;
  alive: boolean;
}

/** Particles of the same sign linked within `radius` make one source at their mass-weighted centre. */
function clusterParticles(particles: ParticleInit[], radius: number): Src[] {
  const out: Src[] = [];
  for (const sign of [1, -1] as const) {
    const idx: number[] = [];
    particles.forEach((p, i) => {
      if (p.a > 0 && (p.sign ?? 1) === sign) idx.push(i);
    });
    const xs = idx.map((i) => particles[i].x);
    const ys = idx.map((i) => particles[i].y);
    for (const g of proximityGroups(xs, ys, idx.length, Math.max(radius, 1e-9), Infinity)) {
      let a = 0;
      let x = 0;
      let y = 0;
      for (const k of g) {
        const p = particles[idx[k]];
        a += p.a;
        x += p.a * p.x;
        y += p.a * p.y;
      }
      out.push({ x: x / a, y: y / a, a, s: sign, alive: true });
    }
  }
  return out;
}

/** Pixel-level helper over a stamp clipped to the image. */
function forStamp(st: Stamp, W: number, H: number, fn: (idx: number, k: number) => void): void {
  const i0 = Math.max(0, -st.x0);
  const i1 = Math.min(st.nx, W - st.x0);
  const j0 = Math.max(0, -st.y0);
  const j1 = Math.min(st.ny, H - st.y0);
  for (let j = j0; j < j1; j++) {
    const row = (st.y0 + j) * W + st.x0;
    for (let i = i0; i < i1; i++) fn(row + i, j * st.nx + i);
  }
}

export function buildCatalogueReference(input: BuildInput, options: BuildOptions = {}): RawSource[] {
  const { width: W, height: H, data, weights: w, psf } = input;
  const mergeRadius = options.mergeRadius ?? 0.5 * psf.sigma;
  const sweeps = options.refineSweeps ?? 8;
  let srcs = clusterParticles(input.particles, mergeRadius);
  const N = W * H;
  const bg = input.background;
  const K = bg ? bg.size : 0;
  const c = Float64Array.from(input.backgroundCoefficients);
  const B = bg && K > 0 ? bg.render(c) : new Float64Array(N);
  const model = new Float64Array(N); // Σ s a φ
  const st = allocStamp(psf);
  const addSource = (s: Src, sign: number) => {
    psf.stamp(s.x, s.y, st);
    const amp = sign * s.s * s.a;
    forStamp(st, W, H, (idx, k) => {
      model[idx] += amp * st.v[k];
    });
  };
  for (const s of srcs) addSource(s, 1);
  // As in the solver, sources may sit up to 2σ beyond the edges; the caller decides what to keep.
  const out = 2 * psf.sigma;
  const clampX = (x: number) => Math.min(W - 0.5 + out, Math.max(-0.5 - out, x));
  const clampY = (y: number) => (psf.dims === 1 ? 0 : Math.min(H - 0.5 + out, Math.max(-0.5 - out, y)));

  const refitBackground = () => {
    if (!bg || K === 0) return;
    const resid = new Float64Array(N);
    for (let i = 0; i < N; i++) resid[i] = data[i] - model[i];
    const ne = bg.normalEquations(w, resid);
    new Cholesky(ne.gram, K).solve(ne.rhs, c);
    bg.render(c, B);
  };

  const refine = (nSweeps: number) => {
    const A = new Float64Array(9);
    const b = new Float64Array(3);
    for (let sweep = 0; sweep < nSweeps; sweep++) {
      for (const s of srcs) {
        if (!s.alive) continue;
        psf.stamp(s.x, s.y, st);
        A.fill(0);
        b.fill(0);
        const sa = s.s * s.a;
        forStamp(st, W, H, (idx, k) => {
          const wp = w[idx];
          if (wp === 0) return;
          const r = data[idx] - B[idx] - model[idx];
          const j0 = s.s * st.v[k];
          const j1 = sa * st.dx[k];
          const j2 = sa * st.dy[k];
          A[0] += wp * j0 * j0;
          A[1] += wp * j0 * j1;
          A[2] += wp * j0 * j2;
          A[4] += wp * j1 * j1;
          A[5] += wp * j1 * j2;
          A[8] += wp * j2 * j2;
          b[0] += wp * j0 * r;
          b[1] += wp * j1 * r;
          b[2] += wp * j2 * r;
        });
        A[3] = A[1];
        A[6] = A[2];
        A[7] = A[5];
        if (psf.dims === 1) {
          A[2] = A[5] = A[6] = A[7] = 0;
          A[8] = 1;
          b[2] = 0;
        }
        // Levenberg damping keeps faint, poorly constrained sources from jumping.
        for (let d = 0; d < 3; d++) A[d * 4] *= 1.001;
        if (!(A[0] > 0) || !(A[4] > 0) || !(A[8] > 0)) continue;
        let delta: Float64Array;
        try {
          delta = new Cholesky(A, 3).solve(b);
        } catch {
          continue;
        }
        addSource(s, -1);
        s.a = s.a + delta[0];
        const mx = Math.max(-0.5, Math.min(0.5, delta[1]));
        const my = Math.max(-0.5, Math.min(0.5, delta[2]));
        s.x = clampX(s.x + mx);
        s.y = clampY(s.y + my);
        if (!(s.a > 0)) {
          s.alive = false;
          continue;
        }
        addSource(s, 1);
      }
      refitBackground();
    }
  };

  if (sweeps > 0) {
    refitBackground();
    refine(sweeps);
    // Refinement can pull two components of one source together: merge and polish again.
    const merged = clusterParticles(srcs.filter((s) => s.alive).map((s) => ({ x: s.x, y: s.y, a: s.a, sign: s.s })), mergeRadius);
    if (merged.length < srcs.filter((s) => s.alive).length) {
      model.fill(0);
      srcs = merged;
      for (const s of srcs) addSource(s, 1);
      refine(Math.max(2, sweeps >> 1));
    }
  }
  srcs = srcs.filter((s) => s.alive && s.a > 0);
  return fisherErrors(srcs, input, B);
}

/** 1σ errors from the inverse Fisher information over each source and its overlapping neighbours. */
function fisherErrors(srcs: Src[], input: BuildInput, B: Float64Array): RawSource[] {
  const { width: W, height: H, weights: w, psf } = input;
  const st = allocStamp(psf);
  const members: Member[] = srcs.map((s) => {
    psf.stamp(s.x, s.y, st);
    return { a: s.a, s: s.s, stamp: copyStamp(st) };
  });
  const reach = 2 * psf.radius + 1;
  const xs = srcs.map((s) => s.x);
  const ys = srcs.map((s) => s.y);
  const grid = new Map<string, number[]>();
  srcs.forEach((s, i) => {
    const key = `${Math.floor(s.x / reach)},${Math.floor(s.y / reach)}`;
    const l = grid.get(key);
    if (l) l.push(i);
    else grid.set(key, [i]);
  });
  const dims: 2 | 3 = psf.dims === 1 ? 2 : 3;
  const out: RawSource[] = [];
  for (let i = 0; i < srcs.length; i++) {
    const s = srcs[i];
    let group = [i];
    const cx = Math.floor(s.x / reach);
    const cy = Math.floor(s.y / reach);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        for (const j of grid.get(`${cx + dx},${cy + dy}`) ?? []) {
          if (j !== i && Math.abs(xs[j] - s.x) < reach && Math.abs(ys[j] - s.y) < reach) group.push(j);
        }
      }
    }
    // The nearest dozen neighbours carry the correlations that matter; more only grows the matrix.
    if (group.length > 13) {
      const rest = group.slice(1).sort((a, b) => Math.hypot(xs[a] - s.x, ys[a] - s.y) - Math.hypot(xs[b] - s.x, ys[b] - s.y));
      group = [i, ...rest.slice(0, 12)];
    }
    const { A, P } = groupSystem(group.map((j) => members[j]), W, H, w, dims, null);
    let fluxErr = NaN;
    let xErr = NaN;
    let yErr = NaN;
    try {
      const ch = new Cholesky(A, P);
      const e = new Float64Array(P);
      const col = new Float64Array(P);
      const inv = (d: number) => {
        e.fill(0);
        e[d] = 1;
        ch.solve(e, col);
        return col[d];
      };
      fluxErr = Math.sqrt(inv(0));
      xErr = Math.sqrt(inv(1));
      yErr = dims === 3 ? Math.sqrt(inv(2)) : 0;
    } catch {
      // Singular information (a source on masked pixels): errors stay NaN.
    }
    const bx = Math.min(W - 1, Math.max(0, Math.round(s.x)));
    const by = Math.min(H - 1, Math.max(0, Math.round(s.y)));
    out.push({ x: s.x, y: s.y, flux: s.a, xErr, yErr, fluxErr, background: B[by * W + bx], sign: s.s });
  }
  return out;
}
