import { describe, expect, it } from 'vitest';
import { erf, erfc, gaussLegendre } from '../../../src-main/core/math.js';

/*
 * References computed here in exact integer arithmetic: fixed point with P decimal digits, the
 * Maclaurin series erf(x) = 2/√π Σ (−1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1)), π by Machin's formula and √π by
 * Newton's method on integers. The double input is converted exactly. With P = 140 the absolute
 * error is far below 1e-60 for |x| ≤ 10 (the series' cancellation costs at most e^{x²} ≈ 1e43).
 */
const P = 140;
const SCALE = 10n ** BigInt(P);

function atanInv(n: bigint): bigint {
  // atan(1/n) = Σ (−1)^k / ((2k + 1) n^{2k+1})
  const n2 = n * n;
  let pow = SCALE / n;
  let sum = 0n;
  for (let k = 0n; pow !== 0n; k++) {
    const term = pow / (2n * k + 1n);
    sum += k % 2n === 0n ? term : -term;
    pow /= n2;
  }
  return sum;
}

function isqrt(v: bigint): bigint {
  let x = BigInt(Math.floor(Math.sqrt(Number(v))));
  if (x === 0n) x = 1n;
  for (;;) {
    const y = (x + v / x) / 2n;
    if (y >= x && y - x <= 1n) return x;
    if (y === x) return x;
    x = y;
  }
}

const PI = 16n * atanInv(5n) - 4n * atanInv(239n);
const SQRT_PI = isqrt(PI * SCALE);
/** Floor(|x| · 10^P), exactly from the binary value of x. */
function toFixed(x: number): bigint {
  let m = Math.abs(x);
  let e = 0n;
  while (!Number.isInteger(m)) {
    m *= 2;
    e++;
  }
  return (BigInt(m) * SCALE) >> e;
}
/** The double nearest to the fixed-point value v / 10^P (v ≥ 0), rounding once. */
function toDouble(v: bigint): number {
  if (v === 0n) return 0;
  const shift = 70 - (v.toString(2).length - SCALE.toString(2).length);
  const q = shift >= 0 ? (v << BigInt(shift)) / SCALE : v / (SCALE << BigInt(-shift));
  return Number(q) * Math.pow(2, -shift);
}
/** erf(|x|) · 10^P. */
function erfFixed(x: number): bigint {
  const X = toFixed(x);
  const x2 = (X * X) / SCALE;
  let t = X;
  let s = X;
  for (let n = 1n; t !== 0n; n++) {
    t = -((t * x2) / SCALE) / n;
    s += t / (2n * n + 1n);
  }
  return (2n * s * SCALE) / SQRT_PI;
}
function erfRef(x: number): number {
  const r = toDouble(erfFixed(x));
  return x < 0 ? -r : r;
}
function erfcRef(x: number): number {
  const e = erfFixed(x);
  return x < 0 ? toDouble(SCALE + e) : toDouble(SCALE - e);
}

describe('reference arithmetic', () => {
  it('reproduces tabulated values of erf (Abramowitz & Stegun 7.1, extended precision)', () => {
    // erf(0.5), erf(1), erf(2) to 30 digits; the reference must match them to double precision.
    expect(erfRef(0.5)).toBe(0.520499877813046537682746653892);
    expect(erfRef(1)).toBe(0.842700792949714869341220635083);
    expect(erfRef(2)).toBe(0.995322265018952734162069256367);
    expect(erfcRef(3)).toBeCloseTo(2.20904969985854413727761295823e-5, 19);
  });
});

describe('erf', () => {
  const grid: number[] = [];
  for (let x = -6.5; x <= 6.5; x += 0.01371) grid.push(x);
  // Range boundaries of the rational approximations and awkward magnitudes.
  for (const b of [0.46875, 4, 0.5, 6, 26.543]) {
    grid.push(b, b * (1 + 2 ** -52), b * (1 - 2 ** -53), -b);
  }
  grid.push(0, 1e-300, 5e-324, 1e-10, 1e-5, 0.1, 2 ** -26);

  it('is within 1e-14 of the exact value over the real line', () => {
    let worst = 0;
    for (const x of grid) worst = Math.max(worst, Math.abs(erf(x) - erfRef(x)));
    expect(worst).toBeLessThanOrEqual(1e-14);
    // In fact within a few ulps of 1 (measured: 1.1e-16).
    expect(worst).toBeLessThan(1e-15);
  });

  it('keeps full relative accuracy near 0', () => {
    for (const x of [1e-100, 1e-10, 1e-5, 0.01, 0.3]) {
      expect(Math.abs(erf(x) / erfRef(x) - 1)).toBeLessThan(1e-15);
    }
  });

  it('is odd, saturates, and propagates NaN', () => {
    for (const x of grid) expect(erf(-x)).toBe(-erf(x));
    expect(erf(0)).toBe(0);
    expect(erf(6)).toBe(1);
    expect(erf(40)).toBe(1);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });

  it('is monotone on a fine grid', () => {
    let prev = erf(-7);
    for (let x = -7; x <= 7; x += 1e-3) {
      const v = erf(x);
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
  });
});

describe('erfc', () => {
  it('has relative error below 1e-14 from −3 to 10 (where 1 − erf would cancel)', () => {
    let worst = 0;
    for (let x = -3; x <= 10; x += 0.0173) worst = Math.max(worst, Math.abs(erfc(x) / erfcRef(x) - 1));
    for (const x of [0.46875, 4, 4 * (1 + 2 ** -52), 7.5, 9.99]) worst = Math.max(worst, Math.abs(erfc(x) / erfcRef(x) - 1));
    expect(worst).toBeLessThan(1e-14);
  });

  it('underflows to 0 far right and tends to 2 far left', () => {
    expect(erfc(27)).toBe(0);
    expect(erfc(26)).toBeGreaterThan(0);
    expect(erfc(-30)).toBe(2);
    expect(erfc(0)).toBe(1);
    expect(erfc(NaN)).toBeNaN();
  });
});

describe('gaussLegendre', () => {
  it('integrates polynomials of degree 2n − 1 exactly on [−1, 1], and not degree 2n', () => {
    for (const n of [1, 2, 3, 4, 7, 12, 20]) {
      const { nodes, weights } = gaussLegendre(n);
      const moment = (d: number): number => nodes.reduce((s, z, i) => s + weights[i] * z ** d, 0);
      for (let d = 0; d < 2 * n; d++) expect(Math.abs(moment(d) - (d % 2 ? 0 : 2 / (d + 1)))).toBeLessThan(1e-14);
      expect(Math.abs(moment(2 * n) - 2 / (2 * n + 1))).toBeGreaterThan(1e-12);
      for (let i = 1; i < n; i++) expect(nodes[i]).toBeGreaterThan(nodes[i - 1]);
    }
  });
});
