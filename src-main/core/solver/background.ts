/**
 * Parametric sky/background models fitted jointly with the sources: B(p) = Σ_k c_k b_k(p), the b_k
 * products of Legendre polynomials in coordinates scaled to [−1, 1] (well conditioned at any
 * image size). Because B is linear in c, its optimum for a given source measure solves a K×K
 * system, so the solver refits it exactly after every step at a cost independent of image area.
 */

import { InvalidOptionError } from '../errors.js';

/** `none`: B = 0 (data already background-subtracted). `constant`: one level. `plane`: a tilt.
 * `surface`: a smooth cubic surface (10 terms). */
export type BackgroundKind = 'none' | 'constant' | 'plane' | 'surface';

export const BACKGROUND_DEGREE: Record<BackgroundKind, number> = { none: -1, constant: 0, plane: 1, surface: 3 };

function legendre(n: number, u: number): number {
  switch (n) {
    case 0:
      return 1;
    case 1:
      return u;
    case 2:
      return 0.5 * (3 * u * u - 1);
    case 3:
      return 0.5 * (5 * u * u * u - 3 * u);
    default:
      throw new InvalidOptionError('background', n, 'degree above 3 is not supported');
  }
}

export class BackgroundBasis {
  readonly kind: BackgroundKind;
  /** Number of coefficients K. */
  readonly size: number;
  readonly width: number;
  readonly height: number;
  /** Exponent pairs (i, j): term k is P_i(u) P_j(v). */
  private readonly terms: [number, number][];
  /** Lx[x * K + k] = P_{i_k}(u(x)); Ly[y * K + k] = P_{j_k}(v(y)). */
  readonly lx: Float64Array;
  readonly ly: Float64Array;
  /** Number of distinct x degrees (highest + 1); px[x * xDegrees + a] = P_a(u(x)). */
  private readonly xDegrees: number;
  private readonly px: Float64Array;
  /** x degree of each term. */
  private readonly xDeg: Int32Array;

  constructor(kind: BackgroundKind, width: number, height: number) {
    this.kind = kind;
    this.width = width;
    this.height = height;
    const d = BACKGROUND_DEGREE[kind];
    const terms: [number, number][] = [];
    for (let s = 0; s <= d; s++) for (let i = s; i >= 0; i--) terms.push([i, s - i]);
    // A 1-D signal (height 1) has no y terms.
    this.terms = height === 1 ? terms.filter(([, j]) => j === 0) : terms;
    const K = this.terms.length;
    this.size = K;
    this.lx = new Float64Array(width * K);
    this.ly = new Float64Array(height * K);
    for (let x = 0; x < width; x++) {
      const u = width > 1 ? (2 * x) / (width - 1) - 1 : 0;
      for (let k = 0; k < K; k++) this.lx[x * K + k] = legendre(this.terms[k][0], u);
    }
    for (let y = 0; y < height; y++) {
      const v = height > 1 ? (2 * y) / (height - 1) - 1 : 0;
      for (let k = 0; k < K; k++) this.ly[y * K + k] = legendre(this.terms[k][1], v);
    }
    this.xDeg = Int32Array.from(this.terms, ([i]) => i);
    const D1 = K > 0 ? Math.max(...this.xDeg) + 1 : 0;
    this.xDegrees = D1;
    this.px = new Float64Array(width * D1);
    for (let x = 0; x < width; x++) {
      const u = width > 1 ? (2 * x) / (width - 1) - 1 : 0;
      for (let a = 0; a < D1; a++) this.px[x * D1 + a] = legendre(a, u);
    }
  }

  /** Fill out[0..K) with b_k at pixel (x, y). */
  basisAt(x: number, y: number, out: Float64Array): void {
    const K = this.size;
    const ox = x * K;
    const oy = y * K;
    for (let k = 0; k < K; k++) out[k] = this.lx[ox + k] * this.ly[oy + k];
  }

  /** B at pixel (x, y) for coefficients c. */
  valueAt(x: number, y: number, c: ArrayLike<number>): number {
    const K = this.size;
    const ox = x * K;
    const oy = y * K;
    let s = 0;
    for (let k = 0; k < K; k++) s += c[k] * this.lx[ox + k] * this.ly[oy + k];
    return s;
  }

  /** The full background image for coefficients c. */
  render(c: ArrayLike<number>, out: Float64Array = new Float64Array(this.width * this.height)): Float64Array {
    const { width, height, lx, ly } = this;
    const K = this.size;
    for (let y = 0; y < height; y++) {
      const oy = y * K;
      const row = y * width;
      for (let x = 0; x < width; x++) {
        // As valueAt, term by term in the same order.
        const ox = x * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += c[k] * lx[ox + k] * ly[oy + k];
        out[row + x] = s;
      }
    }
    return out;
  }

