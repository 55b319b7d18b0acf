/**
 * Conic particle gradient descent (CPGD) for sparse deconvolution over measures
 * (Chizat, "Sparse optimization on measures with over-parameterized gradient descent").
 *
 * Objective, for an image f with noise weights w, PSF φ and a linear background B = Σ c_k b_k:
 *
 *   F(μ, c) = ½ Σ_p w_p (Σ_i s_i a_i φ(p − x_i) + B_p − f_p)² + λ Σ_i a_i,   a_i ≥ 0,
 *
 * with s_i = +1 (or ±1 in signed mode). The first variation at a particle is
 *   V(x) = s Σ_p q_p φ(p − x) + λ,   q_p = w_p (model_p − f_p),
 * and one CPGD step is a_i ← a_i exp(−2 α V(x_i)), x_i ← x_i − β ∇V(x_i), the background refitted
 * exactly after each step. The step is scaled by t ∈ (0, 1], halved until F does not increase.
 *
 * Work per iteration is proportional to (live particles) × (PSF support): the model is kept on
 * the pixels that particles touch, and the background's contribution to F is a closed-form
 * quadratic in c. Whole-image passes happen only in the start and in the certificate.
 */

import { InvalidOptionError } from '../errors.js';
import { allocStamp, SeparablePsf, type Psf, type Stamp } from '../psf/types.js';
import { BackgroundBasis, Cholesky } from './background.js';
import { correlate } from './correlate.js';
import { groupSystem, proximityGroups, type Member } from './groups.js';
import { select } from './noise.js';

/** The problem CPGD solves; built by `detect` from an image, or directly by callers and tests. */
export interface CpgdProblem {
  readonly width: number;
  readonly height: number;
  /** f, row-major; pixels with weight 0 are ignored (their value may be anything finite). */
  readonly data: Float64Array;
  /** w_p = 1 / variance_p (0 masks a pixel). */
  readonly weights: Float64Array;
  readonly psf: Psf;
  /** Regularisation λ ≥ 0, in units of the data term's first variation. */
  readonly lambda: number;
  /** Background basis, or null for no background. */
  readonly background: BackgroundBasis | null;
  /** Signed mode: particles come in two families, +φ and −φ (the talk's signed 1-D example). */
  readonly signed?: boolean;
}

/** A particle for an explicit start. */
export interface ParticleInit {
  x: number;
  y: number;
  a: number;
  sign?: 1 | -1;
}

/** Progress reported by CPGD (at every iteration). */
export interface CpgdProgress {
  iteration: number;
  /** Objective value F. */
  objective: number;
  /** Live particle count. */
  particles: number;
  /** Step scale t accepted at this iteration. */
  step: number;
  /** Latest certificate, when one was computed at this iteration. */
  certificate?: Certificate;
  /** Copy of the particles (x, y, a, sign), made only when called. */
  snapshot(): ParticleInit[];
}

/**
 * Distance to the optimum. `gap` = F − D(p) for the dual point p = s·W(f − model), scaled by
 * s = min(1, λ / max η) to be feasible, with η(x) = Σ_p w_p (f − model)_p φ(p − x): by weak
 * duality F − F* ≤ gap. `maxEta` is searched on the pixel grid and refined to sub-pixel maxima;
 * `minV` = λ − max η is the talk's optimality condition V ≥ 0 (≥ 0 at the optimum).
 */
export interface Certificate {
  gap: number;
  /** gap / max(|F|, tiny). */
  relativeGap: number;
  maxEta: number;
  minV: number;
  /** Where min V is attained (pixels). */
  worst: { x: number; y: number };
  /** Where V < 0 away from particles (candidate births). */
  violations: { x: number; y: number; eta: number; sign: 1 | -1 }[];
}

export interface CpgdOptions {
  /** Iteration cap (default 2000). */
  maxIter?: number;
  /**
   * Stop when the certificate's relative duality gap (F − D)/F is at or below this (default
   * 1e-5: F is then within 1e-5·F of the optimum F*, a fraction of one unit of χ²/2 on typical
   * images, well below what changes a catalogue).
   */
  tolerance?: number;
  /**
   * Weight step α (default 0.5), dimensionless: with `precondition`, the update is
   * a_i ← a_i exp(−2 t α V_i / (G_i S_i)) with G_i = Σ w φ_i², S_i the local amplitude; without,
   * V is divided by the global scale Ĝ·Â fixed at the start (Ĝ = Σ w φ² at the brightest
   * candidate, Â its amplitude), which keeps the plain flow of the talk.
   */
  alpha?: number;
  /** β/α, the position step relative to the weight step (default 1). 0 freezes positions. */
  betaOverAlpha?: number;
  /**
   * Per-particle time rescaling by the local curvature and amplitude (default true): a diagonal
   * preconditioner of the same flow that makes faint and bright sources converge at the same
   * rate. false gives the plain CPGD of the talk.
   */
  precondition?: boolean;
  /**
   * Start: 'peaks' (default) puts one particle per grid node within `peakRadius` of a local
   * maximum of the PSF-matched correlation of the data at μ = 0 above λ (by default one particle
   * per peak, carrying the peak's mass (η − λ)/G; sources the peaks miss, such as the fainter of a
   * close pair, are born where the certificate later finds V < 0); 'screened' one per grid node
   * wherever that correlation exceeds λ (mass cannot grow elsewhere at the start; about 25
   * particles per bright star, which made most of the work of a solve); 'grid' covers the whole
   * domain; or an explicit list of particles.
   */
  init?: 'screened' | 'peaks' | 'grid' | ParticleInit[];
  /**
   * For the 'peaks' start: grid nodes within this many pixels (Chebyshev distance) of a local
   * maximum of the matched correlation above λ get a particle (default 0: the peak's node alone;
   * 1 gives the 3×3 nodes around each peak, the start of earlier versions, which carried 5–9
   * times the final particle count through the first ~20 iterations for no better catalogue:
   * crowded-field F1 0.959 with 1, 0.962 with 0, and SMLM Jaccard unchanged at 0.973).
   */
  peakRadius?: number;
  /** Grid spacing of the start in pixels (default 1). */
  gridSpacing?: number;
  /** Initial weight of every particle for the 'grid' start (default: estimated from the data). */
  initialWeight?: number;
  /**
   * Particles of the same sign closer than this (pixels) are merged into one at their
   * mass-weighted centre when that does not increase F (default 0.25·σ; 0 disables).
   */
  mergeDistance?: number;
  /** Prune/merge every this many iterations (default 5). */
  maintenanceEvery?: number;
  /** Compute the certificate every this many iterations (default 5). */
  certificateEvery?: number;
  /**
   * Iteration of the first certificate (default: certificateEvery); the later ones follow every
   * certificateEvery iterations. The first certificate is also where sources the start missed
   * are born, so an earlier one helps where the start misses many (see detect's tiles).
   */
  firstCertificate?: number;
  /** Let the step scale t grow back after successful steps (default true). */
  adaptiveStep?: boolean;
  /** Largest step scale t (default 1). */
  maxStep?: number;
  /** Add particles where the certificate finds V < 0 away from particles (default true). */
  births?: boolean;
  /**
   * Every this many iterations, one sliding sweep (damped Gauss–Newton on each particle's
   * weight and position for F, λ included, undone if F rose) accelerates the end game where
   * sources overlap (default 1; 0 gives plain CPGD). With the lean 'peaks' start, a sweep every
   * iteration from the second converges in ~15–20 iterations where one every 5th from the 20th
   * took 50–75 (and up to 500 on tiles where a faint source hides on a bright one's flank), for
   * 5–10 % less CPU in all.
   */
  slideEvery?: number;
  /**
   * Damped Gauss–Newton steps per group and sliding sweep, repeated while each still lowers F by
   * more than 1e-3·tolerance·F (default 3; 1 gives one step per sweep as before).
   */
  slideRepeat?: number;
  /**
   * First iteration at which sliding sweeps run (default 2: after one CPGD step has set the
   * weights of the start). Starts with many more particles than sources (the 'grid' and
   * 'screened' starts) may prefer ~20: until they have thinned out, second-order steps on
   * particles about to die are wasted work.
   */
  slideFrom?: number;
  onProgress?: (p: CpgdProgress) => void;
  shouldStop?: () => boolean;
}

export type CpgdStatus = 'converged' | 'max-iter' | 'cancelled';

export interface CpgdResult {
  status: CpgdStatus;
  iterations: number;
  particles: ParticleInit[];
  /** Background coefficients (see BackgroundBasis). */
  backgroundCoefficients: Float64Array;
  objective: number;
  certificate: Certificate;
  /** F after every accepted iteration (index 0: the start). */
  history: number[];
  /** Live particles after every iteration (index 0: the start). */
  particleHistory: number[];
  /** Certificates as they were computed. */
  certificates: { iteration: number; gap: number; relativeGap: number; minV: number }[];
}

interface ValidOptions {
  maxIter: number;
  tolerance: number;
  alpha: number;
  beta: number;
  precondition: boolean;
  init: 'screened' | 'peaks' | 'grid' | ParticleInit[];
  peakRadius: number;
  gridSpacing: number;
  initialWeight: number | undefined;
  mergeDistance: number;
  maintenanceEvery: number;
  certificateEvery: number;
  firstCertificate: number;
  adaptiveStep: boolean;
  maxStep: number;
  births: boolean;
  slideEvery: number;
  slideRepeat: number;
  slideFrom: number;
  onProgress: ((p: CpgdProgress) => void) | undefined;
  shouldStop: (() => boolean) | undefined;
}

function num(name: string, v: unknown, def: number, check: (x: number) => boolean, reason: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new InvalidOptionError(name, v, reason);
  return v;
}

export function validateCpgdOptions(o: CpgdOptions, psf: Psf): ValidOptions {
  const alpha = num('alpha', o.alpha, 0.5, (x) => x > 0, 'must be a positive number');
  const ratio = num('betaOverAlpha', o.betaOverAlpha, 1, (x) => x >= 0, 'must be ≥ 0');
  const init = o.init ?? 'peaks';
  if (!(init === 'screened' || init === 'peaks' || init === 'grid' || Array.isArray(init))) throw new InvalidOptionError('init', init, "must be 'screened', 'peaks', 'grid' or a list of particles");
  if (Array.isArray(init)) {
    for (const p of init) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y) || !(p.a >= 0)) throw new InvalidOptionError('init', p, 'particles need finite x, y and a ≥ 0');
    }
  }
  const certificateEvery = num('certificateEvery', o.certificateEvery, 5, (x) => Number.isInteger(x) && x >= 1, 'must be an integer ≥ 1');
  return {
    maxIter: num('maxIter', o.maxIter, 2000, (x) => Number.isInteger(x) && x >= 0, 'must be an integer ≥ 0'),
    tolerance: num('tolerance', o.tolerance, 1e-5, (x) => x >= 0, 'must be ≥ 0'),
    alpha,
    beta: alpha * ratio,
    precondition: o.precondition ?? true,
    init,
    peakRadius: num('peakRadius', o.peakRadius, 0, (x) => x >= 0, 'must be ≥ 0 pixels'),
    gridSpacing: num('gridSpacing', o.gridSpacing, 1, (x) => x > 0, 'must be a positive number of pixels'),
    initialWeight: o.initialWeight === undefined ? undefined : num('initialWeight', o.initialWeight, 0, (x) => x > 0, 'must be positive'),
    mergeDistance: num('mergeDistance', o.mergeDistance, 0.25 * psf.sigma, (x) => x >= 0, 'must be ≥ 0 pixels'),
    maintenanceEvery: num('maintenanceEvery', o.maintenanceEvery, 5, (x) => Number.isInteger(x) && x >= 1, 'must be an integer ≥ 1'),
    certificateEvery,
    firstCertificate: num('firstCertificate', o.firstCertificate, certificateEvery, (x) => Number.isInteger(x) && x >= 1, 'must be an integer ≥ 1'),
    adaptiveStep: o.adaptiveStep ?? true,
    maxStep: num('maxStep', o.maxStep, 1, (x) => x > 0, 'must be positive'),
    births: o.births ?? true,
    slideEvery: num('slideEvery', o.slideEvery, 1, (x) => Number.isInteger(x) && x >= 0, 'must be an integer ≥ 0'),
    slideRepeat: num('slideRepeat', o.slideRepeat, 3, (x) => Number.isInteger(x) && x >= 1, 'must be an integer ≥ 1'),
    slideFrom: num('slideFrom', o.slideFrom, 2, (x) => Number.isInteger(x) && x >= 0, 'must be an integer ≥ 0'),
    onProgress: o.onProgress,
    shouldStop: o.shouldStop,
  };
}

/** A copy of `arr` at the start of a new array of `length` values from `make` (growing a buffer). */
function grown<T extends Float64Array | Int8Array | Uint8Array>(arr: T, length: number, make: (n: number) => T): T {
  const b = make(length);
  b.set(arr);
  return b;
}

/** Particles as a structure of arrays (exported for the workspace's unit tests only). */
export class Particles {
  n = 0;
  x: Float64Array;
  y: Float64Array;
  a: Float64Array;
  s: Int8Array;
  constructor(capacity: number) {
    const c = Math.max(4, capacity);
    this.x = new Float64Array(c);
    this.y = new Float64Array(c);
    this.a = new Float64Array(c);
    this.s = new Int8Array(c);
  }
  push(x: number, y: number, a: number, s: number): void {
    if (this.n === this.x.length) {
      const c = this.n * 2;
      this.x = grown(this.x, c, (k) => new Float64Array(k));
      this.y = grown(this.y, c, (k) => new Float64Array(k));
      this.a = grown(this.a, c, (k) => new Float64Array(k));
      this.s = grown(this.s, c, (k) => new Int8Array(k));
    }
    const i = this.n++;
    this.x[i] = x;
    this.y[i] = y;
    this.a[i] = a;
    this.s[i] = s;
  }
  copyFrom(o: Particles): void {
    if (this.x.length < o.n) {
      this.x = new Float64Array(o.x.length);
      this.y = new Float64Array(o.x.length);
      this.a = new Float64Array(o.x.length);
      this.s = new Int8Array(o.x.length);
    }
    this.n = o.n;
    this.x.set(o.x.subarray(0, o.n));
    this.y.set(o.y.subarray(0, o.n));
    this.a.set(o.a.subarray(0, o.n));
    this.s.set(o.s.subarray(0, o.n));
  }
  list(): ParticleInit[] {
    const out: ParticleInit[] = [];
    for (let i = 0; i < this.n; i++) out.push({ x: this.x[i], y: this.y[i], a: this.a[i], sign: this.s[i] as 1 | -1 });
    return out;
  }
}

