/**
 * Fitting the PSF shape to stars of an image: a least-squares fit of pixel-integrated Gaussian
 * (σ) or Moffat (FWHM, β) profiles with a free centre, flux and local background per star and the
 * shape shared by all stars, by Levenberg–Marquardt. Also proposes bright isolated stars to fit.
 *
 * Model of star k in its box of pixels p: m_p = F_k φ_θ(p − x_k) + b_k, with φ_θ the PSF of shape
 * θ (unit sum, as the solver uses it). Residuals are weighted by 1/√(m̂_p + s²)-like Poisson
 * weights would need the camera; plain least squares is what users of peer tools expect for a
 * shape fit and is unbiased for the shape, so the weights are uniform. Position and flux
 * derivatives come from the PSF's stamp; shape derivatives from central differences.
 *
 * Pure: no DOM, no Node. Throws InvalidOptionError for unusable input.
 */
import { InvalidOptionError } from '../errors.js';
import type { Image } from '../image.js';
import { GaussianPsf } from './gaussian.js';
import { MoffatPsf } from './moffat.js';
import { allocStamp, type Psf } from './types.js';

export type PsfShape = { kind: 'gaussian'; sigma: number } | { kind: 'moffat'; fwhm: number; beta: number };

export interface StarGuess {
  x: number;
  y: number;
}

export interface FittedStar {
  x: number;
  y: number;
  flux: number;
  background: number;
  /** rms of this star's residuals / its peak above background. */
  residual: number;
}

export interface PsfFitOptions {
  /** Starting shape (default σ 1.5 px Gaussian or FWHM 3.5 px, β 2.5 Moffat). */
  initial?: PsfShape;
  /** Half-size of each star's box, pixels (default from the starting shape: ⌈3·FWHM/2.35⌉+2, 3 … 15). */
  halfSize?: number;
  /** Levenberg–Marquardt iterations at most (default 60). */
  maxIter?: number;
}

export interface PsfFitResult {
  shape: PsfShape;
  stars: FittedStar[];
  /** rms of all residuals / rms of the data above background over the boxes: 0 for a perfect model. */
  relativeResidual: number;
  iterations: number;
  converged: boolean;
  /** Stars left out of the final fit because they fitted much worse than the others (blends). */
  rejected: number;
  /** The boxes, for display: data, model and residual, row-major, per star. */
  boxes: { x0: number; y0: number; size: number; data: Float64Array; model: Float64Array }[];
}

const SHAPE_LIMITS = { sigma: [0.3, 50], fwhm: [0.7, 120], beta: [1.05, 20] } as const;

function shapeParams(s: PsfShape): number[] {
  return s.kind === 'gaussian' ? [s.sigma] : [s.fwhm, s.beta];
}

function shapeOf(kind: PsfShape['kind'], p: readonly number[]): PsfShape {
  return kind === 'gaussian' ? { kind, sigma: p[0]! } : { kind, fwhm: p[0]!, beta: p[1]! };
}

function clampShape(kind: PsfShape['kind'], p: number[]): number[] {
  const lim = kind === 'gaussian' ? [SHAPE_LIMITS.sigma] : [SHAPE_LIMITS.fwhm, SHAPE_LIMITS.beta];
  return p.map((v, i) => Math.min(lim[i]![1], Math.max(lim[i]![0], v)));
}

export function psfOfShape(s: PsfShape): Psf {
  return s.kind === 'gaussian' ? new GaussianPsf(s.sigma, s.sigma) : new MoffatPsf(s.fwhm, s.beta);
}

function tryPsf(s: PsfShape): Psf | null {
  try {
    return psfOfShape(s);
  } catch {
    return null;
  }
}

/** Gaussian-equivalent FWHM of a shape, pixels. */
export function shapeFwhm(s: PsfShape): number {
  return s.kind === 'gaussian' ? 2.3548 * s.sigma : s.fwhm;
}

