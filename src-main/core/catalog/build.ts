/**
 * From the CPGD measure to a catalogue: particles that converged to one source are merged, every
 * source is refined by weighted least squares without the λ penalty (the L1 term shrinks every
 * flux by about λ/Σwφ², which is large for faint sources), and uncertainties come from the Fisher
 * information of the fitted model, F = Jᵀ W J over the source and the neighbours it overlaps.
 */

import { allocStamp, type Psf, type Stamp } from '../psf/types.js';
import { Cholesky, type BackgroundBasis } from '../solver/background.js';
import type { ParticleInit } from '../solver/cpgd.js';
import { blockSums, jacobianColumns, proximityGroups } from '../solver/groups.js';

export interface BuildInput {
  width: number;
  height: number;
  data: Float64Array;
  weights: Float64Array;
  psf: Psf;
  background: BackgroundBasis | null;
  backgroundCoefficients: Float64Array;
  particles: ParticleInit[];
}

export interface BuildOptions {
  /** Particles closer than this (pixels) belong to one source (default 0.5·σ of the PSF). */
  mergeRadius?: number;
  /** Gauss–Seidel refinement sweeps (default 8; 0 keeps the CPGD positions and fluxes). */
  refineSweeps?: number;
  /**
   * A source whose last step moved it by less than this fraction of its 1σ uncertainty (in x, y
   * and flux, σ_k = 1/√(JᵀWJ)_kk of its own 3×3 system) is settled: later sweeps skip it until a
   * source whose stamp overlaps its own takes a larger step. Sweeps end early once every source
   * is settled. Default 0.01: the catalogue then stays within about 1 % of its errors of the
   * one that refines every source in every sweep (0), with about a third fewer source steps on
   * crowded fields; the 8 sweeps themselves leave a few blended sources farther than that from
   * their converged values.
   */
  settleTolerance?: number;
}

/** A source in image units (flux in ADU above the background), before ids and unit conversion. */
export interface RawSource {
  x: number;
  y: number;
  flux: number;
  xErr: number;
  yErr: number;
  fluxErr: number;
  /** Background level under the source, ADU per pixel. */
  background: number;
  /** Sign in signed mode (+1 otherwise). */
  sign: 1 | -1;
}

interface Src {
  x: number;
  y: number;
  a: number;
  s: 1 | -1;
  alive: boolean;
}

/** Particles of the same sign linked within `radius` make one source at their mass-weighted centre. */
export function clusterParticles(particles: ParticleInit[], radius: number): Src[] {
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

/** A source being refined, with its stamp at (x, y) (kept so a sweep evaluates the PSF once per source). */
interface Refined extends Src {
  st: Stamp;
  /** Buffer for the stamp at the next position (swapped with st when the source moves). */
  next: Stamp;
}


/**
 * rhs = Bᵀ W (data − model) for the constant and plane bases, as BackgroundBasis.projection sums
 * it but in one pass without a residual image: projection gathers each row's Σ_x w·r·P_a(u(x))
 * per x degree a, and a term's column of lx holds that same P_a(u(x)), so one accumulator per
 * term repeats those sums exactly (P_0 = 1 makes w·r·1 = w·r). Returns false for other bases.
 */
function projectResidual(bg: BackgroundBasis, w: Float64Array, data: Float64Array, model: Float64Array, rhs: Float64Array): boolean {
  const { width: W, height: H, size: K, lx, ly } = bg;
  if (K !== 1 && K !== 3) return false;
  let o0 = 0, o1 = 0, o2 = 0;
  for (let y = 0; y < H; y++) {
    let r0 = 0, r1 = 0, r2 = 0;
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const wp = w[row + x];
      if (wp === 0) continue;
      const wf = wp * (data[row + x] - model[row + x]);
      if (K === 1) r0 += wf * lx[x];
      else {
        r0 += wf * lx[3 * x];
        r1 += wf * lx[3 * x + 1];
        r2 += wf * lx[3 * x + 2];
      }
    }
    o0 += ly[K * y] * r0;
    if (K === 3) {
      o1 += ly[3 * y + 1] * r1;
      o2 += ly[3 * y + 2] * r2;
    }
  }
  rhs[0] = o0;
  if (K === 3) {
    rhs[1] = o1;
    rhs[2] = o2;
  }
  return true;
}

