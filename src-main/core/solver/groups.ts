/**
 * Joint Gauss–Newton systems for groups of overlapping sources: the parameters of member m are
 * (a_m, x_m, y_m) (or (a_m, x_m) in 1-D), the model m(p) = Σ s_m a_m φ(p − x_m), so
 * J_m = s_m (φ, a_m ∂xφ, a_m ∂yφ). Used by the solver's sliding step (with the gradient) and by
 * the catalogue's Fisher information (JᵀWJ only).
 */

import type { Stamp } from '../psf/types.js';

export interface Member {
  a: number;
  s: number;
  stamp: Stamp;
}

export function copyStamp(st: Stamp): Stamp {
  const n = st.nx * st.ny;
  return { x0: st.x0, y0: st.y0, nx: st.nx, ny: st.ny, v: st.v.slice(0, n), dx: st.dx.slice(0, n), dy: st.dy.slice(0, n) };
}

/**
 * A member's Jacobian columns over its stamp, J[d][k] = s·(φ, a ∂xφ, a ∂yφ)[k]; the y column is
 * left zero when `withY` is false (1-D PSFs, whose y sums are never read).
 */
export function jacobianColumns(m: Member, withY: boolean): Float64Array[] {
  const n = m.stamp.nx * m.stamp.ny;
  const c0 = new Float64Array(n);
  const c1 = new Float64Array(n);
  const c2 = new Float64Array(n);
  const sa = m.s * m.a;
  const { v, dx, dy } = m.stamp;
  for (let k = 0; k < n; k++) {
    c0[k] = m.s * v[k];
    c1[k] = sa * dx[k];
    if (withY) c2[k] = sa * dy[k];
  }
  return [c0, c1, c2];
}

/**
 * The nine sums Σ w J1[d1] J2[d2] (row-major in d1, d2) over the overlap of two members' stamps,
 * inside the image, in one pass: each is accumulated in the same pixel order with the same
 * operations as one sum at a time, but the weights and columns are read once instead of up to
 * nine times. With `cross` false (a member with itself) the three below the diagonal are left 0.
 * Returns false, out untouched, when the stamps do not overlap inside the image.
 */
export function blockSums(s1: Stamp, J1: Float64Array[], s2: Stamp, J2: Float64Array[], width: number, height: number, weights: Float64Array, cross: boolean, out: Float64Array): boolean {
  const xa = Math.max(s1.x0, s2.x0, 0);
  const xb = Math.min(s1.x0 + s1.nx, s2.x0 + s2.nx, width);
  const ya = Math.max(s1.y0, s2.y0, 0);
  const yb = Math.min(s1.y0 + s1.ny, s2.y0 + s2.ny, height);
  if (xa >= xb || ya >= yb) return false;
  const [a0, a1, a2] = J1;
  const [b0, b1, b2] = J2;
  let s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0, s20 = 0, s21 = 0, s22 = 0;
  for (let py = ya; py < yb; py++) {
    const row = py * width;
    const k1 = (py - s1.y0) * s1.nx - s1.x0;
    const k2 = (py - s2.y0) * s2.nx - s2.x0;
    for (let px = xa; px < xb; px++) {
      const w = weights[row + px];
      const wu0 = w * a0[k1 + px];
      const wu1 = w * a1[k1 + px];
      const wu2 = w * a2[k1 + px];
      const v0 = b0[k2 + px];
      const v1 = b1[k2 + px];
      const v2 = b2[k2 + px];
      s00 += wu0 * v0;
      s01 += wu0 * v1;
      s02 += wu0 * v2;
      s11 += wu1 * v1;
      s12 += wu1 * v2;
      s22 += wu2 * v2;
      if (cross) {
        s10 += wu1 * v0;
        s20 += wu2 * v0;
        s21 += wu2 * v1;
      }
    }
  }
  out[0] = s00;
  out[1] = s01;
  out[2] = s02;
  out[3] = s10;
  out[4] = s11;
  out[5] = s12;
  out[6] = s20;
  out[7] = s21;
  out[8] = s22;
  return true;
}

/**
 * A = JᵀWJ (P×P, row-major, P = members × dims) and, when q (= w·(model − f), dense) is given,
 * g = Jᵀ q, the gradient of the data term ½ Σ w (model − f)².
 */