/**
 * The state shared by all passes: the model Φμ kept on the touched pixels, the background fit,
 * and q = w (model − f) on the touched pixels.
 * Exported for its unit tests only (test/core/solver/workspace.test.ts); not part of the API.
 */
export class Workspace {
  readonly p: CpgdProblem;
  readonly W: number;
  readonly H: number;
  readonly N: number;
  readonly phiMu: Float64Array;
  readonly q: Float64Array;
  readonly mark: Uint8Array;
  touched: Int32Array;
  nTouched = 0;
  readonly K: number;
  readonly chol: Cholesky | null;
  readonly g: Float64Array;
  readonly c: Float64Array;
  private readonly h: Float64Array;
  private readonly rhs: Float64Array;
  private readonly bvec: Float64Array;
  readonly gram: Float64Array;
  /** ½ Σ w f². */
  readonly halfWff: number;
  readonly stamp: Stamp;
  readonly periodic: boolean;
  private ci0 = 0;
  private ci1 = 0;
  private cj0 = 0;
  private cj1 = 0;
  /** Values per cached stamp. */
  private readonly stampSize: number;
  /** Stamps of the particles last evaluated (owner), reused by gradients(). */
  private cacheOwner: Particles | null = null;
  private cv = new Float64Array(0);
  private cdx = new Float64Array(0);
  private cdy = new Float64Array(0);
  private cbox = new Int32Array(0);
  private cacheOk = new Uint8Array(0);
  /**
   * Separable PSFs (the Gaussian) take a faster path everywhere: each stamp is kept as its box
   * and four 1-D profiles (see SeparablePsf.profiles), so a particle's cache holds 4·side values
   * instead of 3·side², and the sums over a stamp cost ~4 operations per pixel instead of ~9.
   */
  private readonly sep: SeparablePsf | null;
  /** Longest profile (stamp side), the stride of the profile caches. */
  private readonly side: number;
  private sgx = new Float64Array(0);
  private sdgx = new Float64Array(0);
  private sgy = new Float64Array(0);
  private sdgy = new Float64Array(0);
  /**
   * The position each slot of the profile cache was computed at (NaN: none). Profiles are a pure
   * function of the position, so evaluate() reuses a slot whose particle has not moved (most of
   * them between full passes, with the active set): same values, no recomputation.
   */
  private spx = new Float64Array(0);
  private spy = new Float64Array(0);
  /** Scratch profiles and box for one stamp outside the cache. */
  private readonly tgx: Float64Array;
  private readonly tdgx: Float64Array;
  private readonly tgy: Float64Array;
  private readonly tdgy: Float64Array;
  private readonly tbox = new Int32Array(4);
  /** Σ φ² for a source at a pixel centre. */
  readonly psfSelf: number;
  /**
   * How far beyond the image edges (pixels) particles may sit: 2σ, where a source still puts a
   * sizeable share of its light into the image.
   */
  readonly outside: number;

  constructor(p: CpgdProblem) {
    this.p = p;
    this.W = p.width;
    this.H = p.height;
    this.N = p.width * p.height;
    this.phiMu = new Float64Array(this.N);
    this.q = new Float64Array(this.N);
    this.mark = new Uint8Array(this.N);
    this.touched = new Int32Array(Math.min(this.N, 1 << 16));
    this.stamp = allocStamp(p.psf);
    this.stampSize = this.stamp.v.length;
    this.periodic = p.psf.periodic;
    this.sep = p.psf instanceof SeparablePsf && p.psf.dims === 2 && !p.psf.periodic ? p.psf : null;
    this.side = p.psf.maxStampSide;
    this.tgx = new Float64Array(this.side);
    this.tdgx = new Float64Array(this.side);
    this.tgy = new Float64Array(this.side);
    this.tdgy = new Float64Array(this.side);
    p.psf.stamp(0, 0, this.stamp);
    let self = 0;
    for (let k = 0; k < this.stamp.nx * this.stamp.ny; k++) self += this.stamp.v[k] * this.stamp.v[k];
    this.psfSelf = self;
    this.outside = p.psf.periodic ? 0 : 2 * p.psf.sigma;
    let hw = 0;
    for (let i = 0; i < this.N; i++) hw += p.weights[i] * p.data[i] * p.data[i];
    this.halfWff = 0.5 * hw;
    const bg = p.background;
    this.K = bg ? bg.size : 0;
    this.h = new Float64Array(this.K);
    this.rhs = new Float64Array(this.K);
    this.bvec = new Float64Array(this.K);
    this.c = new Float64Array(this.K);
    if (bg && this.K > 0) {
      const ne = bg.normalEquations(p.weights, p.data);
      this.gram = ne.gram;
      this.g = ne.rhs;
      this.chol = new Cholesky(ne.gram, this.K);
    } else {
      this.gram = new Float64Array(0);
      this.g = new Float64Array(0);
      this.chol = null;
    }
  }

  /**
   * The part inside the image of an nx × ny box whose first pixel is (x0, y0), in box
   * coordinates: [ci0, ci1) × [cj0, cj1).
   */
  private clip(x0: number, y0: number, nx: number, ny: number): void {
    this.ci0 = Math.max(0, -x0);
    this.ci1 = Math.min(nx, this.W - x0);
    this.cj0 = Math.max(0, -y0);
    this.cj1 = Math.min(ny, this.H - y0);
  }

  /** clip() for a stamp. */
  private clipBox(st: Stamp): void {
    this.clip(st.x0, st.y0, st.nx, st.ny);
  }

  private touch(idx: number): void {
    if (this.mark[idx] === 0) {
      this.mark[idx] = 1;
      if (this.nTouched === this.touched.length) {
        const t = new Int32Array(Math.min(this.N, this.touched.length * 2));
        t.set(this.touched);
        this.touched = t;
      }
      this.touched[this.nTouched++] = idx;
    }
  }

  /**
   * The particles (and their count) whose model and background the workspace holds exactly as
   * evaluate() left them; null after any incremental change. A certificate needs that state
   * and rebuilt it every time, though after a full step it is usually already there.
   */
  private evaluatedFor: Particles | null = null;
  private evaluatedN = -1;

  /** evaluate(ps) unless the workspace holds exactly its result already (same values, to the bit). */
  ensureEvaluated(ps: Particles): void {
    if (this.evaluatedFor !== ps || this.evaluatedN !== ps.n) this.evaluate(ps);
  }

  /** Particles changed without the workspace seeing it (compaction): the next ensureEvaluated rebuilds. */
  forget(): void {
    this.evaluatedFor = null;
  }

  /** Rebuild Φμ for the particles, refit the background, and return F. */
  evaluate(ps: Particles): number {
    const F = this.rebuild(ps);
    this.evaluatedFor = ps;
    this.evaluatedN = ps.n;
    return F;
  }

  private rebuild(ps: Particles): number {
    const { phiMu, mark, touched, W, p } = this;
    for (let k = 0; k < this.nTouched; k++) {
      const idx = touched[k];
      phiMu[idx] = 0;
      mark[idx] = 0;
    }
    this.nTouched = 0;
    if (this.sep) return this.evaluateSeparable(ps);
    const st = this.stamp;
    const S = this.stampSize;
    // Keep the stamps for the gradient pass that follows at the same positions (the erf/exp
    // work of a stamp costs more than using it), unless that would take too much memory.
    const cache = ps.n * S <= STAMP_CACHE_VALUES;
    if (cache) this.ensureCache(ps.n);
    this.cacheOwner = cache ? ps : null;
    let mass = 0;
    for (let i = 0; i < ps.n; i++) {
      const amp = ps.s[i] * ps.a[i];
      mass += ps.a[i];
      p.psf.stamp(ps.x[i], ps.y[i], st);
      const n = st.nx * st.ny;
      if (cache) {
        const off = i * S;
        this.cv.set(st.v.subarray(0, n), off);
        this.cdx.set(st.dx.subarray(0, n), off);
        this.cdy.set(st.dy.subarray(0, n), off);
        this.cbox[4 * i] = st.x0;
        this.cbox[4 * i + 1] = st.y0;
        this.cbox[4 * i + 2] = st.nx;
        this.cbox[4 * i + 3] = st.ny;
      }
      this.clipBox(st);
      const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
      const v = st.v;
      for (let j = j0; j < j1; j++) {
        const row = (st.y0 + j) * W + st.x0;
        const srow = j * st.nx;
        for (let ii = i0; ii < i1; ii++) {
          const idx = row + ii;
          if (mark[idx] === 0) this.touch(idx);
          phiMu[idx] += amp * v[srow + ii];
        }
      }
    }
    return this.fitBackgroundAndObjective() + p.lambda * mass;
  }

  /** evaluate() for a separable PSF: profiles cached per particle, the model as outer products. */
  private evaluateSeparable(ps: Particles): number {
    const { phiMu, mark, W, p } = this;
    const sep = this.sep!;
    const M = this.side;
    const cache = ps.n * 4 * M <= 3 * STAMP_CACHE_VALUES;
    if (cache) this.ensureSepCache(ps.n);
    this.cacheOwner = cache ? ps : null;
    const box = cache ? this.cbox : this.tbox;
    const gx = cache ? this.sgx : this.tgx;
    const dgx = cache ? this.sdgx : this.tdgx;
    const gy = cache ? this.sgy : this.tgy;
    const dgy = cache ? this.sdgy : this.tdgy;
    let mass = 0;
    for (let i = 0; i < ps.n; i++) {
      const amp = ps.s[i] * ps.a[i];
      mass += ps.a[i];
      const off = cache ? i * M : 0;
      const b = cache ? 4 * i : 0;
      const px = ps.x[i];
      const py = ps.y[i];
      if (!cache) sep.profiles(px, py, box, b, gx, dgx, gy, dgy, off);
      else if (this.spx[i] !== px || this.spy[i] !== py) {
        sep.profiles(px, py, box, b, gx, dgx, gy, dgy, off);
        this.spx[i] = px;
        this.spy[i] = py;
      }
      const x0 = box[b];
      const y0 = box[b + 1];
      this.clip(x0, y0, box[b + 2], box[b + 3]);
      const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
      for (let j = j0; j < j1; j++) {
        const row = (y0 + j) * W + x0;
        const ay = amp * gy[off + j];
        for (let ii = i0; ii < i1; ii++) {
          const idx = row + ii;
          if (mark[idx] === 0) this.touch(idx);
          phiMu[idx] += ay * gx[off + ii];
        }
      }
    }
    return this.fitBackgroundAndObjective() + p.lambda * mass;
  }

  private ensureSepCache(n: number): void {
    if (this.cacheOk.length < n) this.cacheOk = new Uint8Array(Math.max(n, 2 * this.cacheOk.length));
    this.cacheOk.fill(1, 0, n);
    if (this.cbox.length >= 4 * n && this.sgx.length >= n * this.side) return;
    const cap = Math.max(n, 2 * (this.cbox.length >> 2));
    const M = this.side;
    this.sgx = new Float64Array(cap * M);
    this.sdgx = new Float64Array(cap * M);
    this.sgy = new Float64Array(cap * M);
    this.sdgy = new Float64Array(cap * M);
    this.cbox = new Int32Array(4 * cap);
    this.spx = new Float64Array(cap).fill(NaN);
    this.spy = new Float64Array(cap).fill(NaN);
  }

  /** Fresh profiles of a stamp at (x, y) in the scratch arrays; returns nothing (see tbox). */
  private scratchProfiles(x: number, y: number): void {
    this.sep!.profiles(x, y, this.tbox, 0, this.tgx, this.tdgx, this.tgy, this.tdgy, 0);
  }

  /** Particle i moved since the last evaluate(): its cached stamp no longer applies. */
  invalidateStamp(i: number): void {
    if (i < this.cacheOk.length) this.cacheOk[i] = 0;
  }

  private ensureCache(n: number): void {
    if (this.cacheOk.length < n) this.cacheOk = new Uint8Array(Math.max(n, 2 * this.cacheOk.length));
    this.cacheOk.fill(1, 0, n);
    if (this.cbox.length >= 4 * n) return;
    const cap = Math.max(n, 2 * (this.cbox.length >> 2));
    this.cv = new Float64Array(cap * this.stampSize);
    this.cdx = new Float64Array(cap * this.stampSize);
    this.cdy = new Float64Array(cap * this.stampSize);
    this.cbox = new Int32Array(4 * cap);
  }

  /**
   * Add amp·φ(· − (x, y)) to the model and to q = w (B + Φμ − f) incrementally (requires q to be
   * current on the touched pixels, i.e. computeQ() since the last evaluate()). Returns the exact
   * change of the data term ½ Σ w (model − f)² (background held fixed).
   */
  addIncremental(x: number, y: number, amp: number): number {
    this.evaluatedFor = null;
    const { phiMu, mark, q, W, p, K, c } = this;
    const bg = p.background;
    if (this.sep) {
      this.scratchProfiles(x, y);
      return this.addProfiles(this.tbox, 0, this.tgx, this.tgy, 0, amp);
    }
    const st = this.stamp;
    p.psf.stamp(x, y, st);
    this.clipBox(st);
    const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
    let dF = 0;
    for (let j = j0; j < j1; j++) {
      const py = st.y0 + j;
      const row = py * W + st.x0;
      const srow = j * st.nx;
      for (let ii = i0; ii < i1; ii++) {
        const idx = row + ii;
        if (mark[idx] === 0) {
          this.touch(idx);
          const B = bg && K > 0 ? bg.valueAt(st.x0 + ii, py, c) : 0;
          q[idx] = p.weights[idx] * (B - p.data[idx]);
        }
        const d = amp * st.v[srow + ii];
        const wd = p.weights[idx] * d;
        dF += (q[idx] + 0.5 * wd) * d;
        phiMu[idx] += d;
        q[idx] += wd;
      }
    }
    return dF;
  }

