/**
 * A small seeded pseudo-random number generator for simulations and tests: xoshiro128** (Blackman
 * & Vigna) on 32-bit integer arithmetic, seeded through splitmix32 so that nearby seeds give
 * unrelated streams. Everything here is deterministic: the same seed and stream give the same
 * numbers on every platform (only integer operations and IEEE doubles are used, no Math.random).
 *
 * Distributions are exact in the sense that no approximation of the target law is made: normals
 * by Marsaglia's polar method, Poisson by inversion for small means and by Hörmann's PTRS
 * transformed-rejection for large ones.
 */

import { InvalidOptionError } from './errors.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const TWO_POW_M53 = 1 / TWO_POW_53;

/** splitmix32 step: returns [new state, output]. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [s, z >>> 0];
}

/** log(k!) for k < LOG_FACT_TABLE, by summing logarithms (absolute error ~1e-13). */
const LOG_FACT_TABLE = 256;
const logFactTable = (() => {
  const t = new Float64Array(LOG_FACT_TABLE);
  let s = 0;
  for (let k = 1; k < LOG_FACT_TABLE; k++) {
    s += Math.log(k);
    t[k] = s;
  }
  return t;
})();
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log(k!) for an integer k ≥ 0: a table below 256, else Stirling's series to the k⁻⁷ term, whose
 * truncation error (< 1/(1188 k⁹)) is far below double precision there.
 */
export function logFactorial(k: number): number {
  if (k < LOG_FACT_TABLE) return logFactTable[k];
  const r = 1 / k;
  const r2 = r * r;
  return (k + 0.5) * Math.log(k) - k + HALF_LOG_2PI + r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 / 1680)));
}

/** Means below this use inversion; at and above it PTRS (Hörmann recommends 10). */
const POISSON_INVERSION_LIMIT = 10;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;

  /**
   * @param seed any safe integer (negative allowed); default 1.
   * @param stream an independent sub-stream index (safe integer, default 0): `new Rng(s, 1)` and
   *   `new Rng(s, 2)` are unrelated, which lets a simulation draw its sources and its noise from
   *   separate streams so that changing the noise leaves the sources untouched.
   */
  constructor(seed = 1, stream = 0) {
    if (!Number.isSafeInteger(seed)) throw new InvalidOptionError('--seed', seed, 'the seed must be a safe integer');
    if (!Number.isSafeInteger(stream)) throw new InvalidOptionError('stream', stream, 'the stream must be a safe integer');
    // Fold both 53-bit integers into the splitmix state through their 32-bit halves.
    let st = 0;
    let out: number;
    for (const v of [seed, stream]) {
      const lo = Number(BigInt.asUintN(32, BigInt(v)));
      const hi = Number(BigInt.asUintN(32, BigInt(v) >> 32n));
      [st, out] = splitmix32(st ^ lo);
      st ^= out;
      [st, out] = splitmix32(st ^ hi);
      st ^= out;
    }
    [st, this.s0] = splitmix32(st);
    [st, this.s1] = splitmix32(st);
    [st, this.s2] = splitmix32(st);
    [st, this.s3] = splitmix32(st);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** The next 32 random bits as an unsigned integer in [0, 2³²). */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    // result = rotl(s1 * 5, 7) * 9
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = (n3 << 11) | (n3 >>> 21);
    this.s0 = n0;
    this.s1 = n1;
    this.s2 = n2;
    this.s3 = n3;
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits (every multiple of 2⁻⁵³ equally likely). */
  uniform(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) * TWO_POW_M53;
  }

  /** A uniform double in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /**
   * A uniform integer in [0, n) for an integer 1 ≤ n ≤ 2⁵³, exactly uniform (rejection of the top
   * partial block of the 53-bit range, or of the 32-bit range when n ≤ 2³²).
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_53) {
      throw new InvalidOptionError('n', n, 'int(n) needs an integer 1 ≤ n ≤ 2^53');
    }
    if (n <= TWO_POW_32) {
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      for (;;) {
        const r = this.nextUint32();
        if (r < limit) return r % n;
      }
    }
    const limit = TWO_POW_53 - (TWO_POW_53 % n);
    for (;;) {
      const r = (this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6);
      if (r < limit) return r % n;
    }
  }

  /**
   * A standard normal deviate (mean 0, variance 1) by Marsaglia's polar method; the second deviate
   * of each pair is kept for the next call.
   */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }

  /**
   * A Poisson deviate of the given mean (finite, ≥ 0). Means below 10 use inversion by sequential
   * search from 0; larger means use PTRS (W. Hörmann, "The transformed rejection method for
   * generating Poisson random variables", Insurance: Mathematics and Economics 12, 1993), an exact
   * rejection method whose cost does not grow with the mean.
   */
  poisson(mean: number): number {
    if (!(mean >= 0) || !Number.isFinite(mean)) {
      throw new InvalidOptionError('mean', mean, 'a Poisson mean must be a finite number ≥ 0');
    }
    if (mean === 0) return 0;
    if (mean < POISSON_INVERSION_LIMIT) return this.poissonInversion(mean);
    return this.poissonPtrs(mean);
  }

  private poissonInversion(mean: number): number {
    for (;;) {
      const u = this.uniform();
      let p = Math.exp(-mean);
      let cdf = p;
      let k = 0;
      while (u >= cdf) {
        k++;
        p *= mean / k;
        cdf += p;
        // Rounding can leave the summed cdf just below 1 while u is closer to 1; the tail beyond
        // k = 200 has probability < 1e-200 for means below 10, so restart (rejecting that u).
        if (k > 200) break;
      }
      if (k <= 200) return k;
    }
  }

  private poissonPtrs(mean: number): number {
    const slam = Math.sqrt(mean);
    const logLam = Math.log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    const logInvAlpha = Math.log(invAlpha);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + logInvAlpha - Math.log(a / (us * us) + b) <= -mean + k * logLam - logFactorial(k)) return k;
    }
  }
}
