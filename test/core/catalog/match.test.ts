import { describe, expect, it } from 'vitest';
import { matchCatalogs, type MatchPoint, type MatchResult } from '../../../src-main/core/catalog/match.js';
import { InvalidOptionError } from '../../../src-main/core/errors.js';
import { Rng } from '../../../src-main/core/rng.js';

const pt = (x: number, y: number, flux = 100, frame = 0): MatchPoint => ({ frame, x, y, flux });
const dist = (a: MatchPoint, b: MatchPoint) => Math.hypot(a.x - b.x, a.y - b.y);

/** Structural checks every result must pass. */
function checkConsistent(det: MatchPoint[], tru: MatchPoint[], tol: number, m: MatchResult): void {
  expect(m.tp).toBe(m.pairs.length);
  expect(m.tp + m.fp).toBe(det.length);
  expect(m.tp + m.fn).toBe(tru.length);
  expect(new Set(m.pairs.map((p) => p.detected)).size).toBe(m.tp);
  expect(new Set(m.pairs.map((p) => p.truth)).size).toBe(m.tp);
  for (const p of m.pairs) {
    expect(det[p.detected].frame).toBe(tru[p.truth].frame);
    expect(p.distance).toBeCloseTo(dist(det[p.detected], tru[p.truth]), 12);
    expect(p.distance).toBeLessThanOrEqual(tol);
  }
  expect(m.perFrame.reduce((s, f) => s + f.tp, 0)).toBe(m.tp);
  expect(m.perFrame.reduce((s, f) => s + f.fp, 0)).toBe(m.fp);
  expect(m.perFrame.reduce((s, f) => s + f.fn, 0)).toBe(m.fn);
  if (m.tp > 0) {
    expect(m.rmse).toBeCloseTo(Math.sqrt(m.pairs.reduce((s, p) => s + p.distance ** 2, 0) / m.tp), 12);
    expect(m.precision).toBeCloseTo(m.tp / (m.tp + m.fp), 15);
    expect(m.recall).toBeCloseTo(m.tp / (m.tp + m.fn), 15);
    expect(m.f1).toBeCloseTo((2 * m.precision * m.recall) / (m.precision + m.recall), 12);
    expect(m.jaccard).toBeCloseTo(m.tp / (m.tp + m.fp + m.fn), 15);
  }
}

/** Exhaustive optimum: most pairs, then least total distance. */
function bruteForce(det: MatchPoint[], tru: MatchPoint[], tol: number): { count: number; total: number } {
  let best = { count: 0, total: 0 };
  const used = new Array(tru.length).fill(false);
  const rec = (i: number, count: number, total: number) => {
    if (i === det.length) {
      if (count > best.count || (count === best.count && total < best.total - 1e-12)) best = { count, total };
      return;
    }
    rec(i + 1, count, total);
    for (let j = 0; j < tru.length; j++) {
      if (used[j] || det[i].frame !== tru[j].frame) continue;
      const d = dist(det[i], tru[j]);
      if (d > tol) continue;
      used[j] = true;
      rec(i + 1, count + 1, total + d);
      used[j] = false;
    }
  };
  rec(0, 0, 0);
  return best;
}