  /**
   * Gram matrix A = Bᵀ W B (K×K, row-major) and g = Bᵀ W f over the whole image (pixels of zero
   * weight are skipped, whatever their data).
   * Every b_k(x, y) = P_i(u(x)) P_j(v(y)) factors into x and y parts, so each row first gathers
   * Σ_x w P_a P_b and Σ_x w f P_a over the distinct x degrees a, b (10 + 4 sums per pixel for a
   * cubic surface, against 55 + 10 products per pixel term by term), and the row's share of
   * A and g follows from those with the row's y factors. Equal to the pixel-by-pixel sums up to
   * rounding (a different order of the same sums).
   */
  normalEquations(weights: Float64Array, data: Float64Array): { gram: Float64Array; rhs: Float64Array } {
    const K = this.size;
    const gram = new Float64Array(K * K);
    const rhs = new Float64Array(K);
    const { width, height } = this;
    const D1 = this.xDegrees;
    const P = this.px;
    const R = new Float64Array(D1 * D1);
    const r = new Float64Array(D1);
    for (let y = 0; y < height; y++) {
      rowSums(weights, data, y * width, null, 0, width, P, D1, R, r);
      this.addRow(y, R, r, gram, rhs);
    }
    for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) gram[j * K + i] = gram[i * K + j];
    return { gram, rhs };
  }

  /** Add row y's share to the lower triangle of A and to g, from its x sums R and r (see rowSums). */
  private addRow(y: number, R: Float64Array, r: Float64Array, gram: Float64Array, rhs: Float64Array): void {
    const K = this.size;
    const D1 = this.xDegrees;
    const { ly, xDeg } = this;
    const oy = y * K;
    for (let k = 0; k < K; k++) {
      const a = xDeg[k];
      const yk = ly[oy + k];
      rhs[k] += yk * r[a];
      for (let l = 0; l <= k; l++) {
        const b = xDeg[l];
        gram[k * K + l] += yk * ly[oy + l] * (a >= b ? R[a * D1 + b] : R[b * D1 + a]);
      }
    }
  }

  /**
   * g = Bᵀ W f alone, by rows as in normalEquations: for a refit with fixed weights, where the Gram
   * matrix (and its factorisation) does not change, this is the only part that depends on f.
   */
  projection(weights: Float64Array, data: Float64Array, out: Float64Array = new Float64Array(this.size)): Float64Array {
    const K = this.size;
    const { width, height, ly, xDeg } = this;
    const D1 = this.xDegrees;
    const P = this.px;
    const r = new Float64Array(D1);
    out.fill(0);
    for (let y = 0; y < height; y++) {
      r.fill(0);
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const w = weights[row + x];
        if (w === 0) continue;
        const wf = w * data[row + x];
        const o = x * D1;
        for (let a = 0; a < D1; a++) r[a] += wf * P[o + a];
      }
      const oy = y * K;
      for (let k = 0; k < K; k++) out[k] += ly[oy + k] * r[xDeg[k]];
    }
    return out;
  }

  /**
   * Gram matrix and g over the listed pixels only (indices idx[0..n), raster order), e.g. a
   * thinned, masked lattice; by rows as in normalEquations. Pixels of zero weight add nothing.
   */
  normalEquationsAt(idx: Int32Array, n: number, weights: Float64Array, data: Float64Array): { gram: Float64Array; rhs: Float64Array } {
    const K = this.size;
    const gram = new Float64Array(K * K);
    const rhs = new Float64Array(K);
    const W = this.width;
    const D1 = this.xDegrees;
    const R = new Float64Array(D1 * D1);
    const r = new Float64Array(D1);
    for (let t = 0; t < n; ) {
      const y = (idx[t] / W) | 0;
      const end = (y + 1) * W;
      let t1 = t + 1;
      while (t1 < n && idx[t1] < end) t1++;
      rowSums(weights, data, y * W, idx, t, t1, this.px, D1, R, r);
      this.addRow(y, R, r, gram, rhs);
      t = t1;
    }
    for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) gram[j * K + i] = gram[i * K + j];
    return { gram, rhs };
  }
}

/**
 * One row's Σ_x w P_a P_b (into R[a·D1 + b], b ≤ a) and Σ_x w f P_a (into r[a]), P[x·D1 + a] =
 * P_a(u(x)), over pixels of nonzero weight of the row that starts at index `row`: the pixels
 * row + t for t in [t0, t1) when idx is null (a whole row), else the listed ones idx[t0..t1)
 * (raster order, within that row). Unrolled for the degrees the models use.
 */
