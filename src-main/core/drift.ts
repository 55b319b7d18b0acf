/**
 * Drift correction of SMLM localisations by cross-correlation of renderings of sub-stacks.
 *
 * The frames are cut into segments of `segmentFrames` consecutive frames; each segment's
 * localisations are rendered (Gaussian rendering, render.ts) on one common grid, and the shift of
 * each segment against a reference is the peak of their cross-correlation (computed by FFT,
 * searched within ±maxShiftNm), refined to sub-pixel precision by a Gaussian (log-parabola) fit
 * through the peak and its four neighbours. Two passes: first against the first segment; then
 * against the sum of all the other segments, each shifted by its first-pass estimate (more
 * molecules in the reference, so less noise, and no bias toward the first segment).
 *
 * The drift of a segment is assigned to its mean frame; the drift of every frame is interpolated
 * linearly between those points and extrapolated linearly beyond the first and last, and the curve
 * is shifted to be 0 at the first frame. A localisation is corrected by subtracting the drift of
 * its frame. The method needs structure that persists over the movie (fluorophores on a sample
 * blink on and off at fixed places): randomly placed single-frame emitters carry no drift signal.
 */

import { InvalidOptionError } from './errors.js';
import { fft2, nextPowerOfTwo } from './fft.js';
import { renderLocalisations, type Localisation } from './render.js';

export interface DriftOptions {
  /** Frames per segment (integer ≥ 1): each segment needs enough localisations to image the structure. */
  segmentFrames: number;
  /** Pixel size of the correlated renderings, nm (> 0). Default: 2 × the median uncertainty, at least 10 nm, and coarse enough for a grid of at most 1024 pixels a side. */
  pixelSizeNm?: number;
  /** Largest drift searched, nm (> 0). Default 1000 nm. */
  maxShiftNm?: number;
}

export interface DriftSegment {
  firstFrame: number;
  lastFrame: number;
  /** Mean frame of the segment's localisations (where its drift is placed). */
  centreFrame: number;
  localisations: number;
  /** Drift of the segment relative to the reference, nm (before the curve is set to 0 at the first frame). */
  dxNm: number;
  dyNm: number;
}

export interface DriftCurve {
  /** Every frame from the first to the last frame with localisations. */
  frames: number[];
  /** Drift of each frame, nm (0 at the first frame). */
  dxNm: Float64Array;
  dyNm: Float64Array;
  segments: DriftSegment[];
  pixelSizeNm: number;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Sub-pixel offset of a peak from three samples (Gaussian fit on logs when all positive, else a parabola). */
function peakOffset(a: number, b: number, c: number): number {
  if (a > 0 && b > 0 && c > 0) {
    const la = Math.log(a);
    const lb = Math.log(b);
    const lc = Math.log(c);
    const d = la - 2 * lb + lc;
    if (d < 0) return Math.max(-0.5, Math.min(0.5, (0.5 * (la - lc)) / d));
  }
  const d = a - 2 * b + c;
  return d < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / d)) : 0;
}

/** Check options once; throws InvalidOptionError naming the CLI option. */
export function validateDriftOptions(o: DriftOptions): DriftOptions {
  if (!o || !(Number.isInteger(o.segmentFrames) && o.segmentFrames >= 1)) throw new InvalidOptionError('--drift', o?.segmentFrames, 'the segment length must be a whole number of frames ≥ 1');
  if (o.pixelSizeNm !== undefined && !(Number.isFinite(o.pixelSizeNm) && o.pixelSizeNm > 0)) throw new InvalidOptionError('drift pixel size', o.pixelSizeNm, 'must be a number of nm > 0');
  if (o.maxShiftNm !== undefined && !(Number.isFinite(o.maxShiftNm) && o.maxShiftNm > 0)) throw new InvalidOptionError('drift max shift', o.maxShiftNm, 'must be a number of nm > 0');
  return { ...o };
}

/**
 * Estimate the drift of a movie from its localisations (nm, see render.ts). Throws
 * InvalidOptionError when the frames make fewer than two segments.
 */
