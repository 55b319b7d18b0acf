/**
 * Noise weights w_p = 1 / variance_p from a Poisson–Gaussian camera model. In ADU, a pixel whose
 * expected signal is S (ADU above the offset) has variance  readNoise² + gain · S  with gain in
 * ADU per photon (a photon count n has variance n; in ADU, gain² · n = gain · S).
 * Where the camera is not described, the sky noise σ and level are measured robustly and the
 * variance is σ² + g · max(S − sky, 0), g = σ² / (sky − offset), which is the same model with the
 * read noise folded into the sky term. The signal S is the 3×3 mean of the data, so the weights
 * are fixed for the solve (F stays a fixed convex objective) and little biased by pixel noise.
 */

import { InvalidOptionError } from '../errors.js';

/** Camera description; every field optional. */
export interface NoiseOptions {
  /** ADU per photon (> 0). Default: estimated from the sky when the sky is clearly above the offset. */
  gain?: number;
  /** ADU of zero light (bias/offset). Default 0. */
  offset?: number;
  /** Read noise, ADU rms (≥ 0). Default: folded into the measured sky noise. */
  readNoise?: number;
  /** 'poisson-gaussian' (default) or 'uniform' (every pixel weighted 1/σ_sky²). */
  model?: 'poisson-gaussian' | 'uniform';
}

export interface NoiseEstimate {
  /** Robust sky level, ADU (σ-clipped median). */
  skyLevel: number;
  /** Robust sky noise, ADU rms (MAD of neighbour differences / √2). */
  skySigma: number;
  /** Gain used, ADU per photon, or null with uniform weights. */
  gain: number | null;
  /** true when the gain was given, false when estimated. */
  gainGiven: boolean;
  offset: number;
  readNoise: number | null;
  model: 'poisson-gaussian' | 'uniform';
  /** Median weight (1 / ADU²). */
  medianWeight: number;
}

export function validateNoiseOptions(o: NoiseOptions | undefined): NoiseOptions {
  const n: NoiseOptions = { ...(o ?? {}) };
  if (n.gain !== undefined && !(Number.isFinite(n.gain) && n.gain > 0)) throw new InvalidOptionError('--gain', n.gain, 'must be a positive number of ADU per photon');
  if (n.offset !== undefined && !Number.isFinite(n.offset)) throw new InvalidOptionError('--offset', n.offset, 'must be a finite number of ADU');
  if (n.readNoise !== undefined && !(Number.isFinite(n.readNoise) && n.readNoise >= 0)) throw new InvalidOptionError('--read-noise', n.readNoise, 'must be a number ≥ 0 (ADU rms)');
  if (n.model !== undefined && n.model !== 'uniform' && n.model !== 'poisson-gaussian') throw new InvalidOptionError('noise model', n.model, "must be 'poisson-gaussian' or 'uniform'");
  return n;
}

/**
 * Median of a sample (mean of the two middle values for an even count), by selection on a copy
 * (Hoare's quickselect with a median-of-three pivot): linear time, where sorting the 400 000
 * values sampled from a large image several times over made most of the frame preparation.
 * NaN sorts last, as with a typed-array sort.
 */
export function median(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return NaN;
  // NaNs rank after every number: select among the others.
  const s = new Float64Array(n);
  let c = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(values[i])) s[c++] = values[i];
  const a = s.subarray(0, c);
  const m = n >> 1;
  if (m >= c) return NaN;
  const hi = select(a, m);
  if (n % 2) return hi;
  // The largest value left of position m is the (m − 1)-th smallest.
  let lo = -Infinity;
  for (let i = 0; i < m; i++) if (a[i] > lo) lo = a[i];
  return 0.5 * (lo + hi);
}