/** φ(p − (x, y)) and its position derivatives over a square box. */
function evalBox(psf: Psf, stamp: ReturnType<typeof allocStamp>, x: number, y: number, x0: number, y0: number, n: number, v: Float64Array, dx: Float64Array, dy: Float64Array): void {
  v.fill(0);
  dx.fill(0);
  dy.fill(0);
  psf.stamp(x, y, stamp);
  for (let j = 0; j < stamp.ny; j++) {
    const by = stamp.y0 + j - y0;
    if (by < 0 || by >= n) continue;
    for (let i = 0; i < stamp.nx; i++) {
      const bx = stamp.x0 + i - x0;
      if (bx < 0 || bx >= n) continue;
      const m = j * stamp.nx + i;
      const b = by * n + bx;
      v[b] = stamp.v[m]!;
      dx[b] = stamp.dx[m]!;
      dy[b] = stamp.dy[m]!;
    }
  }
}

/** Solve A x = b for a symmetric positive definite A (n × n, row-major) by Cholesky; null if not SPD. */
function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * y[k]!;
    y[i] = s / L[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
    x[i] = s / L[i * n + i]!;
  }
  return x;
}

/**
 * Fit the PSF shape to the stars near `guesses` (pixel coordinates, centre of the first pixel at
 * (0, 0)). Stars whose box leaves the image are dropped; at least one must remain.
 */
export function fitPsf(image: Image, kind: PsfShape['kind'], guesses: readonly StarGuess[], options: PsfFitOptions = {}): PsfFitResult {
  let r = fitOnce(image, kind, guesses, options);
  // Blends and cosmic rays that passed for isolated stars fit badly: drop the stars whose
  // residual is more than twice the median and fit again (once), from the shape found.
  if (r.stars.length >= 3) {
    const med = [...r.stars.map((s) => s.residual)].sort((a, b) => a - b)[r.stars.length >> 1]!;
    const kept = r.stars.filter((s) => s.residual <= 2 * med);
    if (kept.length < r.stars.length && kept.length >= 1) {
      const again = fitOnce(image, kind, kept, { ...options, initial: r.shape });
      r = { ...again, rejected: r.stars.length - kept.length + r.rejected };
    }
  }
  return r;
}

