/**
 * The detection pipeline on one frame: noise weights → λ → background model → CPGD (per tile for
 * large images) → catalogue. Options are checked once here and turned into a validated object.
 */

import type { Source } from './catalog/types.js';
import { buildCatalogue, type RawSource } from './catalog/build.js';
import { InvalidImageError, InvalidOptionError } from './errors.js';
import type { Image } from './image.js';
import type { Psf } from './psf/types.js';
import { allocStamp } from './psf/types.js';
import { BackgroundBasis, Cholesky, type BackgroundKind } from './solver/background.js';
import { correlate } from './solver/correlate.js';
import { solveCpgd, type Certificate, type CpgdOptions, type CpgdProgress, type CpgdStatus } from './solver/cpgd.js';
import { median, noiseWeights, validateNoiseOptions, type NoiseEstimate, type NoiseOptions } from './solver/noise.js';

/** λ: a value, or 'auto' (factor 1), or { auto: factor }. */
export type LambdaOption = number | 'auto' | { auto: number };

export interface DetectOptions {
  /** The PSF model (see psf/). Required. */
  psf: Psf;
  /**
   * Regularisation λ (same units as the first variation: Σ w (f − model) φ). 'auto' sets
   * λ = factor · √(2 ln N) · σ_η with N the number of valid pixels and σ_η = √(Σ_p w φ²) the
   * noise of the PSF-matched filter at the median weight: the expected maximum of N such
   * Gaussian variables, so pure noise almost never beats it (matched-filter SNR ≈ 4.4–5.5 for
   * 10⁴–10⁷ pixels). Default 'auto' (factor 1).
   */
  lambda?: LambdaOption;
  /**
   * Background model fitted jointly with the sources. 'auto' (default) picks among constant,
   * plane and surface by BIC on a μ = 0 fit with bright pixels masked.
   */
  background?: BackgroundKind | 'auto';
  /** Camera model for the noise weights (see NoiseOptions). */
  noise?: NoiseOptions;
  /** Solver options (iteration cap, tolerance, steps...). */
  cpgd?: Omit<CpgdOptions, 'onProgress' | 'shouldStop'>;
  /** Particles closer than this (pixels) make one source (default 0.5·σ). */
  mergeRadius?: number;
  /** Sources with snr below this are dropped (default 0: keep every source CPGD found). */
  minSnr?: number;
  /** Frame index written in the catalogue (default 0). */
  frame?: number;
  /**
   * Images larger than this (pixels per side) are solved in overlapping tiles of this size
   * (default 256). Tiles keep the per-iteration work local and let workers run them in parallel.
   */
  tileSize?: number;
  /** Signed mode: detect positive and negative sources (default false). */
  signed?: boolean;
  onProgress?: (p: DetectProgress) => void;
  shouldStop?: () => boolean;
}

export interface DetectProgress extends CpgdProgress {
  /** Tile index and count (1 tile for small images). */
  tile: number;
  tiles: number;
}

export interface TileStats {
  status: CpgdStatus;
  iterations: number;
  objective: number;
  certificate: Certificate;
  history: number[];
  particleHistory: number[];
  certificates: { iteration: number; gap: number; relativeGap: number; minV: number }[];
}

export interface DetectResult {
  /** 'converged' when every tile converged, 'cancelled' when stopped, else 'max-iter'. */
  status: CpgdStatus;
  sources: Source[];
  lambda: number;
  background: BackgroundKind;
  noise: NoiseEstimate;
  /** Per-tile solver statistics (one entry for small images). */
  tiles: TileStats[];
  /** Largest relative duality gap over the tiles. */
  relativeGap: number;
  /** Smallest min V over the tiles (≥ 0 up to tolerance at the optimum). */
  minV: number;
  iterations: number;
}

export interface ValidDetectOptions {
  psf: Psf;
  lambda: LambdaOption;
  background: BackgroundKind | 'auto';
  noise: NoiseOptions;
  cpgd: Omit<CpgdOptions, 'onProgress' | 'shouldStop'>;
  mergeRadius: number;
  minSnr: number;
  frame: number;
  tileSize: number;
  signed: boolean;
  onProgress: ((p: DetectProgress) => void) | undefined;
  shouldStop: (() => boolean) | undefined;
}