export function groupSystem(members: Member[], width: number, height: number, weights: Float64Array, dims: 2 | 3, q: Float64Array | null): { A: Float64Array; g: Float64Array; P: number } {
  const P = members.length * dims;
  const A = new Float64Array(P * P);
  const g = new Float64Array(P);
  const jacs = members.map((m) => jacobianColumns(m, dims === 3));
  const sums = new Float64Array(9);
  for (let m1 = 0; m1 < members.length; m1++) {
    const s1 = members[m1].stamp;
    const J1 = jacs[m1];
    if (q) {
      const xa = Math.max(s1.x0, 0);
      const xb = Math.min(s1.x0 + s1.nx, width);
      const ya = Math.max(s1.y0, 0);
      const yb = Math.min(s1.y0 + s1.ny, height);
      for (let d = 0; d < dims; d++) {
        const col = J1[d];
        let acc = 0;
        for (let py = ya; py < yb; py++) {
          const row = py * width;
          const krow = (py - s1.y0) * s1.nx - s1.x0;
          for (let px = xa; px < xb; px++) acc += q[row + px] * col[krow + px];
        }
        g[m1 * dims + d] = acc;
      }
    }
    for (let m2 = m1; m2 < members.length; m2++) {
      const s2 = members[m2].stamp;
      const J2 = jacs[m2];
      if (dims === 3) {
        if (!blockSums(s1, J1, s2, J2, width, height, weights, m1 !== m2, sums)) continue;
        const r0 = m1 * 3 * P + m2 * 3;
        A[r0] = sums[0];
        A[r0 + 1] = sums[1];
        A[r0 + 2] = sums[2];
        A[r0 + P + 1] = sums[4];
        A[r0 + P + 2] = sums[5];
        A[r0 + 2 * P + 2] = sums[8];
        if (m1 !== m2) {
          A[r0 + P] = sums[3];
          A[r0 + 2 * P] = sums[6];
          A[r0 + 2 * P + 1] = sums[7];
        }
        continue;
      }
      const xa = Math.max(s1.x0, s2.x0, 0);
      const xb = Math.min(s1.x0 + s1.nx, s2.x0 + s2.nx, width);
      const ya = Math.max(s1.y0, s2.y0, 0);
      const yb = Math.min(s1.y0 + s1.ny, s2.y0 + s2.ny, height);
      if (xa >= xb || ya >= yb) continue;
      for (let d1 = 0; d1 < dims; d1++) {
        const c1 = J1[d1];
        for (let d2 = m1 === m2 ? d1 : 0; d2 < dims; d2++) {
          const c2 = J2[d2];
          let acc = 0;
          for (let py = ya; py < yb; py++) {
            const row = py * width;
            const k1 = (py - s1.y0) * s1.nx - s1.x0;
            const k2 = (py - s2.y0) * s2.nx - s2.x0;
            for (let px = xa; px < xb; px++) acc += weights[row + px] * c1[k1 + px] * c2[k2 + px];
          }
          A[(m1 * dims + d1) * P + m2 * dims + d2] = acc;
        }
      }
    }
  }
  for (let r = 0; r < P; r++) for (let c = 0; c < r; c++) A[r * P + c] = A[c * P + r];
  return { A, g, P };
}

/**
 * Groups of items whose positions are within `link` of each other (union–find on a hash grid),
 * split into chunks of at most `maxSize` by position order when a group is larger.
 */
export function proximityGroups(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, link: number, maxSize: number): number[][] {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  const grid = new Map<number, number[]>();
  const key = (cx: number, cy: number) => cx * 1_000_003 + cy;
  for (let i = 0; i < n; i++) {
    const cx = Math.floor(xs[i] / link);
    const cy = Math.floor(ys[i] / link);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const l = grid.get(key(cx + dx, cy + dy));
        if (!l) continue;
        for (const j of l) if (Math.hypot(xs[i] - xs[j], ys[i] - ys[j]) <= link) parent[find(i)] = find(j);
      }
    }
    const k = key(cx, cy);
    const l = grid.get(k);
    if (l) l.push(i);
    else grid.set(k, [i]);
  }
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    const l = byRoot.get(r);
    if (l) l.push(i);
    else byRoot.set(r, [i]);
  }
  const out: number[][] = [];
  for (const g of byRoot.values()) {
    if (g.length <= maxSize) out.push(g);
    else {
      // Split a large component into compact chunks: each takes the nearest unassigned members of
      // its first one, so close pairs (the ill-conditioned ones) stay together.
      const left = new Set(g);
      while (left.size > 0) {
        const seed = left.values().next().value as number;
        const chunk = [...left].sort((a, b) => Math.hypot(xs[a] - xs[seed], ys[a] - ys[seed]) - Math.hypot(xs[b] - xs[seed], ys[b] - ys[seed])).slice(0, maxSize);
        for (const i of chunk) left.delete(i);
        out.push(chunk);
      }
    }
  }
  return out;
}