function fitOnce(image: Image, kind: PsfShape['kind'], guesses: readonly StarGuess[], options: PsfFitOptions): PsfFitResult {
  if (kind !== 'gaussian' && kind !== 'moffat') throw new InvalidOptionError('psf.kind', kind, "must be 'gaussian' or 'moffat'");
  const initial: PsfShape = options.initial && options.initial.kind === kind ? options.initial : kind === 'gaussian' ? { kind, sigma: 1.5 } : { kind, fwhm: 3.5, beta: 2.5 };
  const half = options.halfSize ?? Math.min(15, Math.max(3, Math.ceil((3 * shapeFwhm(initial)) / 2.35) + 2));
  if (!(Number.isInteger(half) && half >= 2 && half <= 40)) throw new InvalidOptionError('halfSize', half, 'must be a whole number of pixels from 2 to 40');
  const n = 2 * half + 1;
  const maxIter = options.maxIter ?? 60;
  const { width, height, data } = image;

  // The stars and their boxes (pixels with a non-finite value are left out of the fit).
  // w: each star's residuals are divided by its first flux estimate, so every star weighs the same
  // in the shape whatever its brightness (otherwise the brightest star alone sets the shape).
  interface Box { x0: number; y0: number; d: Float64Array; ok: Uint8Array; w: number }
  const boxes: Box[] = [];
  const params: number[] = []; // per star: x, y, flux, background
  for (const g of guesses) {
    const cx = Math.round(g.x);
    const cy = Math.round(g.y);
    const x0 = cx - half;
    const y0 = cy - half;
    if (!(Number.isFinite(g.x) && Number.isFinite(g.y)) || x0 < 0 || y0 < 0 || x0 + n > width || y0 + n > height) continue;
    const d = new Float64Array(n * n);
    const ok = new Uint8Array(n * n);
    let min = Infinity;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const v = data[(y0 + j) * width + x0 + i]!;
        if (!Number.isFinite(v)) continue;
        d[j * n + i] = v;
        ok[j * n + i] = 1;
        if (v < min) min = v;
      }
    }
    // Background from the box's edge pixels (median), flux as the sum above it.
    const edge: number[] = [];
    for (let k = 0; k < n; k++) for (const m of [k, (n - 1) * n + k, k * n, k * n + n - 1]) if (ok[m]) edge.push(d[m]!);
    edge.sort((a, b) => a - b);
    const bg = edge.length ? edge[edge.length >> 1]! : min;
    for (let m = 0; m < n * n; m++) if (ok[m]) sum += d[m]! - bg;
    if (!(sum > 0)) continue;
    boxes.push({ x0, y0, d, ok, w: 1 / (sum * sum) });
    params.push(g.x, g.y, sum, bg);
  }
  if (boxes.length === 0) throw new InvalidOptionError('stars', guesses.length, 'no star is far enough inside the image to fit (each needs a box of ' + n + '×' + n + ' pixels) or above its background');

  const ns = boxes.length;
  const nShape = kind === 'gaussian' ? 1 : 2;
  const np = nShape + 4 * ns;
  let shape = shapeParams(initial);
  let p = params.slice();

  const v = new Float64Array(n * n);
  const gx = new Float64Array(n * n);
  const gy = new Float64Array(n * n);
  const vp = new Float64Array(n * n);
  const vm = new Float64Array(n * n);
  const tmp = new Float64Array(n * n);

  /** Sum of squared residuals for shape s and star parameters q. */
  const cost = (s: number[], q: number[]): number => {
    const psf = tryPsf(shapeOf(kind, s));
    if (!psf) return Infinity;
    const st = allocStamp(psf);
    let c = 0;
    boxes.forEach((b, k) => {
      evalBox(psf, st, q[4 * k]!, q[4 * k + 1]!, b.x0, b.y0, n, v, gx, gy);
      for (let m = 0; m < n * n; m++) if (b.ok[m]) c += b.w * (q[4 * k + 2]! * v[m]! + q[4 * k + 3]! - b.d[m]!) ** 2;
    });
    return c;
  };

  let c = cost(shape, p);
  let mu = 1e-3;
  let iter = 0;
  let converged = false;
  for (; iter < maxIter; iter++) {
    const JtJ = new Float64Array(np * np);
    const Jtr = new Float64Array(np);
    const psf = psfOfShape(shapeOf(kind, shape));
    const st = allocStamp(psf);
    const hs = shape.map((t) => Math.max(1e-4, 1e-3 * t));
    // Central differences; one-sided where a step leaves the shapes the PSF accepts (a Moffat of
    // small β needs a support wider than PSFs may have).
    const shifted = hs.map((h, a) => {
      const plus = shape.slice();
      const minus = shape.slice();
      plus[a]! += h;
      minus[a]! -= h;
      const pp = tryPsf(shapeOf(kind, plus));
      const pm = tryPsf(shapeOf(kind, minus));
      if (pp && pm) return { plus: pp, minus: pm, span: 2 * h };
      return { plus: pp ?? psf, minus: pm ?? psf, span: h };
    });
    const stP = shifted.map((s) => allocStamp(s.plus));
    const stM = shifted.map((s) => allocStamp(s.minus));
    const dShape = shifted.map(() => new Float64Array(n * n));
    const row = new Float64Array(nShape + 4);
    const idx = new Int32Array(nShape + 4);
    boxes.forEach((b, k) => {
      const [x, y, F, bg] = [p[4 * k]!, p[4 * k + 1]!, p[4 * k + 2]!, p[4 * k + 3]!];
      evalBox(psf, st, x, y, b.x0, b.y0, n, v, gx, gy);
      shifted.forEach((s, a) => {
        evalBox(s.plus, stP[a]!, x, y, b.x0, b.y0, n, vp, tmp, tmp);
        evalBox(s.minus, stM[a]!, x, y, b.x0, b.y0, n, vm, tmp, tmp);
        const out = dShape[a]!;
        for (let m = 0; m < n * n; m++) out[m] = (F * (vp[m]! - vm[m]!)) / s.span;
      });
      for (let a = 0; a < nShape; a++) idx[a] = a;
      for (let a = 0; a < 4; a++) idx[nShape + a] = nShape + 4 * k + a;
      for (let m = 0; m < n * n; m++) {
        if (!b.ok[m]) continue;
        const r = F * v[m]! + bg - b.d[m]!;
        for (let a = 0; a < nShape; a++) row[a] = dShape[a]![m]!;
        row[nShape] = F * gx[m]!;
        row[nShape + 1] = F * gy[m]!;
        row[nShape + 2] = v[m]!;
        row[nShape + 3] = 1;
        for (let a = 0; a < row.length; a++) {
          const ia = idx[a]!;
          Jtr[ia] += b.w * row[a]! * r;
          for (let e = 0; e <= a; e++) JtJ[ia * np + idx[e]!] += b.w * row[a]! * row[e]!;
        }
      }
    });
    // Symmetrise (only the lower triangle of each block was filled, in index order per block).
    for (let i = 0; i < np; i++) for (let j = 0; j < i; j++) {
      const s = JtJ[i * np + j]! + JtJ[j * np + i]!;
      JtJ[i * np + j] = s;
      JtJ[j * np + i] = s;
    }
    let improved = false;
    for (let tries = 0; tries < 12; tries++) {
      const A = JtJ.slice();
      for (let i = 0; i < np; i++) A[i * np + i] = JtJ[i * np + i]! * (1 + mu) + 1e-12;
      const neg = Jtr.map((g) => -g);
      const step = solveSpd(A, neg, np);
      if (!step) {
        mu *= 10;
        continue;
      }
      const s2 = clampShape(kind, shape.map((t, a) => t + step[a]!));
      const q2 = p.map((t, i) => t + step[nShape + i]!);
      // Keep each centre within its box (a star that wanders off is not a star of this box).
      boxes.forEach((b, k) => {
        q2[4 * k] = Math.min(b.x0 + n - 1, Math.max(b.x0, q2[4 * k]!));
        q2[4 * k + 1] = Math.min(b.y0 + n - 1, Math.max(b.y0, q2[4 * k + 1]!));
      });
      const c2 = cost(s2, q2);
      if (c2 < c) {
        const rel = (c - c2) / Math.max(c, 1e-300);
        shape = s2;
        p = q2;
        c = c2;
        mu = Math.max(1e-9, mu / 3);
        improved = true;
        if (rel < 1e-10) converged = true;
        break;
      }
      mu *= 10;
    }
    if (!improved) {
      converged = true;
      break;
    }
    if (converged) break;
  }

  // Residuals for display and the summary figures.
  const psf = psfOfShape(shapeOf(kind, shape));
  const st = allocStamp(psf);
  let rss = 0;
  let signal = 0;
  const stars: FittedStar[] = [];
  const outBoxes: PsfFitResult['boxes'] = [];
  boxes.forEach((b, k) => {
    const [x, y, F, bg] = [p[4 * k]!, p[4 * k + 1]!, p[4 * k + 2]!, p[4 * k + 3]!];
    evalBox(psf, st, x, y, b.x0, b.y0, n, v, gx, gy);
    const model = new Float64Array(n * n);
    let r2 = 0;
    let count = 0;
    let peak = 0;
    for (let m = 0; m < n * n; m++) {
      model[m] = F * v[m]! + bg;
      if (!b.ok[m]) continue;
      const r = model[m]! - b.d[m]!;
      r2 += r * r;
      signal += (b.d[m]! - bg) ** 2;
      count++;
      peak = Math.max(peak, F * v[m]!);
    }
    rss += r2;
    stars.push({ x, y, flux: F, background: bg, residual: peak > 0 ? Math.sqrt(r2 / Math.max(1, count)) / peak : NaN });
    outBoxes.push({ x0: b.x0, y0: b.y0, size: n, data: b.d, model });
  });
  return { shape: shapeOf(kind, shape), stars, relativeResidual: signal > 0 ? Math.sqrt(rss / signal) : NaN, iterations: iter, converged, rejected: 0, boxes: outBoxes };
}