export function validateLambda(v: unknown, name = '--lambda'): LambdaOption {
  if (v === undefined || v === 'auto') return 'auto';
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw new InvalidOptionError(name, v, 'must be a finite number ≥ 0, or auto');
    return v;
  }
  if (typeof v === 'object' && v !== null && 'auto' in v) {
    const f = (v as { auto: unknown }).auto;
    if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0) throw new InvalidOptionError(name, v, 'the auto factor must be a positive number');
    return { auto: f };
  }
  throw new InvalidOptionError(name, v, 'must be a number ≥ 0, auto or auto:FACTOR');
}

export function validateDetectOptions(o: DetectOptions): ValidDetectOptions {
  if (!o || typeof o !== 'object') throw new InvalidOptionError('options', o, 'must be an object');
  if (!o.psf || typeof o.psf.stamp !== 'function') throw new InvalidOptionError('--psf', o.psf, 'a PSF model is required');
  const bgs = ['none', 'constant', 'plane', 'surface', 'auto'];
  const background = o.background ?? 'auto';
  if (!bgs.includes(background)) throw new InvalidOptionError('--background', background, `must be one of ${bgs.join(', ')}`);
  const mergeRadius = o.mergeRadius ?? 0.5 * o.psf.sigma;
  if (!(Number.isFinite(mergeRadius) && mergeRadius >= 0)) throw new InvalidOptionError('mergeRadius', mergeRadius, 'must be ≥ 0 pixels');
  const minSnr = o.minSnr ?? 0;
  if (!(Number.isFinite(minSnr) && minSnr >= 0)) throw new InvalidOptionError('minSnr', minSnr, 'must be ≥ 0');
  const frame = o.frame ?? 0;
  if (!(Number.isInteger(frame) && frame >= 0)) throw new InvalidOptionError('frame', frame, 'must be an integer ≥ 0');
  const tileSize = o.tileSize ?? 256;
  if (!(Number.isInteger(tileSize) && tileSize >= 32)) throw new InvalidOptionError('tileSize', tileSize, 'must be an integer ≥ 32');
  return {
    psf: o.psf,
    lambda: validateLambda(o.lambda),
    background,
    noise: validateNoiseOptions(o.noise),
    cpgd: { ...(o.cpgd ?? {}) },
    mergeRadius,
    minSnr,
    frame,
    tileSize,
    signed: o.signed ?? false,
    onProgress: o.onProgress,
    shouldStop: o.shouldStop,
  };
}

/** σ_η = √(Σ w φ²) at the median weight, for a source at a pixel centre. */
export function matchedFilterNoise(psf: Psf, medianWeight: number): number {
  const st = allocStamp(psf);
  psf.stamp(0, 0, st);
  let g = 0;
  for (let k = 0; k < st.nx * st.ny; k++) g += st.v[k] * st.v[k];
  return Math.sqrt(g * medianWeight);
}

export function autoLambda(psf: Psf, medianWeight: number, validPixels: number, factor = 1): number {
  return factor * Math.sqrt(2 * Math.log(Math.max(2, validPixels))) * matchedFilterNoise(psf, medianWeight);
}

/**
 * Light of a detection, in units of the sky noise σ per pixel, that the background choice may
 * leave unmasked: each detection masks the pixels where its expected light F·φ exceeds this.
 */
const MASK_LIGHT = 0.1;

/**
 * BIC choice of the background model: each candidate is fitted at μ = 0 to the pixels that are
 * not near a bright detection. Detections are the local maxima of the constant-background matched
 * filter η above λ; each masks the disc where its expected light exceeds MASK_LIGHT sky σ,
 * with its flux estimated as F = η / Σ_p w_p φ² (the matched-filter amplitude) and the disc
 * radius from the PSF's radial envelope, at most the PSF support. The disc follows the flux
 * rather than the support because PSFs with heavy wings (a Moffat β = 2.5 has ~10 FWHM of
 * support) would otherwise mask every pixel of an ordinary star field and leave no choice
 * (a constant background then, whatever the sky's gradient; its residual became faint false
 * sources). Periodic PSFs keep the whole support.
 */