  /** The problem's PSF when it takes the separable paths (2-D, not periodic), else null. */
  get separable(): SeparablePsf | null {
    return this.sep;
  }

  /**
   * addIncremental for a separable stamp given by its profiles (box at box[b..b+3], gx and gy at
   * `off`): callers that add and remove the same stamps several times (the sliding step's trial
   * moves) compute each stamp's profiles once.
   */
  addProfiles(box: Int32Array, b: number, gx: Float64Array, gy: Float64Array, off: number, amp: number): number {
    this.evaluatedFor = null;
    const { phiMu, mark, q, W, p, K, c } = this;
    const bg = p.background;
    const x0 = box[b];
    const y0 = box[b + 1];
    this.clip(x0, y0, box[b + 2], box[b + 3]);
    const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
    const w = p.weights;
    let dF = 0;
    for (let j = j0; j < j1; j++) {
      const py = y0 + j;
      const row = py * W + x0;
      const ay = amp * gy[off + j];
      for (let ii = i0; ii < i1; ii++) {
        const idx = row + ii;
        if (mark[idx] === 0) {
          this.touch(idx);
          const B = bg && K > 0 ? bg.valueAt(x0 + ii, py, c) : 0;
          q[idx] = w[idx] * (B - p.data[idx]);
        }
        const d = ay * gx[off + ii];
        const wd = w[idx] * d;
        dF += (q[idx] + 0.5 * wd) * d;
        phiMu[idx] += d;
        q[idx] += wd;
      }
    }
    return dF;
  }

  /**
   * Sums over the stamp of a source at (x, y), into out: [Σ q φ, Σ w φ², Σ q ∂xφ, Σ q ∂yφ]
   * (V = s·out[0] + λ, G = out[1], ∇V = s·(out[2], out[3])). Requires q.
   */
  pointSums(x: number, y: number, out: Float64Array): void {
    if (this.sep) {
      this.scratchProfiles(x, y);
      const r = this.sums;
      this.separableSums(this.tbox, 0, this.tgx, this.tdgx, this.tgy, this.tdgy, 0, r);
      out[0] = r[0];
      out[1] = r[4];
      out[2] = r[1];
      out[3] = r[2];
      return;
    }
    const st = this.stamp;
    this.p.psf.stamp(x, y, st);
    this.clipBox(st);
    const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
    const w = this.p.weights;
    let sv = 0;
    let G = 0;
    let sx = 0;
    let sy = 0;
    for (let j = j0; j < j1; j++) {
      const row = (st.y0 + j) * this.W + st.x0;
      const srow = j * st.nx;
      for (let ii = i0; ii < i1; ii++) {
        const qv = this.q[row + ii];
        const v = st.v[srow + ii];
        sv += qv * v;
        G += w[row + ii] * v * v;
        sx += qv * st.dx[srow + ii];
        sy += qv * st.dy[srow + ii];
      }
    }
    out[0] = sv;
    out[1] = G;
    out[2] = sx;
    out[3] = sy;
  }

  /**
   * Sums over one separable stamp (box at box[b..b+3], profiles at `off`), into out:
   * [Σ qφ, Σ q∂xφ, Σ q∂yφ, ·, Σ wφ², Σ w(∂xφ)², Σ w(∂yφ)²] (out needs 7 slots; slot 3 unused).
   */
  private separableSums(box: Int32Array, b: number, gx: Float64Array, dgx: Float64Array, gy: Float64Array, dgy: Float64Array, off: number, out: Float64Array): void {
    const W = this.W;
    const q = this.q;
    const w = this.p.weights;
    const x0 = box[b];
    const y0 = box[b + 1];
    this.clip(x0, y0, box[b + 2], box[b + 3]);
    const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
    let sv = 0, sx = 0, sy = 0, G = 0, Hx = 0, Hy = 0;
    for (let j = j0; j < j1; j++) {
      const row = (y0 + j) * W + x0;
      let qg = 0, qd = 0, wg = 0, wd = 0;
      for (let ii = i0; ii < i1; ii++) {
        const qv = q[row + ii];
        const wv = w[row + ii];
        const g = gx[off + ii];
        const d = dgx[off + ii];
        qg += qv * g;
        qd += qv * d;
        wg += wv * g * g;
        wd += wv * d * d;
      }
      const gj = gy[off + j];
      const dj = dgy[off + j];
      sv += gj * qg;
      sx += gj * qd;
      sy += dj * qg;
      const gj2 = gj * gj;
      G += gj2 * wg;
      Hx += gj2 * wd;
      Hy += dj * dj * wg;
    }
    out[0] = sv;
    out[1] = sx;
    out[2] = sy;
    out[4] = G;
    out[5] = Hx;
    out[6] = Hy;
  }

  /** Scratch for hessSums: profile values (discarded) and derivatives at ±FD_STEP, per axis. */
  private hv: Float64Array | null = null;
  private hxP: Float64Array | null = null;
  private hxM: Float64Array | null = null;
  private hyP: Float64Array | null = null;
  private hyM: Float64Array | null = null;

  /**
   * Second-order sums at (x, y) for a separable PSF, into out:
   * [Σ qφ, Σ wφ², Σ q∂xφ, Σ q∂yφ, Σ q∂xxφ, Σ q∂xyφ, Σ q∂yyφ] (derivatives with respect to the
   * source position; requires q). One pass over the stamp: ∂xy is exact (dgx·dgy) and ∂xx, ∂yy are
   * central differences (h = FD_STEP) of the 1-D profile derivatives over the same pixels, which
   * costs four 1-D profiles instead of the four extra stamps and passes of differencing pointSums.
   * Returns false (out untouched) when the PSF is not separable.
   */
  hessSums(x: number, y: number, out: Float64Array): boolean {
    const sep = this.sep;
    if (!sep) return false;
    if (!this.hv) {
      this.hv = new Float64Array(this.side);
      this.hxP = new Float64Array(this.side);
      this.hxM = new Float64Array(this.side);
      this.hyP = new Float64Array(this.side);
      this.hyM = new Float64Array(this.side);
    }
    const hv = this.hv;
    const hxP = this.hxP!;
    const hxM = this.hxM!;
    const hyP = this.hyP!;
    const hyM = this.hyM!;
    this.scratchProfiles(x, y);
    const { tbox, tgx, tdgx, tgy, tdgy, W } = this;
    const x0 = tbox[0];
    const y0 = tbox[1];
    const nx = tbox[2];
    const ny = tbox[3];
    sep.axisProfile(0, x + FD_STEP, x0, nx, hv, hxP);
    sep.axisProfile(0, x - FD_STEP, x0, nx, hv, hxM);
    sep.axisProfile(1, y + FD_STEP, y0, ny, hv, hyP);
    sep.axisProfile(1, y - FD_STEP, y0, ny, hv, hyM);
    const inv2h = 1 / (2 * FD_STEP);
    for (let k = 0; k < nx; k++) hxP[k] = (hxP[k] - hxM[k]) * inv2h;
    for (let k = 0; k < ny; k++) hyP[k] = (hyP[k] - hyM[k]) * inv2h;
    const q = this.q;
    const w = this.p.weights;
    this.clip(x0, y0, nx, ny);
    const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
    let sv = 0, G = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
    for (let j = j0; j < j1; j++) {
      const row = (y0 + j) * W + x0;
      let qg = 0, qd = 0, qdd = 0, wg = 0;
      for (let ii = i0; ii < i1; ii++) {
        const qv = q[row + ii];
        const g = tgx[ii];
        qg += qv * g;
        qd += qv * tdgx[ii];
        qdd += qv * hxP[ii];
        wg += w[row + ii] * g * g;
      }
      const gj = tgy[j];
      const dj = tdgy[j];
      sv += gj * qg;
      G += gj * gj * wg;
      sx += gj * qd;
      sy += dj * qg;
      sxx += gj * qdd;
      sxy += dj * qd;
      syy += hyP[j] * qg;
    }
    out[0] = sv;
    out[1] = G;
    out[2] = sx;
    out[3] = sy;
    out[4] = sxx;
    out[5] = sxy;
    out[6] = syy;
    return true;
  }

  /** √(Σ_p w_p φ(p − x)²): the noise amplitude scale at a position (cheap: pixel centre weight). */
  selfNorm(x: number, y: number): number {
    const px = Math.min(this.W - 1, Math.max(0, Math.round(x)));
    const py = Math.min(this.H - 1, Math.max(0, Math.round(y)));
    return Math.sqrt(this.psfSelf * this.p.weights[py * this.W + px]);
  }

  /**
   * Background coefficients optimal for the current Φμ; returns the data term of F. One pass over
   * the touched pixels gathers h = Σ w Φμ b_k, Σ w f Φμ and Σ w (Φμ)²; the cross term
   * Σ w (B − f) Φμ is then cᵀh − Σ w f Φμ, so B itself is only formed where q is (computeQ).
   */
  private fitBackgroundAndObjective(): number {
    const { phiMu, touched, W, p, K, nTouched } = this;
    const w = p.weights;
    const f = p.data;
    const bg = p.background;
    const c = this.c;
    const h = this.h;
    let wfm = 0;
    let quad = 0;
    if (bg && K > 0) {
      h.fill(0);
      const { lx, ly } = bg;
      if (K === 3) {
        // The plane (and any 3-term basis) unrolled: the same products and sums, in the same
        // order, without the inner loop, which cost as much as the arithmetic in this hot loop.
        let h0 = 0;
        let h1 = 0;
        let h2 = 0;
        for (let k = 0; k < nTouched; k++) {
          const idx = touched[k];
          const m = phiMu[idx];
          if (m === 0) continue;
          const wm = w[idx] * m;
          wfm += wm * f[idx];
          quad += wm * m;
          const y = (idx / W) | 0;
          const ox = (idx - y * W) * 3;
          const oy = y * 3;
          h0 += wm * lx[ox] * ly[oy];
          h1 += wm * lx[ox + 1] * ly[oy + 1];
          h2 += wm * lx[ox + 2] * ly[oy + 2];
        }
        h[0] = h0;
        h[1] = h1;
        h[2] = h2;
      } else {
        for (let k = 0; k < nTouched; k++) {
          const idx = touched[k];
          const m = phiMu[idx];
          if (m === 0) continue;
          const wm = w[idx] * m;
          wfm += wm * f[idx];
          quad += wm * m;
          const y = (idx / W) | 0;
          const ox = (idx - y * W) * K;
          const oy = y * K;
          for (let kk = 0; kk < K; kk++) h[kk] += wm * lx[ox + kk] * ly[oy + kk];
        }
      }
      for (let kk = 0; kk < K; kk++) this.rhs[kk] = this.g[kk] - h[kk];
      this.chol!.solve(this.rhs, c);
    } else {
      for (let k = 0; k < nTouched; k++) {
        const idx = touched[k];
        const m = phiMu[idx];
        const wm = w[idx] * m;
        wfm += wm * f[idx];
        quad += wm * m;
      }
    }
    // ½ Σ_all w (B − f)² = ½ cᵀ A c − cᵀ g + ½ Σ w f²
    let F = this.halfWff;
    for (let i = 0; i < K; i++) {
      let Ac = 0;
      for (let j = 0; j < K; j++) Ac += this.gram[i * K + j] * c[j];
      F += 0.5 * c[i] * Ac - c[i] * this.g[i] + c[i] * h[i];
    }
    return F - wfm + 0.5 * quad;
  }

  /** q = w (B + Φμ − f) on the touched pixels. */
  computeQ(): void {
    const { phiMu, touched, p, K, q, nTouched, W, c } = this;
    const w = p.weights;
    const f = p.data;
    const bg = p.background;
    if (bg && K === 3) {
      // Unrolled as in fitBackgroundAndObjective: B summed term by term as valueAt sums it.
      const { lx, ly } = bg;
      const c0 = c[0];
      const c1 = c[1];
      const c2 = c[2];
      for (let k = 0; k < nTouched; k++) {
        const idx = touched[k];
        const y = (idx / W) | 0;
        const ox = (idx - y * W) * 3;
        const oy = y * 3;
        let B = 0;
        B += c0 * lx[ox] * ly[oy];
        B += c1 * lx[ox + 1] * ly[oy + 1];
        B += c2 * lx[ox + 2] * ly[oy + 2];
        q[idx] = w[idx] * (B + phiMu[idx] - f[idx]);
      }
    } else if (bg && K > 0) {
      const { lx, ly } = bg;
      for (let k = 0; k < nTouched; k++) {
        const idx = touched[k];
        const y = (idx / W) | 0;
        const ox = (idx - y * W) * K;
        const oy = y * K;
        let B = 0;
        for (let kk = 0; kk < K; kk++) B += c[kk] * lx[ox + kk] * ly[oy + kk];
        q[idx] = w[idx] * (B + phiMu[idx] - f[idx]);
      }
    } else {
      for (let k = 0; k < nTouched; k++) {
        const idx = touched[k];
        q[idx] = w[idx] * (phiMu[idx] - f[idx]);
      }
    }
  }

  private certQ: Float64Array<ArrayBuffer> | null = null;
  private certGrid: Float64Array<ArrayBuffer> | null = null;
  private certCorr: Float64Array<ArrayBuffer> | null = null;

  /** Buffers the certificate reuses: the residual (N values), the padded grid and η map. */
  certificateBuffers(): { q: Float64Array<ArrayBuffer>; grid: (n: number) => Float64Array<ArrayBuffer>; corr: (n: number) => Float64Array<ArrayBuffer> } {
    if (!this.certQ) this.certQ = new Float64Array(this.N);
    return {
      q: this.certQ,
      grid: (n) => (this.certGrid && this.certGrid.length === n ? this.certGrid : (this.certGrid = new Float64Array(n))),
      corr: (n) => (this.certCorr && this.certCorr.length === n ? this.certCorr : (this.certCorr = new Float64Array(n))),
    };
  }

