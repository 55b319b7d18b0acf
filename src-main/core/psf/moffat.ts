import { InvalidPsfError } from '../errors.js';
import { gaussLegendre } from '../math.js';
import { normalizeStamp, type Psf, type Stamp } from './types.js';

/** Options of {@link MoffatPsf}. */
export interface MoffatOptions {
  /**
   * Fraction of the flux allowed outside the core radius R₀ (default 1e-3): R₀ is the radius of
   * the disc holding 1 − outsideFlux of the untruncated profile; a 2 px taper follows.
   */
  outsideFlux?: number;
  /** Largest support radius accepted, in pixels (default 256); wider PSFs throw InvalidPsfError. */
  maxRadius?: number;
  /**
   * Integration tolerance relative to the central pixel (default 1e-7): each pixel gets the
   * cheapest rule whose estimated error is below this (the estimate is conservative: the errors
   * measured in the tests are at most 0.6 × tolerance, often far less).
   */
  tolerance?: number;
}

/** Highest Gauss–Legendre order per axis used for one pixel. */
const MAX_ORDER = 20;
/**
 * Per-pixel integration rules, numbered by cost; an id n + 1 ≥ 3 is the n×n tensor Gauss–Legendre
 * rule (2 ≤ n ≤ MAX_ORDER). The first three cost one evaluation of the profile each (its
 * ρ-derivatives are powers of the same q):
 *   0  midpoint, error O(h²);
 *   1  midpoint plus the Taylor terms of order 2, ∫∫ f ≈ f + ∇²f/24, error O(h⁴);
 *   2  the same up to order 4, + (f_xxxx + f_yyyy)/1920 + f_xxyy/576, error O(h⁶).
 */
const RULE_MIDPOINT = 0;
const RULE_TAYLOR2 = 1;
const RULE_TAYLOR4 = 2;
/** Width in pixels of the distance band over which two rules are blended. */
const BLEND = 0.5;
/** Width in pixels of the outer taper. */
const TAPER = 2;

/** Tabulated Gauss–Legendre rules on [−½, ½] (nodes ξ/2, weights w/2), orders 1..MAX_ORDER. */
const GL_START = new Int32Array(MAX_ORDER + 2);
for (let n = 1; n <= MAX_ORDER + 1; n++) GL_START[n] = GL_START[n - 1] + (n - 1);
const GL_NODE = new Float64Array(GL_START[MAX_ORDER + 1]);
const GL_WEIGHT = new Float64Array(GL_NODE.length);
for (let n = 1; n <= MAX_ORDER; n++) {
  const { nodes, weights } = gaussLegendre(n);
  for (let i = 0; i < n; i++) {
    GL_NODE[GL_START[n] + i] = nodes[i] / 2;
    GL_WEIGHT[GL_START[n] + i] = weights[i] / 2;
  }
}

/**
 * Error model for one pixel at distance d (pixel centre to source). On the line through the pixel
 * along one axis, F = (1 + r²/α²)^{−β} factors as α^{2β} ((u − is)(u + is))^{−β}, s² = v² + α²:
 * poles of order β at distance A = √(u² + s²) = √(r² + α²), so its Taylor coefficients relative to
 * F are at most C(2β + k − 1, k)/A^k. Hence, with h = ½ the pixel half-width and the nearest point
 * of the pixel at dn = max(0, d − √½) (where F is largest, (1 + dn²/α²)^{−β} of the peak):
 *   n-point Gauss–Legendre: error ≈ (π/2) C(2β + 2n − 1, 2n) ρ^{−2n}, ρ = 2A + √(4A² + 1) (the
 *     Bernstein ellipse through the pole, for a pole straight off the interval), per axis;
 *   Taylor rule through order 2k: the first dropped term, C(2β + 2k + 1, 2k + 2) (2A)^{−2k−2}/(2k + 3),
 *     per axis, doubled for the mixed derivatives; only when 2A > 1 (the series converges).
 * Both axes add (×2). Returns the cheapest rule whose estimate is below tol; every estimate
 * decreases with d, so the rule never gets costlier with d.
 */
