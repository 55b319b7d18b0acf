/**
 * Synthetic images with known sources, for tests, benchmarks and `cpgd simulate`: a star field
 * (one frame, a wide log-uniform flux range on a sky background with a gentle gradient) or a
 * single-molecule localisation microscopy (SMLM) movie (many frames, each with its own blinking
 * emitters on a camera offset).
 *
 * Pixel model, in ADU: value = offset + gain · Poisson(λ) + Normal(0, readNoise), where λ, the
 * expected photons in the pixel, is the background plus Σ flux · φ(pixel − source) over the sources,
 * φ the pixel-integrated PSF. Pure and deterministic: the same options give the same frames.
 */

import type { TruthSource } from './catalog/types.js';
import { InvalidOptionError } from './errors.js';
import { allocStamp, type Psf } from './psf/types.js';
import { Rng } from './rng.js';

export type SimulationKind = 'stars' | 'smlm';

/** How fluxes are drawn between the two ends of the flux range. */
export type FluxDistribution = 'log-uniform' | 'uniform';

export interface SimulateOptions {
  /** What to simulate: a star field or an SMLM movie. Default `'stars'`. Sets the other defaults. */
  kind?: SimulationKind;
  /** Image width, pixels (integer ≥ 1). Required. */
  width: number;
  /** Image height, pixels (integer ≥ 1; must be 1 with a 1-D PSF). Required. */
  height: number;
  /**
   * Stars: the number of stars in each frame (integer ≥ 0), default 100. SMLM: the mean number of
   * emitters per frame (≥ 0; each frame's count is Poisson-distributed with this mean), default 20.
   */
  count?: number;
  /** Number of frames (integer ≥ 1). Default 1 for stars, 100 for SMLM. */
  frames?: number;
  /** The PSF sources are drawn with (its pixel-integrated values are used as is). Required. */
  psf: Psf;
  /**
   * Flux range [min, max] of a source, photons (0 < min ≤ max for log-uniform, 0 ≤ min ≤ max for
   * uniform). Default [400, 40000] for stars, [800, 4000] for SMLM.
   */
  flux?: readonly [number, number];
  /** How fluxes are spread over the range. Default `'log-uniform'` for stars, `'uniform'` for SMLM. */
  fluxDistribution?: FluxDistribution;
  /** Mean background, photons per pixel (≥ 0). Default 200 for stars, 40 for SMLM. */
  background?: number;
  /**
   * A linear background ramp along the image diagonal: the background goes from
   * background · (1 − g/2) at pixel (0, 0) to background · (1 + g/2) at the opposite corner, so
   * its mean stays `background`. A fraction in [0, 2]; default 0.1 for stars, 0 for SMLM.
   */
  backgroundGradient?: number;
  /** Camera gain, ADU per photon (> 0). Default 1. */
  gain?: number;
  /** Camera offset (bias) added to every pixel, ADU. Default 0 for stars, 100 for SMLM. */
  offset?: number;
  /**
   * Gaussian read noise, ADU rms (≥ 0). Default 5 for stars (a CCD), 1.5 for SMLM (an sCMOS
   * camera at gain 1).
   */
  readNoise?: number;
  /**
   * Sources are placed at least this far inside the borders, pixels (≥ 0): positions are uniform
   * in [margin, width − 1 − margin] × [margin, height − 1 − margin] (y = 0 with a 1-D PSF).
   * Default 2 for both kinds.
   */
  margin?: number;
  /**
   * When false, pixels are the expected values offset + gain · λ without shot or read noise (for
   * checks and figures). Default true.
   */
  noise?: boolean;
  /** Seed of the random numbers (safe integer). Default 1. */
  seed?: number;
  /**
   * SMLM: a sample with structure. The emitters of every frame are drawn among this many fixed
   * binding sites (integer ≥ 1, placed uniformly once, like fluorophores on a fixed sample that
   * blink on and off), instead of at new random places each frame. Default: none (every emitter
   * at a new place), which keeps the default movies as they were.
   */
  sites?: number;
  /**
   * Stage drift, pixels per frame: frame f shows the sample moved by f · (x, y). The truth holds
   * the moved positions (where the emitters appear in that frame). Default (0, 0).
   */
  drift?: { x: number; y: number };
}

