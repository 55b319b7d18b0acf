import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src-main/core/errors.js';
import { Rng, logFactorial } from '../../src-main/core/rng.js';

function moments(xs: Float64Array): { mean: number; variance: number } {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, variance: ss / (xs.length - 1) };
}

function poissonPmf(mean: number, k: number): number {
  return Math.exp(-mean + k * Math.log(mean) - logFactorial(k));
}

describe('Rng', () => {
  it('is deterministic for a seed and stream, and seeds/streams give different sequences', () => {
    const draw = (seed: number, stream = 0): number[] => {
      const r = new Rng(seed, stream);
      return [r.nextUint32(), r.uniform(), r.normal(), r.normal(), r.poisson(3), r.poisson(500), r.int(1000)];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(-7, 3)).toEqual(draw(-7, 3));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(42, 0)).not.toEqual(draw(42, 1));
    expect(draw(2 ** 40)).not.toEqual(draw(2 ** 40 + 1));
    expect(new Rng().uniform()).toBe(new Rng(1).uniform());
  });

  it('uniform() lies in [0, 1) with mean 1/2 and variance 1/12', () => {
    const r = new Rng(5);
    const n = 200_000;
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      xs[i] = r.uniform();
      expect(xs[i] >= 0 && xs[i] < 1).toBe(true);
    }
    const { mean, variance } = moments(xs);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    // var(s²) ≈ (μ4 − σ⁴)/n with μ4 = 1/80 for U(0,1).
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt((1 / 80 - 1 / 144) / n));
  });

  it('int(n) is uniform over 0..n−1, also beyond 2^32', () => {
    const r = new Rng(9);
    const n = 7;
    const counts = new Array(n).fill(0);
    const N = 140_000;
    for (let i = 0; i < N; i++) {
      const k = r.int(n);
      expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
      counts[k]++;
    }
    const p = 1 / n;
    for (const c of counts) expect(Math.abs(c - N * p)).toBeLessThan(5 * Math.sqrt(N * p * (1 - p)));
    const big = 3 * 2 ** 40 + 5;
    let above = 0;
    for (let i = 0; i < 20_000; i++) {
      const k = r.int(big);
      expect(Number.isInteger(k) && k >= 0 && k < big).toBe(true);
      if (k >= big / 2) above++;
    }
    expect(Math.abs(above - 10_000)).toBeLessThan(5 * Math.sqrt(5_000));
    expect(r.int(1)).toBe(0);
  });

  it('normal() has mean 0, variance 1, kurtosis 3 and the right mass within ±1σ', () => {
    const r = new Rng(11);
    const n = 400_000;
    const xs = new Float64Array(n);
    let m4 = 0;
    let within = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      xs[i] = x;
      m4 += x ** 4;
      if (Math.abs(x) < 1) within++;
    }
    const { mean, variance } = moments(xs);
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(1 / n));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    // var(x⁴) = 105 − 9 = 96.
    expect(Math.abs(m4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    const p = 0.6826894921370859;
    expect(Math.abs(within / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
  });

  for (const mean of [0.5, 5, 40, 1000, 1e5]) {
    it(`poisson(${mean}) has mean and variance ${mean}`, () => {
      const r = new Rng(1000 + Math.round(10 * mean));
      const n = 200_000;
      const xs = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const k = r.poisson(mean);
        xs[i] = k;
      }
      for (let i = 0; i < 1000; i++) expect(Number.isInteger(xs[i]) && xs[i] >= 0).toBe(true);
      const m = moments(xs);
      expect(Math.abs(m.mean - mean)).toBeLessThan(5 * Math.sqrt(mean / n));
      // var(s²) ≈ (μ4 − σ⁴)/n with μ4 = λ + 3λ² for a Poisson law.
      expect(Math.abs(m.variance - mean)).toBeLessThan(5 * Math.sqrt((mean + 2 * mean * mean) / n));
    });
  }

  // Mean and variance can be right while the shape is wrong (e.g. a rounded normal): compare the
  // histogram with the probability mass function, bin by bin, for inversion and PTRS means.
  for (const mean of [3.7, 9.99, 10, 25, 150]) {
    it(`poisson(${mean}) follows the Poisson mass function`, () => {
      const r = new Rng(77);
      const n = 300_000;
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const k = r.poisson(mean);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      const lo = Math.max(0, Math.floor(mean - 4 * Math.sqrt(mean)));
      const hi = Math.ceil(mean + 4 * Math.sqrt(mean));
      let chi2 = 0;
      let bins = 0;
      for (let k = lo; k <= hi; k++) {
        const p = poissonPmf(mean, k);
        const c = counts.get(k) ?? 0;
        expect(Math.abs(c - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)) + 1);
        chi2 += (c - n * p) ** 2 / (n * p);
        bins++;
      }
      // χ² with `bins` degrees of freedom: mean bins, sd √(2·bins).
      expect(chi2).toBeLessThan(bins + 5 * Math.sqrt(2 * bins));
    });
  }

  it('poisson(0) is 0 and bad arguments are typed errors', () => {
    const r = new Rng(3);
    expect(r.poisson(0)).toBe(0);
    expect(() => r.poisson(-1)).toThrow(InvalidOptionError);
    expect(() => r.poisson(Number.NaN)).toThrow(InvalidOptionError);
    expect(() => r.poisson(Infinity)).toThrow(InvalidOptionError);
    expect(() => r.int(0)).toThrow(InvalidOptionError);
    expect(() => r.int(2.5)).toThrow(InvalidOptionError);
    expect(() => new Rng(1.5)).toThrow(InvalidOptionError);
  });

  it('logFactorial agrees with direct sums on both sides of the table limit', () => {
    let s = 0;
    for (let k = 1; k <= 400; k++) {
      s += Math.log(k);
      expect(Math.abs(logFactorial(k) - s)).toBeLessThanOrEqual(1e-12 * s);
    }
    expect(logFactorial(0)).toBe(0);
  });
});