/** data − B for B = Σ c_k b_k, each pixel of B summed as BackgroundBasis.valueAt sums it. */
function renderLessB(bg: BackgroundBasis, c: Float64Array, data: Float64Array, dataLessB: Float64Array): void {
  const { width: W, height: H, size: K, lx, ly } = bg;
  if (K === 1 || K === 3) {
    const c0 = c[0], c1 = K === 3 ? c[1] : 0, c2 = K === 3 ? c[2] : 0;
    for (let y = 0; y < H; y++) {
      const oy = K * y;
      const ly0 = ly[oy];
      const ly1 = K === 3 ? ly[oy + 1] : 0;
      const ly2 = K === 3 ? ly[oy + 2] : 0;
      for (let x = 0; x < W; x++) {
        const ox = K * x;
        let v = 0;
        v += c0 * lx[ox] * ly0;
        if (K === 3) {
          v += c1 * lx[ox + 1] * ly1;
          v += c2 * lx[ox + 2] * ly2;
        }
        const p = y * W + x;
        dataLessB[p] = data[p] - v;
      }
    }
    return;
  }
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) dataLessB[y * W + x] = data[y * W + x] - bg.valueAt(x, y, c);
}

/** For each source, the others within `reach` px in x and y (whose stamps may overlap its own). */
function overlapping(srcs: readonly Src[], reach: number): number[][] {
  const grid = new Map<string, number[]>();
  srcs.forEach((s, i) => {
    const k = `${Math.floor(s.x / reach)},${Math.floor(s.y / reach)}`;
    const l = grid.get(k);
    if (l) l.push(i);
    else grid.set(k, [i]);
  });
  return srcs.map((s, i) => {
    const out: number[] = [];
    const cx = Math.floor(s.x / reach);
    const cy = Math.floor(s.y / reach);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        for (const j of grid.get(`${cx + dx},${cy + dy}`) ?? []) {
          if (j !== i && Math.abs(srcs[j].x - s.x) < reach && Math.abs(srcs[j].y - s.y) < reach) out.push(j);
        }
      }
    }
    return out;
  });
}

/**
 * The refinement's state and steps. A class rather than closures in buildCatalogue: every call
 * made fresh closures, which V8 optimised again and again (the sweep loop alone was recompiled
 * about once per tile, ~75 ms of compiler time each), while a class's methods are compiled once.
 */
class Refiner {
  readonly W: number;
  readonly H: number;
  readonly N: number;
  readonly w: Float64Array;
  readonly data: Float64Array;
  readonly psf: Psf;
  readonly bg: BackgroundBasis | null;
  readonly c: Float64Array;
  /** data − B, refreshed with B: the residual data − B − model is then read as one subtraction
   * (the same value, since the old expression evaluated (data − B) first); B itself is only
   * needed under each source at the end. */
  readonly dataLessB: Float64Array;
  /** Σ s a φ. */
  readonly model: Float64Array;
  readonly settle2: number;
  /** As in the solver, sources may sit up to 2σ beyond the edges; the caller decides what to keep. */
  private readonly out: number;
  /** The background's normal matrix BᵀWB depends on the weights only: it is summed and factored
   * once, and each refit needs only the projection Bᵀ W (data − model), which
   * BackgroundBasis.projection sums as normalEquations does, so c and B are the same to the bit. */
  private gramChol: Cholesky | null = null;
  private readonly rhs: Float64Array;
  private resid: Float64Array | null = null;
  srcs: Refined[] = [];

