import { describe, expect, it } from 'vitest';
import { ASINH_BETA, LOG_A, normalize, stretch, STRETCHES, stretchTable } from '../../src-renderer/lib/stretch.js';

describe('stretch', () => {
  it('every curve maps 0 → 0 and 1 → 1, clips outside, and is increasing', () => {
    for (const kind of STRETCHES) {
      expect(stretch(0, kind)).toBe(0);
      expect(stretch(1, kind)).toBeCloseTo(1, 12);
      expect(stretch(-3, kind)).toBe(0);
      expect(stretch(7, kind)).toBeCloseTo(1, 12);
      let prev = -1;
      for (let i = 0; i <= 1000; i++) {
        const y = stretch(i / 1000, kind);
        expect(y).toBeGreaterThan(prev);
        prev = y;
      }
    }
  });

  it('has the documented shapes', () => {
    expect(stretch(0.25, 'linear')).toBe(0.25);
    expect(stretch(0.25, 'sqrt')).toBe(0.5);
    expect(stretch(0.5, 'log')).toBeCloseTo(Math.log(1 + LOG_A / 2) / Math.log(1 + LOG_A), 12);
    expect(stretch(0.5, 'asinh')).toBeCloseTo(Math.asinh(0.5 / ASINH_BETA) / Math.asinh(1 / ASINH_BETA), 12);
    // Faint values are lifted by the non-linear stretches, most by log.
    for (const kind of ['sqrt', 'log', 'asinh'] as const) expect(stretch(0.01, kind)).toBeGreaterThan(stretch(0.01, 'linear'));
    expect(stretch(0.01, 'log')).toBeGreaterThan(stretch(0.01, 'sqrt'));
    // asinh is linear near 0 (slope 1/(β·asinh(1/β))) and logarithmic above β.
    expect(stretch(1e-4, 'asinh') / 1e-4).toBeCloseTo(1 / (ASINH_BETA * Math.asinh(1 / ASINH_BETA)), 3);
  });

  it('normalize scales between the limits and handles a zero range', () => {
    expect(normalize(5, 0, 10)).toBe(0.5);
    expect(normalize(-1, 0, 10)).toBe(0);
    expect(normalize(11, 0, 10)).toBe(1);
    expect(normalize(3, 3, 3)).toBe(0);
    expect(normalize(4, 3, 3)).toBe(1);
  });

  it('tables the curve as colour-map indices', () => {
    const t = stretchTable('sqrt', 101, 256);
    expect(t.length).toBe(101);
    expect(t[0]).toBe(0);
    expect(t[100]).toBe(255);
    expect(t[25]).toBe(Math.round(0.5 * 255));
    for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThanOrEqual(t[i - 1]!);
    expect(() => stretchTable('linear', 1)).toThrow(RangeError);
  });
});
