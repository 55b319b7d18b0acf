/** Shared checks for the PSF tests: stamps, sums, centroids, finite-difference gradients. */
import { allocStamp, type Psf, type Stamp } from '../../../src-main/core/psf/types.js';

/** Deterministic uniform [0, 1) generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function stampOf(psf: Psf, x: number, y: number): Stamp {
  const st = allocStamp(psf);
  psf.stamp(x, y, st);
  return st;
}

export function stampSum(st: Stamp): number {
  let s = 0;
  for (let k = 0; k < st.nx * st.ny; k++) s += st.v[k];
  return s;
}

/** φ at pixel (px, py), 0 outside the stamp box. */
export function valueAt(st: Stamp, px: number, py: number): number {
  const i = px - st.x0;
  const j = py - st.y0;
  return i >= 0 && i < st.nx && j >= 0 && j < st.ny ? st.v[j * st.nx + i] : 0;
}

export function peak(st: Stamp): number {
  let m = 0;
  for (let k = 0; k < st.nx * st.ny; k++) m = Math.max(m, st.v[k]);
  return m;
}

/** Flux-weighted mean pixel position. */
export function centroid(st: Stamp): [number, number] {
  let s = 0;
  let sx = 0;
  let sy = 0;
  for (let j = 0, k = 0; j < st.ny; j++) {
    for (let i = 0; i < st.nx; i++, k++) {
      s += st.v[k];
      sx += st.v[k] * (st.x0 + i);
      sy += st.v[k] * (st.y0 + j);
    }
  }
  return [sx / s, sy / s];
}

/**
 * Largest difference between the analytic gradients and central finite differences of the values
 * (step h), and the largest analytic gradient, over the stamp at (x, y). The stamps at x ± h must
 * cover the same box (true unless x ± h crosses a box edge; callers pick generic positions).
 */
export function gradientError(psf: Psf, x: number, y: number, h = 1e-5): { err: number; scale: number } {
  const st = stampOf(psf, x, y);
  let err = 0;
  let scale = 0;
  for (const axis of [0, 1] as const) {
    if (axis === 1 && psf.dims === 1) continue;
    const p = stampOf(psf, x + (axis === 0 ? h : 0), y + (axis === 1 ? h : 0));
    const m = stampOf(psf, x - (axis === 0 ? h : 0), y - (axis === 1 ? h : 0));
    const g = axis === 0 ? st.dx : st.dy;
    for (let j = 0; j < st.ny; j++) {
      for (let i = 0; i < st.nx; i++) {
        const px = st.x0 + i;
        const py = st.y0 + j;
        const fd = (valueAt(p, px, py) - valueAt(m, px, py)) / (2 * h);
        const a = g[j * st.nx + i];
        err = Math.max(err, Math.abs(fd - a));
        scale = Math.max(scale, Math.abs(a));
      }
    }
  }
  return { err, scale };
}

/**
 * Largest |φ(p − x) − φ(T(p − x))| over the stamp for a symmetry T of the offset (mirror in x,
 * mirror in y, transpose): compares the stamp at (cx + u, cy + v) with the one at the mirrored
 * source, pixel by mirrored pixel. cx, cy must be integers.
 */
export function symmetryError(psf: Psf, cx: number, cy: number, u: number, v: number, kind: 'mirror-x' | 'mirror-y' | 'transpose'): number {
  const a = stampOf(psf, cx + u, cy + v);
  const [bu, bv] = kind === 'mirror-x' ? [-u, v] : kind === 'mirror-y' ? [u, -v] : [v, u];
  const b = stampOf(psf, cx + bu, cy + bv);
  let err = 0;
  for (let j = 0; j < a.ny; j++) {
    for (let i = 0; i < a.nx; i++) {
      const du = a.x0 + i - cx;
      const dv = a.y0 + j - cy;
      const [mu, mv] = kind === 'mirror-x' ? [-du, dv] : kind === 'mirror-y' ? [du, -dv] : [dv, du];
      err = Math.max(err, Math.abs(a.v[j * a.nx + i] - valueAt(b, cx + mu, cy + mv)));
    }
  }
  return err;
}