export function chooseBackground(data: Float64Array, weights: Float64Array, width: number, height: number, psf: Psf, lambda: number): BackgroundKind {
  const N = width * height;
  // Mask pixels where a constant-background matched filter sees a source. The constant fit's
  // normal equations are just Σ w and Σ w f (the basis is 1).
  let sw = 0;
  let swf = 0;
  for (let i = 0; i < N; i++) {
    const w = weights[i];
    if (w === 0) continue;
    sw += w;
    swf += w * data[i];
  }
  const c0 = new Cholesky(Float64Array.of(sw), 1).solve(Float64Array.of(swf))[0];
  const u = new Float64Array(N);
  for (let i = 0; i < N; i++) u[i] = weights[i] * (data[i] - c0);
  // η overwrites u (no second image).
  const eta = correlate(psf, u, width, height, u);
  const masked = new Uint8Array(N);
  if (psf.periodic) dilateDetections(eta, lambda, width, height, Math.ceil(psf.radius), masked);
  else maskDetectionLight(eta, weights, lambda, width, height, psf, masked);
  // A model choice needs no more than ~250k pixels: thin large images on a regular lattice.
  // The fits below visit only the lattice's unmasked pixels of positive weight, in raster order.
  const stride = Math.max(1, Math.floor(Math.sqrt(N / 250_000)));
  const idx = new Int32Array(Math.ceil(width / stride) * Math.ceil(height / stride));
  let n = 0;
  for (let y = 0; y < height; y += stride) {
    for (let x = 0; x < width; x += stride) {
      const i = y * width + x;
      if (weights[i] > 0 && masked[i] === 0) idx[n++] = i;
    }
  }
  if (n < 16) return 'constant';
  // The candidates' terms are nested (constant ⊂ plane ⊂ surface, in this order), so one set of
  // surface normal equations holds each candidate's as its leading block.
  const full = new BackgroundBasis('surface', width, height);
  const ne = full.normalEquationsAt(idx, n, weights, data);
  const kinds: BackgroundKind[] = ['constant', 'plane', 'surface'];
  const coefs: (Float64Array | null)[] = kinds.map((kind) => {
    const K = new BackgroundBasis(kind, width, height).size;
    if (K >= n / 4) return null;
    const gram = new Float64Array(K * K);
    for (let r = 0; r < K; r++) for (let q = 0; q < K; q++) gram[r * K + q] = ne.gram[r * full.size + q];
    try {
      return new Cholesky(gram, K).solve(ne.rhs.subarray(0, K));
    } catch {
      return null;
    }
  });
  // χ² of every candidate in one pass: each is a sum over the leading terms of the same basis.
  const chi2 = new Float64Array(kinds.length);
  const b = new Float64Array(full.size);
  for (let t = 0; t < n; t++) {
    const i = idx[t];
    const y = (i / width) | 0;
    full.basisAt(i - y * width, y, b);
    for (let m = 0; m < kinds.length; m++) {
      const c = coefs[m];
      if (!c) continue;
      let B = 0;
      for (let k = 0; k < c.length; k++) B += c[k] * b[k];
      const d = data[i] - B;
      chi2[m] += weights[i] * d * d;
    }
  }
  let best: BackgroundKind = 'constant';
  let bestBic = Infinity;
  for (let m = 0; m < kinds.length; m++) {
    const c = coefs[m];
    if (!c) continue;
    const bic = chi2[m] + c.length * Math.log(n);
    if (bic < bestBic) {
      bestBic = bic;
      best = kinds[m];
    }
  }
  return best;
}

/** Mark (1 in `masked`) every pixel within `r` pixels (per axis) of a pixel where η > λ (separably: rows, then columns). */
function dilateDetections(eta: Float64Array, lambda: number, width: number, height: number, r: number, masked: Uint8Array): void {
  const hit = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    // Two sweeps mark every pixel within r of a detection in its row.
    let prev = -Infinity;
    for (let x = 0; x < width; x++) {
      if (eta[y * width + x] > lambda) prev = x;
      if (x - prev <= r) hit[y * width + x] = 1;
    }
    let next = Infinity;
    for (let x = width - 1; x >= 0; x--) {
      if (eta[y * width + x] > lambda) next = x;
      if (next - x <= r) hit[y * width + x] = 1;
    }
  }
  for (let x = 0; x < width; x++) {
    let prev = -Infinity;
    for (let y = 0; y < height; y++) {
      if (hit[y * width + x] === 1) prev = y;
      if (y - prev <= r) masked[y * width + x] = 1;
    }
    let next = Infinity;
    for (let y = height - 1; y >= 0; y--) {
      if (hit[y * width + x] === 1) next = y;
      if (next - y <= r) masked[y * width + x] = 1;
    }
  }
}

/**
 * Mark (1 in `masked`) the disc around each local maximum of η above λ where that detection's light
 * F·φ exceeds MASK_LIGHT · σ, σ = 1/√(median weight), F = η / Σ_p w_p φ(p − x)².
 */
