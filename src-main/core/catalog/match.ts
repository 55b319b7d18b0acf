/**
 * One-to-one matching of a detected catalogue against the truth (or another catalogue), frame by
 * frame, and the usual localisation-challenge metrics.
 *
 * A detection and a true source may be paired when they are in the same frame and at most
 * `tolerance` pixels apart. Among all one-to-one pairings the matcher returns one with the most
 * pairs and, among those, the smallest total distance — the optimal assignment, not a greedy
 * nearest-neighbour pass (which both loses pairs and picks longer ones in crowded fields).
 *
 * Scaling: candidate pairs come from a uniform grid of cells at least `tolerance` wide, so only
 * neighbouring cells are compared; the candidate graph is split into connected components and each
 * is solved on its own by a sparse shortest-augmenting-path (Hungarian / Jonker–Volgenant style)
 * method with Dijkstra on reduced costs. Isolated pairs, the vast majority, cost O(1); nothing ever
 * builds a dense matrix over a frame.
 */

import { InvalidOptionError } from '../errors.js';

/** What the matcher reads of a source. */
export interface MatchPoint {
  frame: number;
  x: number;
  y: number;
  flux: number;
}

/** A matched pair: indices into the `detected` and `truth` arrays and their distance, pixels. */
export interface MatchPair {
  detected: number;
  truth: number;
  distance: number;
}

export interface FrameMatchCounts {
  frame: number;
  /** Number of detections in the frame. */
  detected: number;
  /** Number of true sources in the frame. */
  truth: number;
  tp: number;
  fp: number;
  fn: number;
}

export interface MatchResult {
  /** The pairs, in increasing order of the detection index. */
  pairs: MatchPair[];
  /** Detections matched to a true source. */
  tp: number;
  /** Detections left unmatched. */
  fp: number;
  /** True sources left unmatched. */
  fn: number;
  /** tp / (tp + fp); 1 when there are no detections. */
  precision: number;
  /** tp / (tp + fn); 1 when there are no true sources. */
  recall: number;
  /** 2tp / (2tp + fp + fn), the harmonic mean of precision and recall; 1 when both lists are empty. */
  f1: number;
  /** tp / (tp + fp + fn); 1 when both lists are empty. */
  jaccard: number;
  /** Root mean square distance of the matched pairs, pixels; NaN without pairs. */
  rmse: number;
  /** Mean offset detected − true of the matched pairs, pixels (a systematic shift); NaN without pairs. */
  bias: { x: number; y: number };
  /** Median over the pairs of |flux_detected / flux_true − 1|; NaN without pairs. */
  medianFluxError: number;
  /** Counts per frame, in increasing frame order, for every frame present in either list. */
  perFrame: FrameMatchCounts[];
}

/**
 * Match detections to true sources within `tolerance` pixels, one to one and per frame, maximising
 * the number of pairs and then minimising their total distance. Sources with a non-finite position
 * are never matched. Throws InvalidOptionError for a tolerance that is not a finite number > 0.
 */
export function matchCatalogs(detected: readonly MatchPoint[], truth: readonly MatchPoint[], tolerance: number): MatchResult {
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance <= 0) {
    throw new InvalidOptionError('--tolerance', tolerance, 'the matching tolerance must be a number of pixels > 0');
  }
  const frames = new Map<number, { det: number[]; tru: number[] }>();
  const slot = (f: number) => {
    let e = frames.get(f);
    if (!e) frames.set(f, (e = { det: [], tru: [] }));
    return e;
  };
  detected.forEach((s, i) => slot(s.frame).det.push(i));
  truth.forEach((s, i) => slot(s.frame).tru.push(i));

  const pairs: MatchPair[] = [];
  const perFrame: FrameMatchCounts[] = [];
  for (const f of [...frames.keys()].sort((a, b) => a - b)) {
    const { det, tru } = frames.get(f)!;
    const before = pairs.length;
    matchFrame(detected, truth, det, tru, tolerance, pairs);
    const tp = pairs.length - before;
    perFrame.push({ frame: f, detected: det.length, truth: tru.length, tp, fp: det.length - tp, fn: tru.length - tp });
  }
  pairs.sort((a, b) => a.detected - b.detected);

  const tp = pairs.length;
  const fp = detected.length - tp;
  const fn = truth.length - tp;
  let d2 = 0;
  let bx = 0;
  let by = 0;
  const fluxErr: number[] = [];
  for (const p of pairs) {
    d2 += p.distance * p.distance;
    bx += detected[p.detected].x - truth[p.truth].x;
    by += detected[p.detected].y - truth[p.truth].y;
    fluxErr.push(Math.abs(detected[p.detected].flux / truth[p.truth].flux - 1));
  }
  return {
    pairs,
    tp,
    fp,
    fn,
    precision: tp + fp > 0 ? tp / (tp + fp) : 1,
    recall: tp + fn > 0 ? tp / (tp + fn) : 1,
    f1: tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : 1,
    jaccard: tp + fp + fn > 0 ? tp / (tp + fp + fn) : 1,
    rmse: tp > 0 ? Math.sqrt(d2 / tp) : Number.NaN,
    bias: tp > 0 ? { x: bx / tp, y: by / tp } : { x: Number.NaN, y: Number.NaN },
    medianFluxError: median(fluxErr),
    perFrame,
  };
}