/** Rearrange a so that a[k] is the k-th smallest, smaller-or-equal values before it; returns a[k]. */
export function select(a: Float64Array, k: number): number {
  let l = 0;
  let r = a.length - 1;
  while (r > l) {
    // Median of three as the pivot, moved to a[k].
    const mid = (l + r) >> 1;
    if (a[mid] < a[l]) swap(a, mid, l);
    if (a[r] < a[l]) swap(a, r, l);
    if (a[r] < a[mid]) swap(a, r, mid);
    const pivot = a[mid];
    let i = l;
    let j = r;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else return a[k];
  }
  return a[k];
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * At most this many pixels (on a regular stride) feed each statistic: enough for a robust level
 * and σ, and the same pixels whatever the machine.
 */
const SAMPLE = 400_000;

/** Sampling stride over n pixels: every `stride`-th pixel from 0, at most ⌈n / stride⌉ of them. */
function sampleStride(n: number): number {
  return Math.max(1, Math.floor(n / SAMPLE));
}

/**
 * Median of the first n values of a (finite values only), rearranging them: the same value as
 * median() on a copy, without the copy and the NaN pass.
 */
function medianInPlace(a: Float64Array, n: number): number {
  if (n === 0) return NaN;
  const v = n === a.length ? a : a.subarray(0, n);
  const m = n >> 1;
  const hi = select(v, m);
  if (n % 2) return hi;
  let lo = -Infinity;
  for (let i = 0; i < m; i++) if (v[i] > lo) lo = v[i];
  return 0.5 * (lo + hi);
}

/**
 * Median of the values of `vals` (its first n) that lie strictly between lo and hi, rearranging
 * them, or NaN when there is none. The kept values are the ones ranked c .. c + k − 1 overall
 * (c below the window, k inside), so their median is an order statistic of the whole sample and
 * one selection replaces filtering into a copy: the same value as median(filter(...)).
 */
function windowMedian(vals: Float64Array, n: number, lo: number, hi: number): number {
  let below = 0;
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const v = vals[i];
    if (!(v > lo)) below++;
    else if (v < hi) inside++;
  }
  if (inside === 0) return NaN;
  const v = n === vals.length ? vals : vals.subarray(0, n);
  const m = inside >> 1;
  const top = select(v, below + m);
  if (inside % 2) return top;
  // The kept value just below: the largest of the m kept values left of position below + m.
  let prev = -Infinity;
  for (let i = 0; i < below + m; i++) if (v[i] > prev) prev = v[i];
  return 0.5 * (prev + top);
}

/**
 * Robust sky level and noise of an image. Statistics come from every `stride`-th pixel (at most
 * SAMPLE of them); σ from the MAD of neighbour differences (right neighbour, or the one below at
 * the end of a row), refined on pairs below level + 3σ, and the level from a σ-clipped median.
 * Each median is a selection in place on one of three preallocated samples.
 */