function maskDetectionLight(eta: Float64Array, weights: Float64Array, lambda: number, width: number, height: number, psf: Psf, masked: Uint8Array): void {
  const st = allocStamp(psf);
  psf.stamp(0, 0, st);
  const { x0, y0, nx, ny, v } = st;
  // Radial envelope: env[k] = the largest φ at a distance ≥ k from the source (pixel centres).
  const kMax = Math.ceil(psf.radius) + 1;
  const env = new Float64Array(kMax + 2);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const k = Math.min(kMax, Math.floor(Math.hypot(x0 + i, y0 + j)));
      const val = v[j * nx + i];
      if (val > env[k]) env[k] = val;
    }
  }
  for (let k = kMax - 1; k >= 0; k--) env[k] = Math.max(env[k], env[k + 1]);
  // Sky σ from the median positive weight (on a lattice of at most ~65k pixels).
  const stride = Math.max(1, Math.floor(Math.sqrt(width * height / 65_536)));
  const sample: number[] = [];
  for (let y = 0; y < height; y += stride) for (let x = 0; x < width; x += stride) if (weights[y * width + x] > 0) sample.push(weights[y * width + x]);
  if (sample.length === 0) return;
  const sigma = 1 / Math.sqrt(median(Float64Array.from(sample)));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const e = eta[y * width + x];
      if (!(e > lambda) || !isLocalMax(eta, width, height, x, y)) continue;
      // Σ_p w_p φ(p − x)² over the image pixels of the stamp.
      let s = 0;
      for (let j = 0; j < ny; j++) {
        const py = y + y0 + j;
        if (py < 0 || py >= height) continue;
        for (let i = 0; i < nx; i++) {
          const px = x + x0 + i;
          if (px < 0 || px >= width) continue;
          const val = v[j * nx + i];
          s += weights[py * width + px] * val * val;
        }
      }
      if (!(s > 0)) continue;
      // Light F·φ ≤ MASK_LIGHT·σ beyond the disc: φ ≤ t there.
      const t = (MASK_LIGHT * sigma * s) / e;
      let r = 0;
      while (r < kMax && env[r + 1] > t) r++;
      // Pixels at distance ≤ r + 1 (env[r + 1] ≤ t covers distances ≥ r + 1; the extra pixel
      // allows for the source's sub-pixel offset from the maximum).
      const rr = r + 1;
      const r2 = rr * rr;
      for (let dy = -rr; dy <= rr; dy++) {
        const py = y + dy;
        if (py < 0 || py >= height) continue;
        for (let dx = -rr; dx <= rr; dx++) {
          const px = x + dx;
          if (px >= 0 && px < width && dx * dx + dy * dy <= r2) masked[py * width + px] = 1;
        }
      }
    }
  }
}

/** η at (x, y) is ≥ its 8 neighbours (plateaus give several maxima: harmless for masking). */
function isLocalMax(eta: Float64Array, width: number, height: number, x: number, y: number): boolean {
  const e = eta[y * width + x];
  for (let dy = -1; dy <= 1; dy++) {
    const py = y + dy;
    if (py < 0 || py >= height) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const px = x + dx;
      if ((dx !== 0 || dy !== 0) && px >= 0 && px < width && eta[py * width + px] > e) return false;
    }
  }
  return true;
}

export interface Tile {
  /** Solved region (with margin), [x0, x1) × [y0, y1). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Region whose sources this tile owns. */
  cx0: number;
  cy0: number;
  cx1: number;
  cy1: number;
}

/** Overlapping tiles: each owns a core region and is solved with a margin around it. */
export function planTiles(width: number, height: number, tileSize: number, margin: number): Tile[] {
  if (width <= tileSize && height <= tileSize) return [{ x0: 0, y0: 0, x1: width, y1: height, cx0: 0, cy0: 0, cx1: width, cy1: height }];
  const nx = Math.ceil(width / tileSize);
  const ny = Math.ceil(height / tileSize);
  const tiles: Tile[] = [];
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const cx0 = Math.round((i * width) / nx);
      const cx1 = Math.round(((i + 1) * width) / nx);
      const cy0 = Math.round((j * height) / ny);
      const cy1 = Math.round(((j + 1) * height) / ny);
      tiles.push({ cx0, cx1, cy0, cy1, x0: Math.max(0, cx0 - margin), x1: Math.min(width, cx1 + margin), y0: Math.max(0, cy0 - margin), y1: Math.min(height, cy1 + margin) });
    }
  }
  return tiles;
}