/** Median of the numbers (NaN for none); NaNs sort last. */
function median(xs: number[]): number {
  const n = xs.length;
  if (n === 0) return Number.NaN;
  const a = Float64Array.from(xs).sort();
  return n % 2 === 1 ? a[(n - 1) >> 1] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

/** Match one frame: `detIdx` and `truIdx` index into the full arrays; pairs are appended to `out`. */
function matchFrame(
  detected: readonly MatchPoint[],
  truth: readonly MatchPoint[],
  detAll: readonly number[],
  truAll: readonly number[],
  tol: number,
  out: MatchPair[],
): void {
  const finite = (p: MatchPoint) => Number.isFinite(p.x) && Number.isFinite(p.y);
  const det = detAll.filter((i) => finite(detected[i]));
  const tru = truAll.filter((i) => finite(truth[i]));
  const nD = det.length;
  const nT = tru.length;
  if (nD === 0 || nT === 0) return;

  // Grid over the true sources: cells at least `tol` wide, and not many more cells than sources.
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const t of tru) {
    const p = truth[t];
    if (p.x < minX) minX = p.x;
    if (p.x > maxX) maxX = p.x;
    if (p.y < minY) minY = p.y;
    if (p.y > maxY) maxY = p.y;
  }
  let cell = tol;
  let gx = 0;
  let gy = 0;
  const maxCells = 4 * nT + 16;
  for (;;) {
    gx = Math.floor((maxX - minX) / cell) + 1;
    gy = Math.floor((maxY - minY) / cell) + 1;
    if (gx * gy <= maxCells) break;
    cell *= Math.max(1.05, Math.sqrt((gx * gy) / maxCells));
  }
  const cellOf = new Int32Array(nT);
  const start = new Int32Array(gx * gy + 1);
  for (let k = 0; k < nT; k++) {
    const p = truth[tru[k]];
    const c = Math.floor((p.y - minY) / cell) * gx + Math.floor((p.x - minX) / cell);
    cellOf[k] = c;
    start[c + 1]++;
  }
  for (let c = 0; c < gx * gy; c++) start[c + 1] += start[c];
  const items = new Int32Array(nT);
  const fill = start.slice(0, gx * gy);
  for (let k = 0; k < nT; k++) items[fill[cellOf[k]]++] = k;

  // Candidate edges, grouped by detection (local indices), and union–find over dets ∪ truths.
  const edgeStart = new Int32Array(nD + 1);
  const edgeTru: number[] = [];
  const edgeDist: number[] = [];
  const parent = new Int32Array(nD + nT);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  const tol2 = tol * tol;
  for (let d = 0; d < nD; d++) {
    const p = detected[det[d]];
    const cx = Math.floor((p.x - minX) / cell);
    const cy = Math.floor((p.y - minY) / cell);
    for (let yy = Math.max(0, cy - 1); yy <= Math.min(gy - 1, cy + 1); yy++) {
      for (let xx = Math.max(0, cx - 1); xx <= Math.min(gx - 1, cx + 1); xx++) {
        const c = yy * gx + xx;
        for (let q = start[c]; q < start[c + 1]; q++) {
          const k = items[q];
          const t = truth[tru[k]];
          const dx = p.x - t.x;
          const dy = p.y - t.y;
          const r2 = dx * dx + dy * dy;
          if (r2 <= tol2) {
            edgeTru.push(k);
            edgeDist.push(Math.sqrt(r2));
            const a = find(d);
            const b = find(nD + k);
            if (a !== b) parent[a] = b;
          }
        }
      }
    }
    edgeStart[d + 1] = edgeTru.length;
  }
  if (edgeTru.length === 0) return;

  // Components that have at least one edge.
  const compRows = new Map<number, number[]>();
  const compCols = new Map<number, number[]>();
  for (let d = 0; d < nD; d++) {
    if (edgeStart[d + 1] === edgeStart[d]) continue;
    const r = find(d);
    let l = compRows.get(r);
    if (!l) compRows.set(r, (l = []));
    l.push(d);
  }
  const seenTru = new Uint8Array(nT);
  for (let e = 0; e < edgeTru.length; e++) seenTru[edgeTru[e]] = 1;
  for (let k = 0; k < nT; k++) {
    if (!seenTru[k]) continue;
    const r = find(nD + k);
    let l = compCols.get(r);
    if (!l) compCols.set(r, (l = []));
    l.push(k);
  }

  const solver = new SparseAssignment();
  const colLocal = new Int32Array(nT).fill(-1);
  for (const [root, rows] of compRows) {
    const cols = compCols.get(root)!;
    if (rows.length === 1 || cols.length === 1) {
      // A star: every edge shares the one row (or column); the nearest candidate is optimal.
      if (rows.length === 1) {
        const d = rows[0];
        let best = edgeStart[d];
        for (let e = best + 1; e < edgeStart[d + 1]; e++) if (edgeDist[e] < edgeDist[best]) best = e;
        out.push({ detected: det[d], truth: tru[edgeTru[best]], distance: edgeDist[best] });
      } else {
        let bestD = -1;
        let bestE = -1;
        for (const d of rows) {
          const e = edgeStart[d]; // one column only: each row has exactly one edge
          if (bestE < 0 || edgeDist[e] < edgeDist[bestE]) {
            bestE = e;
            bestD = d;
          }
        }
        out.push({ detected: det[bestD], truth: tru[edgeTru[bestE]], distance: edgeDist[bestE] });
      }
      continue;
    }
    cols.forEach((k, c) => (colLocal[k] = c));
    const adjStart = new Int32Array(rows.length + 1);
    const adjCol: number[] = [];
    const adjCost: number[] = [];
    rows.forEach((d, r) => {
      for (let e = edgeStart[d]; e < edgeStart[d + 1]; e++) {
        adjCol.push(colLocal[edgeTru[e]]);
        adjCost.push(edgeDist[e]);
      }
      adjStart[r + 1] = adjCol.length;
    });
    const colOfRow = solver.solve(rows.length, cols.length, adjStart, Int32Array.from(adjCol), Float64Array.from(adjCost), tol);
    rows.forEach((d, r) => {
      const c = colOfRow[r];
      if (c < 0) return;
      for (let e = edgeStart[d]; e < edgeStart[d + 1]; e++) {
        if (edgeTru[e] === cols[c]) {
          out.push({ detected: det[d], truth: tru[cols[c]], distance: edgeDist[e] });
          break;
        }
      }
    });
  }
}