export function skyStatistics(data: Float64Array, width: number, height: number): { level: number; sigma: number } {
  const n = data.length;
  const stride = sampleStride(n);
  const cap = Math.ceil(n / stride);
  // Each sampled pair's difference and its larger pixel: the refined rounds keep the pairs whose
  // both pixels are below a cut, i.e. whose larger pixel is.
  const diffs = new Float64Array(cap);
  const pairMax = new Float64Array(cap);
  const vals = new Float64Array(cap);
  const work = new Float64Array(cap);
  let nd = 0;
  let nv = 0;
  let x = 0;
  for (let i = 0; i < n; i += stride) {
    const a = data[i];
    if (Number.isFinite(a)) vals[nv++] = a;
    const j = x + 1 < width ? i + 1 : height > 1 && i + width < n ? i + width : -1;
    if (j >= 0) {
      const b = data[j];
      const d = b - a;
      // A finite difference has both pixels finite.
      if (Number.isFinite(d)) {
        diffs[nd] = d;
        pairMax[nd] = a > b ? a : b;
        nd++;
      }
    }
    x += stride;
    if (x >= width) x %= width;
  }
  work.set(diffs.subarray(0, nd));
  const md = medianInPlace(work, nd);
  for (let k = 0; k < nd; k++) work[k] = Math.abs(diffs[k] - md);
  let sigma = (1.4826 * medianInPlace(work, nd)) / Math.SQRT2;
  if (!(sigma > 0)) {
    // Constant or integer-quantised flat images: fall back to the standard deviation (summed in
    // sample order, before the selections below reorder the sample).
    let s = 0;
    let s2 = 0;
    for (let k = 0; k < nv; k++) {
      const v = vals[k];
      s += v;
      s2 += v * v;
    }
    const m = s / Math.max(1, nv);
    sigma = Math.sqrt(Math.max(0, s2 / Math.max(1, nv) - m * m));
  }
  let level = medianInPlace(vals, nv);
  // Pixel pairs on stars inflate the spread of differences in crowded fields: measure it again
  // on pairs whose both pixels are below level + 3σ (the truncation biases σ low by < 1 %).
  for (let round = 0; round < 2 && sigma > 0; round++) {
    const cut = level + 3 * sigma;
    let n2 = 0;
    for (let k = 0; k < nd; k++) if (pairMax[k] < cut) work[n2++] = diffs[k];
    if (n2 < 100) break;
    const m2 = medianInPlace(work, n2);
    for (let k = 0; k < n2; k++) work[k] = Math.abs(work[k] - m2);
    const s2 = (1.4826 * medianInPlace(work, n2)) / Math.SQRT2;
    if (s2 > 0) sigma = s2;
    const l = windowMedian(vals, nv, level - 5 * sigma, level + 3 * sigma);
    if (!Number.isNaN(l)) level = l;
  }
  // Clip sources from the level estimate: two rounds of a 3σ upper clip.
  for (let round = 0; round < 2 && sigma > 0; round++) {
    const l = windowMedian(vals, nv, level - 5 * sigma, level + 3 * sigma);
    if (!Number.isNaN(l)) level = l;
  }
  if (!(sigma > 0)) sigma = Math.max(Math.abs(level) * 1e-6, 1e-12);
  return { level, sigma };
}

/**
 * Weights for every pixel, and the data with non-finite pixels replaced by 0 (weight 0): a copy
 * when some pixel is not finite, else `data` itself (callers only read it). `valid` counts the
 * pixels of positive weight.
 */
