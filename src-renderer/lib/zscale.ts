/**
 * Display limits of a frame: min/max, percentiles, and IRAF's zscale. Pure functions, no DOM.
 *
 * zscale (after the algorithm described in the IRAF `display` documentation): take an evenly
 * spaced sample of the finite pixels, sort it, and fit a straight line to the sorted values as a
 * function of their rank, rejecting points more than `krej` standard deviations from the line
 * (and their neighbours) for a few rounds. The limits are the median ± the line's slope divided by
 * the contrast, over half the sample on each side, clamped to the sample's range. Where too many
 * points are rejected the limits are the sample's min and max.
 */

export type LimitsMode = 'zscale' | 'minmax' | 'p99' | 'p995' | 'p999';
export const LIMITS_MODES: readonly { mode: LimitsMode; label: string }[] = [
  { mode: 'zscale', label: 'zscale' },
  { mode: 'p995', label: '99.5 %' },
  { mode: 'p99', label: '99 %' },
  { mode: 'p999', label: '99.9 %' },
  { mode: 'minmax', label: 'min/max' },
];

export interface Limits {
  lo: number;
  hi: number;
}

/** Evenly spaced sample of at most `max` finite values, sorted ascending. */
export function sortedSample(data: ArrayLike<number>, max = 20_000): Float64Array {
  const step = Math.max(1, Math.floor(data.length / max));
  const out: number[] = [];
  for (let i = 0; i < data.length && out.length < max; i += step) {
    const v = data[i]!;
    if (Number.isFinite(v)) out.push(v);
  }
  // A sparse frame (mostly blank) may leave the strided sample empty: fall back to every pixel.
  if (out.length === 0 && step > 1) for (let i = 0; i < data.length && out.length < max; i++) if (Number.isFinite(data[i]!)) out.push(data[i]!);
  return Float64Array.from(out).sort();
}

/** Quantile q ∈ [0, 1] of sorted values, linear between ranks. NaN for an empty array. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(1, Math.max(0, q)) * (n - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < n ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!;
}

export interface ZscaleOptions {
  /** Sample size (default 1000, as IRAF). */
  samples?: number;
  /** Contrast (default 0.25). */
  contrast?: number;
  /** Rejection threshold in standard deviations (default 2.5). */
  krej?: number;
  /** Rounds of rejection (default 5). */
  maxIterations?: number;
  /** Fraction of the sample that must survive rejection (default 0.5). */
  minFraction?: number;
}

export function zscale(data: ArrayLike<number>, options: ZscaleOptions = {}): Limits {
  const samples = options.samples ?? 1000;
  const contrast = options.contrast ?? 0.25;
  const krej = options.krej ?? 2.5;
  const maxIterations = options.maxIterations ?? 5;
  const minFraction = options.minFraction ?? 0.5;
  const s = sortedSample(data, samples);
  const n = s.length;
  if (n === 0) return { lo: 0, hi: 1 };
  const zmin = s[0]!;
  const zmax = s[n - 1]!;
  if (n < 5) return { lo: zmin, hi: zmax };
  const center = (n - 1) / 2;
  const median = quantile(s, 0.5);
  const minPix = Math.max(5, Math.floor(n * minFraction));
  const grow = Math.max(1, Math.round(n * 0.01));

  const good = new Uint8Array(n).fill(1);
  let slope = 0;
  let intercept = median;
  let ngood = n;
  for (let iter = 0; iter < maxIterations; iter++) {
    // Least squares of s[i] against (i − center) over the good points.
    let sw = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      if (!good[i]) continue;
      const x = i - center;
      sw++;
      sx += x;
      sy += s[i]!;
      sxx += x * x;
      sxy += x * s[i]!;
    }
    const det = sw * sxx - sx * sx;
    if (sw < 2 || det === 0) break;
    slope = (sw * sxy - sx * sy) / det;
    intercept = (sy - slope * sx) / sw;
    // Residual σ of the good points, then reject beyond krej·σ and grow the rejected runs.
    let ss = 0;
    for (let i = 0; i < n; i++) if (good[i]) ss += (s[i]! - (intercept + slope * (i - center))) ** 2;
    const sigma = Math.sqrt(ss / sw);
    if (!(sigma > 0)) break;
    const bad = new Uint8Array(n);
    let rejected = 0;
    for (let i = 0; i < n; i++) {
      if (!good[i]) continue;
      if (Math.abs(s[i]! - (intercept + slope * (i - center))) > krej * sigma) {
        for (let j = Math.max(0, i - grow); j <= Math.min(n - 1, i + grow); j++) bad[j] = 1;
        rejected++;
      }
    }
    if (rejected === 0) break;
    for (let i = 0; i < n; i++) if (bad[i]) good[i] = 0;
    ngood = 0;
    for (let i = 0; i < n; i++) ngood += good[i]!;
    if (ngood < minPix) break;
  }
  if (ngood < minPix) return { lo: zmin, hi: zmax };
  const k = contrast > 0 ? slope / contrast : slope;
  const lo = Math.max(zmin, median - center * k);
  const hi = Math.min(zmax, median + (n - 1 - center) * k);
  return lo < hi ? { lo, hi } : { lo: zmin, hi: zmax };
}

/** The limits of a frame in the given mode; lo < hi whenever the frame has two distinct values. */
export function computeLimits(data: ArrayLike<number>, mode: LimitsMode): Limits {
  if (mode === 'zscale') return zscale(data);
  if (mode === 'minmax') {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return lo <= hi ? { lo, hi } : { lo: 0, hi: 1 };
  }
  const p = mode === 'p99' ? 0.99 : mode === 'p995' ? 0.995 : 0.999;
  const s = sortedSample(data, 100_000);
  if (s.length === 0) return { lo: 0, hi: 1 };
  const lo = quantile(s, (1 - p) / 2);
  const hi = quantile(s, 1 - (1 - p) / 2);
  return lo < hi ? { lo, hi } : { lo: s[0]!, hi: s[s.length - 1]! };
}
