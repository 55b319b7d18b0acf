// The background model's normal equations, summed by rows through the x/y factorisation of the
// basis, against the plain pixel-by-pixel sums Σ w b_k b_l and Σ w f b_k.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/core/rng.js';
import { BackgroundBasis, type BackgroundKind } from '../../../src-main/core/solver/background.js';

function plain(basis: BackgroundBasis, weights: Float64Array, data: Float64Array, pixels: Iterable<number>): { gram: Float64Array; rhs: Float64Array } {
  const K = basis.size;
  const gram = new Float64Array(K * K);
  const rhs = new Float64Array(K);
  const b = new Float64Array(K);
  for (const p of pixels) {
    const w = weights[p]!;
    if (w === 0) continue;
    basis.basisAt(p % basis.width, Math.floor(p / basis.width), b);
    for (let i = 0; i < K; i++) {
      rhs[i] += w * data[p]! * b[i]!;
      for (let j = 0; j < K; j++) gram[i * K + j] += w * b[i]! * b[j]!;
    }
  }
  return { gram, rhs };
}

function expectClose(a: Float64Array, b: Float64Array): void {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-12 * scale);
}

/** Weights with some zeros (whose data are NaN: they must be skipped, not multiplied by 0). */
function problem(w: number, h: number, seed: number): { weights: Float64Array; data: Float64Array } {
  const r = new Rng(seed);
  const weights = Float64Array.from({ length: w * h }, () => (r.uniform() < 0.1 ? 0 : 0.5 + r.uniform()));
  const data = Float64Array.from(weights, (wt) => (wt === 0 ? NaN : 100 + 20 * r.normal()));
  return { weights, data };
}

describe('BackgroundBasis normal equations', () => {
  for (const kind of ['constant', 'plane', 'surface'] as BackgroundKind[]) {
    for (const [w, h] of [
      [37, 23],
      [64, 1],
      [1, 9],
      [2, 2],
    ] as const) {
      it(`by rows equal the pixel sums for a ${kind} on ${w}×${h}`, () => {
        const basis = new BackgroundBasis(kind, w, h);
        const { weights, data } = problem(w, h, w * 31 + h);
        const all = Array.from({ length: w * h }, (_, i) => i);
        const ref = plain(basis, weights, data, all);
        const ne = basis.normalEquations(weights, data);
        expectClose(ne.gram, ref.gram);
        expectClose(ne.rhs, ref.rhs);
        expectClose(basis.projection(weights, data), ref.rhs);
        // A sparse, irregular subset in raster order (a masked lattice).
        const some = Int32Array.from(all.filter((i) => (i * 7919) % 5 < 2));
        const refAt = plain(basis, weights, data, some);
        const at = basis.normalEquationsAt(some, some.length, weights, data);
        expectClose(at.gram, refAt.gram);
        expectClose(at.rhs, refAt.rhs);
      });
    }
  }

  it('renders the same values as valueAt', () => {
    const basis = new BackgroundBasis('surface', 19, 11);
    const c = Float64Array.from([3, -1, 2, 0.5, 0.25, -0.75, 0.1, 0.2, -0.3, 0.4]);
    const img = basis.render(c);
    for (let y = 0; y < 11; y++) for (let x = 0; x < 19; x++) expect(img[y * 19 + x]).toBe(basis.valueAt(x, y, c));
  });
});
