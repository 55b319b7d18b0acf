import { InvalidPsfError } from '../errors.js';
import { ERF_SMALL_LIMIT, erf, erfSmall, erfc, erfcxAbove } from '../math.js';
import { SeparablePsf } from './types.js';

const SQRT2 = Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Table spacing: intervals per σ of the axis. The quintic pieces err as h⁶ (halving h divides the
 * error by ~60); at 64 per σ the values are within 2e-15 of erf's for σ ≥ 1 px and 3e-14 at
 * σ = 0.3 px (narrow PSFs have sharper pixel profiles), derivatives within ~1e-12 relative, so
 * sums and moments hold to the tolerances they always had. (For σ ≳ 10 px the table is closer to
 * erf than profileExact, whose recurrence over hundreds of edges drifts by ~1e-13 at σ = 200.)
 */
const INTERVALS_PER_SIGMA = 64;
/**
 * Largest table (intervals, 48 bytes each, ≲ 200 kB; built in under 1 ms) before the profile
 * falls back to the direct formula. A table spans the support radius, 4.5 σmax by default, in
 * steps of σ/64 of its own axis: 288 intervals for a round PSF whatever its width, and up to this
 * bound for PSFs ~14 times longer along one axis than the other.
 */
const MAX_INTERVALS = 4096;

/**
 * The tapered pixel profile of one axis, P(|u|) = T(|u|)·½[erf((u+½)/√2σ) − erf((u−½)/√2σ)], as
 * quintic Hermite pieces on nodes base + j·h: piece i is Σ_m coef[6i + m]·s^m, s = (|u| − base)/h − i.
 */
interface ProfileTable {
  coef: Float64Array;
  /** u of node 0, in (−h, 0]. */
  base: number;
  invH: number;
  /** Pieces; the last ends at the support radius, past which P = 0. */
  intervals: number;
}

/**
 * Quintic Hermite pieces: P, P' and P'' (from erf and the normal density) are matched at both
 * ends of each piece, so the table is C² and its derivative is the exact derivative of its values
 * (what line searches and finite-difference Hessians need). Nodes are placed so that the taper's
 * start t0 = r − tw and the radius r fall on nodes: the taper's second derivative jumps there,
 * and a piece straddling a jump would lose the accuracy. u = 0 generally does not: the piece
 * around it is evaluated at |u|, whose slope at 0 is P'(0) = 0 up to the table's error.
 */
function buildProfileTable(sigma: number, r: number, tw: number): ProfileTable | null {
  const t0 = r - tw;
  const m2 = Math.ceil((tw / sigma) * INTERVALS_PER_SIGMA);
  const h = tw / m2;
  const J = Math.ceil(t0 / h);
  const N = J + m2;
  if (N > MAX_INTERVALS) return null;
  const base = t0 - J * h;
  const norm = INV_SQRT_2PI / sigma;
  const inv = 1 / (SQRT2 * sigma);
  const is2 = 1 / (sigma * sigma);
  const k = Math.PI / tw;
  // Per node: P, h·P', h²·P'' (left limits; the right limit of P'' at t0 in eJ).
  const f = new Float64Array(N + 1);
  const d = new Float64Array(N + 1);
  const e = new Float64Array(N + 1);
  let eJ = 0;
  for (let j = 0; j <= N; j++) {
    const u = j < J ? base + j * h : j === J ? t0 : t0 + (j - J) * h;
    const a = u + 0.5;
    const b = u - 0.5;
    // erfc keeps the tail accurate in relative terms where both edges are right of the centre.
    const G = b > 0 ? 0.5 * (erfc(b * inv) - erfc(a * inv)) : 0.5 * (erf(a * inv) - erf(b * inv));
    const Na = norm * Math.exp(-0.5 * a * a * is2);
    const Nb = norm * Math.exp(-0.5 * b * b * is2);
    const G1 = Na - Nb;
    const G2 = (b * Nb - a * Na) * is2;
    let T = 1;
    let T1 = 0;
    let T2 = 0;
    if (j > J) {
      // Phase π(u − t0)/tw from the node index, so it is exactly π at the last node (T = 0).
      const ph = (Math.PI * (j - J)) / m2;
      T = 0.5 * (1 + Math.cos(ph));
      T1 = -0.5 * k * Math.sin(ph);
      T2 = -0.5 * k * k * Math.cos(ph);
    }
    f[j] = T * G;
    d[j] = h * (T1 * G + T * G1);
    e[j] = h * h * (T2 * G + 2 * T1 * G1 + T * G2);
    if (j === J) eJ = e[j] - 0.5 * h * h * k * k * G;
  }
  f[N] = 0;
  d[N] = 0;
  const coef = new Float64Array(6 * N);
  for (let i = 0; i < N; i++) {
    const e0 = i === J ? eJ : e[i];
    const a0 = f[i];
    const a1 = d[i];
    const a2 = 0.5 * e0;
    const A = f[i + 1] - a0 - a1 - a2;
    const B = d[i + 1] - a1 - 2 * a2;
    const C = e[i + 1] - 2 * a2;
    const b = 6 * i;
    coef[b] = a0;
    coef[b + 1] = a1;
    coef[b + 2] = a2;
    coef[b + 3] = 10 * A - 4 * B + 0.5 * C;
    coef[b + 4] = -15 * A + 7 * B - C;
    coef[b + 5] = 6 * A - 3 * B + 0.5 * C;
  }
  return { coef, base, invH: 1 / h, intervals: N };
}