/** Everything needed to solve tiles independently (in this thread or in workers). */
export interface PreparedFrame {
  width: number;
  height: number;
  data: Float64Array;
  weights: Float64Array;
  lambda: number;
  background: BackgroundKind;
  noise: NoiseEstimate;
  tiles: Tile[];
}

export function prepareFrame(image: Image, o: ValidDetectOptions): PreparedFrame {
  const { width, height } = image;
  if (image.data.length !== width * height) throw new InvalidImageError(`image has ${image.data.length} pixels, expected ${width}×${height}`);
  const { weights, data, estimate, valid } = noiseWeights(image.data, width, height, o.noise);
  if (valid === 0) throw new InvalidImageError('the image has no finite pixel');
  const lambda = typeof o.lambda === 'number' ? o.lambda : autoLambda(o.psf, estimate.medianWeight, valid, o.lambda === 'auto' ? 1 : o.lambda.auto);
  const background = o.background === 'auto' ? chooseBackground(data, weights, width, height, o.psf, lambda) : o.background;
  // The margin holds every pixel an owned source lights (within the PSF radius r) with 2 px to
  // spare, and the solver may place sources up to 2σ past the tile's edge (Workspace.outside).
  // Only sources more than r + 2 + 2σ outside the core go unmodelled; their light reaches no
  // nearer than 2 + 2σ px to the core, where an owned source's profile is below e⁻² of its peak
  // (0.4 % at σ 1.5 px). A margin of 2r + 2 gave the same recall, precision and RMSE on the
  // scale benchmark (1024², 2048²) for 9 % more pixels per tile.
  const margin = Math.ceil(o.psf.radius) + 2;
  const tiles = o.psf.periodic ? planTiles(width, height, Infinity, 0) : planTiles(width, height, o.tileSize, margin);
  return { width, height, data, weights, lambda, background, noise: estimate, tiles };
}

/** Solve one tile; returns its sources (in full-image pixel coordinates) and the solver stats. */
export function solveTile(prep: PreparedFrame, tileIndex: number, o: ValidDetectOptions): { sources: RawSource[]; stats: TileStats } {
  const t = prep.tiles[tileIndex];
  const tw = t.x1 - t.x0;
  const th = t.y1 - t.y0;
  const data = new Float64Array(tw * th);
  const weights = new Float64Array(tw * th);
  for (let y = 0; y < th; y++) {
    const src = (y + t.y0) * prep.width + t.x0;
    data.set(prep.data.subarray(src, src + tw), y * tw);
    weights.set(prep.weights.subarray(src, src + tw), y * tw);
  }
  const basis = prep.background === 'none' ? null : new BackgroundBasis(prep.background, tw, th);
  const problem = { width: tw, height: th, data, weights, psf: o.psf, lambda: prep.lambda, background: basis, signed: o.signed };
  const res = solveCpgd(problem, {
    // A tile of a crowded field starts without about one source in seven (146–179 particles at
    // the start against 166–214 at the end on four of the 2048² benchmark's tiles: faint stars
    // on a sky fit that, at μ = 0, absorbs the stars' light, and neighbours too close to make a
    // peak of their own). They are born at the first
    // certificate, which comes at iteration 3 rather than 5 (the start's fast descent is over
    // by then): 16 % fewer iterations and ~10 % less CPU on those tiles. Single frames keep the
    // default: on SMLM frames an early certificate cost 11 % more iterations.
    ...(prep.tiles.length > 1 ? { firstCertificate: 3 } : {}),
    ...o.cpgd,
    shouldStop: o.shouldStop,
    onProgress: o.onProgress
      ? (p) =>
          o.onProgress!({
            ...p,
            tile: tileIndex,
            tiles: prep.tiles.length,
            snapshot: () => p.snapshot().map((q) => ({ ...q, x: q.x + t.x0, y: q.y + t.y0 })),
          })
      : undefined,
  });
  const raw = buildCatalogue(
    { width: tw, height: th, data, weights, psf: o.psf, background: basis, backgroundCoefficients: res.backgroundCoefficients, particles: res.particles },
    { mergeRadius: o.mergeRadius },
  );
  const sources: RawSource[] = [];
  for (const s of raw) {
    const x = s.x + t.x0;
    const y = s.y + t.y0;
    // Ownership by the core region (half-open, pixel-centre convention: pixel i spans i−½..i+½).
    if (x < t.cx0 - 0.5 || x >= t.cx1 - 0.5 || y < t.cy0 - 0.5 || y >= t.cy1 - 0.5) {
      // The outermost tiles also own sources that sit in the half pixel beyond the image edge.
      const edgeX = (t.cx0 === 0 && x < -0.5 + 1e-9) || (t.cx1 === prep.width && x >= prep.width - 0.5);
      const edgeY = (t.cy0 === 0 && y < -0.5 + 1e-9) || (t.cy1 === prep.height && y >= prep.height - 0.5);
      if (!(edgeX || edgeY)) continue;
      if (x < -0.5 || x > prep.width - 0.5 || y < -0.5 || y > prep.height - 0.5) continue;
    }
    sources.push({ ...s, x, y });
  }
  return {
    sources,
    stats: {
      status: res.status,
      iterations: res.iterations,
      objective: res.objective,
      certificate: res.certificate,
      history: res.history,
      particleHistory: res.particleHistory,
      certificates: res.certificates,
    },
  };
}