  constructor(input: BuildInput, settle: number) {
    this.W = input.width;
    this.H = input.height;
    this.N = this.W * this.H;
    this.w = input.weights;
    this.data = input.data;
    this.psf = input.psf;
    this.bg = input.background && input.background.size > 0 ? input.background : null;
    this.c = Float64Array.from(input.backgroundCoefficients);
    this.dataLessB = this.bg ? new Float64Array(this.N) : this.data;
    if (this.bg) renderLessB(this.bg, this.c, this.data, this.dataLessB);
    this.model = new Float64Array(this.N);
    this.settle2 = settle * settle;
    this.out = 2 * this.psf.sigma;
    this.rhs = new Float64Array(this.bg ? this.bg.size : 0);
  }

  clampX(x: number): number {
    return Math.min(this.W - 0.5 + this.out, Math.max(-0.5 - this.out, x));
  }

  clampY(y: number): number {
    return this.psf.dims === 1 ? 0 : Math.min(this.H - 0.5 + this.out, Math.max(-0.5 - this.out, y));
  }

  /** Stamps are clipped to the image: rows j0..j1 and columns i0..i1 (exclusive) of the stamp. */
  addStamp(st: Stamp, amp: number): void {
    const { W, model } = this;
    const i0 = Math.max(0, -st.x0);
    const i1 = Math.min(st.nx, W - st.x0);
    const j1 = Math.min(st.ny, this.H - st.y0);
    const v = st.v;
    for (let j = Math.max(0, -st.y0); j < j1; j++) {
      const row = (st.y0 + j) * W + st.x0;
      const krow = j * st.nx;
      for (let i = i0; i < i1; i++) model[row + i] += amp * v[krow + i];
    }
  }

  /**
   * A moved source leaves the model and re-enters it in one pass when its box did not change
   * (the usual case): each pixel still gets the removal, then the addition, so the sums are
   * those of two passes, to the bit.
   */
  moveStamp(from: Stamp, ampFrom: number, to: Stamp, ampTo: number): void {
    if (from.x0 !== to.x0 || from.y0 !== to.y0 || from.nx !== to.nx || from.ny !== to.ny) {
      this.addStamp(from, ampFrom);
      this.addStamp(to, ampTo);
      return;
    }
    const { W, model } = this;
    const i0 = Math.max(0, -to.x0);
    const i1 = Math.min(to.nx, W - to.x0);
    const j1 = Math.min(to.ny, this.H - to.y0);
    const u = from.v;
    const v = to.v;
    for (let j = Math.max(0, -to.y0); j < j1; j++) {
      const row = (to.y0 + j) * W + to.x0;
      const krow = j * to.nx;
      for (let i = i0; i < i1; i++) {
        let m = model[row + i];
        m += ampFrom * u[krow + i];
        m += ampTo * v[krow + i];
        model[row + i] = m;
      }
    }
  }

  /** Sources from a list, each with its stamp added to the model. */
  start(list: Src[]): void {
    this.srcs = list.map((s) => {
      const st = allocStamp(this.psf);
      this.psf.stamp(s.x, s.y, st);
      this.addStamp(st, s.s * s.a);
      return { ...s, st, next: allocStamp(this.psf) };
    });
  }

  refitBackground(): void {
    const { bg, w, data, model, rhs, c } = this;
    if (!bg) return;
    this.gramChol ??= new Cholesky(bg.normalEquations(w, data).gram, bg.size);
    if (!projectResidual(bg, w, data, model, rhs)) {
      const N = this.N;
      const resid = (this.resid ??= new Float64Array(N));
      for (let i = 0; i < N; i++) resid[i] = data[i] - model[i];
      bg.projection(w, resid, rhs);
    }
    this.gramChol.solve(rhs, c);
    renderLessB(bg, c, data, this.dataLessB);
  }