/** Options after validation, with every default filled in. */
export interface SimulateConfig {
  kind: SimulationKind;
  width: number;
  height: number;
  count: number;
  frames: number;
  psf: Psf;
  flux: readonly [number, number];
  fluxDistribution: FluxDistribution;
  background: number;
  backgroundGradient: number;
  gain: number;
  offset: number;
  readNoise: number;
  margin: number;
  noise: boolean;
  seed: number;
  sites: number | null;
  drift: { x: number; y: number };
}

export interface Simulation {
  /** One array per frame, row-major, ADU. */
  frames: Float64Array[];
  width: number;
  height: number;
  /** The true sources of all frames, ids 1..N in frame order; frame is 0-based; flux in photons. */
  truth: TruthSource[];
  /** The options used, defaults filled in. */
  config: SimulateConfig;
}

/** At most this many pixels over all frames (2 GiB of doubles). */
const MAX_TOTAL_PIXELS = 2 ** 28;

const DEFAULTS: Record<SimulationKind, Omit<SimulateConfig, 'kind' | 'width' | 'height' | 'psf' | 'seed' | 'noise' | 'sites' | 'drift'>> = {
  stars: {
    count: 100,
    frames: 1,
    flux: [400, 40000],
    fluxDistribution: 'log-uniform',
    background: 200,
    backgroundGradient: 0.1,
    gain: 1,
    offset: 0,
    readNoise: 5,
    margin: 2,
  },
  smlm: {
    count: 20,
    frames: 100,
    flux: [800, 4000],
    fluxDistribution: 'uniform',
    background: 40,
    backgroundGradient: 0,
    gain: 1,
    offset: 100,
    readNoise: 1.5,
    margin: 2,
  },
};

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Check the options once and fill in the defaults; throws InvalidOptionError naming the option. */
export function validateSimulateOptions(o: SimulateOptions): SimulateConfig {
  if (o === null || typeof o !== 'object') throw new InvalidOptionError('options', o, 'simulation options must be an object');
  const kind = o.kind ?? 'stars';
  if (kind !== 'stars' && kind !== 'smlm') throw new InvalidOptionError('--kind', kind, "the kind must be 'stars' or 'smlm'");
  const d = DEFAULTS[kind];

  const psf = o.psf;
  if (psf === null || typeof psf !== 'object' || typeof psf.stamp !== 'function' || !(psf.maxStampSide >= 1)) {
    throw new InvalidOptionError('--psf', psf, 'a PSF object is required');
  }

  for (const name of ['width', 'height'] as const) {
    const v = o[name];
    if (!Number.isInteger(v) || v < 1 || v > 1_000_000) {
      throw new InvalidOptionError(`--${name}`, v, `the ${name} must be a whole number of pixels between 1 and 1000000`);
    }
  }
  const { width, height } = o;
  if (psf.dims === 1 && height !== 1) throw new InvalidOptionError('--height', height, 'a 1-D PSF needs a height of 1');

  const count = o.count ?? d.count;
  if (kind === 'stars') {
    if (!Number.isInteger(count) || count < 0) throw new InvalidOptionError('--count', count, 'the number of stars must be a whole number ≥ 0');
  } else if (!isNum(count) || count < 0) {
    throw new InvalidOptionError('--count', count, 'the mean number of emitters per frame must be a number ≥ 0');
  }
  if (count > 10_000_000) throw new InvalidOptionError('--count', count, 'at most 10000000 sources per frame');

  const frames = o.frames ?? d.frames;
  if (!Number.isInteger(frames) || frames < 1) throw new InvalidOptionError('--frames', frames, 'the number of frames must be a whole number ≥ 1');
  if (width * height * frames > MAX_TOTAL_PIXELS) {
    throw new InvalidOptionError('--frames', frames, `width × height × frames must be at most ${MAX_TOTAL_PIXELS} pixels`);
  }

  const fluxDistribution = o.fluxDistribution ?? d.fluxDistribution;
  if (fluxDistribution !== 'log-uniform' && fluxDistribution !== 'uniform') {
    throw new InvalidOptionError('--flux-distribution', fluxDistribution, "the flux distribution must be 'log-uniform' or 'uniform'");
  }
  const flux = o.flux ?? d.flux;
  if (!Array.isArray(flux) || flux.length !== 2 || !isNum(flux[0]) || !isNum(flux[1]) || flux[0] > flux[1]) {
    throw new InvalidOptionError('--flux', flux, 'the flux range must be two finite numbers [min, max] of photons with min ≤ max');
  }
  if (fluxDistribution === 'log-uniform' ? !(flux[0] > 0) : !(flux[0] >= 0)) {
    throw new InvalidOptionError('--flux', flux, fluxDistribution === 'log-uniform' ? 'a log-uniform flux range must start above 0' : 'fluxes must be ≥ 0');
  }

  const background = o.background ?? d.background;
  if (!isNum(background) || background < 0) throw new InvalidOptionError('--background', background, 'the background must be a number of photons per pixel ≥ 0');
  const backgroundGradient = o.backgroundGradient ?? d.backgroundGradient;
  if (!isNum(backgroundGradient) || backgroundGradient < 0 || backgroundGradient > 2) {
    throw new InvalidOptionError('--background-gradient', backgroundGradient, 'the background gradient must be a fraction between 0 and 2');
  }
  const gain = o.gain ?? d.gain;
  if (!isNum(gain) || gain <= 0) throw new InvalidOptionError('--gain', gain, 'the gain must be a number of ADU per photon > 0');
  const offset = o.offset ?? d.offset;
  if (!isNum(offset)) throw new InvalidOptionError('--offset', offset, 'the offset must be a finite number of ADU');
  const readNoise = o.readNoise ?? d.readNoise;
  if (!isNum(readNoise) || readNoise < 0) throw new InvalidOptionError('--read-noise', readNoise, 'the read noise must be a number of ADU ≥ 0');

  const margin = o.margin ?? d.margin;
  if (!isNum(margin) || margin < 0) throw new InvalidOptionError('--margin', margin, 'the margin must be a number of pixels ≥ 0');
  if (width - 1 - 2 * margin < 0 || (psf.dims === 2 && height - 1 - 2 * margin < 0)) {
    throw new InvalidOptionError('--margin', margin, `the margin leaves no room for sources in a ${width}×${height} image`);
  }

  const noise = o.noise ?? true;
  if (typeof noise !== 'boolean') throw new InvalidOptionError('--noise', noise, 'noise must be true or false');
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new InvalidOptionError('--seed', seed, 'the seed must be a whole number');
  const sites = o.sites ?? null;
  if (sites !== null && !(Number.isInteger(sites) && sites >= 1 && sites <= 10_000_000)) throw new InvalidOptionError('--sites', sites, 'the number of binding sites must be a whole number between 1 and 10000000');
  if (sites !== null && kind !== 'smlm') throw new InvalidOptionError('--sites', sites, 'binding sites are for --kind smlm');
  const drift = o.drift ?? { x: 0, y: 0 };
  if (!(drift && isNum(drift.x) && isNum(drift.y))) throw new InvalidOptionError('--drift-rate', drift, 'the drift must be two finite numbers of pixels per frame');

  return {
    kind,
    width,
    height,
    count,
    frames,
    psf,
    flux: [flux[0], flux[1]],
    fluxDistribution,
    background,
    backgroundGradient,
    gain,
    offset,
    readNoise,
    margin,
    noise,
    seed,
    sites,
    drift: { x: drift.x, y: drift.y },
  };
}

