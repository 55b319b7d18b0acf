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
    const { width, height } = this;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = this.valueAt(x, y, c);
    return out;
  }

  /** Gram matrix A = Bᵀ W B (K×K, row-major) and g = Bᵀ W f over the whole image. */
  normalEquations(weights: Float64Array, data: Float64Array): { gram: Float64Array; rhs: Float64Array } {
    const K = this.size;
    const gram = new Float64Array(K * K);
    const rhs = new Float64Array(K);
    const b = new Float64Array(K);
    const { width, height } = this;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        const w = weights[p];
        if (w === 0) continue;
        this.basisAt(x, y, b);
        const wf = w * data[p];
        for (let i = 0; i < K; i++) {
          const wbi = w * b[i];
          rhs[i] += b[i] * wf;
          for (let j = 0; j <= i; j++) gram[i * K + j] += wbi * b[j];
        }
      }
    }
    for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) gram[j * K + i] = gram[i * K + j];
    return { gram, rhs };
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