  /** Full-image residual q = w (B + Φμ − f), for the certificate. */
  fullQ(out: Float64Array): Float64Array {
    const { W, H, p, K, c, phiMu } = this;
    const bg = p.background;
    if (bg && K === 3) {
      // valueAt unrolled, term by term in its order (as in computeQ): the same values.
      const { lx, ly } = bg;
      const w = p.weights;
      const f = p.data;
      const c0 = c[0];
      const c1 = c[1];
      const c2 = c[2];
      for (let y = 0; y < H; y++) {
        const oy = y * 3;
        const row = y * W;
        for (let x = 0; x < W; x++) {
          const ox = x * 3;
          let B = 0;
          B += c0 * lx[ox] * ly[oy];
          B += c1 * lx[ox + 1] * ly[oy + 1];
          B += c2 * lx[ox + 2] * ly[oy + 2];
          const idx = row + x;
          out[idx] = w[idx] * (B + phiMu[idx] - f[idx]);
        }
      }
      return out;
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const idx = y * W + x;
        const B = bg && K > 0 ? bg.valueAt(x, y, c) : 0;
        out[idx] = p.weights[idx] * (B + phiMu[idx] - p.data[idx]);
      }
    }
    return out;
  }

  /**
   * Per-particle first variation and the scales of the preconditioner:
   * V_i, ∇V_i, G_i = Σ w φ², Hx_i = Σ w (∂xφ)², Hy_i. Requires computeQ().
   */
  gradients(ps: Particles, out: Grad, subset?: readonly number[]): void {
    out.ensure(ps.n);
    if (this.sep) {
      this.gradientsSeparable(ps, out, subset);
      return;
    }
    const { q, W, p } = this;
    const w = p.weights;
    const st = this.stamp;
    const cached = this.cacheOwner === ps;
    const S = this.stampSize;
    const count = subset ? subset.length : ps.n;
    for (let k0 = 0; k0 < count; k0++) {
      const i = subset ? subset[k0] : k0;
      let v: Float64Array;
      let dx: Float64Array;
      let dy: Float64Array;
      let off: number;
      if (cached && this.cacheOk[i] === 1) {
        v = this.cv;
        dx = this.cdx;
        dy = this.cdy;
        off = i * S;
        st.x0 = this.cbox[4 * i];
        st.y0 = this.cbox[4 * i + 1];
        st.nx = this.cbox[4 * i + 2];
        st.ny = this.cbox[4 * i + 3];
      } else {
        p.psf.stamp(ps.x[i], ps.y[i], st);
        ({ v, dx, dy } = st);
        off = 0;
      }
      this.clipBox(st);
      const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
      let sv = 0, sx = 0, sy = 0, G = 0, Hx = 0, Hy = 0;
      for (let j = j0; j < j1; j++) {
        const row = (st.y0 + j) * W + st.x0;
        const srow = off + j * st.nx;
        for (let ii = i0; ii < i1; ii++) {
          const idx = row + ii;
          const k = srow + ii;
          const qv = q[idx];
          const wv = w[idx];
          const vk = v[k];
          const dxk = dx[k];
          const dyk = dy[k];
          sv += qv * vk;
          sx += qv * dxk;
          sy += qv * dyk;
          const wvk = wv * vk;
          G += wvk * vk;
          Hx += wv * dxk * dxk;
          Hy += wv * dyk * dyk;
        }
      }
      const s = ps.s[i];
      out.V[i] = s * sv + p.lambda;
      out.gx[i] = s * sx;
      out.gy[i] = s * sy;
      out.G[i] = G;
      out.Hx[i] = Hx;
      out.Hy[i] = Hy;
    }
  }

  private readonly sums = new Float64Array(7);

  private gradientsSeparable(ps: Particles, out: Grad, subset?: readonly number[]): void {
    const cached = this.cacheOwner === ps;
    const M = this.side;
    const r = this.sums;
    const lambda = this.p.lambda;
    const count = subset ? subset.length : ps.n;
    for (let k0 = 0; k0 < count; k0++) {
      const i = subset ? subset[k0] : k0;
      if (cached) {
        // A particle that moved since the last evaluate() gets fresh profiles in its slot.
        if (this.cacheOk[i] !== 1) {
          this.sep!.profiles(ps.x[i], ps.y[i], this.cbox, 4 * i, this.sgx, this.sdgx, this.sgy, this.sdgy, i * M);
          this.spx[i] = ps.x[i];
          this.spy[i] = ps.y[i];
          this.cacheOk[i] = 1;
        }
        this.separableSums(this.cbox, 4 * i, this.sgx, this.sdgx, this.sgy, this.sdgy, i * M, r);
      } else {
        this.scratchProfiles(ps.x[i], ps.y[i]);
        this.separableSums(this.tbox, 0, this.tgx, this.tdgx, this.tgy, this.tdgy, 0, r);
      }
      const s = ps.s[i];
      out.V[i] = s * r[0] + lambda;
      out.gx[i] = s * r[1];
      out.gy[i] = s * r[2];
      out.G[i] = r[4];
      out.Hx[i] = r[5];
      out.Hy[i] = r[6];
    }
  }

  /** η(x) = −s Σ q φ(p − x) at a point (the data term of −V). */
  etaAt(x: number, y: number, qFull: Float64Array): number {
    if (this.sep) {
      this.scratchProfiles(x, y);
      const { tbox, tgx, tgy, W } = this;
      const x0 = tbox[0];
      const y0 = tbox[1];
      this.clip(x0, y0, tbox[2], tbox[3]);
      const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
      let s = 0;
      for (let j = j0; j < j1; j++) {
        const row = (y0 + j) * W + x0;
        let acc = 0;
        for (let ii = i0; ii < i1; ii++) acc += qFull[row + ii] * tgx[ii];
        s += tgy[j] * acc;
      }
      return -s;
    }
    const st = this.stamp;
    this.p.psf.stamp(x, y, st);
    this.clipBox(st);
    const { ci0: i0, ci1: i1, cj0: j0, cj1: j1 } = this;
    let s = 0;
    for (let j = j0; j < j1; j++) {
      const row = (st.y0 + j) * this.W + st.x0;
      const srow = j * st.nx;
      for (let ii = i0; ii < i1; ii++) s += qFull[row + ii] * st.v[srow + ii];
    }
    return -s;
  }
}

class Grad {
  V = new Float64Array(0);
  gx = new Float64Array(0);
  gy = new Float64Array(0);
  G = new Float64Array(0);
  Hx = new Float64Array(0);
  Hy = new Float64Array(0);
  M = new Float64Array(0);
  ensure(n: number): void {
    if (this.V.length >= n) return;
    const c = Math.max(n, this.V.length * 2);
    this.V = new Float64Array(c);
    this.gx = new Float64Array(c);
    this.gy = new Float64Array(c);
    this.G = new Float64Array(c);
    this.Hx = new Float64Array(c);
    this.Hy = new Float64Array(c);
    this.M = new Float64Array(c);
  }
}

/**
 * Mass of the same-sign particles within `radius` of each particle (itself included): the
 * amplitude of the source a particle is helping to build, which sets its Newton-like step scale.
 * (A projection of the model on the particle's PSF would also count a bright neighbour's wings
 * and freeze a faint source beside it.) On a torus, wrapped neighbours are ignored: this only
 * scales a step.
 */
function localMass(ps: Particles, radius: number, out: Float64Array): void {
  // Particles bucketed on a grid of cells of side `radius` (counting sort into typed arrays: this
  // runs at every full pass, and a hash map of arrays made most of the solver's garbage).
  const n = ps.n;
  const cell = Math.max(radius, 1e-9);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, ps.x[i]);
    maxX = Math.max(maxX, ps.x[i]);
    minY = Math.min(minY, ps.y[i]);
    maxY = Math.max(maxY, ps.y[i]);
  }
  if (n === 0) return;
  const gw = Math.floor((maxX - minX) / cell) + 1;
  const gh = Math.floor((maxY - minY) / cell) + 1;
  if (gw * gh > 4 * n + 4096) {
    localMassSparse(ps, radius, out);
    return;
  }
  const start = new Int32Array(gw * gh + 1);
  const cellOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor((ps.y[i] - minY) / cell) * gw + Math.floor((ps.x[i] - minX) / cell);
    cellOf[i] = c;
    start[c + 1]++;
  }
  for (let c = 0; c < gw * gh; c++) start[c + 1] += start[c];
  const fill = start.slice(0, gw * gh);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[cellOf[i]]++] = i;
  const r2 = radius * radius;
  for (let i = 0; i < n; i++) {
    const cx = cellOf[i] % gw;
    const cy = (cellOf[i] - cx) / gw;
    let m = 0;
    for (let yy = Math.max(0, cy - 1); yy <= Math.min(gh - 1, cy + 1); yy++) {
      for (let xx = Math.max(0, cx - 1); xx <= Math.min(gw - 1, cx + 1); xx++) {
        const c = yy * gw + xx;
        for (let k = start[c]; k < start[c + 1]; k++) {
          const j = order[k];
          if (ps.s[j] !== ps.s[i]) continue;
          const ddx = ps.x[j] - ps.x[i];
          const ddy = ps.y[j] - ps.y[i];
          if (ddx * ddx + ddy * ddy <= r2) m += ps.a[j];
        }
      }
    }
    out[i] = m;
  }
}

/** localMass for particles spread far apart relative to the radius (a hash map of cells). */
function localMassSparse(ps: Particles, radius: number, out: Float64Array): void {
  const cell = Math.max(radius, 1e-9);
  const grid = new Map<number, number[]>();
  const key = (cx: number, cy: number) => cx * 1_000_003 + cy;
  for (let i = 0; i < ps.n; i++) {
    const k = key(Math.floor(ps.x[i] / cell), Math.floor(ps.y[i] / cell));
    const l = grid.get(k);
    if (l) l.push(i);
    else grid.set(k, [i]);
  }
  const r2 = radius * radius;
  for (let i = 0; i < ps.n; i++) {
    const cx = Math.floor(ps.x[i] / cell);
    const cy = Math.floor(ps.y[i] / cell);
    let m = 0;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const l = grid.get(key(cx + dx, cy + dy));
        if (!l) continue;
        for (const j of l) {
          if (ps.s[j] !== ps.s[i]) continue;
          const ddx = ps.x[j] - ps.x[i];
          const ddy = ps.y[j] - ps.y[i];
          if (ddx * ddx + ddy * ddy <= r2) m += ps.a[j];
        }
      }
    }
    out[i] = m;
  }
}

/** At most this many stamp values (×3 arrays of doubles) are cached between passes (~100 MB). */
const STAMP_CACHE_VALUES = 4_000_000;

/** Iterations between full passes (model rebuilt, background refit, active set renewed). */
const FULL_EVERY = 10;

/**
 * Particles whose first variation still matters for the certificate. A violation V < 0 at a
 * particle (or a gradient that moves the maximum of η a fraction of σ away) costs about
 * |V|·Σa in the duality gap, so a particle is frozen only when |V| and σ·|∇V| are both below
 * 1 % of the gap allowed, tolerance·F, divided by the total mass.
 */
function selectActive(ps: Particles, g: Grad, F: number, tolerance: number, sigma: number): number[] {
  let mass = 0;
  for (let i = 0; i < ps.n; i++) mass += ps.a[i];
  const thr = (0.01 * tolerance * Math.abs(F)) / Math.max(mass, 1e-300);
  const out: number[] = [];
  for (let i = 0; i < ps.n; i++) {
    const gn = Math.hypot(g.gx[i], g.gy[i]);
    if (Math.abs(g.V[i]) > thr || sigma * gn > thr) out.push(i);
  }
  return out;
}



/**
 * Particles below this amplitude in noise units (a·√G) and below 1 % of the brightest are 'faint'
 * in a sliding sweep: they get their own Newton step on V instead of joining the joint steps of
 * their group. At 1 (one noise unit) a faint particle 1 px from a brighter one sharing its light
 * was left to coordinate descent against it, a zig-zag of a thousand iterations on some tiles; at
 * 0.01 it joins its neighbour's joint step and the pair settles in a few.
 */
const FAINT = 0.01;

/** Outcome of a sliding step on a group that found no step lowering F (see slide). */
const FAILED = -1;

/** Step of the central differences for the curvature of φ, pixels. */
const FD_STEP = 1e-3;

/** Damping factors tried in turn by a sliding step (diagonal scaled by 1 + μ). */
const LM_DAMPING = [0, 1e-4, 1e-3, 0.01, 0.3, 3, 30];

/** Largest growth exponent of one weight update: a weight grows at most e^2.5 ≈ 12× per step. */
const MAX_GROWTH = 2.5;
/** Largest position move of one step, pixels: keeps particles from jumping over sources. */
const MAX_MOVE = 0.5;

/**
 * η map for the residual of the current state (−data term of V at every pixel centre), with the
 * sign that maximises it in signed mode, and the refined local maxima above `floor`.
 */