function ruleFor(d: number, alpha: number, beta: number, lnTol: number, lnBinom: Float64Array): number {
  const dn = Math.max(0, d - Math.SQRT1_2);
  const base = -beta * Math.log1p((dn * dn) / (alpha * alpha)) + Math.LN2 - lnTol;
  const A = Math.sqrt(dn * dn + alpha * alpha);
  const lnRho = Math.log(2 * A + Math.sqrt(4 * A * A + 1));
  const ln2A = Math.log(2 * A);
  const gauss = (n: number): number => base + Math.log(Math.PI / 2) + lnBinom[2 * n] - 2 * n * lnRho;
  const taylor = (k: number): number => (ln2A > 0 ? base + Math.LN2 + lnBinom[2 * k + 2] - (2 * k + 2) * ln2A - Math.log(2 * k + 3) : Infinity);
  if (Math.min(gauss(1), taylor(0)) <= 0) return RULE_MIDPOINT;
  if (taylor(1) <= 0) return RULE_TAYLOR2;
  if (taylor(2) <= 0) return RULE_TAYLOR4;
  for (let n = 2; n < MAX_ORDER; n++) if (gauss(n) <= 0) return n + 1;
  return MAX_ORDER + 1;
}

/** C¹ ramp 0 → 1 on t ∈ [0, 1], and its derivative. */
function smoothstep(t: number): number {
  return t * t * (3 - 2 * t);
}
function smoothstepDeriv(t: number): number {
  return 6 * t * (1 - t);
}

/**
 * Pixel-integrated circular Moffat profile
 *   I(r) = (β − 1)/(π α²) · (1 + r²/α²)^(−β),   α = FWHM / (2 √(2^{1/β} − 1)),
 * the usual model of seeing-limited stars (β ≈ 2.5–4.8; β → ∞ tends to a Gaussian).
 *
 * Integration: each pixel value is ∫∫_pixel I(p − x) by the cheapest rule (see RULE_*: midpoint,
 * Taylor-corrected midpoints, n×n Gauss–Legendre up to 20×20) whose error estimate is below
 * `tolerance` × the central value. The estimate (see `ruleFor`) depends only on the distance d
 * between the pixel centre and the source: the poles of I at r² = −α² bound its Taylor
 * coefficients, hence the convergence of both kinds of rule, scaled by the local magnitude of I.
 * So narrow PSFs get many points in the central pixels and the far wings one evaluation. Where the
 * rule changes with d, the two rules are blended by a smoothstep over a 0.5 px band, so values are
 * C¹ in the source position; gradients are the exact derivatives of the computed values
 * (quadrature sums, blend weights, taper and normalisation all differentiated).
 *
 * Support: the core radius R₀ = α √(outsideFlux^{−1/(β−1)} − 1) is where the flux of the
 * untruncated profile outside the disc, (1 + R₀²/α²)^{1−β}, equals `outsideFlux` (default 1e-3, so
 * < 0.1 % of the flux is cut). Beyond R₀ pixel values are tapered to zero by a smoothstep over
 * 2 px of d, and `radius` = R₀ + 2, so pixels enter or leave the stamp with value and gradient 0.
 * Every stamp is then divided by its own sum: it sums to exactly 1 for any source position (the
 * cut flux is given back proportionally). Heavy wings make R₀ large for β near 1 (β = 2.5:
 * R₀ ≈ 10α; β = 1.5: R₀ ≈ 1000α); a radius above `maxRadius` throws InvalidPsfError.
 *
 * Cost: about two profile evaluations per pixel of the disc of radius R₀, most of them in the
 * core: FWHM 3 px, β = 2.5 is a 57×57 stamp and ~6000 evaluations, ≈ 0.15 ms; β = 4.5 a 21×21
 * stamp, ~4500 evaluations, ≈ 0.05 ms. q^{−β} is a few multiplications and a square root when 2β
 * is an integer (β = 2.5, 3, 3.5…), exp(−β ln q) otherwise, ≈ 4× slower (β = 4.765: ≈ 0.17 ms).
 */