export interface ProposeOptions {
  /** Stars to propose at most (default 12). */
  count?: number;
  /** A star needs no brighter-than-a-tenth neighbour peak within this many pixels (default 4·FWHM guess, ≥ 6). */
  isolation?: number;
  /** Rough FWHM, pixels (default 3). */
  fwhm?: number;
  /** Distance kept from the image edge, pixels (default isolation / 2, ≥ 4). */
  margin?: number;
}

/**
 * Bright isolated stars: local maxima of a 3×3-smoothed image, at least 10 robust σ above the
 * median, with no other peak brighter than a tenth of theirs within `isolation` pixels, away from
 * the edges and not flat-topped (saturated). Brightest first.
 */
export function proposeStars(image: Image, options: ProposeOptions = {}): StarGuess[] {
  const { width: W, height: H, data } = image;
  const fwhm = options.fwhm ?? 3;
  const isolation = options.isolation ?? Math.max(6, 4 * fwhm);
  const margin = options.margin ?? Math.max(4, Math.ceil(isolation / 2));
  const count = options.count ?? 12;
  const s = new Float64Array(W * H);
  const sample: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let sum = 0;
      let k = 0;
      for (let j = Math.max(0, y - 1); j <= Math.min(H - 1, y + 1); j++) {
        for (let i = Math.max(0, x - 1); i <= Math.min(W - 1, x + 1); i++) {
          const v = data[j * W + i]!;
          if (Number.isFinite(v)) {
            sum += v;
            k++;
          }
        }
      }
      s[y * W + x] = k ? sum / k : NaN;
    }
  }
  const step = Math.max(1, Math.floor((W * H) / 20000));
  for (let i = 0; i < W * H; i += step) if (Number.isFinite(s[i]!)) sample.push(s[i]!);
  sample.sort((a, b) => a - b);
  const med = sample[sample.length >> 1] ?? 0;
  const mad = sample.map((v) => Math.abs(v - med)).sort((a, b) => a - b)[sample.length >> 1] ?? 0;
  const sigma = 1.4826 * mad || 1e-12;
  const peaks: { x: number; y: number; h: number }[] = [];
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const v = s[y * W + x]!;
      if (!(v > med + 10 * sigma)) continue;
      let top = true;
      for (let j = -1; j <= 1 && top; j++) for (let i = -1; i <= 1; i++) if ((i || j) && !(s[(y + j) * W + x + i]! < v || (s[(y + j) * W + x + i]! === v && (j > 0 || (j === 0 && i > 0))))) top = false;
      if (top) peaks.push({ x, y, h: v - med });
    }
  }
  peaks.sort((a, b) => b.h - a.h);
  const out: StarGuess[] = [];
  for (const p of peaks) {
    if (p.x < margin || p.y < margin || p.x >= W - margin || p.y >= H - margin) continue;
    const crowded = peaks.some((q) => q !== p && q.h > 0.1 * p.h && (q.x - p.x) ** 2 + (q.y - p.y) ** 2 < isolation * isolation);
    if (crowded) continue;
    // Saturated stars have a flat top: several raw pixels at the very maximum.
    let atMax = 0;
    let rawMax = -Infinity;
    for (let j = -1; j <= 1; j++) for (let i = -1; i <= 1; i++) rawMax = Math.max(rawMax, data[(p.y + j) * W + p.x + i]!);
    for (let j = -1; j <= 1; j++) for (let i = -1; i <= 1; i++) if (data[(p.y + j) * W + p.x + i] === rawMax) atMax++;
    if (atMax >= 3) continue;
    // Centroid in a 3×3 above the median, for a sub-pixel start.
    let sx = 0;
    let sy = 0;
    let sw = 0;
    for (let j = -1; j <= 1; j++) {
      for (let i = -1; i <= 1; i++) {
        const w = Math.max(0, data[(p.y + j) * W + p.x + i]! - med);
        sx += w * (p.x + i);
        sy += w * (p.y + j);
        sw += w;
      }
    }
    out.push(sw > 0 ? { x: sx / sw, y: sy / sw } : { x: p.x, y: p.y });
    if (out.length >= count) break;
  }
  return out;
}