function certificate(ws: Workspace, ps: Particles, F: number, signed: boolean): Certificate {
  const { W, H, p } = ws;
  // The residual and η maps live in buffers kept by the workspace: a certificate runs every few
  // iterations, and three fresh tile-sized arrays each time were a good part of the solver's GC.
  const bufs = ws.certificateBuffers();
  const qFull = ws.fullQ(bufs.q);
  // Sources may sit up to `outside` px beyond the edges (a star just off the field still lights
  // it), so η is searched on a grid padded by that much, with a zero residual outside.
  const PX = p.psf.periodic ? 0 : Math.ceil(ws.outside);
  const PY = p.psf.periodic || p.psf.dims === 1 ? 0 : PX;
  const GW = W + 2 * PX;
  const GH = H + 2 * PY;
  let qGrid = qFull;
  if (PX > 0 || PY > 0) {
    // The padding stays zero: only the interior rows are ever written.
    qGrid = bufs.grid(GW * GH);
    for (let y = 0; y < H; y++) qGrid.set(qFull.subarray(y * W, (y + 1) * W), (y + PY) * GW + PX);
  }
  const corr = correlate(p.psf, qGrid, GW, GH, bufs.corr(GW * GH));
  // η = −corr; in signed mode the − family sees +corr.
  let maxEta = -Infinity;
  let worst = { x: 0, y: 0 };
  const lambda = p.lambda;
  // Only grid maxima that could exceed λ once refined are refined: η is a correlation with φ, so
  // near a maximum it falls off no faster than a Gaussian of width σ, and a grid node lies within
  // √½ px of the maximum, so the refined value exceeds the grid value by at most a factor
  // exp(1/(4σ²)); the floor λ·exp(−1/(2σ²)) (at most 0.9λ) doubles that margin. Refining every
  // noise maximum down to λ/2 cost more than the rest of the certificate.
  const floor = lambda * Math.min(0.9, Math.exp(-1 / (2 * p.psf.sigma * p.psf.sigma)));
  const candidates: { x: number; y: number; eta: number; sign: 1 | -1 }[] = [];
  const signs: (1 | -1)[] = signed ? [1, -1] : [1];
  for (const sg of signs) {
    for (let gy = 0; gy < GH; gy++) {
      for (let gx = 0; gx < GW; gx++) {
        const e = -sg * corr[gy * GW + gx];
        const x = gx - PX;
        const y = gy - PY;
        if (e > maxEta) {
          maxEta = e;
          worst = { x, y };
        }
        if (e <= floor) continue;
        // Local maximum over the 3×3 neighbourhood (wrapping on the torus).
        let isMax = true;
        for (let dy = -1; dy <= 1 && isMax; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            if (dx === 0 && dy === 0) continue;
            let xx = gx + dx;
            let yy = gy + dy;
            if (p.psf.periodic) {
              xx = (xx + GW) % GW;
              yy = (yy + GH) % GH;
            } else if (xx < 0 || yy < 0 || xx >= GW || yy >= GH) continue;
            if (-sg * corr[yy * GW + xx] > e) {
              isMax = false;
              break;
            }
          }
        }
        if (isMax) candidates.push({ x, y, eta: e, sign: sg });
      }
    }
  }
  // Refine each candidate to its sub-pixel maximum by parabolic steps on exact evaluations.
  const violations: Certificate['violations'] = [];
  for (const cnd of candidates) {
    let cx = cnd.x;
    let cy = cnd.y;
    let best = cnd.eta;
    // η at (cx, cy), carried from level to level: the centre of the next level is this one's
    // centre or its accepted trial point, both evaluated already (etaAt is deterministic).
    let ec = cnd.sign * ws.etaAt(cx, cy, qFull);
    for (let h = 0.5; h >= 0.05; h /= 2.5) {
      const e0 = ec;
      const exm = cnd.sign * ws.etaAt(cx - h, cy, qFull);
      const exp = cnd.sign * ws.etaAt(cx + h, cy, qFull);
      const dxx = exp - 2 * e0 + exm;
      let nx = cx;
      if (dxx < 0) nx = cx + Math.max(-h, Math.min(h, (-h * (exp - exm)) / (2 * dxx)));
      let ny = cy;
      if (p.psf.dims === 2) {
        const eym = cnd.sign * ws.etaAt(cx, cy - h, qFull);
        const eyp = cnd.sign * ws.etaAt(cx, cy + h, qFull);
        const dyy = eyp - 2 * e0 + eym;
        if (dyy < 0) ny = cy + Math.max(-h, Math.min(h, (-h * (eyp - eym)) / (2 * dyy)));
      }
      const e1 = nx === cx && ny === cy ? e0 : cnd.sign * ws.etaAt(nx, ny, qFull);
      best = Math.max(best, e0);
      if (e1 > best) {
        best = e1;
        cx = nx;
        cy = ny;
        ec = e1;
      }
    }
    if (best > maxEta) {
      maxEta = best;
      worst = { x: cx, y: cy };
    }
    if (best > lambda) violations.push({ x: cx, y: cy, eta: best, sign: cnd.sign });
  }
  // Exact values at the particles too.
  for (let i = 0; i < ps.n; i++) {
    const e = ps.s[i] * ws.etaAt(ps.x[i], ps.y[i], qFull);
    if (e > maxEta) {
      maxEta = e;
      worst = { x: ps.x[i], y: ps.y[i] };
    }
  }
  // Dual value at the scaled residual: D = −s Σ q f − ½ s² Σ q²/w.
  let qf = 0;
  let qq = 0;
  for (let i = 0; i < ws.N; i++) {
    const wi = p.weights[i];
    if (wi === 0) continue;
    const qi = qFull[i];
    qf += qi * p.data[i];
    qq += (qi * qi) / wi;
  }
  const s = maxEta > lambda ? lambda / maxEta : 1;
  const D = -s * qf - 0.5 * s * s * qq;
  const gap = Math.max(0, F - D);
  return {
    gap,
    relativeGap: gap / Math.max(Math.abs(F), 1e-300),
    maxEta,
    minV: lambda - maxEta,
    worst,
    violations,
  };
}

/**
 * Pixels within `radius` (Chebyshev distance, pixels) of a local maximum (3×3) of η = −corr above
 * λ: bit 1 for η, bit 2 for −η (the negative family in signed mode).
 */
function peakMask(corr: Float64Array, W: number, H: number, lambda: number, radius: number, signed: boolean, periodic: boolean): Uint8Array {
  const mask = new Uint8Array(W * H);
  const r = Math.floor(radius);
  for (const [sg, bit] of signed ? ([[1, 1], [-1, 2]] as const) : ([[1, 1]] as const)) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const e = -sg * corr[y * W + x];
        if (!(e > lambda)) continue;
        let isMax = true;
        for (let dy = -1; dy <= 1 && isMax; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            let xx = x + dx;
            let yy = y + dy;
            if (periodic) {
              xx = (xx + W) % W;
              yy = (yy + H) % H;
            } else if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
            if (-sg * corr[yy * W + xx] > e) {
              isMax = false;
              break;
            }
          }
        }
        if (!isMax) continue;
        for (let yy = y - r; yy <= y + r; yy++) {
          for (let xx = x - r; xx <= x + r; xx++) {
            let u = xx;
            let v = yy;
            if (periodic) {
              u = ((u % W) + W) % W;
              v = ((v % H) + H) % H;
            } else if (u < 0 || v < 0 || u >= W || v >= H) continue;
            mask[v * W + u] |= bit;
          }
        }
      }
    }
  }
  return mask;
}

/** Start positions and weights. */
function initialParticles(ws: Workspace, o: ValidOptions, signed: boolean): { ps: Particles; scaleG: number; scaleA: number; scaleH: number } {
  const { W, H, p } = ws;
  ws.evaluate(new Particles(1));
  const q0 = ws.fullQ(new Float64Array(ws.N));
  const corr = correlate(p.psf, q0, W, H);
  // Ĝ, Ĥ: self inner products of the PSF at the image centre with the median weight.
  const st = allocStamp(p.psf);
  p.psf.stamp(Math.floor(W / 2), Math.floor(H / 2), st);
  let g2 = 0;
  let h2 = 0;
  for (let k = 0; k < st.nx * st.ny; k++) {
    g2 += st.v[k] * st.v[k];
    h2 += st.dx[k] * st.dx[k];
  }
  // The positive weights copied by a plain loop (a filter callback per pixel cost ~1 ms a tile).
  const wpos = new Float64Array(ws.N);
  let nPos = 0;
  for (let i = 0; i < ws.N; i++) {
    const wi = p.weights[i];
    if (wi > 0) wpos[nPos++] = wi;
  }
  const wMed = nPos ? select(wpos.subarray(0, nPos), nPos >> 1) : 1;
  const scaleG = g2 * wMed;
  const scaleH = h2 * wMed;
  let maxEta = 0;
  for (let i = 0; i < ws.N; i++) maxEta = Math.max(maxEta, signed ? Math.abs(corr[i]) : -corr[i]);
  const scaleA = Math.max(maxEta / Math.max(scaleG, 1e-300), 1e-300);
  const ps = new Particles(1024);
  const h = o.gridSpacing;
  const sig = p.psf.sigma;
  // A start mass shared by the particles that cover one source: πσ²/h² grid nodes, or the
  // cluster of nodes around each peak when that is smaller (one particle for peakRadius 0).
  const cluster = o.init === 'peaks' ? (2 * Math.floor(o.peakRadius / h) + 1) ** 2 : Infinity;
  const cover = Math.max(1, Math.min(cluster, (Math.PI * sig * sig) / (h * h)));
  if (Array.isArray(o.init)) {
    for (const q of o.init) ps.push(q.x, q.y, q.a, q.sign ?? 1);
  } else {
    const ny = p.psf.dims === 1 ? 1 : Math.max(1, Math.round(H / h));
    const nx = Math.max(1, Math.round(W / h));
    const hx = W / nx;
    const hy = p.psf.dims === 1 ? 1 : H / ny;
    const grid = o.init === 'grid';
    const a0 = o.initialWeight ?? scaleA / cover;
    // 'peaks': only nodes near a local maximum of η above λ (per sign), see peakMask.
    const near = o.init === 'peaks' ? peakMask(corr, W, H, p.lambda, o.peakRadius, signed, p.psf.periodic) : null;
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        // Grid nodes at the centres of cells (for h = 1: the pixel centres).
        const x = p.psf.periodic ? i * hx : (i + 0.5) * hx - 0.5;
        const y = p.psf.dims === 1 ? 0 : p.psf.periodic ? j * hy : (j + 0.5) * hy - 0.5;
        const px = Math.min(W - 1, Math.max(0, Math.round(x)));
        const py = Math.min(H - 1, Math.max(0, Math.round(y)));
        // Most nodes are far from every peak: rejected before anything else.
        if (near && near[py * W + px] === 0) continue;
        const eta = -corr[py * W + px];
        for (let sg = 1; sg >= (signed ? -1 : 1); sg -= 2) {
          const e = sg * eta;
          if (grid) ps.push(x, y, a0, sg);
          else if (e > p.lambda && (!near || (near[py * W + px] & (sg > 0 ? 1 : 2)) !== 0)) {
            const Gp = scaleG * (p.weights[py * W + px] / wMed || 1);
            ps.push(x, y, (e - p.lambda) / Gp / cover, sg);
          }
        }
      }
    }
  }
  return { ps, scaleG, scaleA, scaleH };
}

/**
 * Births where V < 0 away from every particle (farther than `exclusion` px from each of its
 * sign): an isolated particle of mass (η − λ)/G lowers F by (η − λ)²/(2G) there. A module
 * function, not a closure in solveCpgd, so that V8 compiles its loops once, not once per solve.
 */
function addBirths(ws: Workspace, ps: Particles, violations: Certificate['violations'], exclusion: number, qFull: Float64Array, previous: Certificate['violations'], settled: boolean): [number, number][] {
  const { p } = ws;
  const before = ps.n;
  const lambda = p.lambda;
  const sv = ws.stamp;
  const sb = allocStamp(p.psf);
  const reach = 2 * p.psf.sigma;
  /** Weights changed (to undo): [index, old weight], in order. */
  const changed: [number, number][] = [];
  for (const v of violations) {
    // The particle at the violation (within `exclusion`), if any, and the nearest other one of
    // the same sign within 2σ.
    let at = -1;
    let nb = -1;
    let db = reach;
    for (let i = 0; i < before; i++) {
      if (ps.s[i] !== v.sign) continue;
      const d = Math.hypot(ps.x[i] - v.x, ps.y[i] - v.y);
      if (d <= exclusion) {
        if (at < 0) at = i;
      } else if (d < db && ps.a[i] > 0) {
        db = d;
        nb = i;
      }
    }
    // A violation the last certificate found too, within 0.5 px, beside a particle of the same
    // sign: a second source that particle stands in for, which a birth of mass (η − λ)/G, as if
    // alone, did not fix. So faint, the birth stays out of its neighbour's joint sliding steps
    // while weight crawls over to it, for hundreds of iterations. F is quadratic in the two
    // weights: the joint Newton step on them instead (for the birth, or the faint particle an
    // earlier one left there), the mass coming mostly from the neighbour (kept if that leaves
    // it at least half). On first sight the isolated birth stays: early on a violation beside
    // a particle is mostly that particle not yet in place (splitting it then cost 20 % more
    // iterations on star-field tiles).
    // Only once the rest has settled (relative gap below SPLIT_GAP: before, a repeated
    // violation is mostly particles still on their way, and on the talk's noise-free torus a
    // split then left a spurious fourth spike), and only for a violation above a relative 1e-4
    // (below, it is rounding where steps checked on F no longer resolve).
    const again = nb >= 0 && settled && v.eta > (1 + SPLIT_VIOLATION) * lambda && previous.some((u) => u.sign === v.sign && Math.hypot(u.x - v.x, u.y - v.y) <= 0.5);
    if (at >= 0 && !again) continue;
    const cx = at >= 0 ? ps.x[at] : v.x;
    const cy = at >= 0 ? ps.y[at] : v.y;
    p.psf.stamp(cx, cy, sv);
    const G = overlapSum(ws, sv, sv);
    if (!(G > 0)) continue;
    const Vv = at >= 0 ? lambda - v.sign * ws.etaAt(cx, cy, qFull) : lambda - v.eta;
    const a0 = at >= 0 ? ps.a[at] : 0;
    let a = a0 + Math.max(0, -Vv / G);
    let dab = 0;
    if (again) {
      p.psf.stamp(ps.x[nb], ps.y[nb], sb);
      const Gb = overlapSum(ws, sb, sb);
      const C = overlapSum(ws, sb, sv);
      const Vb = lambda - v.sign * ws.etaAt(ps.x[nb], ps.y[nb], qFull);
      const det = Gb * G - C * C;
      if (det > 1e-9 * Gb * G) {
        const dav = (-Vv * Gb + C * Vb) / det;
        const db2 = (-Vb * G + C * Vv) / det;
        if (a0 + dav > a && ps.a[nb] + db2 >= 0.5 * ps.a[nb]) {
          a = a0 + dav;
          dab = db2;
        }
      }
    }
    if (dab !== 0) {
      changed.push([nb, ps.a[nb]]);
      ps.a[nb] += dab;
    }
    if (at >= 0) {
      if (dab === 0) continue;
      changed.push([at, ps.a[at]]);
      ps.a[at] = a;
    } else ps.push(v.x, v.y, a, v.sign);
  }
  return changed;
}