export class MoffatPsf implements Psf {
  readonly label: string;
  readonly dims = 2 as const;
  readonly periodic = false;
  readonly radius: number;
  readonly maxStampSide: number;
  /** FWHM / 2.3548, pixels. */
  readonly sigma: number;
  readonly fwhm: number;
  readonly beta: number;
  /** Moffat scale α, pixels. */
  readonly alpha: number;
  /** Radius holding 1 − outsideFlux of the flux; the taper starts here. */
  readonly coreRadius: number;
  private readonly invAlpha2: number;
  private readonly twoBetaInvAlpha2: number;
  /** The ρ-derivatives F⁽ᵏ⁾ of F(ρ) = (1 + ρ/α²)^{−β} are c_k q^{−β−k}, q = 1 + ρ/α². */
  private readonly c1: number;
  private readonly c2: number;
  private readonly c3: number;
  private readonly c4: number;
  private readonly c5: number;
  /** q^{−β} = 1/(q^intPow · (√q if halfPow)) when 2β is an integer ≤ 60; intPow −1 otherwise. */
  private readonly intPow: number;
  private readonly halfPow: boolean;
  /** Rule of segment k (see RULE_*), used for d ≥ segStart[k], blended over its first BLEND px. */
  private readonly segRule: Int32Array;
  private readonly segStart: Float64Array;
  /** Results of integrate(): value, ∂/∂x, ∂/∂y (a typed array: double fields would box). */
  private readonly res = new Float64Array(3);
  /** Segment index for d in [k/8, (k+1)/8): the segment containing k/8. */
  private readonly segAt: Int32Array;

  constructor(fwhm: number, beta: number, options: MoffatOptions = {}) {
    if (!Number.isFinite(fwhm) || fwhm <= 0) throw new InvalidPsfError(`Moffat FWHM must be a positive number of pixels (got ${fwhm})`);
    if (!Number.isFinite(beta) || beta <= 1) {
      throw new InvalidPsfError(`Moffat beta must be a number greater than 1 (got ${beta}): the profile has infinite flux for beta ≤ 1`);
    }
    const outside = options.outsideFlux ?? 1e-3;
    const maxRadius = options.maxRadius ?? 256;
    const tol = options.tolerance ?? 1e-7;
    if (!(outside > 0 && outside < 0.5)) throw new InvalidPsfError(`Moffat outsideFlux must be in (0, 0.5) (got ${outside})`);
    if (!(maxRadius > 0)) throw new InvalidPsfError(`Moffat maxRadius must be positive (got ${maxRadius})`);
    if (!(tol > 0 && tol < 1)) throw new InvalidPsfError(`Moffat tolerance must be in (0, 1) (got ${tol})`);
    this.fwhm = fwhm;
    this.beta = beta;
    const a = fwhm / (2 * Math.sqrt(Math.expm1(Math.LN2 / beta)));
    this.alpha = a;
    this.sigma = fwhm / 2.3548;
    // (1 + R₀²/α²)^{1−β} = outside  ⇔  R₀ = α √(outside^{−1/(β−1)} − 1).
    this.coreRadius = a * Math.sqrt(Math.expm1(-Math.log(outside) / (beta - 1)));
    this.radius = this.coreRadius + TAPER;
    if (!(this.radius <= maxRadius)) {
      throw new InvalidPsfError(
        `Moffat FWHM ${fwhm}, beta ${beta} needs a support radius of ${Math.ceil(this.radius)} px to hold ` +
          `${(100 * (1 - outside)).toPrecision(4)}% of the flux (at most ${maxRadius} px): use a larger beta or a smaller FWHM`,
      );
    }
    this.maxStampSide = 2 * Math.ceil(this.radius) + 2;
    const ia2 = 1 / (a * a);
    this.invAlpha2 = ia2;
    this.twoBetaInvAlpha2 = 2 * beta * ia2;
    this.c1 = -beta * ia2;
    this.c2 = -this.c1 * (beta + 1) * ia2;
    this.c3 = -this.c2 * (beta + 2) * ia2;
    this.c4 = -this.c3 * (beta + 3) * ia2;
    this.c5 = -this.c4 * (beta + 4) * ia2;
    const twoBeta = 2 * beta;
    const fast = Number.isInteger(twoBeta) && twoBeta <= 60;
    this.intPow = fast ? Math.floor(beta) : -1;
    this.halfPow = fast && twoBeta % 2 === 1;
    this.label = `moffat:${fwhm},${beta}`;

    // Cheapest rule whose error estimate at pixel-centre distance d is below tol (relative to the
    // central value); see `ruleFor`.
    const lnBinom = new Float64Array(2 * MAX_ORDER + 3);
    for (let m = 1; m < lnBinom.length; m++) lnBinom[m] = lnBinom[m - 1] + Math.log((2 * beta + m - 1) / m);
    const lnTol = Math.log(tol);
    const need = (d: number): number => ruleFor(d, a, beta, lnTol, lnBinom);
    const rules: number[] = [need(0)];
    const starts: number[] = [0];
    const step = 1 / 64;
    for (let d = step; d < this.radius + 1 && rules[rules.length - 1] !== RULE_MIDPOINT; ) {
      const r = need(d);
      if (r < rules[rules.length - 1]) {
        // A segment lasts at least its blend band, so bands stay disjoint; the next transition
        // may then skip several rules.
        rules.push(r);
        starts.push(d);
        d += BLEND;
      } else {
        d += step;
      }
    }
    this.segRule = Int32Array.from(rules);
    this.segStart = Float64Array.from(starts);
    // Buckets up to the last segment start; beyond it, the last segment.
    this.segAt = new Int32Array(Math.ceil(starts[starts.length - 1] * 8) + 2);
    for (let k = 0, s = 0; k < this.segAt.length; k++) {
      while (s + 1 < starts.length && k / 8 >= starts[s + 1]) s++;
      this.segAt[k] = s;
    }
  }