/** Turn raw sources of a frame into catalogue rows (units, snr, filtering, ids). */
export function finishCatalogue(raw: RawSource[], noise: NoiseEstimate, o: ValidDetectOptions, firstId = 1): Source[] {
  // Fluxes in photons when the gain was given (ADU / (ADU per photon)); otherwise in ADU.
  const scale = noise.gainGiven && noise.gain ? 1 / noise.gain : 1;
  const rows: Source[] = [];
  const sorted = [...raw].sort((a, b) => b.flux - a.flux);
  for (const s of sorted) {
    const snr = s.fluxErr > 0 ? s.flux / s.fluxErr : NaN;
    if (o.minSnr > 0 && !(snr >= o.minSnr)) continue;
    rows.push({
      id: firstId + rows.length,
      frame: o.frame,
      x: s.x,
      y: s.y,
      flux: s.sign * s.flux * scale,
      xErr: s.xErr,
      yErr: s.yErr,
      fluxErr: s.fluxErr * scale,
      snr,
      background: (s.background - noise.offset) * scale,
    });
  }
  return rows;
}

export function summarise(stats: TileStats[]): { status: CpgdStatus; relativeGap: number; minV: number; iterations: number } {
  let status: CpgdStatus = 'converged';
  if (stats.some((s) => s.status === 'cancelled')) status = 'cancelled';
  else if (stats.some((s) => s.status === 'max-iter')) status = 'max-iter';
  return {
    status,
    relativeGap: Math.max(0, ...stats.map((s) => s.certificate.relativeGap)),
    minV: Math.min(...stats.map((s) => s.certificate.minV)),
    iterations: Math.max(0, ...stats.map((s) => s.iterations)),
  };
}

/**
 * The result of a frame from its solved tiles (null: a tile not run, e.g. after cancel), in tile
 * order; shared by the sequential detect() and the worker pool.
 */
export function assembleFrame(prep: PreparedFrame, o: ValidDetectOptions, outcomes: readonly ({ sources: RawSource[]; stats: TileStats } | null)[], firstId = 1): DetectResult {
  const raw: RawSource[] = [];
  const stats: TileStats[] = [];
  for (const r of outcomes) {
    if (!r) continue;
    raw.push(...r.sources);
    stats.push(r.stats);
  }
  const sum = summarise(stats);
  const cancelled = stats.length < prep.tiles.length || sum.status === 'cancelled';
  return {
    status: cancelled ? 'cancelled' : sum.status,
    sources: finishCatalogue(raw, prep.noise, o, firstId),
    lambda: prep.lambda,
    background: prep.background,
    noise: prep.noise,
    tiles: stats,
    relativeGap: sum.relativeGap,
    minV: sum.minV,
    iterations: sum.iterations,
  };
}

/** Detect the sources of one frame. Throws only on invalid input; cancellation is a status. */
export function detect(image: Image, options: DetectOptions): DetectResult {
  const o = validateDetectOptions(options);
  const prep = prepareFrame(image, o);
  const outcomes: ({ sources: RawSource[]; stats: TileStats } | null)[] = [];
  for (let i = 0; i < prep.tiles.length; i++) outcomes.push(o.shouldStop?.() ? null : solveTile(prep, i, o));
  return assembleFrame(prep, o, outcomes);
}