/** Draw the sources of every frame (from their own random stream, independent of the noise). */
function drawTruth(c: SimulateConfig): TruthSource[] {
  const rng = new Rng(c.seed, 1);
  const truth: TruthSource[] = [];
  const [fMin, fMax] = c.flux;
  const logMin = Math.log(fMin);
  const logMax = Math.log(fMax);
  const xSpan = c.width - 1 - 2 * c.margin;
  const ySpan = c.height - 1 - 2 * c.margin;
  // Binding sites come from a stream of their own, so they do not depend on the frame count.
  let sites: { x: number; y: number }[] | null = null;
  if (c.sites !== null) {
    const srng = new Rng(c.seed, 3);
    sites = Array.from({ length: c.sites }, () => ({ x: c.margin + xSpan * srng.uniform(), y: c.psf.dims === 1 ? 0 : c.margin + ySpan * srng.uniform() }));
  }
  for (let f = 0; f < c.frames; f++) {
    const n = c.kind === 'stars' ? c.count : rng.poisson(c.count);
    for (let i = 0; i < n; i++) {
      let x: number;
      let y: number;
      if (sites) {
        const site = sites[Math.min(sites.length - 1, Math.floor(rng.uniform() * sites.length))];
        x = site.x;
        y = site.y;
      } else {
        x = c.margin + xSpan * rng.uniform();
        y = c.psf.dims === 1 ? 0 : c.margin + ySpan * rng.uniform();
      }
      x += f * c.drift.x;
      if (c.psf.dims !== 1) y += f * c.drift.y;
      const u = rng.uniform();
      const flux = c.fluxDistribution === 'log-uniform' ? Math.exp(logMin + (logMax - logMin) * u) : fMin + (fMax - fMin) * u;
      truth.push({ id: truth.length + 1, frame: f, x, y, flux });
    }
  }
  return truth;
}