  /**
   * Integrate the unnormalised profile F = (1 + r²/α²)^{−β} over the pixel whose centre is at
   * offset (u, v) = p − x from the source with the given rule; leaves the integral and its
   * derivatives with respect to the source position in qv, qx, qy.
   */
  private integrate(rule: number, u: number, v: number): void {
    if (rule === RULE_TAYLOR2 || rule === RULE_TAYLOR4) {
      this.taylor(rule === RULE_TAYLOR4, u, v);
      return;
    }
    const n = rule === RULE_MIDPOINT ? 1 : rule - 1;
    const k0 = GL_START[n];
    const ia2 = this.invAlpha2;
    // q^{−β} is written out here rather than called: a call returning a double allocates a box.
    const m = this.intPow;
    const half = this.halfPow;
    const mb = -this.beta;
    let sv = 0;
    let sx = 0;
    let sy = 0;
    for (let b = 0; b < n; b++) {
      const vv = v + GL_NODE[k0 + b];
      const cv = 1 + vv * vv * ia2;
      let rv = 0;
      let rx = 0;
      let ry = 0;
      for (let c = 0; c < n; c++) {
        const uu = u + GL_NODE[k0 + c];
        const q = cv + uu * uu * ia2;
        const p = m >= 0 ? inversePower(q, m, half) : Math.exp(mb * Math.log(q));
        const f = GL_WEIGHT[k0 + c] * p;
        const fq = f / q;
        rv += f;
        rx += fq * uu;
        ry += fq;
      }
      const wb = GL_WEIGHT[k0 + b];
      sv += wb * rv;
      sx += wb * rx;
      sy += wb * ry * vv;
    }
    // ∂/∂x_source (1 + ((p − x)² + …)/α²)^{−β} = 2β/α² · (p − x) · (1 + …)^{−β−1}
    const k = this.twoBetaInvAlpha2;
    const res = this.res;
    res[0] = sv;
    res[1] = k * sx;
    res[2] = k * sy;
  }

  /**
   * Taylor rules for f(u, v) = F(ρ), ρ = u² + v² = a + b, F⁽ᵏ⁾ = c_k q^{−β−k}:
   *   ∇²f = 4F' + 4ρF'',  f_xxxx + f_yyyy = 24F'' + 48ρF''' + 16(a² + b²)F⁽⁴⁾,
   *   f_xxyy = 4F'' + 8ρF''' + 16ab F⁽⁴⁾, hence
   *   T2 = F + (F' + ρF'')/6,
   *   T4 = T2 + 7F''/360 + 7ρF'''/180 + (3(a² + b²) + 10ab) F⁽⁴⁾/360,
   * and ∂T/∂x_source = −∂T/∂u = −2u (∂T/∂ρ + (6a + 10b) F⁽⁴⁾/360) for T4 (likewise in v).
   */
  private taylor(fourth: boolean, u: number, v: number): void {
    const a = u * u;
    const b = v * v;
    const rho = a + b;
    const q = 1 + rho * this.invAlpha2;
    const iq = 1 / q;
    const m = this.intPow;
    const P = m >= 0 ? inversePower(q, m, this.halfPow) : Math.exp(-this.beta * Math.log(q));
    const p1 = P * iq;
    const p2 = p1 * iq;
    const p3 = p2 * iq;
    const f1 = this.c1 * p1;
    const f2 = this.c2 * p2;
    const f3 = this.c3 * p3;
    let val = P + (f1 + rho * f2) / 6;
    let dRho = f1 + (2 * f2 + rho * f3) / 6;
    let ex = 0;
    let ey = 0;
    if (fourth) {
      const p4 = p3 * iq;
      const f4 = this.c4 * p4;
      const f5 = this.c5 * p4 * iq;
      const mix = 3 * (a * a + b * b) + 10 * a * b;
      val += (7 * f2) / 360 + (7 * rho * f3) / 180 + (mix * f4) / 360;
      dRho += (7 * f3) / 360 + (7 * (f3 + rho * f4)) / 180 + (mix * f5) / 360;
      ex = ((6 * a + 10 * b) * f4) / 360;
      ey = ((6 * b + 10 * a) * f4) / 360;
    }
    const res = this.res;
    res[0] = val;
    res[1] = -2 * u * (dRho + ex);
    res[2] = -2 * v * (dRho + ey);
  }

