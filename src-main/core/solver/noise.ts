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

/** Deterministic subsample of at most `max` finite values. */
function sample(data: Float64Array, max: number, pick: (i: number) => number | null): Float64Array {
  const n = data.length;
  const stride = Math.max(1, Math.floor(n / max));
  const out: number[] = [];
  for (let i = 0; i < n; i += stride) {
    const v = pick(i);
    if (v !== null && Number.isFinite(v)) out.push(v);
  }
  return Float64Array.from(out);
}

/** Robust sky level and noise of an image. */
export function skyStatistics(data: Float64Array, width: number, height: number): { level: number; sigma: number } {
  const diffs = sample(data, 400_000, (i) => {
    const x = i % width;
    if (x + 1 < width) return data[i + 1] - data[i];
    if (height > 1 && i + width < data.length) return data[i + width] - data[i];
    return null;
  });
  const md = median(diffs);
  const dev = diffs.map((d) => Math.abs(d - md));
  let sigma = (1.4826 * median(dev)) / Math.SQRT2;
  const vals = sample(data, 400_000, (i) => data[i]);
  let level = median(vals);
  if (!(sigma > 0)) {
    // Constant or integer-quantised flat images: fall back to the standard deviation.
    let s = 0;
    let s2 = 0;
    for (const v of vals) {
      s += v;
      s2 += v * v;
    }
    const m = s / Math.max(1, vals.length);
    sigma = Math.sqrt(Math.max(0, s2 / Math.max(1, vals.length) - m * m));
  }
  // Pixel pairs on stars inflate the spread of differences in crowded fields: measure it again
  // on pairs whose both pixels are below level + 3σ (the truncation biases σ low by < 1 %).
  for (let round = 0; round < 2 && sigma > 0; round++) {
    const cut = level + 3 * sigma;
    const d2 = sample(data, 400_000, (i) => {
      const x = i % width;
      const j = x + 1 < width ? i + 1 : height > 1 && i + width < data.length ? i + width : -1;
      if (j < 0 || !(data[i] < cut) || !(data[j] < cut)) return null;
      return data[j] - data[i];
    });
    if (d2.length < 100) break;
    const m2 = median(d2);
    const s2 = (1.4826 * median(d2.map((d) => Math.abs(d - m2)))) / Math.SQRT2;
    if (s2 > 0) sigma = s2;
    const kept = vals.filter((v) => v < level + 3 * sigma && v > level - 5 * sigma);
    if (kept.length > 0) level = median(kept);
  }
  // Clip sources from the level estimate: two rounds of a 3σ upper clip.
  for (let round = 0; round < 2 && sigma > 0; round++) {
    const cut = level + 3 * sigma;
    const kept = vals.filter((v) => v < cut && v > level - 5 * sigma);
    if (kept.length > 0) level = median(kept);
  }
  if (!(sigma > 0)) sigma = Math.max(Math.abs(level) * 1e-6, 1e-12);
  return { level, sigma };
}

/**
 * Weights for every pixel, and the data with non-finite pixels replaced by 0 (weight 0).
 */
export function noiseWeights(data: Float64Array, width: number, height: number, options: NoiseOptions = {}): { weights: Float64Array; data: Float64Array; estimate: NoiseEstimate } {
  const o = validateNoiseOptions(options);
  const N = width * height;
  const clean = new Float64Array(N);
  const finite = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    const v = data[i];
    if (Number.isFinite(v)) {
      clean[i] = v;
      finite[i] = 1;
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
  // 3×3 mean of the finite neighbours, as two separable passes over sums and counts.
  let smooth: Float64Array | null = null;
  if (!uniform) {
    const rs = new Float64Array(N);
    const rn = new Float64Array(N);
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let x = 0; x < width; x++) {
        let sum = 0;
        let cnt = 0;
        for (let xx = Math.max(0, x - 1); xx <= Math.min(width - 1, x + 1); xx++) {
          if (finite[row + xx]) {
            sum += clean[row + xx];
            cnt++;
          }
        }
        rs[row + x] = sum;
        rn[row + x] = cnt;
      }
    }
    smooth = new Float64Array(N);
    for (let y = 0; y < height; y++) {
      const y0 = Math.max(0, y - 1);
      const y1 = Math.min(height - 1, y + 1);
      for (let x = 0; x < width; x++) {
        let sum = 0;
        let cnt = 0;
        for (let yy = y0; yy <= y1; yy++) {
          sum += rs[yy * width + x];
          cnt += rn[yy * width + x];
        }
        smooth[y * width + x] = cnt > 0 ? sum / cnt : 0;
      }
    }
  }
  const readVar = physical ? o.readNoise! * o.readNoise! : 0;
  for (let i = 0; i < N; i++) {
    if (!finite[i]) continue;
    let variance: number;
    if (smooth === null) variance = s2;
    else {
      const S = smooth[i];
      variance = physical ? readVar + gain! * Math.max(S - offset, 0) : s2 + gain! * Math.max(S - sky.level, 0);
    }
    // A floor keeps a hot pixel or a zero-noise region from taking infinite weight.
    weights[i] = 1 / Math.max(variance, 1e-6 * s2, 1e-300);
  }
  const wf = sample(weights, 400_000, (i) => (weights[i] > 0 ? weights[i] : null));
  return {
    weights,
    data: clean,
    estimate: {
      skyLevel: sky.level,
      skySigma: sky.sigma,
      gain: uniform ? null : gain,
      gainGiven,
      offset,
      readNoise: o.readNoise ?? null,
      model: uniform ? 'uniform' : 'poisson-gaussian',
      medianWeight: wf.length ? median(wf) : 0,
    },
  };
}