function rowSums(weights: Float64Array, data: Float64Array, row: number, idx: Int32Array | null, t0: number, t1: number, P: Float64Array, D1: number, R: Float64Array, r: Float64Array): void {
  if (D1 === 1) {
    let s0 = 0;
    let f0 = 0;
    for (let t = t0; t < t1; t++) {
      const i = idx ? idx[t] : row + t;
      const w = weights[i];
      if (w === 0) continue;
      s0 += w;
      f0 += w * data[i];
    }
    R[0] = s0;
    r[0] = f0;
    return;
  }
  if (D1 === 2) {
    let s00 = 0;
    let s10 = 0;
    let s11 = 0;
    let f0 = 0;
    let f1 = 0;
    for (let t = t0; t < t1; t++) {
      const i = idx ? idx[t] : row + t;
      const w = weights[i];
      if (w === 0) continue;
      const p1 = P[2 * (i - row) + 1];
      const wf = w * data[i];
      const w1 = w * p1;
      s00 += w;
      s10 += w1;
      s11 += w1 * p1;
      f0 += wf;
      f1 += wf * p1;
    }
    R[0] = s00;
    R[2] = s10;
    R[3] = s11;
    r[0] = f0;
    r[1] = f1;
    return;
  }
  if (D1 === 4) {
    let s00 = 0;
    let s10 = 0;
    let s11 = 0;
    let s20 = 0;
    let s21 = 0;
    let s22 = 0;
    let s30 = 0;
    let s31 = 0;
    let s32 = 0;
    let s33 = 0;
    let f0 = 0;
    let f1 = 0;
    let f2 = 0;
    let f3 = 0;
    for (let t = t0; t < t1; t++) {
      const i = idx ? idx[t] : row + t;
      const w = weights[i];
      if (w === 0) continue;
      const o = 4 * (i - row);
      const p1 = P[o + 1];
      const p2 = P[o + 2];
      const p3 = P[o + 3];
      const wf = w * data[i];
      const w1 = w * p1;
      const w2 = w * p2;
      const w3 = w * p3;
      s00 += w;
      s10 += w1;
      s11 += w1 * p1;
      s20 += w2;
      s21 += w2 * p1;
      s22 += w2 * p2;
      s30 += w3;
      s31 += w3 * p1;
      s32 += w3 * p2;
      s33 += w3 * p3;
      f0 += wf;
      f1 += wf * p1;
      f2 += wf * p2;
      f3 += wf * p3;
    }
    R[0] = s00;
    R[4] = s10;
    R[5] = s11;
    R[8] = s20;
    R[9] = s21;
    R[10] = s22;
    R[12] = s30;
    R[13] = s31;
    R[14] = s32;
    R[15] = s33;
    r[0] = f0;
    r[1] = f1;
    r[2] = f2;
    r[3] = f3;
    return;
  }
  R.fill(0);
  r.fill(0);
  for (let t = t0; t < t1; t++) {
    const i = idx ? idx[t] : row + t;
    const w = weights[i];
    if (w === 0) continue;
    const wf = w * data[i];
    const o = (i - row) * D1;
    for (let a = 0; a < D1; a++) {
      const wa = w * P[o + a];
      r[a] += wf * P[o + a];
      for (let b = 0; b <= a; b++) R[a * D1 + b] += wa * P[o + b];
    }
  }
}

/**
 * Cholesky factorisation of a symmetric positive-definite K×K matrix, with a tiny ridge added
 * when it is singular (e.g. a plane fitted to an image whose weights vanish on one side).
 */
export class Cholesky {
  readonly n: number;
  private readonly l: Float64Array;
  constructor(a: Float64Array, n: number) {
    this.n = n;
    let ridge = 0;
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i];
    const scale = trace > 0 ? trace / n : 1;
    for (let attempt = 0; attempt < 8; attempt++) {
      const l = Cholesky.factor(a, n, ridge);
      if (l) {
        this.l = l;
        return;
      }
      ridge = ridge === 0 ? 1e-12 * scale : ridge * 100;
    }
    throw new InvalidOptionError('background', n, 'the background model cannot be fitted to this image (singular system)');
  }
  private static factor(a: Float64Array, n: number, ridge: number): Float64Array | null {
    const l = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = a[i * n + j] + (i === j ? ridge : 0);
        for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
        if (i === j) {
          if (!(s > 0)) return null;
          l[i * n + i] = Math.sqrt(s);
        } else {
          l[i * n + j] = s / l[j * n + j];
        }
      }
    }
    return l;
  }
  /** Solve A x = b, in place into out. */
  solve(b: ArrayLike<number>, out: Float64Array = new Float64Array(this.n)): Float64Array {
    const { n, l } = this;
    for (let i = 0; i < n; i++) {
      let s = b[i];
      for (let k = 0; k < i; k++) s -= l[i * n + k] * out[k];
      out[i] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = out[i];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * out[k];
      out[i] = s / l[i * n + i];
    }
    return out;
  }
}