/** Dense O(n²m) Hungarian (potentials form) on the full matrix plus n dummy columns, as a cross-check. */
function denseOptimum(det: MatchPoint[], tru: MatchPoint[], tol: number): { count: number; total: number } {
  const n = det.length;
  const m = tru.length + n;
  const U = tol * (Math.min(det.length, tru.length) + 1);
  const cost = (i: number, j: number): number => {
    if (j >= tru.length) return U;
    const d = dist(det[i], tru[j]);
    return d <= tol && det[i].frame === tru[j].frame ? d : 10 * U;
  };
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const usedC = new Uint8Array(m + 1);
    do {
      usedC[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (usedC[j]) continue;
        const cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (usedC[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  let count = 0;
  let total = 0;
  for (let j = 1; j <= tru.length; j++) {
    if (p[j] !== 0) {
      const c = cost(p[j] - 1, j - 1);
      if (c <= tol) {
        count++;
        total += c;
      }
    }
  }
  return { count, total };
}

describe('matchCatalogs', () => {
  it('keeps both pairs where greedy nearest matching would lose one', () => {
    // D1 is nearest to T2; greedy takes D1–T2 and leaves D2 and T1 without partners.
    const det = [pt(0.9, 0), pt(2.4, 0)];
    const tru = [pt(0, 0), pt(1.5, 0)];
    const m = matchCatalogs(det, tru, 1);
    checkConsistent(det, tru, 1, m);
    expect(m.pairs.map((p) => [p.detected, p.truth])).toEqual([[0, 0], [1, 1]]);
    expect(m.tp).toBe(2);
    expect(m.rmse).toBeCloseTo(0.9, 12);
  });

  it('minimises the total distance where greedy shortest-first pairs would not', () => {
    // Shortest edge D2–T1 (0.9) forces D1–T2 (2.9): total 3.8. The optimum is D1–T1 + D2–T2 = 2.0.
    const det = [pt(0, 0), pt(1.9, 0)];
    const tru = [pt(1, 0), pt(2.9, 0)];
    const m = matchCatalogs(det, tru, 3);
    checkConsistent(det, tru, 3, m);
    expect(m.pairs.map((p) => [p.detected, p.truth])).toEqual([[0, 0], [1, 1]]);
    expect(m.pairs.reduce((s, p) => s + p.distance, 0)).toBeCloseTo(2, 12);
  });

  it('agrees with exhaustive search on many small random multi-frame cases', () => {
    const r = new Rng(123);
    for (let trial = 0; trial < 300; trial++) {
      const nd = r.int(7);
      const nt = r.int(7);
      const mk = () => pt(r.range(0, 3), r.range(0, 3), r.range(50, 150), r.int(2));
      const det = Array.from({ length: nd }, mk);
      const tru = Array.from({ length: nt }, mk);
      const tol = r.range(0.5, 2);
      const m = matchCatalogs(det, tru, tol);
      checkConsistent(det, tru, tol, m);
      const best = bruteForce(det, tru, tol);
      expect(m.tp).toBe(best.count);
      expect(m.pairs.reduce((s, p) => s + p.distance, 0)).toBeCloseTo(best.total, 9);
    }
  });

  it('agrees with a dense Hungarian solution in a crowded field (one big component)', () => {
    const r = new Rng(99);
    const det = Array.from({ length: 300 }, () => pt(r.range(0, 12), r.range(0, 12)));
    const tru = Array.from({ length: 260 }, () => pt(r.range(0, 12), r.range(0, 12)));
    const tol = 1.2;
    const m = matchCatalogs(det, tru, tol);
    checkConsistent(det, tru, tol, m);
    const best = denseOptimum(det, tru, tol);
    expect(m.tp).toBe(best.count);
    expect(m.pairs.reduce((s, p) => s + p.distance, 0)).toBeCloseTo(best.total, 8);
  });

  it('measures a known shift, flux error and counts', () => {
    const r = new Rng(5);
    const tru: MatchPoint[] = [];
    for (let gy = 0; gy < 20; gy++) {
      for (let gx = 0; gx < 20; gx++) tru.push(pt(6 * gx + r.range(-0.5, 0.5), 6 * gy + r.range(-0.5, 0.5), r.range(100, 1000)));
    }
    const det = tru.slice(30).map((t) => pt(t.x + 0.3, t.y - 0.2, t.flux * 1.1));
    for (let k = 0; k < 50; k++) det.push(pt(6 * (k % 20) + 3, 6 * Math.floor(k / 20) + 3, 500));
    const m = matchCatalogs(det, tru, 1);
    checkConsistent(det, tru, 1, m);
    expect([m.tp, m.fp, m.fn]).toEqual([370, 50, 30]);
    for (const p of m.pairs) expect(p.truth).toBe(p.detected + 30);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.13), 10);
    expect(m.bias.x).toBeCloseTo(0.3, 10);
    expect(m.bias.y).toBeCloseTo(-0.2, 10);
    expect(m.medianFluxError).toBeCloseTo(0.1, 10);
    expect(m.precision).toBeCloseTo(370 / 420, 12);
    expect(m.recall).toBeCloseTo(370 / 400, 12);
    expect(m.jaccard).toBeCloseTo(370 / 450, 12);
    // A tolerance below the shift matches nothing.
    expect(matchCatalogs(det, tru, 0.35).tp).toBe(0);
  });

  it('handles empty inputs', () => {
    const none = matchCatalogs([], [], 1);
    expect([none.tp, none.fp, none.fn, none.precision, none.recall, none.f1, none.jaccard]).toEqual([0, 0, 0, 1, 1, 1, 1]);
    expect(none.rmse).toBeNaN();
    expect(none.medianFluxError).toBeNaN();
    expect(none.perFrame).toEqual([]);
    const onlyTruth = matchCatalogs([], [pt(1, 1), pt(2, 2)], 1);
    expect([onlyTruth.tp, onlyTruth.fp, onlyTruth.fn, onlyTruth.precision, onlyTruth.recall, onlyTruth.f1, onlyTruth.jaccard]).toEqual([0, 0, 2, 1, 0, 0, 0]);
    const onlyDet = matchCatalogs([pt(1, 1)], [], 1);
    expect([onlyDet.tp, onlyDet.fp, onlyDet.fn, onlyDet.precision, onlyDet.recall]).toEqual([0, 1, 0, 0, 1]);
  });

  it('matches only within a frame and reports per-frame counts', () => {
    const det = [pt(5, 5, 100, 0), pt(5, 5, 100, 2), pt(9, 9, 100, 2)];
    const tru = [pt(5, 5, 100, 1), pt(5.1, 5, 100, 2), pt(20, 20, 100, 3)];
    const m = matchCatalogs(det, tru, 1);
    checkConsistent(det, tru, 1, m);
    expect(m.pairs).toEqual([{ detected: 1, truth: 1, distance: expect.closeTo(0.1, 12) }]);
    expect(m.perFrame).toEqual([
      { frame: 0, detected: 1, truth: 0, tp: 0, fp: 1, fn: 0 },
      { frame: 1, detected: 0, truth: 1, tp: 0, fp: 0, fn: 1 },
      { frame: 2, detected: 2, truth: 1, tp: 1, fp: 1, fn: 0 },
      { frame: 3, detected: 0, truth: 1, tp: 0, fp: 0, fn: 1 },
    ]);
  });

  it('never matches non-finite positions and rejects bad tolerances', () => {
    const m = matchCatalogs([pt(Number.NaN, 1), pt(1, 1)], [pt(1, 1), pt(Infinity, 1)], 1);
    expect(m.pairs).toEqual([{ detected: 1, truth: 0, distance: 0 }]);
    expect([m.fp, m.fn]).toEqual([1, 1]);
    for (const t of [0, -1, Number.NaN, Infinity]) expect(() => matchCatalogs([], [], t)).toThrow(InvalidOptionError);
  });

  it('matches 50 000 sources over a few frames with consistent metrics', () => {
    const r = new Rng(2024);
    const tru: MatchPoint[] = [];
    const det: MatchPoint[] = [];
    let recoverable = 0;
    for (let i = 0; i < 50_000; i++) {
      const t = pt(r.range(0, 1000), r.range(0, 1000), r.range(100, 1e4), r.int(4));
      tru.push(t);
      if (r.uniform() < 0.9) {
        const d = pt(t.x + 0.25 * r.normal(), t.y + 0.25 * r.normal(), t.flux * (1 + 0.05 * r.normal()), t.frame);
        det.push(d);
        if (dist(d, t) <= 1) recoverable++;
      }
    }
    for (let i = 0; i < 5_000; i++) det.push(pt(r.range(0, 1000), r.range(0, 1000), r.range(100, 1e4), r.int(4)));
    const m = matchCatalogs(det, tru, 1);
    checkConsistent(det, tru, 1, m);
    // The pairs made by construction form a valid matching, so the maximum one has at least as many.
    expect(m.tp).toBeGreaterThanOrEqual(recoverable);
    expect(m.rmse).toBeGreaterThan(0.25);
    expect(m.rmse).toBeLessThan(0.6);
    expect(m.medianFluxError).toBeGreaterThan(0.01);
    expect(m.medianFluxError).toBeLessThan(0.1);
    expect(m.perFrame.map((f) => f.frame)).toEqual([0, 1, 2, 3]);
  });
});