/**
 * Pixel-integrated elliptical Gaussian aligned with the axes:
 * φ(p − x) = ∫∫_pixel p N(u; x, σx²) N(v; y, σy²) du dv, which sums to 1 over the plane.
 * Integrating over the pixel (rather than sampling the centre) keeps fluxes and positions unbiased
 * for narrow PSFs (σ ≲ 1 px), which undersampled stars and fluorophores often have.
 */
export class GaussianPsf extends SeparablePsf {
  readonly label: string;
  readonly radius: number;
  readonly sigma: number;
  /** Width along x, pixels. */
  readonly sigmaX: number;
  /** Width along y, pixels. */
  readonly sigmaY: number;
  /** Support half-size in units of the larger σ. */
  readonly truncation: number;
  /** Per-axis tables, built on first use (undefined: not yet; null: too large, direct formula). */
  private tableX: ProfileTable | null | undefined = undefined;
  private tableY: ProfileTable | null | undefined = undefined;
  private edges = new Float64Array(0);
  private dens = new Float64Array(0);

  /**
   * @param sigmaX standard deviation along x in pixels, > 0.
   * @param sigmaY standard deviation along y in pixels, > 0 (default: sigmaX).
   * @param truncation support half-size R in units of the larger σ (default 4.5). Over the last σ
   *   before R the profile is tapered to zero by a raised cosine, so φ and its gradient stay
   *   continuous as a source moves and pixels enter or leave its support (a hard cut makes the
   *   objective jump by ~1e-5 of a bright star's flux, which stalls the optimality certificate).
   *   The flux removed is below 1e-3 per axis at the default.
   */
  constructor(sigmaX: number, sigmaY: number = sigmaX, truncation = 4.5) {
    super();
    for (const [name, s] of [['sigma_x', sigmaX], ['sigma_y', sigmaY]] as const) {
      if (!Number.isFinite(s) || s <= 0) throw new InvalidPsfError(`Gaussian ${name} must be a positive number of pixels (got ${s})`);
      if (s > 200) throw new InvalidPsfError(`Gaussian ${name} of ${s} pixels is too wide (at most 200)`);
    }
    if (!(truncation >= 2)) throw new InvalidPsfError(`truncation must be at least 2 sigma (got ${truncation})`);
    this.sigmaX = sigmaX;
    this.sigmaY = sigmaY;
    this.sigma = Math.sqrt(sigmaX * sigmaY);
    this.radius = truncation * Math.max(sigmaX, sigmaY);
    this.truncation = truncation;
    this.label = sigmaX === sigmaY ? `gaussian:${sigmaX}` : `gaussian:${sigmaX},${sigmaY}`;
  }

  protected profile(axis: 0 | 1, c: number, p0: number, n: number, val: Float64Array, der: Float64Array, off = 0): void {
    let t = axis === 0 ? this.tableX : this.tableY;
    if (t === undefined) t = this.buildTable(axis);
    if (t === null) {
      this.profileExact(axis, c, p0, n, val, der, off);
      return;
    }
    const { coef, base, invH, intervals } = t;
    // P is even in u = p − c, so the table holds u ≥ 0 (the first node may sit just below 0) and
    // the mirror image of a profile is exactly the profile of the mirrored source.
    for (let k = 0; k < n; k++) {
      const u = p0 + k - c;
      // d/dc = −dP/du = −sign(u)·P'(|u|), with P' the derivative of the same quintic (in s, hence 1/h).
      const sg = u < 0 ? invH : -invH;
      const z = (Math.abs(u) - base) * invH;
      if (z >= intervals) {
        val[off + k] = 0;
        der[off + k] = 0;
        continue;
      }
      const i = Math.floor(z);
      const s = z - i;
      const b = 6 * i;
      const c1 = coef[b + 1];
      const c2 = coef[b + 2];
      const c3 = coef[b + 3];
      const c4 = coef[b + 4];
      const c5 = coef[b + 5];
      const s2 = s * s;
      val[off + k] = coef[b] + s * c1 + s2 * (c2 + s * c3 + s2 * (c4 + s * c5));
      der[off + k] = sg * (c1 + 2 * s * c2 + s2 * (3 * c3 + 4 * s * c4 + s2 * 5 * c5));
    }
  }