/** Relative size (η − λ)/λ above which a repeated violation beside a particle is split off (addBirths). */
const SPLIT_VIOLATION = 1e-4;
/** Relative duality gap below which the solve counts as settled enough for such a split. */
const SPLIT_GAP = 1e-2;

/** Σ w φ1 φ2 over the overlap of two stamps inside the image. */
function overlapSum(ws: Workspace, s1: Stamp, s2: Stamp): number {
  const { W, H } = ws;
  const w = ws.p.weights;
  const xa = Math.max(s1.x0, s2.x0, 0);
  const xb = Math.min(s1.x0 + s1.nx, s2.x0 + s2.nx, W);
  const ya = Math.max(s1.y0, s2.y0, 0);
  const yb = Math.min(s1.y0 + s1.ny, s2.y0 + s2.ny, H);
  let sum = 0;
  for (let py = ya; py < yb; py++) {
    const k1 = (py - s1.y0) * s1.nx - s1.x0;
    const k2 = (py - s2.y0) * s2.nx - s2.x0;
    const row = py * W;
    for (let px = xa; px < xb; px++) sum += w[row + px] * s1.v[k1 + px] * s2.v[k2 + px];
  }
  return sum;
}

/** Run CPGD. Throws only on invalid options; otherwise returns a status. */
export function solveCpgd(problem: CpgdProblem, options: CpgdOptions = {}): CpgdResult {
  const o = validateCpgdOptions(options, problem.psf);
  const { width: W, height: H } = problem;
  if (!(problem.lambda >= 0) || !Number.isFinite(problem.lambda)) throw new InvalidOptionError('lambda', problem.lambda, 'must be a finite number ≥ 0');
  if (problem.data.length !== W * H || problem.weights.length !== W * H) throw new InvalidOptionError('image', `${problem.data.length}`, `data and weights must have ${W}×${H} values`);
  const signed = problem.signed ?? false;
  const ws = new Workspace(problem);
  const psf = problem.psf;
  const init = initialParticles(ws, o, signed);
  let ps = init.ps;
  let trial = new Particles(ps.n);
  let F = ws.evaluate(ps);
  const history = [F];
  const particleHistory = [ps.n];
  const certificates: CpgdResult['certificates'] = [];
  const grad = new Grad();
  let t = o.adaptiveStep ? Math.min(0.5, o.maxStep) : o.maxStep;
  let status: CpgdStatus = 'max-iter';
  let cert: Certificate | undefined;
  let iter = 0;
  const out = ws.outside;
  const clampX = (x: number) => (psf.periodic ? ((x % W) + W) % W : Math.min(W - 0.5 + out, Math.max(-0.5 - out, x)));
  const clampY = (y: number) => (psf.dims === 1 ? 0 : psf.periodic ? ((y % H) + H) % H : Math.min(H - 0.5 + out, Math.max(-0.5 - out, y)));

  // A violation more than 0.05 px from every particle gets a particle of its own, even beside
  // another one: a single particle between two close sources is a saddle that only a birth
  // escapes (merging them back is checked against F, so a useless birth does not survive).
  const birthExclusion = 0.05;
  /** The particles (and their count) the last certificate was computed for. */
  const certifiedState: { ps: Particles | null; n: number } = { ps: null, n: -1 };
  /** The last certificate's violations (a birth beside a particle is treated apart when seen twice). */
  let lastViolations: Certificate['violations'] = [];
  const checkCertificate = (): boolean => {
    ws.ensureEvaluated(ps);
    cert = certificate(ws, ps, F, signed);
    certifiedState.ps = ps;
    certifiedState.n = ps.n;
    certificates.push({ iteration: iter, gap: cert.gap, relativeGap: cert.relativeGap, minV: cert.minV });
    if (cert.relativeGap <= o.tolerance) return true;
    const previousViolations = lastViolations;
    lastViolations = cert.violations;
    if (o.births && cert.violations.length > 0) {
      const before = ps.n;
      const moved = addBirths(ws, ps, cert.violations, birthExclusion, ws.certificateBuffers().q, previousViolations, cert.relativeGap < SPLIT_GAP);
      if (ps.n > before || moved.length > 0) {
        const Fb = ws.evaluate(ps);
        if (Fb <= F) F = Fb;
        else {
          ps.n = before;
          for (let k = moved.length - 1; k >= 0; k--) ps.a[moved[k][0]] = moved[k][1];
          // Restored weights with no birth leave ps.n as evaluated: the workspace must not take
          // the rejected state for the current one.
          ws.forget();
        }
        ws.ensureEvaluated(ps);
      }
    }
    return false;
  };

  const settled = new SettledGroups();
  let active: number[] = [];
  let sinceFull = Infinity;
  let forceFull = true;
  let needQ = true;
  const prop = { x: 0, y: 0, a: 0 };
  /** The CPGD update of particle i at step scale t (the gradient pass must be current for i). */
  const propose = (i: number, tt: number, out: { x: number; y: number; a: number }) => {
    let wScale: number;
    let xScale: number;
    let yScale: number;
    if (o.precondition) {
      const G = grad.G[i];
      const S = Math.max(grad.M[i], ps.a[i], 1 / Math.sqrt(Math.max(G, 1e-300)));
      wScale = 1 / Math.max(G * S, 1e-300);
      xScale = 1 / Math.max(grad.Hx[i] * S, 1e-300);
      yScale = 1 / Math.max(grad.Hy[i] * S, 1e-300);
    } else {
      wScale = 1 / (init.scaleG * init.scaleA);
      xScale = yScale = 1 / (init.scaleH * init.scaleA);
    }
    let e = -2 * tt * o.alpha * grad.V[i] * wScale;
    if (e > MAX_GROWTH) e = MAX_GROWTH;
    let mx = -tt * o.beta * grad.gx[i] * xScale;
    let my = psf.dims === 1 ? 0 : -tt * o.beta * grad.gy[i] * yScale;
    const d = Math.hypot(mx, my);
    if (d > MAX_MOVE) {
      mx *= MAX_MOVE / d;
      my *= MAX_MOVE / d;
    }
    out.x = clampX(ps.x[i] + mx);
    out.y = clampY(ps.y[i] + my);
    out.a = ps.a[i] * Math.exp(e);
  };

  for (iter = 1; iter <= o.maxIter; iter++) {
    if (o.shouldStop?.()) {
      status = 'cancelled';
      iter--;
      break;
    }
    if (ps.n === 0) {
      if (checkCertificate()) {
        status = 'converged';
        iter--;
        break;
      }
      if (ps.n === 0) {
        // μ = 0 and the certificate not yet below tolerance cannot improve: nothing to move.
        status = 'converged';
        iter--;
        break;
      }
    }
    // Full pass (all particles, model rebuilt, background refit) or incremental pass (only the
    // particles still moving; the rest of the model and the background held fixed).
    const incremental = !forceFull && sinceFull < FULL_EVERY && active.length <= ps.n / 2;
    let accepted = false;
    if (!incremental) {
      ws.computeQ();
      ws.gradients(ps, grad);
      if (o.precondition) localMass(ps, psf.sigma, grad.M);
      active = selectActive(ps, grad, F, o.tolerance, psf.sigma);
      sinceFull = 0;
      forceFull = false;
      // Trial steps, halving t until F does not increase.
      for (let attempt = 0; attempt < 40; attempt++) {
        trial.n = 0;
        for (let i = 0; i < ps.n; i++) {
          propose(i, t, prop);
          trial.push(prop.x, prop.y, prop.a, ps.s[i]);
        }
        const Ft = ws.evaluate(trial);
        if (Ft <= F) {
          const tmp = ps;
          ps = trial;
          trial = tmp;
          F = Ft;
          accepted = true;
          if (o.adaptiveStep && attempt === 0) t = Math.min(o.maxStep, t * 1.5);
          break;
        }
        t /= 2;
      }
      if (!accepted) {
        // No step lowers F at machine precision: restore the model of the current particles.
        ws.evaluate(ps);
        t = 0.5 * o.maxStep;
      }
      needQ = true;
    } else {
      if (needQ) ws.computeQ();
      needQ = false;
      ws.gradients(ps, grad, active);
      if (o.precondition) localMass(ps, psf.sigma, grad.M);
      const n = active.length;
      const ox = new Float64Array(n);
      const oy = new Float64Array(n);
      const oa = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        const i = active[k];
        ox[k] = ps.x[i];
        oy[k] = ps.y[i];
        oa[k] = ps.a[i];
      }
      for (let attempt = 0; attempt < 40; attempt++) {
        let dF = 0;
        for (let k = 0; k < n; k++) {
          const i = active[k];
          propose(i, t, prop);
          dF += ws.addIncremental(ox[k], oy[k], -ps.s[i] * oa[k]) + ws.addIncremental(prop.x, prop.y, ps.s[i] * prop.a) + problem.lambda * (prop.a - oa[k]);
          ps.x[i] = prop.x;
          ps.y[i] = prop.y;
          ps.a[i] = prop.a;
          ws.invalidateStamp(i);
        }
        if (dF <= 0) {
          F += dF;
          accepted = true;
          if (o.adaptiveStep && attempt === 0) t = Math.min(o.maxStep, t * 1.5);
          break;
        }
        for (let k = 0; k < n; k++) {
          const i = active[k];
          ws.addIncremental(ps.x[i], ps.y[i], -ps.s[i] * ps.a[i]);
          ws.addIncremental(ox[k], oy[k], ps.s[i] * oa[k]);
          ps.x[i] = ox[k];
          ps.y[i] = oy[k];
          ps.a[i] = oa[k];
        }
        t /= 2;
      }
      if (!accepted) {
        t = 0.5 * o.maxStep;
        forceFull = true;
        accepted = true; // the full pass next decides whether the solver is stuck
      }
      sinceFull++;
    }
    if (o.slideEvery > 0 && iter % o.slideEvery === 0 && iter >= o.slideFrom) {
      // Where something still moves (groups with a particle of the active set), and every
      // fourth time everywhere: a group whose members all look settled may still sit in a valley.
      const mask = new Uint8Array(ps.n);
      if (sinceFull < FULL_EVERY && iter % (4 * o.slideEvery) !== 0) for (const i of active) mask[i] = 1;
      else mask.fill(1);
      const r = slide(ws, ps, F, trial, clampX, clampY, mask, o, settled, !(sinceFull < FULL_EVERY && iter % (4 * o.slideEvery) !== 0));
      F = r.F;
      if (r.changed) {
        forceFull = true;
        needQ = true;
      }
    }
    if (iter % o.maintenanceEvery === 0) {
      const r = maintain(ws, ps, F, o, trial, (a, b) => {
        ps = a;
        trial = b;
      });
      F = r.F;
      needQ = true;
      if (r.changed) forceFull = true;
    }
    history.push(F);
    particleHistory.push(ps.n);
    let certNow: Certificate | undefined;
    const first = o.firstCertificate;
    if ((iter >= first && (iter - first) % o.certificateEvery === 0) || !accepted) {
      forceFull = true;
      const done = checkCertificate();
      certNow = cert;
      if (done || (!accepted && ps.n > 0 && cert!.violations.length === 0)) {
        o.onProgress?.({ iteration: iter, objective: F, particles: ps.n, step: t, certificate: certNow, snapshot: () => ps.list() });
        // Converged: the gap is below tolerance, or no step lowers F in floating point and V ≥ 0
        // everywhere away from the particles (the certificate then says how close it is).
        status = 'converged';
        break;
      }
    }
    o.onProgress?.({ iteration: iter, objective: F, particles: ps.n, step: t, certificate: certNow, snapshot: () => ps.list() });
  }
  if (iter > o.maxIter) iter = o.maxIter;
  // A solve that converged stopped right after certifying these very particles (no births or
  // moves since): that certificate is the final one. Otherwise certify the last state.
  let finalCert: Certificate;
  if (status === 'converged' && cert && certifiedState.ps === ps && certifiedState.n === ps.n) finalCert = cert;
  else {
    ws.ensureEvaluated(ps);
    finalCert = certificate(ws, ps, F, signed);
  }
  return {
    status,
    iterations: iter,
    particles: ps.list(),
    backgroundCoefficients: Float64Array.from(ws.c),
    objective: F,
    certificate: finalCert,
    history,
    particleHistory,
    certificates,
  };
}

/**
 * Prune negligible particles and merge near-coincident ones (same sign, within mergeDistance, to
 * their mass-weighted centre), each change applied only where its exact change of F is ≤ 0; the
 * whole pass is undone if F, recomputed with the background refit, rose.
 */
