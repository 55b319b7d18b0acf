/**
 * The solver workspace's fast paths for separable PSFs against the general ones they replace:
 * hessSums (second-order sums in one pass over 1-D profiles) against differenced pointSums, and
 * addProfiles (stored profiles) against addIncremental.
 */
import { describe, expect, it } from 'vitest';
import { GaussianPsf } from '../../../src-main/core/psf/gaussian.js';
import { MoffatPsf } from '../../../src-main/core/psf/moffat.js';
import { allocStamp, type Psf } from '../../../src-main/core/psf/types.js';
import { BackgroundBasis } from '../../../src-main/core/solver/background.js';
import { Particles, Workspace } from '../../../src-main/core/solver/cpgd.js';
import { Rng } from '../../../src-main/core/rng.js';

const W = 40;
const H = 32;

/** A workspace on a noisy image with a few sources, its model and q current (computeQ). */
function workspace(psf: Psf, seed: number): { ws: Workspace; rng: Rng } {
  const rng = new Rng(seed);
  const data = new Float64Array(W * H);
  const weights = new Float64Array(W * H);
  for (let i = 0; i < W * H; i++) {
    data[i] = 50 + 10 * rng.normal();
    weights[i] = 1 / (20 + 30 * rng.uniform());
  }
  const ws = new Workspace({ width: W, height: H, data, weights, psf, lambda: 3, background: new BackgroundBasis('plane', W, H) });
  const ps = new Particles(8);
  for (let k = 0; k < 6; k++) ps.push(-1 + (W + 2) * rng.uniform(), -1 + (H + 2) * rng.uniform(), 200 + 800 * rng.uniform(), 1);
  ws.evaluate(ps);
  ws.computeQ();
  return { ws, rng };
}

describe('Workspace.hessSums', () => {
  for (const [label, psf] of [
    ['round Gaussian σ 1.1', new GaussianPsf(1.1)],
    ['elliptical Gaussian σ 1.3 × 1.9', new GaussianPsf(1.3, 1.9)],
  ] as const) {
    it(`equals the sums and central differences of pointSums (${label}), inside and across the edges`, () => {
      const { ws, rng } = workspace(psf, 7);
      const h = 1e-3;
      const hs = new Float64Array(7);
      const p0 = new Float64Array(4);
      const pp = new Float64Array(4);
      const pm = new Float64Array(4);
      const qp = new Float64Array(4);
      const qm = new Float64Array(4);
      const qMax = ws.q.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(qMax).toBeGreaterThan(0);
      for (let t = 0; t < 60; t++) {
        // Positions up to 3 px beyond the edges: stamps cut by the image border.
        const x = -3 + (W + 6) * rng.uniform();
        const y = -3 + (H + 6) * rng.uniform();
        expect(ws.hessSums(x, y, hs)).toBe(true);
        ws.pointSums(x, y, p0);
        ws.pointSums(x + h, y, pp);
        ws.pointSums(x - h, y, pm);
        ws.pointSums(x, y + h, qp);
        ws.pointSums(x, y - h, qm);
        // Differencing loses ~1e-16·Σ|q ∂φ|/h: an absolute floor from the size of q covers it where
        // the stamp barely reaches the residual.
        const scale = Math.abs(p0[2]) + Math.abs(p0[3]);
        // First-order sums: the same stamps, summed in another order.
        for (const k of [0, 1, 2, 3]) expect(Math.abs(hs[k] - p0[k])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(p0[k])));
        // Second order: the differenced gradients of pointSums (error O(h²) plus rounding/h).
        const sxx = (pp[2] - pm[2]) / (2 * h);
        const syy = (qp[3] - qm[3]) / (2 * h);
        const sxy = 0.5 * ((pp[3] - pm[3]) / (2 * h) + (qp[2] - qm[2]) / (2 * h));
        for (const [got, want] of [
          [hs[4], sxx],
          [hs[5], sxy],
          [hs[6], syy],
        ]) {
          expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * scale + 1e-6 * Math.abs(want) + 1e-9 * qMax);
        }
      }
    });
  }

  it('declines non-separable PSFs, which keep the differenced sums', () => {
    const { ws } = workspace(new MoffatPsf(3, 2.5), 3);
    const hs = new Float64Array(7).fill(42);
    expect(ws.hessSums(10, 10, hs)).toBe(false);
    expect([...hs].every((v) => v === 42)).toBe(true);
  });
});

describe('Workspace.addProfiles', () => {
  it('adds amp·φ to the model and returns the exact change of ½ Σ w (B + model − f)², background fixed', () => {
    const psf = new GaussianPsf(1.2);
    const { ws } = workspace(psf, 11);
    const sep = ws.separable!;
    expect(sep).not.toBeNull();
    const p = ws.p;
    const side = psf.maxStampSide;
    const box = new Int32Array(4);
    const gx = new Float64Array(side);
    const dgx = new Float64Array(side);
    const gy = new Float64Array(side);
    const dgy = new Float64Array(side);
    const st = allocStamp(psf);
    for (const [x, y, amp] of [
      [12.3, 9.7, 500],
      [-0.8, 30.6, 300],
      [39.4, 0.2, -250],
    ]) {
      // The reference: the stamp from SeparablePsf.stamp and the objective summed from scratch
      // over its pixels inside the image, each with the model value it must end with.
      psf.stamp(x, y, st);
      const cells: { idx: number; after: number }[] = [];
      let expected = 0;
      for (let j = 0; j < st.ny; j++) {
        for (let i = 0; i < st.nx; i++) {
          const px = st.x0 + i;
          const py = st.y0 + j;
          if (px < 0 || py < 0 || px >= W || py >= H) continue;
          const idx = py * W + px;
          const B = p.background!.valueAt(px, py, ws.c);
          const d = amp * st.v[j * st.nx + i];
          const r0 = B + ws.phiMu[idx] - p.data[idx];
          expected += 0.5 * p.weights[idx] * ((r0 + d) ** 2 - r0 * r0);
          cells.push({ idx, after: ws.phiMu[idx] + d });
        }
      }
      sep.profiles(x, y, box, 0, gx, dgx, gy, dgy, 0);
      const dF = ws.addProfiles(box, 0, gx, gy, 0, amp);
      expect(Math.abs(dF - expected)).toBeLessThanOrEqual(1e-9 * Math.abs(expected));
      for (const { idx, after } of cells) expect(Math.abs(ws.phiMu[idx] - after)).toBeLessThanOrEqual(1e-12 * Math.abs(amp));
    }
  });
});