export function estimateDrift(locs: readonly Localisation[], options: DriftOptions): DriftCurve {
  const o = validateDriftOptions(options);
  const valid = locs.filter((l) => Number.isFinite(l.xNm) && Number.isFinite(l.yNm));
  if (valid.length === 0) throw new InvalidOptionError('--drift', o.segmentFrames, 'there are no localisations to correlate');
  let f0 = Infinity;
  let f1 = -Infinity;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const l of valid) {
    f0 = Math.min(f0, l.frame);
    f1 = Math.max(f1, l.frame);
    minX = Math.min(minX, l.xNm);
    minY = Math.min(minY, l.yNm);
    maxX = Math.max(maxX, l.xNm);
    maxY = Math.max(maxY, l.yNm);
  }
  const nSeg = Math.ceil((f1 - f0 + 1) / o.segmentFrames);
  if (nSeg < 2) {
    throw new InvalidOptionError('--drift', o.segmentFrames, `frames ${f0} to ${f1} make a single segment of ${o.segmentFrames} frames; at least two are needed (use a shorter segment)`);
  }
  const maxShift = o.maxShiftNm ?? 1000;
  const extent = Math.max(maxX - minX, maxY - minY);
  const uncertainties = valid.map((l) => l.uncertaintyNm).filter((u) => Number.isFinite(u) && u > 0);
  const u50 = uncertainties.length ? median(uncertainties) : 20;
  const r = o.pixelSizeNm ?? Math.max(10, 2 * u50, (extent + 2 * maxShift) / 1024);
  const shiftPx = Math.ceil(maxShift / r);
  // A grid holding the field plus the search range on each side, so the correlation does not wrap.
  const n = nextPowerOfTwo(Math.ceil(extent / r) + 2 * shiftPx + 8);
  const origin = { x: minX - (n * r - (maxX - minX)) / 2, y: minY - (n * r - (maxY - minY)) / 2 };
  const sigma = Math.max(u50, r / 2);

  const segOf = (l: Localisation) => Math.min(nSeg - 1, Math.floor((l.frame - f0) / o.segmentFrames));
  const groups: Localisation[][] = Array.from({ length: nSeg }, () => []);
  for (const l of valid) groups[segOf(l)].push(l);

  const spectrum = (ls: readonly Localisation[], dx = 0, dy = 0): { re: Float64Array; im: Float64Array } => {
    const shifted = dx === 0 && dy === 0 ? ls : ls.map((l) => ({ ...l, xNm: l.xNm - dx, yNm: l.yNm - dy }));
    const img = renderLocalisations(shifted, { pixelSizeNm: r, mode: 'gaussian', sigmaNm: sigma, width: n, height: n, originNm: origin });
    const re = Float64Array.from(img.data);
    const im = new Float64Array(n * n);
    fft2(re, im, n);
    return { re, im };
  };
  /** Shift (nm) of `a` relative to `b`: a ≈ b moved by the result. */
  const shiftOf = (a: { re: Float64Array; im: Float64Array }, b: { re: Float64Array; im: Float64Array }): { dx: number; dy: number } => {
    const re = new Float64Array(n * n);
    const im = new Float64Array(n * n);
    for (let k = 0; k < n * n; k++) {
      re[k] = a.re[k] * b.re[k] + a.im[k] * b.im[k];
      im[k] = a.im[k] * b.re[k] - a.re[k] * b.im[k];
    }
    fft2(re, im, n, true);
    const at = (sx: number, sy: number) => re[((sy + n) % n) * n + ((sx + n) % n)];
    let best = -Infinity;
    let bx = 0;
    let by = 0;
    for (let sy = -shiftPx; sy <= shiftPx; sy++) {
      for (let sx = -shiftPx; sx <= shiftPx; sx++) {
        const v = at(sx, sy);
        if (v > best) {
          best = v;
          bx = sx;
          by = sy;
        }
      }
    }
    const ox = peakOffset(at(bx - 1, by), best, at(bx + 1, by));
    const oy = peakOffset(at(bx, by - 1), best, at(bx, by + 1));
    return { dx: (bx + ox) * r, dy: (by + oy) * r };
  };

  const specs = groups.map((g) => spectrum(g));
  // Pass 1: against the first segment.
  let shifts = specs.map((s, k) => (k === 0 ? { dx: 0, dy: 0 } : groups[k].length ? shiftOf(s, specs[0]) : { dx: NaN, dy: NaN }));
  // Pass 2: against the other segments, each moved back by its pass-1 drift.
  const back = groups.map((g, k) => (Number.isFinite(shifts[k].dx) ? spectrum(g, shifts[k].dx, shifts[k].dy) : null));
  const total = { re: new Float64Array(n * n), im: new Float64Array(n * n) };
  for (const b of back) {
    if (!b) continue;
    for (let i = 0; i < n * n; i++) {
      total.re[i] += b.re[i];
      total.im[i] += b.im[i];
    }
  }
  shifts = specs.map((s, k) => {
    const own = back[k];
    if (!own || groups[k].length === 0) return { dx: NaN, dy: NaN };
    const others = { re: total.re.map((v, i) => v - own.re[i]), im: total.im.map((v, i) => v - own.im[i]) };
    return shiftOf(s, others);
  });

  const segments: DriftSegment[] = groups.map((g, k) => ({
    firstFrame: f0 + k * o.segmentFrames,
    lastFrame: Math.min(f1, f0 + (k + 1) * o.segmentFrames - 1),
    centreFrame: g.length ? g.reduce((a, l) => a + l.frame, 0) / g.length : NaN,
    localisations: g.length,
    dxNm: shifts[k].dx,
    dyNm: shifts[k].dy,
  }));
  const known = segments.filter((s) => Number.isFinite(s.dxNm) && Number.isFinite(s.centreFrame));
  if (known.length < 2) throw new InvalidOptionError('--drift', o.segmentFrames, 'fewer than two segments have localisations');

  const frames: number[] = [];
  for (let f = f0; f <= f1; f++) frames.push(f);
  const interp = (f: number, pick: (s: DriftSegment) => number): number => {
    let k = 0;
    while (k < known.length - 2 && f > known[k + 1].centreFrame) k++;
    const a = known[k];
    const b = known[k + 1];
    const t = b.centreFrame === a.centreFrame ? 0 : (f - a.centreFrame) / (b.centreFrame - a.centreFrame);
    return pick(a) + t * (pick(b) - pick(a));
  };
  const x0 = interp(f0, (s) => s.dxNm);
  const y0 = interp(f0, (s) => s.dyNm);
  const dxNm = Float64Array.from(frames, (f) => interp(f, (s) => s.dxNm) - x0);
  const dyNm = Float64Array.from(frames, (f) => interp(f, (s) => s.dyNm) - y0);
  return { frames, dxNm, dyNm, segments, pixelSizeNm: r };
}

/** The drift of a frame, nm (0 outside the curve's frames... clamped to its ends). */
export function driftAt(curve: DriftCurve, frame: number): { dx: number; dy: number } {
  const k = Math.max(0, Math.min(curve.frames.length - 1, frame - curve.frames[0]));
  return { dx: curve.dxNm[k], dy: curve.dyNm[k] };
}

/** Localisations corrected for the drift (new objects). */
export function correctDrift(locs: readonly Localisation[], curve: DriftCurve): Localisation[] {
  return locs.map((l) => {
    const d = driftAt(curve, l.frame);
    return { ...l, xNm: l.xNm - d.dx, yNm: l.yNm - d.dy };
  });
}

/** The curve as CSV: `frame,dx_nm,dy_nm`, one line per frame (0-based frames, nm to 3 decimals). */
export function formatDriftCsv(curve: DriftCurve): string {
  const lines = ['frame,dx_nm,dy_nm'];
  curve.frames.forEach((f, k) => lines.push(`${f},${curve.dxNm[k].toFixed(3)},${curve.dyNm[k].toFixed(3)}`));
  return lines.join('\n') + '\n';
}