function maintain(ws: Workspace, ps: Particles, F: number, o: ValidOptions, spare: Particles, swap: (a: Particles, b: Particles) => void): { F: number; changed: boolean } {
  ws.computeQ();
  spare.copyFrom(ps);
  const n = ps.n;
  const lambda = ws.p.lambda;
  let changed = false;
  let maxA = 0;
  for (let i = 0; i < n; i++) maxA = Math.max(maxA, ps.a[i]);
  // Prune: below 1e-3 of the noise amplitude (or 1e-12 of the largest weight).
  for (let i = 0; i < n; i++) {
    const a = ps.a[i];
    if (!(a * ws.selfNorm(ps.x[i], ps.y[i]) < 1e-3 || a < 1e-12 * maxA)) continue;
    const dF = ws.addIncremental(ps.x[i], ps.y[i], -ps.s[i] * a) - lambda * a;
    if (dF <= 0) {
      ps.a[i] = 0;
      changed = true;
    } else ws.addIncremental(ps.x[i], ps.y[i], ps.s[i] * a);
  }
  // Merge.
  const d = o.mergeDistance;
  if (d > 0) {
    const W = ws.W;
    const H = ws.H;
    const per = ws.periodic;
    // On the torus, group on coordinates unwrapped near the first member (tiny clusters only).
    const groups = proximityGroups(ps.x, ps.y, n, d, 64);
    for (const grp of groups) {
      const live = grp.filter((i) => ps.a[i] > 0);
      if (live.length < 2) continue;
      for (const sign of [1, -1]) {
        const mem = live.filter((i) => ps.s[i] === sign);
        if (mem.length < 2) continue;
        const ref = mem[0];
        let at = 0;
        let mx = 0;
        let my = 0;
        for (const i of mem) {
          const xi = per ? ps.x[ref] + ((((ps.x[i] - ps.x[ref]) % W) + 1.5 * W) % W) - 0.5 * W : ps.x[i];
          const yi = per ? ps.y[ref] + ((((ps.y[i] - ps.y[ref]) % H) + 1.5 * H) % H) - 0.5 * H : ps.y[i];
          at += ps.a[i];
          mx += ps.a[i] * xi;
          my += ps.a[i] * yi;
        }
        if (!(at > 0)) continue;
        mx /= at;
        my /= at;
        if (per) {
          mx = ((mx % W) + W) % W;
          my = ((my % H) + H) % H;
        }
        let dF = 0;
        for (const i of mem) dF += ws.addIncremental(ps.x[i], ps.y[i], -sign * ps.a[i]);
        dF += ws.addIncremental(mx, my, sign * at);
        if (dF <= 0) {
          for (const i of mem) ps.a[i] = 0;
          ps.x[ref] = mx;
          ps.y[ref] = my;
          ps.a[ref] = at;
          changed = true;
        } else {
          ws.addIncremental(mx, my, -sign * at);
          for (const i of mem) ws.addIncremental(ps.x[i], ps.y[i], sign * ps.a[i]);
        }
      }
    }
  }
  if (!changed) return { F, changed: false };
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (ps.a[i] > 0) {
      ps.x[k] = ps.x[i];
      ps.y[k] = ps.y[i];
      ps.a[k] = ps.a[i];
      ps.s[k] = ps.s[i];
      k++;
    }
  }
  if (k < ps.n) ws.forget();
  ps.n = k;
  const Fn = ws.evaluate(ps);
  if (Fn <= F) return { F: Fn, changed: true };
  // Rounding made the pass a net loss: restore.
  swap(spare, ps);
  ws.evaluate(spare);
  return { F, changed: true };
}

/**
 * Groups whose last sliding step gained nothing worth repeating (≤ the repeat threshold), with
 * their members' state at that time, by particle index. Until a sweep over everything (every
 * fourth), such a group is skipped while none of its members has moved by more than SETTLED_MOVE
 * px or changed weight by more than SETTLED_WEIGHT of itself: stepping the settled groups again
 * was most of a sweep's work (80 % of first steps on SMLM frames gained nothing). Indices that
 * shift (pruning, merging) hold another particle's state and never match.
 */
class SettledGroups {
  private x = new Float64Array(0);
  private y = new Float64Array(0);
  private a = new Float64Array(0);
  private ok = new Uint8Array(0);
  ensure(n: number): void {
    if (this.ok.length >= n) return;
    const c = Math.max(n, 2 * this.ok.length);
    this.x = grown(this.x, c, (k) => new Float64Array(k));
    this.y = grown(this.y, c, (k) => new Float64Array(k));
    this.a = grown(this.a, c, (k) => new Float64Array(k));
    this.ok = grown(this.ok, c, (k) => new Uint8Array(k));
  }
  still(grp: number[], ps: Particles): boolean {
    for (const i of grp) {
      if (!this.ok[i]) return false;
      if (Math.abs(ps.x[i] - this.x[i]) > SETTLED_MOVE || Math.abs(ps.y[i] - this.y[i]) > SETTLED_MOVE) return false;
      if (Math.abs(ps.a[i] - this.a[i]) > SETTLED_WEIGHT * ps.a[i]) return false;
    }
    return true;
  }
  mark(grp: number[], ps: Particles, settled: boolean): void {
    for (const i of grp) {
      this.ok[i] = settled ? 1 : 0;
      this.x[i] = ps.x[i];
      this.y[i] = ps.y[i];
      this.a[i] = ps.a[i];
    }
  }
  move(from: number, to: number): void {
    if (from === to || from >= this.ok.length) return;
    this.ok[to] = this.ok[from];
    this.x[to] = this.x[from];
    this.y[to] = this.y[from];
    this.a[to] = this.a[from];
  }
}

/** See SettledGroups: how far (pixels) and by how much (fraction) a settled member may drift. */
const SETTLED_MOVE = 1e-3;
const SETTLED_WEIGHT = 1e-4;

/**
 * One damped step on a group of particles (slide's inner step). A class rather than closures in
 * slide(): slide ran every iteration and made fresh closures each time, which V8 optimised over
 * and over (about once per tile, 100–250 ms of compiler time each); a class's methods are
 * compiled once. Separable PSFs: each member's profiles (at its position, then at its trial
 * position) are computed once per step and reused for its stamp and for every add/remove of the
 * LM attempts.
 */
class GroupStepper {
  readonly psf: Psf;
  readonly D: 2 | 3;
  readonly sep: SeparablePsf | null;
  readonly side: number;
  readonly pool: Stamp[] = [];
  mBox = new Int32Array(0);
  mGx = new Float64Array(0);
  mDgx = new Float64Array(0);
  mGy = new Float64Array(0);
  mDgy = new Float64Array(0);
  tBox = new Int32Array(0);
  tGx = new Float64Array(0);
  tGy = new Float64Array(0);
  /** A group's positions and weights before (o) and after (t) a trial step. */
  ox = new Float64Array(8);
  oy = new Float64Array(8);
  oa = new Float64Array(8);
  tx = new Float64Array(8);
  ty = new Float64Array(8);
  ta = new Float64Array(8);
  readonly tDx: Float64Array;
  readonly tDy: Float64Array;
  readonly hs = new Float64Array(7);
  /** Profile scratch of singleSystem's second derivatives. */
  private readonly hv: Float64Array;
  private readonly hxP: Float64Array;
  private readonly hxM: Float64Array;
  private readonly hyP: Float64Array;
  private readonly hyM: Float64Array;
  readonly gs0 = new Float64Array(4);
  readonly gsP = new Float64Array(4);
  readonly gsM = new Float64Array(4);
  /** Some step was taken. */
  changed = false;

  constructor(
    readonly ws: Workspace,
    readonly ps: Particles,
    readonly clampX: (x: number) => number,
    readonly clampY: (y: number) => number,
  ) {
    this.psf = ws.p.psf;
    this.D = this.psf.dims === 1 ? 2 : 3;
    this.sep = ws.separable;
    this.side = this.psf.maxStampSide;
    this.tDx = new Float64Array(this.side);
    this.tDy = new Float64Array(this.side);
    this.hv = new Float64Array(this.side);
    this.hxP = new Float64Array(this.side);
    this.hxM = new Float64Array(this.side);
    this.hyP = new Float64Array(this.side);
    this.hyM = new Float64Array(this.side);
  }

  private ensureMembers(n: number): void {
    const { pool, side } = this;
    while (pool.length < n) pool.push(allocStamp(this.psf));
    if (this.ox.length < n) {
      this.ox = new Float64Array(n);
      this.oy = new Float64Array(n);
      this.oa = new Float64Array(n);
      this.tx = new Float64Array(n);
      this.ty = new Float64Array(n);
      this.ta = new Float64Array(n);
    }
    if (!this.sep || this.mBox.length >= 4 * n) return;
    this.mBox = new Int32Array(4 * n);
    this.tBox = new Int32Array(4 * n);
    this.mGx = new Float64Array(n * side);
    this.mDgx = new Float64Array(n * side);
    this.mGy = new Float64Array(n * side);
    this.mDgy = new Float64Array(n * side);
    this.tGx = new Float64Array(n * side);
    this.tGy = new Float64Array(n * side);
  }

  /** Member m's stamp from its profiles: the outer products SeparablePsf.stamp forms. */
  private stampFromProfiles(m: number, out: Stamp): void {
    const { mBox, mGx, mDgx, mGy, mDgy } = this;
    const o = m * this.side;
    const nx = mBox[4 * m + 2];
    const ny = mBox[4 * m + 3];
    out.x0 = mBox[4 * m];
    out.y0 = mBox[4 * m + 1];
    out.nx = nx;
    out.ny = ny;
    let k = 0;
    for (let j = 0; j < ny; j++) {
      const gy = mGy[o + j];
      const dgy = mDgy[o + j];
      for (let i = 0; i < nx; i++, k++) {
        const gx = mGx[o + i];
        out.v[k] = gx * gy;
        out.dx[k] = mDgx[o + i] * gy;
        out.dy[k] = gx * dgy;
      }
    }
  }

  /**
   * groupSystem for one particle of a separable 2-D PSF, from its profiles (member 0's slots)
   * in one pass: each pixel's stamp values, Jacobian columns, and its terms of g = Jᵀq and of
   * the upper triangle of JᵀWJ are formed by the very expressions stampFromProfiles,
   * jacobianColumns, groupSystem and blockSums use, and each sum visits the pixels in the same
   * order, so A and g are the same to the bit, without writing the stamp and three columns out
   * and reading them back four times. The same pass leaves in `hs` what Workspace.hessSums
   * gives at the particle (its row sums, in its order, on the same profiles), to the bit too.
   */
  private singleSystem(i: number, A: Float64Array, g: Float64Array): void {
    const { ws, mBox, mGx, mDgx, mGy, mDgy } = this;
    const W = ws.W;
    const weights = ws.p.weights;
    const q = ws.q;
    const x0 = mBox[0];
    const y0 = mBox[1];
    const xa = Math.max(x0, 0);
    const xb = Math.min(x0 + mBox[2], W);
    const ya = Math.max(y0, 0);
    const yb = Math.min(y0 + mBox[3], ws.H);
    const s = this.ps.s[i];
    const sa = s * this.ps.a[i];
    // Workspace.hessSums's second derivatives of the profiles, by central differences.
    const sep = this.sep!;
    const nx = mBox[2];
    const ny = mBox[3];
    const { hv, hxP, hxM, hyP, hyM } = this;
    const x = this.ps.x[i];
    const y = this.ps.y[i];
    sep.axisProfile(0, x + FD_STEP, x0, nx, hv, hxP);
    sep.axisProfile(0, x - FD_STEP, x0, nx, hv, hxM);
    sep.axisProfile(1, y + FD_STEP, y0, ny, hv, hyP);
    sep.axisProfile(1, y - FD_STEP, y0, ny, hv, hyM);
    const inv2h = 1 / (2 * FD_STEP);
    for (let k = 0; k < nx; k++) hxP[k] = (hxP[k] - hxM[k]) * inv2h;
    for (let k = 0; k < ny; k++) hyP[k] = (hyP[k] - hyM[k]) * inv2h;
    let g0 = 0, g1 = 0, g2 = 0, s00 = 0, s01 = 0, s02 = 0, s11 = 0, s12 = 0, s22 = 0;
    let sv = 0, G = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
    for (let py = ya; py < yb; py++) {
      const gy = mGy[py - y0];
      const dgy = mDgy[py - y0];
      const row = py * W;
      let qg = 0, qd = 0, qdd = 0, wg = 0;
      for (let px = xa; px < xb; px++) {
        const gx = mGx[px - x0];
        const c0 = s * (gx * gy);
        const c1 = sa * (mDgx[px - x0] * gy);
        const c2 = sa * (gx * dgy);
        const qq = q[row + px];
        g0 += qq * c0;
        g1 += qq * c1;
        g2 += qq * c2;
        const w = weights[row + px];
        const wu0 = w * c0;
        const wu1 = w * c1;
        const wu2 = w * c2;
        s00 += wu0 * c0;
        s01 += wu0 * c1;
        s02 += wu0 * c2;
        s11 += wu1 * c1;
        s12 += wu1 * c2;
        s22 += wu2 * c2;
        // Workspace.hessSums's row sums, in its order.
        qg += qq * gx;
        qd += qq * mDgx[px - x0];
        qdd += qq * hxP[px - x0];
        wg += w * gx * gx;
      }
      sv += gy * qg;
      G += gy * gy * wg;
      sx += gy * qd;
      sy += dgy * qg;
      sxx += gy * qdd;
      sxy += dgy * qd;
      syy += hyP[py - y0] * qg;
    }
    const hs = this.hs;
    hs[0] = sv;
    hs[1] = G;
    hs[2] = sx;
    hs[3] = sy;
    hs[4] = sxx;
    hs[5] = sxy;
    hs[6] = syy;
    g[0] = g0;
    g[1] = g1;
    g[2] = g2;
    A[0] = s00;
    A[1] = A[3] = s01;
    A[2] = A[6] = s02;
    A[4] = s11;
    A[5] = A[7] = s12;
    A[8] = s22;
  }