export function noiseWeights(data: Float64Array, width: number, height: number, options: NoiseOptions = {}): { weights: Float64Array; data: Float64Array; estimate: NoiseEstimate; valid: number } {
  const o = validateNoiseOptions(options);
  const N = width * height;
  let finiteCount = 0;
  for (let i = 0; i < N; i++) if (Number.isFinite(data[i])) finiteCount++;
  // Every pixel finite (the usual case): the data serve as they are, without a copy.
  let clean = data.length === N ? data : data.subarray(0, N);
  if (finiteCount < N) {
    clean = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const v = data[i];
      if (Number.isFinite(v)) clean[i] = v;
    }
  }
  const sky = skyStatistics(data, width, height);
  const offset = o.offset ?? 0;
  const model = o.model ?? 'poisson-gaussian';
  const s2 = sky.sigma * sky.sigma;
  let gain: number | null = o.gain ?? null;
  const gainGiven = o.gain !== undefined;
  if (model === 'poisson-gaussian' && gain === null) {
    const above = sky.level - offset;
    const readVar = o.readNoise !== undefined ? o.readNoise * o.readNoise : 0;
    // A sky clearly above the offset carries Poisson noise from which the gain follows.
    if (above > 3 * sky.sigma && s2 > readVar) gain = (s2 - readVar) / above;
  }
  const weights = new Float64Array(N);
  const physical = gainGiven && o.readNoise !== undefined && o.offset !== undefined;
  const uniform = model === 'uniform' || gain === null;
  const readVar = physical ? o.readNoise! * o.readNoise! : 0;
  // A floor keeps a hot pixel or a zero-noise region from taking infinite weight.
  const floor = Math.max(1e-6 * s2, 1e-300);
  if (uniform) {
    const w = 1 / Math.max(s2, floor);
    for (let i = 0; i < N; i++) if (Number.isFinite(data[i])) weights[i] = w;
  } else {
    // S: the 3×3 mean of the finite neighbours: sums over each row's 3 pixels (non-finite pixels
    // are 0 in `clean` and add nothing; their count is left out), then over 3 rows, with the row
    // sums of rows y − 1, y, y + 1 in a ring of three rows.
    const g = gain!;
    const base = physical ? readVar : s2;
    const ref = physical ? offset : sky.level;
    const counts = finiteCount === N ? null : finiteMask(data, N);
    const sums = [new Float64Array(width), new Float64Array(width), new Float64Array(width)];
    const cnts = counts ? [new Float64Array(width), new Float64Array(width), new Float64Array(width)] : null;
    // A missing row above or below (image edge) reads as zeros: x + 0 is x, so the sums are the
    // same as over the rows present.
    const zeros = new Float64Array(width);
    // Columns in each pixel's clipped box: with every pixel finite the count is (rows) × this.
    const cols = new Float64Array(width);
    for (let x = 0; x < width; x++) cols[x] = width === 1 ? 1 : x === 0 || x === width - 1 ? 2 : 3;
    boxRow(clean, 0, width, sums[0]);
    if (cnts) boxRow(counts!, 0, width, cnts[0]);
    for (let y = 0; y < height; y++) {
      const row = y * width;
      if (y + 1 < height) {
        boxRow(clean, row + width, width, sums[(y + 1) % 3]);
        if (cnts) boxRow(counts!, row + width, width, cnts[(y + 1) % 3]);
      }
      const up = y > 0 ? sums[(y + 2) % 3] : zeros;
      const mid = sums[y % 3];
      const down = y + 1 < height ? sums[(y + 1) % 3] : zeros;
      if (cnts === null) {
        const ny = 1 + (y > 0 ? 1 : 0) + (y + 1 < height ? 1 : 0);
        for (let x = 0; x < width; x++) {
          const S = (up[x] + mid[x] + down[x]) / (ny * cols[x]);
          const variance = base + g * Math.max(S - ref, 0);
          weights[row + x] = 1 / Math.max(variance, floor);
        }
      } else {
        const cu = y > 0 ? cnts[(y + 2) % 3] : zeros;
        const cm = cnts[y % 3];
        const cd = y + 1 < height ? cnts[(y + 1) % 3] : zeros;
        for (let x = 0; x < width; x++) {
          if (!Number.isFinite(data[row + x])) continue;
          const S = (up[x] + mid[x] + down[x]) / (cu[x] + cm[x] + cd[x]);
          const variance = base + g * Math.max(S - ref, 0);
          weights[row + x] = 1 / Math.max(variance, floor);
        }
      }
    }
  }
  let valid = 0;
  for (let i = 0; i < N; i++) if (weights[i] > 0) valid++;
  // Median weight over the sampling lattice of skyStatistics.
  const stride = sampleStride(N);
  const wf = new Float64Array(Math.ceil(N / stride));
  let nw = 0;
  for (let i = 0; i < N; i += stride) if (weights[i] > 0) wf[nw++] = weights[i];
  return {
    weights,
    data: clean,
    valid,
    estimate: {
      skyLevel: sky.level,
      skySigma: sky.sigma,
      gain: uniform ? null : gain,
      gainGiven,
      offset,
      readNoise: o.readNoise ?? null,
      model: uniform ? 'uniform' : 'poisson-gaussian',
      medianWeight: nw ? medianInPlace(wf, nw) : 0,
    },
  };
}

function finiteMask(data: Float64Array, N: number): Float64Array {
  const m = new Float64Array(N);
  for (let i = 0; i < N; i++) if (Number.isFinite(data[i])) m[i] = 1;
  return m;
}

/** dst[x] = the sum of pixel x of the row at `row` and of its left and right neighbours in the row, left to right. */
function boxRow(v: Float64Array, row: number, width: number, dst: Float64Array): void {
  if (width === 1) {
    dst[0] = v[row];
    return;
  }
  dst[0] = v[row] + v[row + 1];
  for (let x = 1; x < width - 1; x++) dst[x] = v[row + x - 1] + v[row + x] + v[row + x + 1];
  dst[width - 1] = v[row + width - 2] + v[row + width - 1];
}