  stamp(x: number, y: number, out: Stamp): void {
    const R = this.radius;
    const R2 = R * R;
    const R0 = this.coreRadius;
    const x0 = Math.ceil(x - R);
    const y0 = Math.ceil(y - R);
    const nx = Math.floor(x + R) - x0 + 1;
    const ny = Math.floor(y + R) - y0 + 1;
    out.x0 = x0;
    out.y0 = y0;
    out.nx = nx;
    out.ny = ny;
    const ov = out.v;
    const ox = out.dx;
    const oy = out.dy;
    const segRule = this.segRule;
    const segStart = this.segStart;
    const segAt = this.segAt;
    const res = this.res;
    const nseg = segRule.length;
    let sum = 0;
    let sumX = 0;
    let sumY = 0;
    let k = 0;
    for (let j = 0; j < ny; j++) {
      const v = y0 + j - y;
      for (let i = 0; i < nx; i++, k++) {
        const u = x0 + i - x;
        const d2 = u * u + v * v;
        if (d2 >= R2) {
          ov[k] = 0;
          ox[k] = 0;
          oy[k] = 0;
          continue;
        }
        const d = Math.sqrt(d2);
        // Segments are ≥ BLEND = 4/8 px long: at most one step past the bucket's segment.
        const bucket = (d * 8) | 0;
        let s = bucket < segAt.length ? segAt[bucket] : nseg - 1;
        if (s + 1 < nseg && d >= segStart[s + 1]) s++;
        this.integrate(segRule[s], u, v);
        let g = res[0];
        let gx = res[1];
        let gy = res[2];
        // Below, ∂d/∂x_source = −u/d (d > 0 wherever a blend or the taper applies).
        if (s > 0 && d < segStart[s] + BLEND) {
          // Blend from the previous (costlier) rule at the band's start to this one at its end.
          const t = (d - segStart[s]) / BLEND;
          const w = smoothstep(t);
          const dw = smoothstepDeriv(t) / BLEND / d;
          const cv = g;
          const cx = gx;
          const cy = gy;
          this.integrate(segRule[s - 1], u, v);
          const hv = res[0];
          const hx = res[1];
          const hy = res[2];
          const diff = cv - hv;
          g = hv + w * diff;
          gx = hx + w * (cx - hx) - dw * u * diff;
          gy = hy + w * (cy - hy) - dw * v * diff;
        }
        if (d > R0) {
          const t = (d - R0) / TAPER;
          const w = 1 - smoothstep(t);
          const dw = -smoothstepDeriv(t) / TAPER / d;
          gx = w * gx - dw * u * g;
          gy = w * gy - dw * v * g;
          g *= w;
        }
        ov[k] = g;
        ox[k] = gx;
        oy[k] = gy;
        sum += g;
        sumX += gx;
        sumY += gy;
      }
    }
    normalizeStamp(out, sum, sumX, sumY);
  }
}

/**
 * q^−(m + ½·half) by multiplications (and one square root): β integer or half-integer is the
 * common case, and exp/log per quadrature node would dominate the stamp's cost.
 */
function inversePower(q: number, m: number, half: boolean): number {
  let r = half ? Math.sqrt(q) : 1;
  switch (m) {
    case 0:
      break;
    case 1:
      r *= q;
      break;
    case 2:
      r *= q * q;
      break;
    case 3:
      r *= q * q * q;
      break;
    case 4: {
      const q2 = q * q;
      r *= q2 * q2;
      break;
    }
    default:
      for (let e = m, bq = q; e > 0; e >>= 1, bq *= bq) if (e & 1) r *= bq;
  }
  return 1 / r;
}