/**
 * Minimum-cost assignment on a sparse bipartite graph where every row may also stay unassigned.
 * Each row r gets a private dummy column R_r of cost U (greater than any total of real costs),
 * so a complete assignment of the rows always exists and, minimising Σ cost, it first maximises
 * the number of real pairs and then minimises their total cost. Solved row by row with shortest
 * augmenting paths (Crouse 2016, the method behind scipy's linear_sum_assignment), using Dijkstra
 * with a binary heap over the sparse edges instead of scanning dense rows.
 */
class SparseAssignment {
  private heapD = new Float64Array(64);
  private heapJ = new Int32Array(64);
  private heapN = 0;

  private push(d: number, j: number): void {
    if (this.heapN === this.heapD.length) {
      const nd = new Float64Array(this.heapN * 2);
      nd.set(this.heapD);
      const nj = new Int32Array(this.heapN * 2);
      nj.set(this.heapJ);
      this.heapD = nd;
      this.heapJ = nj;
    }
    const hd = this.heapD;
    const hj = this.heapJ;
    let i = this.heapN++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (hd[p] <= d) break;
      hd[i] = hd[p];
      hj[i] = hj[p];
      i = p;
    }
    hd[i] = d;
    hj[i] = j;
  }

  /** Pop the minimum; returns its column (its key is left in `this.popped`). */
  private popped = 0;
  private pop(): number {
    const hd = this.heapD;
    const hj = this.heapJ;
    const topJ = hj[0];
    this.popped = hd[0];
    const n = --this.heapN;
    const d = hd[n];
    const j = hj[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && hd[c + 1] < hd[c]) c++;
      if (hd[c] >= d) break;
      hd[i] = hd[c];
      hj[i] = hj[c];
      i = c;
    }
    hd[i] = d;
    hj[i] = j;
    return topJ;
  }

  /**
   * @returns for each row its real column, or −1 when it stays unassigned.
   * @param maxCost an upper bound of every edge cost (the tolerance).
   */
  solve(nRows: number, nCols: number, adjStart: Int32Array, adjCol: Int32Array, adjCost: Float64Array, maxCost: number): Int32Array {
    const nAll = nCols + nRows; // real columns, then one dummy per row
    const U = maxCost * (Math.min(nRows, nCols) + 1);
    const u = new Float64Array(nRows);
    const v = new Float64Array(nAll);
    const col4row = new Int32Array(nRows).fill(-1);
    const row4col = new Int32Array(nAll).fill(-1);
    const spc = new Float64Array(nAll).fill(Infinity);
    const path = new Int32Array(nAll);
    const settled = new Uint8Array(nAll);
    const touched: number[] = [];
    const settledList: number[] = [];
    const visitedRows: number[] = [];

    for (let cur = 0; cur < nRows; cur++) {
      let minVal = 0;
      let i = cur;
      let sink = -1;
      this.heapN = 0;
      for (;;) {
        visitedRows.push(i);
        const base = minVal - u[i];
        for (let e = adjStart[i]; e <= adjStart[i + 1]; e++) {
          // e === adjStart[i + 1] stands for the row's dummy column.
          const j = e < adjStart[i + 1] ? adjCol[e] : nCols + i;
          if (settled[j]) continue;
          const r = base + (e < adjStart[i + 1] ? adjCost[e] : U) - v[j];
          if (r < spc[j]) {
            if (spc[j] === Infinity) touched.push(j);
            spc[j] = r;
            path[j] = i;
            this.push(r, j);
          }
        }
        let j = -1;
        while (this.heapN > 0) {
          const c = this.pop();
          if (!settled[c] && this.popped <= spc[c]) {
            j = c;
            break;
          }
        }
        // Unreachable: the row's own dummy column is always a free candidate.
        if (j < 0) throw new Error('assignment: no augmenting path');
        minVal = spc[j];
        settled[j] = 1;
        settledList.push(j);
        if (row4col[j] < 0) {
          sink = j;
          break;
        }
        i = row4col[j];
      }
      // Update the dual variables (keeps every reduced cost ≥ 0), then augment along the path.
      u[cur] += minVal;
      for (const r of visitedRows) if (r !== cur) u[r] += minVal - spc[col4row[r]];
      for (const c of settledList) v[c] -= minVal - spc[c];
      let j = sink;
      for (;;) {
        const r = path[j];
        row4col[j] = r;
        const prev = col4row[r];
        col4row[r] = j;
        j = prev;
        if (r === cur) break;
      }
      for (const c of touched) spc[c] = Infinity;
      for (const c of settledList) settled[c] = 0;
      touched.length = 0;
      settledList.length = 0;
      visitedRows.length = 0;
    }
    const res = new Int32Array(nRows);
    for (let r = 0; r < nRows; r++) res[r] = col4row[r] < nCols ? col4row[r] : -1;
    return res;
  }
}