  /** Gauss–Seidel sweeps of per-source Newton steps, the background refitted after each. */
  refine(nSweeps: number): void {
    const A = new Float64Array(9);
    const b = new Float64Array(3);
    // Most sources settle in two or three sweeps while a few blended ones take all of them: a
    // source is stepped again only while it or a source overlapping it still moves.
    const srcs = this.srcs;
    const n = srcs.length;
    const near = overlapping(srcs, 2 * this.psf.radius + 2);
    let pending = new Uint8Array(n).fill(1);
    let next = new Uint8Array(n);
    for (let sweep = 0; sweep < nSweeps; sweep++) {
      let stepped = 0;
      for (let si = 0; si < n; si++) {
        const s = srcs[si];
        if (!s.alive || pending[si] === 0) continue;
        stepped++;
        const st = s.st;
        const sa = s.s * s.a;
        const sg = s.s;
        let a00 = 0, a01 = 0, a02 = 0, a11 = 0, a12 = 0, a22 = 0, b0 = 0, b1 = 0, b2 = 0;
        const i0 = Math.max(0, -st.x0);
        const i1 = Math.min(st.nx, this.W - st.x0);
        const j1 = Math.min(st.ny, this.H - st.y0);
        const { v, dx, dy } = st;
        const { W, w, dataLessB, model } = this;
        for (let j = Math.max(0, -st.y0); j < j1; j++) {
          const row = (st.y0 + j) * W + st.x0;
          const krow = j * st.nx;
          for (let i = i0; i < i1; i++) {
            const idx = row + i;
            const wp = w[idx];
            if (wp === 0) continue;
            const k = krow + i;
            const r = dataLessB[idx] - model[idx];
            const g0 = sg * v[k];
            const g1 = sa * dx[k];
            const g2 = sa * dy[k];
            // (w·g0)·g1 is what w * g0 * g1 evaluates: the products are shared, the sums unchanged.
            const wg0 = wp * g0;
            const wg1 = wp * g1;
            const wg2 = wp * g2;
            a00 += wg0 * g0;
            a01 += wg0 * g1;
            a02 += wg0 * g2;
            a11 += wg1 * g1;
            a12 += wg1 * g2;
            a22 += wg2 * g2;
            b0 += wg0 * r;
            b1 += wg1 * r;
            b2 += wg2 * r;
          }
        }
        A[0] = a00;
        A[1] = A[3] = a01;
        A[2] = A[6] = a02;
        A[4] = a11;
        A[5] = A[7] = a12;
        A[8] = a22;
        b[0] = b0;
        b[1] = b1;
        b[2] = b2;
        if (this.psf.dims === 1) {
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
        // Steps against the conditional 1σ of each parameter, √(1/A_kk).
        if (!(delta[0] * delta[0] * A[0] <= this.settle2 && delta[1] * delta[1] * A[4] <= this.settle2 && delta[2] * delta[2] * A[8] <= this.settle2)) {
          next[si] = 1;
          for (const j of near[si]) {
            // A source later in this sweep sees the change at once; an earlier one next sweep.
            if (j > si) pending[j] = 1;
            else next[j] = 1;
          }
        }
        const ampFrom = -1 * s.s * s.a;
        s.a = s.a + delta[0];
        const mx = Math.max(-0.5, Math.min(0.5, delta[1]));
        const my = Math.max(-0.5, Math.min(0.5, delta[2]));
        s.x = this.clampX(s.x + mx);
        s.y = this.clampY(s.y + my);
        if (!(s.a > 0)) {
          this.addStamp(st, ampFrom);
          s.alive = false;
          continue;
        }
        const moved = s.next;
        this.psf.stamp(s.x, s.y, moved);
        this.moveStamp(st, ampFrom, moved, s.s * s.a);
        s.st = moved;
        s.next = st;
      }
      if (stepped === 0) break;
      this.refitBackground();
      if (this.settle2 === 0) continue;
      const t = pending;
      pending = next;
      next = t;
      next.fill(0);
    }
  }
}

export function buildCatalogue(input: BuildInput, options: BuildOptions = {}): RawSource[] {
  const psf = input.psf;
  const mergeRadius = options.mergeRadius ?? 0.5 * psf.sigma;
  const sweeps = options.refineSweeps ?? 8;
  const r = new Refiner(input, options.settleTolerance ?? 1e-2);
  r.start(clusterParticles(input.particles, mergeRadius));
  if (sweeps > 0) {
    r.refitBackground();
    r.refine(sweeps);
    // Refinement can pull two components of one source together: merge and polish again.
    const alive = r.srcs.filter((s) => s.alive);
    const merged = clusterParticles(alive.map((s) => ({ x: s.x, y: s.y, a: s.a, sign: s.s })), mergeRadius);
    if (merged.length < alive.length) {
      r.model.fill(0);
      r.start(merged);
      r.refine(Math.max(2, sweeps >> 1));
    }
  }
  const srcs = r.srcs.filter((s) => s.alive && s.a > 0);
  const { bg, c } = r;
  return fisherErrors(srcs, input, (x, y) => (bg ? bg.valueAt(x, y, c) : 0));
}

/** 1σ errors from the inverse Fisher information over each source and its overlapping neighbours. */
function fisherErrors(srcs: Refined[], input: BuildInput, backgroundAt: (x: number, y: number) => number): RawSource[] {
  const { width: W, height: H, weights: w, psf } = input;
  const n = srcs.length;
  // Every source's Jacobian columns s·(φ, a∂xφ, a∂yφ) once (its stamp is current: refinement
  // re-evaluates it whenever the source moves), and every JᵀWJ block between two sources once
  // per order: a block recurs in the groups of both sources and of their common neighbours, and
  // groupSystem rebuilt all of them per group. Each block comes from blockSums, as groupSystem's
  // do, so the errors are the same to the bit.
  const jacs = srcs.map((s) => jacobianColumns({ a: s.a, s: s.s, stamp: s.st }, psf.dims === 2));
  const blocks = new Map<number, Float64Array | null>();
  const block = (p: number, q: number): Float64Array | null => {
    const key = p * n + q;
    let out = blocks.get(key);
    if (out !== undefined) return out;
    const sums = new Float64Array(9);
    out = blockSums(srcs[p].st, jacs[p], srcs[q].st, jacs[q], W, H, w, p !== q, sums) ? sums : null;
    blocks.set(key, out);
    return out;
  };
  const xs = srcs.map((s) => s.x);
  const ys = srcs.map((s) => s.y);
  const near = overlapping(srcs, 2 * psf.radius + 1);
  const dims: 2 | 3 = psf.dims === 1 ? 2 : 3;
  const out: RawSource[] = [];
  for (let i = 0; i < srcs.length; i++) {
    const s = srcs[i];
    let group = [i, ...near[i]];
    // The nearest dozen neighbours carry the correlations that matter; more only grows the matrix.
    if (group.length > 13) {
      const rest = group.slice(1).sort((a, b) => Math.hypot(xs[a] - s.x, ys[a] - s.y) - Math.hypot(xs[b] - s.x, ys[b] - s.y));
      group = [i, ...rest.slice(0, 12)];
    }
    // A = JᵀWJ over the group, laid out as groupSystem lays it out: the upper blocks (all of a
    // cross block, the upper triangle of a diagonal one), then the lower triangle by symmetry.
    const P = group.length * dims;
    const A = new Float64Array(P * P);
    for (let m1 = 0; m1 < group.length; m1++) {
      for (let m2 = m1; m2 < group.length; m2++) {
        const bl = block(group[m1], group[m2]);
        if (!bl) continue;
        const r0 = m1 * dims * P + m2 * dims;
        for (let d1 = 0; d1 < dims; d1++) for (let d2 = m1 === m2 ? d1 : 0; d2 < dims; d2++) A[r0 + d1 * P + d2] = bl[d1 * 3 + d2];
      }
    }
    for (let r = 0; r < P; r++) for (let c = 0; c < r; c++) A[r * P + c] = A[c * P + r];
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
    out.push({ x: s.x, y: s.y, flux: s.a, xErr, yErr, fluxErr, background: backgroundAt(bx, by), sign: s.s });
  }
  return out;
}