/**
 * The expected photons per pixel of the background alone (with its gradient), row-major.
 * Exported so tests and benchmarks can compare against the model.
 */
export function backgroundModel(c: Pick<SimulateConfig, 'width' | 'height' | 'background' | 'backgroundGradient'>): Float64Array {
  const { width, height, background, backgroundGradient: g } = c;
  const out = new Float64Array(width * height);
  const sx = width > 1 ? 1 / (width - 1) : 0;
  const sy = height > 1 ? 1 / (height - 1) : 0;
  // With a single row or column the ramp runs along the other axis only.
  const wx = height > 1 && width > 1 ? 0.5 : width > 1 ? 1 : 0;
  const wy = height > 1 && width > 1 ? 0.5 : height > 1 ? 1 : 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = wx * x * sx + wy * y * sy; // 0 at (0, 0), 1 at the far corner
      out[y * width + x] = background * (1 + g * (t - 0.5));
    }
  }
  return out;
}

/**
 * Add flux · φ of each source to `lambda` (expected photons). Non-periodic PSFs drop what falls
 * outside the image; periodic PSFs wrap their stamps around the image.
 */
function addSources(lambda: Float64Array, width: number, height: number, psf: Psf, sources: readonly TruthSource[]): void {
  const st = allocStamp(psf);
  for (const s of sources) {
    psf.stamp(s.x, s.y, st);
    const { x0, y0, nx, ny, v } = st;
    for (let j = 0; j < ny; j++) {
      let py = y0 + j;
      if (psf.periodic) py = ((py % height) + height) % height;
      else if (py < 0 || py >= height) continue;
      const row = py * width;
      for (let i = 0; i < nx; i++) {
        let px = x0 + i;
        if (psf.periodic) px = ((px % width) + width) % width;
        else if (px < 0 || px >= width) continue;
        lambda[row + px] += s.flux * v[j * nx + i];
      }
    }
  }
}

/**
 * Simulate a star field or an SMLM movie. Throws InvalidOptionError for bad options.
 * A PSF that can be negative (the Dirichlet kernel rings) may give negative expected photons: the
 * Poisson draw then uses 0, while the noise-free image keeps the expectation as is.
 */
export function simulate(options: SimulateOptions): Simulation {
  const c = validateSimulateOptions(options);
  const { width, height, gain, offset, readNoise } = c;
  const truth = drawTruth(c);
  const bg = backgroundModel(c);
  const rng = new Rng(c.seed, 2);
  const frames: Float64Array[] = [];
  let t = 0;
  for (let f = 0; f < c.frames; f++) {
    const t0 = t;
    while (t < truth.length && truth[t].frame === f) t++;
    const lambda = Float64Array.from(bg);
    addSources(lambda, width, height, c.psf, truth.slice(t0, t));
    const out = lambda; // reuse: overwrite each expectation by its pixel value
    for (let p = 0; p < out.length; p++) {
      const l = lambda[p];
      if (!c.noise) {
        out[p] = offset + gain * l;
      } else {
        const photons = l > 0 ? rng.poisson(l) : 0;
        out[p] = offset + gain * photons + (readNoise > 0 ? readNoise * rng.normal() : 0);
      }
    }
    frames.push(out);
  }
  return { frames, width, height, truth, config: c };
}
