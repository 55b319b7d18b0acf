/** Small numerical helpers shared by the core. */

/*
 * erf and erfc from the rational Chebyshev approximations of
 *   W. J. Cody, "Rational Chebyshev approximations for the error function",
 *   Mathematics of Computation 23 (1969), 631–637,
 * with the coefficients of the near-minimax double-precision fits Cody later published in SPECFUN
 * (W. J. Cody, "Algorithm 715", ACM TOMS 19 (1993), 22–32). Three ranges of y = |x|:
 *   y ≤ 0.46875        erf(y)  = y · R₁(y²)                    (degree 4/4 in y²)
 *   0.46875 < y ≤ 4    erfc(y) = e^{−y²} · R₂(y)               (degree 8/8)
 *   y > 4              erfc(y) = e^{−y²}/y · (1/√π + R₃(1/y²)/y²)  (degree 5/5 in 1/y²)
 * The fits are more accurate than double precision on their ranges, so the results are within a
 * few ulps: absolute error of erf ≲ 2e-16, relative error of erfc ≲ 1e-15 until it underflows
 * (checked against 140-digit references in test/core/psf/erf.test.ts).
 * e^{−y²} is evaluated as e^{−s²}·e^{−(y−s)(y+s)} with s = y rounded down to 1/16, so that the
 * rounding of y² does not cost relative accuracy in erfc for large y.
 */

const ERF_A0 = 3.1611237438705656;
const ERF_A1 = 113.864154151050156;
const ERF_A2 = 377.485237685302021;
const ERF_A3 = 3209.37758913846947;
const ERF_A4 = 0.185777706184603153;
const ERF_B0 = 23.6012909523441209;
const ERF_B1 = 244.024637934444173;
const ERF_B2 = 1282.61652607737228;
const ERF_B3 = 2844.23683343917062;

const ERF_C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
] as const;
const ERF_D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
] as const;

const ERF_P = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
  6.58749161529837803e-4, 0.0163153871373020978,
] as const;
const ERF_Q = [
  2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191,
  0.00233520497626869185,
] as const;

/** 1/√π. */
const INV_SQRT_PI = 0.56418958354775628695;
const THRESH = 0.46875;
/** erfc(y) underflows to 0 in double precision beyond this. */
const ERFC_BIG = 26.543;

/** erf(y)/y for |y| ≤ 0.46875 (Cody's first range). */
function erfSmallRatio(y: number): number {
  const z = y * y;
  const num = (((ERF_A4 * z + ERF_A0) * z + ERF_A1) * z + ERF_A2) * z + ERF_A3;
  const den = (((z + ERF_B0) * z + ERF_B1) * z + ERF_B2) * z + ERF_B3;
  return num / den;
}

/**
 * The scaled complementary error function erfcx(y) = e^{y²} erfc(y) for y > 0.46875 (Cody's second
 * and third ranges, the rational part of erfc). Callers that already hold e^{−y²} (the pixel-
 * integrated Gaussian evaluates the normal density at the same points) get erfc(y) from it with one
 * multiplication instead of two more exponentials.
 */
export function erfcxAbove(y: number): number {
  if (y <= 4) {
    const c = ERF_C;
    const d = ERF_D;
    let num = c[8] * y;
    let den = y;
    num = (num + c[0]) * y;
    den = (den + d[0]) * y;
    num = (num + c[1]) * y;
    den = (den + d[1]) * y;
    num = (num + c[2]) * y;
    den = (den + d[2]) * y;
    num = (num + c[3]) * y;
    den = (den + d[3]) * y;
    num = (num + c[4]) * y;
    den = (den + d[4]) * y;
    num = (num + c[5]) * y;
    den = (den + d[5]) * y;
    num = (num + c[6]) * y;
    den = (den + d[6]) * y;
    return (num + c[7]) / (den + d[7]);
  }
  const p = ERF_P;
  const q = ERF_Q;
  const z = 1 / (y * y);
  let num = p[5] * z;
  let den = z;
  num = (num + p[0]) * z;
  den = (den + q[0]) * z;
  num = (num + p[1]) * z;
  den = (den + q[1]) * z;
  num = (num + p[2]) * z;
  den = (den + q[2]) * z;
  num = (num + p[3]) * z;
  den = (den + q[3]) * z;
  const r = (z * (num + p[4])) / (den + q[4]);
  return (INV_SQRT_PI - r) / y;
}

/** erf(y)/y for |y| ≤ 0.46875 (Cody's first range), exported for the same callers. */
export function erfSmall(y: number): number {
  return erfSmallRatio(y);
}

/** The boundary between Cody's first and second ranges. */
export const ERF_SMALL_LIMIT = THRESH;

/** erfc(y) for y > 0.46875 (Cody's second and third ranges); 0 beyond underflow. */
function erfcPositive(y: number): number {
  if (y >= ERFC_BIG) return 0;
  const r = erfcxAbove(y);
  const s = Math.trunc(y * 16) / 16;
  const del = (y - s) * (y + s);
  return Math.exp(-s * s) * Math.exp(-del) * r;
}

/** The error function erf(x) = 2/√π ∫₀ˣ e^{−t²} dt, to within a few ulps (see above). */
export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESH) return x * erfSmallRatio(y);
  if (Number.isNaN(x)) return NaN;
  const r = 1 - erfcPositive(y);
  return x < 0 ? -r : r;
}

/**
 * The complementary error function erfc(x) = 1 − erf(x), accurate in relative terms for large
 * positive x (where 1 − erf(x) would cancel): relative error < 1e-15 until it underflows near 26.5.
 */
export function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESH) return 1 - x * erfSmallRatio(y);
  if (Number.isNaN(x)) return NaN;
  const r = erfcPositive(y);
  return x < 0 ? 2 - r : r;
}

/**
 * Gauss–Legendre nodes and weights on [−1, 1] for n points (exact for polynomials of degree
 * 2n − 1): nodes are the roots of the Legendre polynomial P_n, found by Newton's method from the
 * Tricomi initial guesses cos(π(i − ¼)/(n + ½)), weights 2 / ((1 − ξ²) P_n'(ξ)²). Nodes ascend.
 * Not for the hot path: callers tabulate the rules they need once.
 */
export function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  if (!Number.isInteger(n) || n < 1 || n > 200) throw new RangeError(`Gauss–Legendre order must be an integer in 1..200 (got ${n})`);
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      // P_n(z) and P_n'(z) by the three-term recurrence.
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      const pn = n === 1 ? z : p1;
      const pm = n === 1 ? 1 : p0;
      dp = (n * (z * pn - pm)) / (z * z - 1);
      const dz = pn / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    if (n === 1) dp = 1;
    const w = 2 / ((1 - z * z) * dp * dp);
    nodes[i] = -z;
    nodes[n - 1 - i] = z;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  if (n % 2 === 1) nodes[(n - 1) / 2] = 0;
  return { nodes, weights };
}