  /** One damped step on a group: the decrease of F when taken, or FAILED. */
  step(grp: number[]): number {
    this.ensureMembers(grp.length);
    const { ws, ps, psf, D, sep, side, pool, hs, gs0, gsP, gsM, mBox, mGx, mDgx, mGy, mDgy, tBox, tGx, tGy, tDx, tDy } = this;
    let A: Float64Array;
    let g: Float64Array;
    let P: number;
    const single = sep !== null && grp.length === 1 && D === 3;
    if (single) {
      // Most groups are one particle: its system straight from the profiles (see singleSystem).
      sep!.profiles(ps.x[grp[0]], ps.y[grp[0]], mBox, 0, mGx, mDgx, mGy, mDgy, 0);
      P = 3;
      A = new Float64Array(9);
      g = new Float64Array(3);
      this.singleSystem(grp[0], A, g);
    } else {
      const members: Member[] = grp.map((i, m) => {
        const stm = pool[m];
        if (sep) {
          sep.profiles(ps.x[i], ps.y[i], mBox, 4 * m, mGx, mDgx, mGy, mDgy, m * side);
          this.stampFromProfiles(m, stm);
        } else psf.stamp(ps.x[i], ps.y[i], stm);
        return { a: ps.a[i], s: ps.s[i], stamp: stm };
      });
      ({ A, g, P } = groupSystem(members, ws.W, ws.H, ws.p.weights, D, ws.q));
    }
    for (let m = 0; m < grp.length; m++) g[m * D] += ws.p.lambda;
    // Full Newton: add the residual-weighted curvature of the model, Σ q ∇²model, which
    // Gauss–Newton drops and which shapes the valley of a tight pair of sources. Per member it is
    // s (∂xφ, ∂yφ) in the weight–position terms and s a ∇²φ in the position block (by central
    // differences of Σ q ∇φ, h = 1e-3 px).
    for (let m = 0; m < grp.length; m++) {
      const i = grp[m];
      const sa = ps.s[i] * ps.a[i];
      const r0 = m * D;
      let sx: number;
      let sy = 0;
      let hxx: number;
      let hxy = 0;
      let hyy = 0;
      if (single || ws.hessSums(ps.x[i], ps.y[i], hs)) {
        sx = hs[2];
        sy = hs[3];
        hxx = hs[4];
        hxy = hs[5];
        hyy = hs[6];
      } else {
        ws.pointSums(ps.x[i], ps.y[i], gs0);
        ws.pointSums(ps.x[i] + FD_STEP, ps.y[i], gsP);
        ws.pointSums(ps.x[i] - FD_STEP, ps.y[i], gsM);
        sx = gs0[2];
        sy = gs0[3];
        hxx = (gsP[2] - gsM[2]) / (2 * FD_STEP);
        const hyx = (gsP[3] - gsM[3]) / (2 * FD_STEP);
        if (D === 3) {
          ws.pointSums(ps.x[i], ps.y[i] + FD_STEP, gsP);
          ws.pointSums(ps.x[i], ps.y[i] - FD_STEP, gsM);
          hyy = (gsP[3] - gsM[3]) / (2 * FD_STEP);
          hxy = 0.5 * (hyx + (gsP[2] - gsM[2]) / (2 * FD_STEP));
        }
      }
      A[r0 * P + r0 + 1] += ps.s[i] * sx;
      A[(r0 + 1) * P + r0] += ps.s[i] * sx;
      A[(r0 + 1) * P + r0 + 1] += sa * hxx;
      if (D === 3) {
        A[r0 * P + r0 + 2] += ps.s[i] * sy;
        A[(r0 + 2) * P + r0] += ps.s[i] * sy;
        A[(r0 + 1) * P + r0 + 2] += sa * hxy;
        A[(r0 + 2) * P + r0 + 1] += sa * hxy;
        A[(r0 + 2) * P + r0 + 2] += sa * hyy;
      }
    }
    // Typed scratch, not arrays from map/push: a particle on a pixel centre has an integer
    // coordinate, and an array holding one changed its elements kind, which deoptimised this
    // method again and again (each recompilation ~200 ms of compiler time).
    const { ox, oy, oa, tx, ty, ta } = this;
    for (let m = 0; m < grp.length; m++) {
      const i = grp[m];
      ox[m] = ps.x[i];
      oy[m] = ps.y[i];
      oa[m] = ps.a[i];
    }
    const Ad = new Float64Array(P * P);
    // Levenberg–Marquardt: Gauss–Newton drops the curvature of φ weighted by the residual, which
    // matters for a tight pair of sources; when a step raises F, more damping turns it towards
    // the (scaled) gradient, where a small enough step always lowers F.
    for (const mu of LM_DAMPING) {
      Ad.set(A);
      for (let r = 0; r < P; r++) Ad[r * P + r] = A[r * P + r] * (1 + mu) + 1e-300;
      let sol: Float64Array;
      try {
        sol = new Cholesky(Ad, P).solve(g);
      } catch {
        return FAILED;
      }
      // Largest fraction of the step that keeps every weight ≥ 0 (a weight may reach 0 exactly).
      let f = 1;
      for (let m = 0; m < grp.length; m++) {
        const na = oa[m] - sol[m * D];
        if (na < 0) f = Math.min(f, oa[m] / (oa[m] - na));
      }
      for (let m = 0; m < grp.length; m++) {
        let dx = -f * sol[m * D + 1];
        let dy = D === 3 ? -f * sol[m * D + 2] : 0;
        const len = Math.hypot(dx, dy);
        if (len > MAX_MOVE) {
          dx *= MAX_MOVE / len;
          dy *= MAX_MOVE / len;
        }
        tx[m] = this.clampX(ox[m] + dx);
        ty[m] = this.clampY(oy[m] + dy);
        ta[m] = Math.max(0, oa[m] - f * sol[m * D]);
      }
      // Apply (old out, new in) and keep it only if F did not rise (exact change).
      let dF = 0;
      if (sep) {
        for (let m = 0; m < grp.length; m++) sep.profiles(tx[m], ty[m], tBox, 4 * m, tGx, tDx, tGy, tDy, m * side);
        for (let m = 0; m < grp.length; m++) dF += ws.addProfiles(mBox, 4 * m, mGx, mGy, m * side, -ps.s[grp[m]] * oa[m]) - ws.p.lambda * oa[m];
        for (let m = 0; m < grp.length; m++) dF += ws.addProfiles(tBox, 4 * m, tGx, tGy, m * side, ps.s[grp[m]] * ta[m]) + ws.p.lambda * ta[m];
      } else {
        for (let m = 0; m < grp.length; m++) dF += ws.addIncremental(ox[m], oy[m], -ps.s[grp[m]] * oa[m]) - ws.p.lambda * oa[m];
        for (let m = 0; m < grp.length; m++) dF += ws.addIncremental(tx[m], ty[m], ps.s[grp[m]] * ta[m]) + ws.p.lambda * ta[m];
      }
      if (dF <= 0) {
        for (let m = 0; m < grp.length; m++) {
          ps.x[grp[m]] = tx[m];
          ps.y[grp[m]] = ty[m];
          ps.a[grp[m]] = ta[m];
        }
        this.changed = true;
        return -dF;
      }
      if (sep) {
        for (let m = 0; m < grp.length; m++) ws.addProfiles(tBox, 4 * m, tGx, tGy, m * side, -ps.s[grp[m]] * ta[m]);
        for (let m = 0; m < grp.length; m++) ws.addProfiles(mBox, 4 * m, mGx, mGy, m * side, ps.s[grp[m]] * oa[m]);
      } else {
        for (let m = 0; m < grp.length; m++) ws.addIncremental(tx[m], ty[m], -ps.s[grp[m]] * ta[m]);
        for (let m = 0; m < grp.length; m++) ws.addIncremental(ox[m], oy[m], ps.s[grp[m]] * oa[m]);
      }
    }
    return FAILED;
  }
}

/**
 * Sliding step (as in sliding Frank–Wolfe): damped Gauss–Newton steps for F itself, λ included,
 * weights kept ≥ 0, taken jointly on groups of overlapping particles (within 3σ, at most 8 per
 * group) one group after the other. CPGD's first-order flow separates sources quickly but crawls
 * where sources overlap (an ill-conditioned pair moves as a zig-zag); the joint second-order step
 * converges there in a few sweeps. A group's move is undone when it raises F (exact change), and
 * the whole sweep when F, recomputed, rose.
 */
function slide(
  ws: Workspace,
  ps: Particles,
  F: number,
  backup: Particles,
  clampX: (x: number) => number,
  clampY: (y: number) => number,
  mask: Uint8Array,
  o: ValidOptions,
  settled: SettledGroups | null = null,
  everywhere = true,
): { F: number; changed: boolean } {
  const tolerance = o.tolerance;
  const psf = ws.p.psf;
  backup.copyFrom(ps);
  ws.computeQ();
  // Joint steps for particles that carry signal; faint ones (far below the noise amplitude,
  // a·√G ≤ FAINT, and below 1 % of the brightest: their position block is degenerate, its
  // curvature scaling with a²) get the cheaper steps below.
  const movable: number[] = [];
  let changed = false;
  const gs0 = new Float64Array(4);
  const hs = new Float64Array(7);
  const gsP = new Float64Array(4);
  const gsM = new Float64Array(4);
  let maxA = 0;
  for (let i = 0; i < ps.n; i++) maxA = Math.max(maxA, ps.a[i]);
  for (let i = 0; i < ps.n; i++) {
    if (ps.a[i] * ws.selfNorm(ps.x[i], ps.y[i]) > FAINT || ps.a[i] > 0.01 * maxA) {
      movable.push(i);
      continue;
    }
    if (!mask[i]) continue;
    // A faint particle goes to the minimum of V (for a small mass, F changes by a·V(x), so that
    // is its best place: one Newton step on V, whose curvature comes from central differences),
    // and where V < 0 takes its Newton weight at once (a multiplicative update from a tiny mass
    // needs many iterations to get there). Kept only if F does not rise.
    const sg = ps.s[i];
    let nx = ps.x[i];
    let ny = ps.y[i];
    let gx: number;
    let gy: number;
    let hxx: number;
    let hxy: number;
    let hyy = 1;
    if (ws.hessSums(nx, ny, hs)) {
      gx = sg * hs[2];
      gy = sg * hs[3];
      hxx = sg * hs[4];
      hxy = sg * hs[5];
      hyy = sg * hs[6];
    } else {
      ws.pointSums(nx, ny, gs0);
      gx = sg * gs0[2];
      gy = psf.dims === 1 ? 0 : sg * gs0[3];
      ws.pointSums(nx + FD_STEP, ny, gsP);
      ws.pointSums(nx - FD_STEP, ny, gsM);
      hxx = (sg * (gsP[2] - gsM[2])) / (2 * FD_STEP);
      hxy = (sg * (gsP[3] - gsM[3])) / (2 * FD_STEP);
      if (psf.dims === 2) {
        ws.pointSums(nx, ny + FD_STEP, gsP);
        ws.pointSums(nx, ny - FD_STEP, gsM);
        hyy = (sg * (gsP[3] - gsM[3])) / (2 * FD_STEP);
        hxy = 0.5 * (hxy + (sg * (gsP[2] - gsM[2])) / (2 * FD_STEP));
      } else hxy = 0;
    }
    const det = hxx * hyy - hxy * hxy;
    if (hxx > 0 && det > 0) {
      let dx = -(hyy * gx - hxy * gy) / det;
      let dy = -(hxx * gy - hxy * gx) / det;
      const len = Math.hypot(dx, dy);
      if (len > MAX_MOVE) {
        dx *= MAX_MOVE / len;
        dy *= MAX_MOVE / len;
      }
      nx = clampX(nx + dx);
      ny = clampY(ny + dy);
    }
    const a = ps.a[i];
    // First the move and the weight together, then (if that raised F) the weight alone.
    for (const moved of nx !== ps.x[i] || ny !== ps.y[i] ? [true, false] : [false]) {
      const tx = moved ? nx : ps.x[i];
      const ty = moved ? ny : ps.y[i];
      let dF = ws.addIncremental(ps.x[i], ps.y[i], -sg * a);
      // V without the particle itself: its best weight there is max(0, −V/G).
      ws.pointSums(tx, ty, gs0);
      const V = sg * gs0[0] + ws.p.lambda;
      const G = gs0[1];
      const na = G > 0 ? Math.max(0, -V / G) : a;
      dF += ws.addIncremental(tx, ty, sg * na) + ws.p.lambda * (na - a);
      if (dF <= 0 && (na !== a || moved)) {
        ps.a[i] = na;
        ps.x[i] = tx;
        ps.y[i] = ty;
        changed = true;
        break;
      }
      ws.addIncremental(tx, ty, -sg * na);
      ws.addIncremental(ps.x[i], ps.y[i], sg * a);
    }
  }
  const mx = movable.map((i) => ps.x[i]);
  const my = movable.map((i) => ps.y[i]);
  const groups = proximityGroups(mx, my, movable.length, 3 * psf.sigma, 8)
    .map((g) => g.map((k) => movable[k]))
    .filter((g) => g.some((i) => mask[i] === 1));
  // Steps are repeated on a group only while each gains more than this (a repeat that gains less
  // cannot matter for the duality gap allowed, tolerance·F).
  const minGain = 1e-3 * tolerance * Math.abs(F);
  const stepper = new GroupStepper(ws, ps, clampX, clampY);
  if (settled) settled.ensure(ps.n);
  for (const grp of groups) {
    if (settled && !everywhere && settled.still(grp, ps)) continue;
    // A coupled group whose joint step fails (nearly coincident members make it singular) still
    // gets each member's own step.
    let gain = stepper.step(grp);
    if (settled) settled.mark(grp, ps, gain !== FAILED && gain <= minGain);
    if (gain === FAILED) {
      if (grp.length > 1) for (const i of grp) stepper.step([i]);
      continue;
    }
    // Repeated while each step still gains: a few Newton steps finish a group that one leaves
    // halfway along a curved valley (two particles sharing one source, a faint one on a bright
    // one's flank), which first-order CPGD steps would take hundreds of iterations to cross.
    for (let r = 1; r < o.slideRepeat && gain > minGain; r++) gain = stepper.step(grp);
  }
  // Drop the particles the sweep emptied.
  let k = 0;
  for (let i = 0; i < ps.n; i++) {
    if (ps.a[i] > 0) {
      ps.x[k] = ps.x[i];
      ps.y[k] = ps.y[i];
      ps.a[k] = ps.a[i];
      ps.s[k] = ps.s[i];
      settled?.move(i, k);
      k++;
    }
  }
  if (k < ps.n) ws.forget();
  ps.n = k;
  if (stepper.changed) changed = true;
  if (!changed) return { F, changed: false };
  const Fn = ws.evaluate(ps);
  if (Fn <= F) return { F: Fn, changed: true };
  ps.copyFrom(backup);
  ws.evaluate(ps);
  return { F, changed: true };
}

