import { describe, expect, it } from 'vitest';
import { computeLimits, quantile, sortedSample, zscale } from '../../src-renderer/lib/zscale.js';

/** Deterministic standard normal values (Box–Muller on a small LCG). */
function gaussians(n: number, seed = 1): Float64Array {
  let s = seed >>> 0;
  const u = () => ((s = (1664525 * s + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

describe('quantile and sampling', () => {
  it('interpolates between ranks', () => {
    const s = Float64Array.from([0, 10, 20, 30]);
    expect(quantile(s, 0)).toBe(0);
    expect(quantile(s, 1)).toBe(30);
    expect(quantile(s, 0.5)).toBe(15);
    expect(quantile(new Float64Array(0), 0.5)).toBeNaN();
  });

  it('samples only finite values, sorted, at most the size asked', () => {
    const data = Float64Array.from({ length: 10_000 }, (_, i) => (i % 7 === 0 ? NaN : 10_000 - i));
    const s = sortedSample(data, 500);
    expect(s.length).toBeLessThanOrEqual(500);
    for (let i = 1; i < s.length; i++) expect(s[i]).toBeGreaterThanOrEqual(s[i - 1]!);
    expect(s.every(Number.isFinite)).toBe(true);
  });
});

describe('zscale', () => {
  it('brackets the sky of a noisy frame with a few bright stars tightly', () => {
    const sky = 1000;
    const data = gaussians(256 * 256, 3).map((g) => sky + 10 * g);
    for (let k = 0; k < 300; k++) data[(k * 7919) % data.length] = 60_000; // saturated star pixels
    const { lo, hi } = zscale(data);
    expect(lo).toBeLessThan(sky);
    expect(hi).toBeGreaterThan(sky);
    // Within several σ (σ = 10) of the sky, far below the stars.
    expect(sky - lo).toBeLessThan(100);
    expect(hi - sky).toBeLessThan(100);
    expect(hi - lo).toBeGreaterThan(40);
  });

  it('gives the range for a linear ramp (slope/contrast clamped to min/max)', () => {
    const data = Float64Array.from({ length: 1000 }, (_, i) => i);
    expect(zscale(data)).toEqual({ lo: 0, hi: 999 });
  });

  it('copes with constant, tiny and blank frames', () => {
    const c = zscale(new Float64Array(100).fill(5));
    expect(c.lo).toBe(5);
    expect(c.hi).toBe(5);
    expect(zscale(Float64Array.from([1, 2]))).toEqual({ lo: 1, hi: 2 });
    expect(zscale(Float64Array.from([NaN, NaN]))).toEqual({ lo: 0, hi: 1 });
  });
});

describe('computeLimits', () => {
  const data = Float64Array.from({ length: 10_001 }, (_, i) => i);
  it('min/max ignores NaN', () => {
    expect(computeLimits(Float64Array.from([3, NaN, -2, 8]), 'minmax')).toEqual({ lo: -2, hi: 8 });
  });
  it('percentiles clip equal tails', () => {
    const l = computeLimits(data, 'p99');
    expect(l.lo).toBeCloseTo(50, 6);
    expect(l.hi).toBeCloseTo(9950, 6);
    const l2 = computeLimits(data, 'p999');
    expect(l2.lo).toBeCloseTo(5, 6);
    expect(l2.hi).toBeCloseTo(9995, 6);
  });
  it('zscale mode is zscale', () => {
    expect(computeLimits(data, 'zscale')).toEqual(zscale(data));
  });
});