  /** The table for one axis, or null when it would exceed MAX_INTERVALS (very elongated PSFs). */
  private buildTable(axis: 0 | 1): ProfileTable | null {
    const s = axis === 0 ? this.sigmaX : this.sigmaY;
    const other = axis === 0 ? this.tableY : this.tableX;
    let t: ProfileTable | null;
    if (other !== undefined && this.sigmaX === this.sigmaY) t = other;
    else t = buildProfileTable(s, this.radius, this.radius / this.truncation);
    if (axis === 0) this.tableX = t;
    else this.tableY = t;
    return t;
  }

  /**
   * The profile from erf and the taper formula directly (a few ulps from the exact values): the
   * reference the tables are checked against, and the fallback when a table would be too large.
   * @internal
   */
  profileExact(axis: 0 | 1, c: number, p0: number, n: number, val: Float64Array, der: Float64Array, off = 0): void {
    const s = axis === 0 ? this.sigmaX : this.sigmaY;
    if (this.edges.length < n + 1) {
      this.edges = new Float64Array(n + 1);
      this.dens = new Float64Array(n + 1);
    }
    const e = this.edges;
    const g = this.dens;
    const inv = 1 / (SQRT2 * s);
    const norm = INV_SQRT_2PI / s;
    // Edges are one pixel apart, so e^{−y²} along each side of the source follows the exact
    // recurrence E(a + 1) = E(a)·R(a), R(a + 1) = R(a)·q with R(a) = e^{−(2a+1)h}, q = e^{−2h},
    // h = 1/2σ² (a = |u|): four exponentials per axis (the first edge on each side) instead of
    // one per edge. Products of at most a dozen factors keep E within a few ulps (the rounding of
    // u itself, ~1e-14 for sources at tens of pixels, is larger). Walking outwards from the source
    // on both sides keeps the profile mirror-symmetric. Once E underflows it stays 0, as it must.
    const h = 0.5 / (s * s);
    const q = Math.exp(-2 * h);
    // First edge at or right of the source: u = p0 + k − ½ − c ≥ 0.
    let kc = Math.ceil(c + 0.5 - p0);
    if (kc < 0) kc = 0;
    else if (kc > n + 1) kc = n + 1;
    for (let side = 0; side < 2; side++) {
      let k = side === 0 ? kc : kc - 1;
      const step = side === 0 ? 1 : -1;
      if (k < 0 || k > n) continue;
      const a = Math.abs(p0 + k - 0.5 - c);
      let E = Math.exp(-a * a * h);
      let R = Math.exp(-(2 * a + 1) * h);
      for (; k >= 0 && k <= n; k += step) {
        const u = p0 + k - 0.5 - c;
        // One exponential per edge serves both the density N(u) = norm·e^{−y²} and erf(y) =
        // 1 − e^{−y²}·erfcx(y) (y = |u|/√2σ).
        const y = Math.abs(u) * inv;
        g[k] = norm * E;
        if (y <= ERF_SMALL_LIMIT) e[k] = u * inv * erfSmall(y);
        else {
          const r = 1 - E * erfcxAbove(y);
          e[k] = u < 0 ? -r : r;
        }
        E *= R;
        R *= q;
      }
    }
    const r = this.radius;
    const tw = this.radius / this.truncation;
    const t0 = r - tw;
    for (let k = 0; k < n; k++) {
      let v = 0.5 * (e[k + 1] - e[k]);
      // d/dc of ½[erf((p+½−c)/√2σ) − erf((p−½−c)/√2σ)] = N(p−½−c) − N(p+½−c)
      let d = g[k] - g[k + 1];
      const u = p0 + k - c;
      const au = Math.abs(u);
      if (au >= r) {
        v = 0;
        d = 0;
      } else if (au > t0) {
        const ph = (Math.PI * (au - t0)) / tw;
        const T = 0.5 * (1 + Math.cos(ph));
        // dT/dc = dT/d|u| · d|u|/dc, with d|u|/dc = −sign(u)
        const dT = ((-0.5 * Math.PI) / tw) * Math.sin(ph) * -Math.sign(u);
        d = d * T + v * dT;
        v *= T;
      }
      val[off + k] = v;
      der[off + k] = d;
    }
  }
}
