/**
 * What the main process does for the window, without Electron: the open image, its frames as
 * Float32 pixels with statistics, detection on the worker pool (one run at a time, progress
 * throttled, cancel), and the latest catalogue for export. main.ts wires it to IPC, dialogs and
 * menus; tests drive it directly under Node.
 */
import { basename } from 'node:path';
import { formatCatalogCsv } from '../core/catalog/csv.js';
import { formatDs9Regions } from '../core/catalog/ds9.js';
import { formatThunderstormCsv } from '../core/catalog/thunderstorm.js';
import type { Source } from '../core/catalog/types.js';
import { autoLambda, type DetectResult, type TileStats } from '../core/detect.js';
import { makeImage, type Image, type ImageSource } from '../core/image.js';
import { fitPsf, proposeStars, shapeFwhm, type PsfShape } from '../core/psf/fit.js';
import { buildPsf, formatPsfSpec, type PsfSpec } from '../core/psf/spec.js';
import { noiseWeights, type NoiseOptions } from '../core/solver/noise.js';
import { cameraNoiseOptions, pixelToNm, positionUncertaintyPx, sourcesInPhotons, validateCamera, type Camera, type CameraSettings } from '../core/camera.js';
import { filterLocalisations, type LocalisationFilter } from '../core/catalog/filter.js';
import { driftAt, estimateDrift, type DriftCurve } from '../core/drift.js';
import { renderLocalisations, renderingToTiff, type Localisation } from '../core/render.js';
import { celestialWcs, type Wcs } from '../core/wcs.js';
import { fitsCatalog } from '../cli/detect.js';
import { openImage } from '../cli/io.js';
import type { DetectPool } from '../jobs/pool.js';
import { detectFrameParallel, detectFramesParallel, type ParallelDetectOptions } from '../jobs/parallel.js';
import type { TileProgress } from '../jobs/protocol.js';
import { MAX_SHOWN_RENDER_PIXELS } from '../shared/ipc.js';
import type {
  AutoLambdaRequest,
  CameraSetting,
  CatalogueFormat,
  CatalogueView,
  DriftInfo,
  FrameRange,
  RenderRequest,
  RenderResult,
  ConvergenceTrace,
  DetectProgress,
  DetectRequest,
  DetectSummary,
  ExportOptions,
  FrameData,
  FrameStats,
  ImageInfo,
  ParticleSnapshot,
  PsfFileInfo,
  PsfFitRequest,
  PsfFitSummary,
  PsfSetting,
  Region,
  SourceRow,
} from '../shared/ipc.js';
import { AppError } from './validate.js';

/** Lets through at most one call per `intervalMs` (the first always passes). */
export class Throttle {
  private last = -Infinity;
  constructor(
    readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}
  ready(): boolean {
    const t = this.now();
    if (t - this.last < this.intervalMs) return false;
    this.last = t;
    return true;
  }
}

/** Statistics of the finite pixels; the median and σ from a deterministic sample of ≤ 20 000. */
export function frameStats(data: ArrayLike<number>): FrameStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let finite = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    finite++;
  }
  if (finite === 0) return { min: NaN, max: NaN, mean: NaN, sigma: NaN, median: NaN, finite: 0 };
  const step = Math.max(1, Math.floor(data.length / 20_000));
  const sample: number[] = [];
  for (let i = 0; i < data.length; i += step) if (Number.isFinite(data[i]!)) sample.push(data[i]!);
  sample.sort((a, b) => a - b);
  const med = (s: number[]) => (s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!));
  const median = med(sample);
  const sigma = 1.4826 * med(sample.map((v) => Math.abs(v - median)).sort((a, b) => a - b));
  return { min, max, mean: sum / finite, sigma, median, finite };
}

/** A PSF file's stamp as main keeps it. */
export interface LoadedPsfFile {
  name: string;
  image: Image;
  /** Gaussian-equivalent σ, image pixels, at the oversampling it was loaded with. */
  sigma: number;
}

export function psfSpecOf(p: PsfSetting): PsfSpec {
  switch (p.kind) {
    case 'gaussian':
      return { kind: 'gaussian', sigmaX: p.sigma, sigmaY: p.sigma };
    case 'moffat':
      return { kind: 'moffat', fwhm: p.fwhm, beta: p.beta };
    case 'file':
      return { kind: 'file', path: p.name, oversample: p.oversample };
  }
}

/**
 * The core camera of the app's settings, as `cpgd detect` builds it from its options (core
 * camera.ts): the pixel size defaults to the file's (x), null fields are not given. Throws the
 * core's InvalidOptionError for contradictions (checkCamera refuses them first).
 */
export function cameraOf(c: CameraSetting, filePixelSizeNm: number | null = null): Camera {
  const s: CameraSettings = { offset: c.offset };
  if (c.gain !== null) s.gain = c.gain;
  if (c.readNoise !== null) s.readNoise = c.readNoise;
  if (c.electronsPerAdu != null) s.electronsPerAdu = c.electronsPerAdu;
  if (c.emGain != null) s.emGain = c.emGain;
  const px = c.pixelSizeNm ?? filePixelSizeNm;
  if (px !== null) s.pixelSizeNm = px;
  return validateCamera(s);
}

/** The solver's noise options of the app's camera: noise gain F²·G with an EM gain, as `cpgd detect`. */
function noiseOf(camera: CameraSetting): NoiseOptions {
  return cameraNoiseOptions(cameraOf(camera));
}

/** The core's PSF spec and noise options of an app request (a file PSF needs its loaded stamp). */
export function detectOptions(r: DetectRequest, psfFile?: LoadedPsfFile): ParallelDetectOptions {
  const psfSpec = psfSpecOf(r.psf);
  const noise = noiseOf(r.camera);
  if (psfSpec.kind === 'file' && !psfFile) throw new AppError('invalid-psf', `the PSF file ${psfSpec.path} is not loaded: choose it again`);
  return {
    ...(psfFile ? { psfImage: psfFile.image } : {}),
    psfSpec,
    lambda: r.lambda.mode === 'auto' ? { auto: r.lambda.factor } : r.lambda.value,
    background: r.background,
    noise,
    frame: r.frame,
  };
}

/** Particles a progress event carries at most, over all tiles (the heaviest). */
export const MAX_PROGRESS_PARTICLES = 4000;

/** Points of a convergence trace at most (longer histories are thinned evenly, the last kept). */
export const MAX_TRACE_POINTS = 1000;

/**
 * The convergence of a frame from its tiles' solver histories (see ConvergenceTrace): tiles are
 * independent problems, so F = Σ_t F_t, each tile frozen at its last value once it stopped.
 */
export function convergenceTrace(tiles: readonly Pick<TileStats, 'history' | 'particleHistory' | 'certificates'>[]): ConvergenceTrace {
  const n = Math.max(0, ...tiles.map((t) => t.history.length));
  const best = tiles.map((t) => Math.min(...t.history));
  const trace: ConvergenceTrace = { iteration: [], fMinusBest: [], particles: [], gapIteration: [], relativeGap: [] };
  for (const i of thinned(n, MAX_TRACE_POINTS)) {
    let f = 0;
    let p = 0;
    tiles.forEach((t, k) => {
      const j = Math.min(i, t.history.length - 1);
      if (j < 0) return;
      f += t.history[j]! - best[k]!;
      p += t.particleHistory[Math.min(i, t.particleHistory.length - 1)] ?? 0;
    });
    trace.iteration.push(i);
    trace.fMinusBest.push(f);
    trace.particles.push(p);
  }
  const its = [...new Set(tiles.flatMap((t) => t.certificates.map((c) => c.iteration)))].sort((a, b) => a - b);
  for (const k of thinned(its.length, MAX_TRACE_POINTS)) {
    const it = its[k]!;
    let worst = -Infinity;
    for (const t of tiles) {
      let latest: number | null = null;
      for (const c of t.certificates) if (c.iteration <= it) latest = c.relativeGap;
      if (latest !== null && latest > worst) worst = latest;
    }
    trace.gapIteration.push(it);
    trace.relativeGap.push(worst);
  }
  return trace;
}

/** About `max` evenly spaced indices of 0 … n − 1, always with the first and the last. */
export function thinned(n: number, max: number): number[] {
  const stride = Math.max(1, Math.ceil(n / max));
  const out: number[] = [];
  for (let i = 0; i < n; i += stride) out.push(i);
  if (n > 0 && out[out.length - 1] !== n - 1) out.push(n - 1);
  return out;
}

/** The latest report of each tile, combined into the app's progress event. */
export class ProgressAggregator {
  private readonly latest = new Map<number, TileProgress>();
  constructor(readonly runId: number) {}

  add(p: TileProgress): void {
    this.latest.set(p.tile, p);
  }

  event(last: TileProgress, offset: { x: number; y: number } = { x: 0, y: 0 }): DetectProgress {
    const tiles = last.tiles;
    const tileObjectives: (number | null)[] = Array.from({ length: tiles }, () => null);
    let objective = 0;
    let particles = 0;
    let iteration = 0;
    let gap: number | null = null;
    const snaps: ParticleSnapshot[] = [];
    for (const [t, p] of this.latest) {
      if (t < tiles) tileObjectives[t] = p.objective;
      objective += p.objective;
      particles += p.particles;
      iteration = Math.max(iteration, p.iteration);
      if (p.relativeGap !== null && (gap === null || p.relativeGap > gap)) gap = p.relativeGap;
      if (p.snapshot) snaps.push(p.snapshot);
    }
    return {
      runId: this.runId,
      tile: last.tile,
      tiles,
      tilesStarted: this.latest.size,
      iteration,
      particles,
      relativeGap: gap,
      objective,
      tileObjectives,
      snapshot: snaps.length === 0 ? null : mergeSnapshots(snaps, MAX_PROGRESS_PARTICLES, offset),
      stack: null,
    };
  }
}

/** One snapshot of at most `max` particles (the heaviest), shifted by `offset`. */
export function mergeSnapshots(snaps: readonly ParticleSnapshot[], max: number, offset: { x: number; y: number }): ParticleSnapshot {
  let all: { x: number; y: number; a: number }[] = [];
  for (const s of snaps) for (let i = 0; i < s.x.length; i++) all.push({ x: s.x[i]! + offset.x, y: s.y[i]! + offset.y, a: s.a[i]! });
  if (all.length > max) all = all.sort((p, q) => Math.abs(q.a) - Math.abs(p.a)).slice(0, max);
  return { x: all.map((p) => p.x), y: all.map((p) => p.y), a: all.map((p) => p.a) };
}

/** The pixels of a region of an image, as an image of its own. */
export function cropImage(image: Image, r: Region): Image {
  const out = new Float64Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) {
    const src = (y + r.y) * image.width + r.x;
    out.set(image.data.subarray(src, src + r.width), y * r.width);
  }
  return makeImage(r.width, r.height, out);
}

function row(s: Source): SourceRow {
  const r: SourceRow = { id: s.id, frame: s.frame, x: s.x, y: s.y, flux: s.flux, xErr: s.xErr, yErr: s.yErr, fluxErr: s.fluxErr, snr: s.snr };
  if (s.background !== undefined) r.background = s.background;
  if (s.ra !== undefined && s.dec !== undefined) {
    r.ra = s.ra;
    r.dec = s.dec;
  }
  return r;
}

/** Header keywords that define a celestial WCS (with alternate-WCS letters and SIP distortion). */
const WCS_KEY = /^(WCSAXES[A-Z]?|NAXIS\d*|CTYPE\d+[A-Z]?|CRPIX\d+[A-Z]?|CRVAL\d+[A-Z]?|CD\d+_\d+[A-Z]?|PC\d+_\d+[A-Z]?|CDELT\d+[A-Z]?|CROTA\d+|CUNIT\d+[A-Z]?|PV\d+_\d+[A-Z]?|LONPOLE[A-Z]?|LATPOLE[A-Z]?|RADESYS[A-Z]?|RADECSYS|EQUINOX[A-Z]?|EPOCH|(A|B|AP|BP)_\w+)$/;

/** The celestial WCS of an image and the cards that define it; null without one (or with a broken one). */
export function imageWcs(header: ImageSource['header'], name: string): { wcs: Wcs; cards: ImageSource['header'] } | null {
  let wcs: Wcs | null = null;
  try {
    wcs = celestialWcs(header, { name });
  } catch {
    // A WCS the reader cannot use: the image still opens, in pixel coordinates (as cpgd info says).
    return null;
  }
  return wcs ? { wcs, cards: header.filter((c) => WCS_KEY.test(c.key)).map((c) => ({ key: c.key, value: c.value })) } : null;
}

/** The latest complete catalogue, kept for exports and renderings. */
interface Catalogue {
  /** Changes with every catalogue (keys the drift cache). */
  id: number;
  imageName: string;
  /** The camera image's size, pixels (the extent of renderings). */
  width: number;
  height: number;
  /** In photons when `photons`. */
  sources: Source[];
  wcs: Wcs | null;
  psfLabel: string;
  psfSigma: number;
  lambda: number;
  photons: boolean;
  /** The run's camera pixel size, nm (settings, else file), or null. */
  pixelSizeNm: number | null;
}

/** The catalogue as an export or a rendering sees it (filters and drift applied). */
export interface ViewedCatalogue {
  sources: Source[];
  pixelSizeNm: number | null;
  filteredOut: number;
  drift: DriftCurve | null;
}

export function driftInfo(c: DriftCurve): DriftInfo {
  return { frames: [...c.frames], dxNm: Array.from(c.dxNm), dyNm: Array.from(c.dyNm), segments: c.segments.length };
}

export interface SessionOptions {
  pool: DetectPool;
  /** Least time between two progress events, ms (default 100). */
  progressIntervalMs?: number;
}

export class Session {
  private readonly pool: DetectPool;
  private readonly progressIntervalMs: number;
  private source: ImageSource | null = null;
  private info: ImageInfo | null = null;
  private nextImageId = 1;
  private nextRunId = 1;
  private running: { runId: number; abort: AbortController } | null = null;
  private catalogue: Catalogue | null = null;
  private nextCatalogueId = 1;
  private driftCache: { key: string; curve: DriftCurve } | null = null;
  private readonly psfFiles = new Map<number, LoadedPsfFile>();
  private nextPsfFileId = 1;
  private autoLambdaCache: { key: string; value: number } | null = null;
  private wcs: Wcs | null = null;

  constructor(options: SessionOptions) {
    this.pool = options.pool;
    this.progressIntervalMs = options.progressIntervalMs ?? 100;
  }

  get image(): ImageInfo | null {
    return this.info ? { ...this.info } : null;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  /** Read an image file (FITS or TIFF by its first bytes) and make it the open image. */
  async open(path: string): Promise<ImageInfo> {
    if (this.running) throw new AppError('busy', 'a detection is running; cancel it before opening another image');
    const source = await openImage(path);
    // Large files stay open for their frames: release the previous one.
    const previous = this.source;
    this.source = source;
    void previous?.close?.().catch(() => {});
    this.catalogue = null;
    this.autoLambdaCache = null;
    const w = imageWcs(source.header, basename(path));
    this.wcs = w?.wcs ?? null;
    this.info = {
      imageId: this.nextImageId++,
      name: basename(path),
      path,
      format: source.format,
      width: source.width,
      height: source.height,
      frames: source.frames,
      pixelSizeNm: source.pixelSizeNm ? { ...source.pixelSizeNm } : null,
    };
    const cam = source.camera;
    if (cam && (cam.offset !== undefined || cam.emGain !== undefined)) this.info.camera = { ...cam };
    if (w) this.info.wcs = { description: w.wcs.describe(), cards: [...w.cards] };
    return { ...this.info };
  }

  private async readFrame(imageId: number, frame: number): Promise<{ source: ImageSource; image: Image }> {
    const source = this.source;
    if (!source || !this.info) throw new AppError('no-image', 'no image is open');
    if (imageId !== this.info.imageId) throw new AppError('no-image', 'that image is no longer open');
    if (frame >= source.frames) throw new AppError('invalid-argument', `frame ${frame} does not exist: the image has ${source.frames} frame${source.frames === 1 ? '' : 's'}`);
    return { source, image: await source.frame(frame) };
  }

  async frame(imageId: number, frame: number): Promise<FrameData> {
    const { image } = await this.readFrame(imageId, frame);
    const pixels = Float32Array.from(image.data);
    return { imageId, frame, width: image.width, height: image.height, pixels, stats: frameStats(image.data) };
  }

  /**
   * The noise-based λ of a frame (λ auto with factor 1): what core prepareFrame computes, without
   * the background choice. Cached for the latest frame, PSF and camera.
   */
  async autoLambda(r: AutoLambdaRequest): Promise<number> {
    const key = JSON.stringify([r.imageId, r.frame, r.psf, r.camera]);
    if (this.autoLambdaCache?.key === key) return this.autoLambdaCache.value;
    const { image } = await this.readFrame(r.imageId, r.frame);
    const psf = this.buildPsf(r.psf, image.width, image.height);
    const { weights, estimate } = noiseWeights(image.data, image.width, image.height, noiseOf(r.camera));
    let valid = 0;
    for (let i = 0; i < weights.length; i++) if (weights[i]! > 0) valid++;
    if (valid === 0) throw new AppError('invalid-image', 'the frame has no finite pixel');
    const value = autoLambda(psf, estimate.medianWeight, valid, 1);
    this.autoLambdaCache = { key, value };
    return value;
  }

  /**
   * Detect the sources of one frame, or of a region of interest of it, on the pool. Progress
   * (aggregated over the tiles, with the live particles) goes to `onProgress` at most once per
   * progressIntervalMs. Rejects with AppError('busy') while another run is going, and with the
   * core's typed errors for bad parameters or failed workers. A region's result does not replace
   * the catalogue for export.
   */
  async detect(request: DetectRequest, onProgress?: (p: DetectProgress) => void): Promise<DetectSummary> {
    if (this.running) throw new AppError('busy', 'a detection is already running');
    const runId = this.nextRunId++;
    const abort = new AbortController();
    this.running = { runId, abort };
    const started = performance.now();
    try {
      if (request.allFrames) return await this.detectStack(request, runId, abort.signal, started, onProgress);
      const { image: full } = await this.readFrame(request.imageId, request.frame);
      const region = request.region ? clipRegion(request.region, full.width, full.height) : null;
      const psfFile = request.psf.kind === 'file' ? this.psfFile(request.psf.fileId) : undefined;
      const options = detectOptions(request, psfFile);
      options.snapshot = onProgress !== undefined;
      let image = full;
      if (region) {
        image = cropImage(full, region);
        // The whole frame's λ, so the region shows what the full run will find there.
        if (request.lambda.mode === 'auto') options.lambda = request.lambda.factor * (await this.autoLambda(request));
      }
      const offset = region ? { x: region.x, y: region.y } : { x: 0, y: 0 };
      const throttle = new Throttle(this.progressIntervalMs);
      const agg = new ProgressAggregator(runId);
      const result = await detectFrameParallel(image, options, this.pool, {
        signal: abort.signal,
        onProgress: (p) => {
          agg.add(p);
          if (!onProgress || !throttle.ready()) return;
          onProgress(agg.event(p, offset));
        },
      });
      const camera = this.camera(request.camera);
      const inPhotons = sourcesInPhotons(result.sources, camera);
      const sources = this.onSky(region ? inPhotons.map((s) => ({ ...s, x: s.x + offset.x, y: s.y + offset.y })) : inPhotons);
      const photons = camera.aduPerPhoton !== undefined;
      const pixelSizeNm = camera.pixelSizeNm ?? null;
      if (result.status !== 'cancelled' && !region) {
        this.setCatalogue({
          imageName: this.info!.name,
          width: full.width,
          height: full.height,
          sources,
          wcs: this.wcs,
          psfLabel: formatPsfSpec(psfSpecOf(request.psf)),
          psfSigma: request.psf.kind === 'gaussian' ? request.psf.sigma : request.psf.kind === 'moffat' ? request.psf.fwhm / 2.3548 : this.buildPsf(request.psf, full.width, full.height).sigma,
          lambda: result.lambda,
          photons,
          pixelSizeNm,
        });
      }
      return {
        runId,
        imageId: request.imageId,
        frame: request.frame,
        region,
        frames: 1,
        photons,
        pixelSizeNm,
        status: result.status,
        sources: sources.map(row),
        lambda: result.lambda,
        background: result.background,
        iterations: result.iterations,
        relativeGap: result.relativeGap,
        elapsedMs: performance.now() - started,
        convergence: convergenceTrace(result.tiles),
      };
    } finally {
      this.running = null;
    }
  }

  /**
   * Load a PSF stamp file (FITS or TIFF, first frame): checked by building the PSF, so a bad file
   * fails here with the core's typed error naming it. Main keeps the stamp; the renderer gets an id.
   */
  async loadPsfFile(path: string, oversample: number): Promise<PsfFileInfo> {
    const src = await openImage(path);
    let image: Image;
    try {
      image = await src.frame(0);
    } finally {
      await src.close?.();
    }
    const name = basename(path);
    const psf = buildPsf({ kind: 'file', path: name, oversample }, { fileImage: image });
    const fileId = this.nextPsfFileId++;
    this.psfFiles.set(fileId, { name, image, sigma: psf.sigma });
    // A few recent files are enough (switching back and forth); older stamps are let go.
    for (const id of this.psfFiles.keys()) if (this.psfFiles.size > 4) this.psfFiles.delete(id);
    return { fileId, name, width: image.width, height: image.height, oversample, sigma: psf.sigma, stamp: Array.from(image.data) };
  }

  private psfFile(fileId: number): LoadedPsfFile {
    const f = this.psfFiles.get(fileId);
    if (!f) throw new AppError('invalid-psf', 'that PSF file is no longer loaded: choose it again');
    return f;
  }

  private buildPsf(p: PsfSetting, width: number, height: number) {
    const fileImage = p.kind === 'file' ? this.psfFile(p.fileId).image : undefined;
    return buildPsf(psfSpecOf(p), { fileImage, width, height });
  }

  /** The core camera of a request, with the open file's pixel size as the default. */
  private camera(c: CameraSetting): Camera {
    return cameraOf(c, this.info?.pixelSizeNm?.x ?? null);
  }

  private setCatalogue(c: Omit<Catalogue, 'id'>): void {
    this.catalogue = { ...c, id: this.nextCatalogueId++ };
    this.driftCache = null;
  }

  /**
   * The frames of the open image in `range` (default all) on the pool, side by side, read as
   * needed (at most a few frames in memory, however long the stack). Progress names the frame
   * that reported, the frames done, the localisations found and the time since the start; it is
   * also sent as each frame finishes (throttled, the last always). A cancelled run keeps the
   * frames finished before the cancel as the catalogue (frames cut short are left out whole), so
   * the work done is not lost; the summary says how many of the frames asked for that is.
   */
  private async detectStack(request: DetectRequest, runId: number, signal: AbortSignal, started: number, onProgress?: (p: DetectProgress) => void): Promise<DetectSummary> {
    const source = this.source;
    if (!source || !this.info || request.imageId !== this.info.imageId) throw new AppError('no-image', 'that image is no longer open');
    const range: FrameRange = request.frameRange ?? { first: 0, last: source.frames - 1 };
    if (range.last >= source.frames) throw new AppError('invalid-argument', `frames ${range.first}–${range.last} do not exist: the image has ${source.frames} frame${source.frames === 1 ? '' : 's'} (0 to ${source.frames - 1})`);
    const psfFile = request.psf.kind === 'file' ? this.psfFile(request.psf.fileId) : undefined;
    const options = detectOptions(request, psfFile);
    const camera = this.camera(request.camera);
    const frames = Array.from({ length: range.last - range.first + 1 }, (_, i) => range.first + i);
    const throttle = new Throttle(this.progressIntervalMs);
    const perFrame = new Map<number, ProgressAggregator>();
    let done = 0;
    let localisations = 0;
    let lastTrace: DetectResult | null = null;
    let lastEvent: DetectProgress | null = null;
    const stackOf = (frame: number) => ({ frame, done, frames: frames.length, localisations, elapsedMs: performance.now() - started });
    const result = await detectFramesParallel(source, frames, options, this.pool, {
      signal,
      onFrame: (f, r) => {
        perFrame.delete(f);
        if (r.status === 'cancelled') return;
        done++;
        localisations += r.sources.length;
        lastTrace = r;
        // Frames that finish before their workers report still count on screen.
        lastEvent ??= { runId, tile: 0, tiles: 1, tilesStarted: 1, iteration: r.iterations, particles: 0, relativeGap: r.relativeGap, objective: 0, tileObjectives: [], snapshot: null, stack: null };
        if (onProgress && (throttle.ready() || done === frames.length)) onProgress({ ...lastEvent, stack: stackOf(f) });
      },
      onProgress: (p) => {
        let agg = perFrame.get(p.frame);
        if (!agg) perFrame.set(p.frame, (agg = new ProgressAggregator(runId)));
        agg.add(p);
        lastEvent = { ...agg.event(p), snapshot: null, stack: null };
        if (!onProgress || !throttle.ready()) return;
        onProgress({ ...lastEvent, stack: stackOf(p.frame) });
      },
    });
    // Only frames solved to the end count (a cancel cuts the frames in flight short).
    const finished = result.frames.filter((f) => f.status !== 'cancelled');
    const kept = new Set(finished.map((f) => f.frame));
    const solved = result.status === 'cancelled' ? result.sources.filter((s) => kept.has(s.frame)).map((s, i) => ({ ...s, id: i + 1 })) : result.sources;
    const sources = this.onSky(sourcesInPhotons(solved, camera));
    const photons = camera.aduPerPhoton !== undefined;
    const pixelSizeNm = camera.pixelSizeNm ?? null;
    if (finished.length > 0) {
      this.setCatalogue({
        imageName: this.info.name,
        width: source.width,
        height: source.height,
        sources,
        wcs: this.wcs,
        psfLabel: formatPsfSpec(psfSpecOf(request.psf)),
        psfSigma: this.buildPsf(request.psf, source.width, source.height).sigma,
        lambda: finished[0]!.lambda,
        photons,
        pixelSizeNm,
      });
    }
    const last = lastTrace as DetectResult | null;
    let iterations = 0;
    let gap = 0;
    let lambdaSum = 0;
    for (const f of finished) {
      iterations = Math.max(iterations, f.iterations);
      gap = Math.max(gap, f.relativeGap);
      lambdaSum += f.lambda;
    }
    return {
      runId,
      imageId: request.imageId,
      frame: range.first,
      region: null,
      frames: frames.length,
      stack: { range: { ...range }, framesDone: finished.length },
      photons,
      pixelSizeNm,
      status: result.status,
      sources: sources.map(row),
      lambda: finished.length ? lambdaSum / finished.length : NaN,
      background: finished[0]?.background ?? 'constant',
      iterations,
      relativeGap: gap,
      elapsedMs: performance.now() - started,
      // The convergence of the last frame that finished (each frame is its own problem).
      convergence: last ? convergenceTrace(last.tiles) : convergenceTrace([]),
    };
  }

  /** Sources with their RA/Dec (degrees) when the image has a celestial WCS, as `cpgd detect` writes them. */
  private onSky(sources: Source[]): Source[] {
    const wcs = this.wcs;
    if (!wcs) return sources;
    return sources.map((s) => {
      const [ra, dec] = wcs.pixelToWorld(s.x, s.y);
      return { ...s, ra, dec };
    });
  }

  /** Release the open image's file (when it is read by range). */
  async close(): Promise<void> {
    const s = this.source;
    this.source = null;
    this.info = null;
    await s?.close?.();
  }

  /**
   * Fit the PSF shape to stars of a frame: the picked ones, or up to 12 bright isolated stars
   * proposed from the image. AppError('invalid-image') when there is no star to fit.
   */
  async fitPsf(r: PsfFitRequest): Promise<PsfFitSummary> {
    const { image } = await this.readFrame(r.imageId, r.frame);
    const start: PsfShape = r.start.kind === r.kind ? r.start : r.kind === 'gaussian' ? { kind: 'gaussian', sigma: shapeFwhm(r.start) / 2.3548 } : { kind: 'moffat', fwhm: shapeFwhm(r.start), beta: 3 };
    const stars = r.stars ?? proposeStars(image, { fwhm: shapeFwhm(start) });
    if (stars.length === 0) throw new AppError('invalid-image', 'no bright isolated star was found to fit the PSF: click a few stars on the image instead');
    let fit;
    try {
      fit = fitPsf(image, r.kind, stars, { initial: start });
    } catch (e) {
      if ((e as { code?: string }).code === 'invalid-option') throw new AppError('invalid-argument', `cannot fit the PSF: ${(e as Error).message}`);
      throw e;
    }
    return {
      psf: fit.shape,
      stars: fit.stars.map((s) => ({ ...s })),
      rejected: fit.rejected,
      relativeResidual: fit.relativeResidual,
      converged: fit.converged,
      boxes: fit.boxes.slice(0, 6).map((b) => ({ x0: b.x0, y0: b.y0, size: b.size, data: Array.from(b.data), model: Array.from(b.model) })),
    };
  }

  /** Stop the running detection (it resolves with status 'cancelled'); false when none runs. */
  cancel(): boolean {
    if (!this.running) return false;
    this.running.abort.abort();
    return true;
  }

  get hasCatalogue(): boolean {
    return this.catalogue !== null;
  }

  private requireCatalogue(): Catalogue {
    const c = this.catalogue;
    if (!c) throw new AppError('no-catalogue', 'there is no catalogue yet: run a detection first');
    return c;
  }

  /**
   * The latest catalogue as exports and renderings see it, in `cpgd detect`'s order: the filters
   * (core filterLocalisations, ids renumbered 1..N, plus an snr ceiling), then the drift estimated
   * from the kept localisations and subtracted from their positions. The drift curve is cached.
   */
  viewCatalogue(view: CatalogueView = {}): ViewedCatalogue {
    const c = this.requireCatalogue();
    const pixelSizeNm = view.pixelSizeNm ?? c.pixelSizeNm;
    const f = view.filter ?? {};
    if (f.maxUncertaintyNm !== undefined && pixelSizeNm === null) throw new AppError('invalid-option', 'the uncertainty filter is in nm and needs the camera pixel size: enter it in the camera settings');
    const core: LocalisationFilter = {};
    if (f.minSnr !== undefined) core.minSnr = f.minSnr;
    if (f.minPhotons !== undefined) core.minPhotons = f.minPhotons;
    if (f.maxPhotons !== undefined) core.maxPhotons = f.maxPhotons;
    if (f.maxUncertaintyNm !== undefined) {
      core.maxUncertaintyNm = f.maxUncertaintyNm;
      core.pixelSizeNm = pixelSizeNm!;
    }
    const capped = f.maxSnr === undefined ? c.sources : c.sources.filter((s) => s.snr <= f.maxSnr!);
    let sources = Object.keys(core).length > 0 || capped !== c.sources ? filterLocalisations(capped, core) : c.sources;
    const filteredOut = c.sources.length - sources.length;
    let drift: DriftCurve | null = null;
    if (view.driftSegmentFrames !== undefined) {
      if (pixelSizeNm === null) throw new AppError('invalid-option', 'drift correction needs the camera pixel size: enter it in the camera settings');
      const key = JSON.stringify([c.id, pixelSizeNm, f, view.driftSegmentFrames]);
      if (this.driftCache?.key === key) drift = this.driftCache.curve;
      else {
        drift = estimateDrift(localisationsOf(sources, pixelSizeNm), { segmentFrames: view.driftSegmentFrames });
        this.driftCache = { key, curve: drift };
      }
      const curve = drift;
      sources = sources.map((s) => {
        const d = driftAt(curve, s.frame);
        return { ...s, x: s.x - d.dx / pixelSizeNm, y: s.y - d.dy / pixelSizeNm };
      });
      const wcs = c.wcs;
      if (wcs) for (const s of sources) [s.ra, s.dec] = wcs.pixelToWorld(s.x, s.y);
    }
    return { sources, pixelSizeNm, filteredOut, drift };
  }

  /** The latest complete catalogue as file contents (text, or bytes for FITS), and a file name to suggest. */
  exportCatalogue(format: CatalogueFormat, options: ExportOptions = {}): { data: string | Uint8Array; suggestedName: string } {
    const c = this.requireCatalogue();
    if (format === 'thunderstorm' && (options.pixelSizeNm ?? c.pixelSizeNm) === null) {
      throw new AppError('invalid-option', 'a ThunderSTORM export needs the camera pixel size in nm (the image does not give it): enter it in the camera settings');
    }
    const { sources, pixelSizeNm } = this.viewCatalogue(options);
    const stem = stemOf(c.imageName);
    switch (format) {
      // As `cpgd detect` writes them: ra/dec columns with a WCS, nm columns with a pixel size.
      case 'csv':
        return { data: formatCatalogCsv(sources, { wcs: c.wcs !== null, ...(pixelSizeNm !== null ? { pixelSizeNm } : {}) }), suggestedName: `${stem}.csv` };
      case 'ds9': {
        const scale = c.wcs?.pixelScale() ?? NaN;
        const onSky = c.wcs !== null && Number.isFinite(scale) && scale > 0 && sources.every((s) => Number.isFinite(s.ra) && Number.isFinite(s.dec));
        return { data: onSky ? formatDs9Regions(sources, { system: 'fk5', pixelScale: scale }) : formatDs9Regions(sources), suggestedName: `${stem}.reg` };
      }
      case 'thunderstorm':
        return { data: formatThunderstormCsv(sources, { pixelSizeNm: pixelSizeNm!, psfSigmaPx: c.psfSigma }), suggestedName: `${stem}.thunderstorm.csv` };
      case 'fits': {
        return { data: fitsCatalog(sources, c.photons, { image: c.imageName, psf: c.psfLabel, lambda: String(Number(c.lambda.toPrecision(6))) }), suggestedName: `${stem}.cat.fits` };
      }
    }
  }

  /**
   * A super-resolution rendering of the latest catalogue (core render.ts, as `cpgd render`): the
   * localisations of the catalogue view in nm from the corner of the first camera pixel, over the
   * camera image's extent. `maxPixels` bounds its size (the app shows at most
   * MAX_SHOWN_RENDER_PIXELS; a TIFF export may be larger, up to the core's limit).
   */
  render(request: RenderRequest, maxPixels = MAX_SHOWN_RENDER_PIXELS): RenderResult {
    const c = this.requireCatalogue();
    const viewed = this.viewCatalogue(request);
    const px = viewed.pixelSizeNm;
    if (px === null) throw new AppError('invalid-option', 'a rendering needs the camera pixel size in nm: enter it in the camera settings');
    const r = request.renderPixelSizeNm;
    const width = Math.max(1, Math.ceil((c.width * px) / r));
    const height = Math.max(1, Math.ceil((c.height * px) / r));
    if (width * height > maxPixels) {
      const least = Math.ceil(px * Math.sqrt((c.width * c.height) / maxPixels) * 10) / 10;
      throw new AppError('invalid-option', `a rendering at ${r} nm would be ${width}×${height} pixels (at most ${maxPixels} here): choose a render pixel size of at least ${least} nm`);
    }
    const image = renderLocalisations(localisationsOf(viewed.sources, px), { pixelSizeNm: r, mode: request.mode, width, height });
    return {
      width,
      height,
      renderPixelSizeNm: r,
      cameraPixelSizeNm: px,
      mode: request.mode,
      pixels: image.data,
      stats: frameStats(image.data),
      drawn: image.drawn,
      filteredOut: viewed.filteredOut,
      drift: viewed.drift ? driftInfo(viewed.drift) : null,
    };
  }

  /** The rendering as a 32-bit float TIFF calibrated for ImageJ (as `cpgd render` writes it), and a name to suggest. */
  renderTiff(request: RenderRequest): { data: Uint8Array; suggestedName: string } {
    const r = this.render(request, 2 ** 26);
    const data = renderingToTiff({ width: r.width, height: r.height, pixelSizeNm: r.renderPixelSizeNm, originNm: { x: 0, y: 0 }, mode: r.mode, data: r.pixels, drawn: r.drawn, outside: 0 });
    return { data, suggestedName: `${stemOf(this.catalogue!.imageName)}.render-${r.renderPixelSizeNm}nm.tif` };
  }
}

function stemOf(imageName: string): string {
  return imageName.replace(/\.(fits?|fts|tiff?)(\.gz)?$/i, '') || 'catalogue';
}

/** Sources as localisations in nm (from the corner of the first pixel), as `cpgd detect --drift` and `cpgd render` take them. */
export function localisationsOf(sources: readonly Source[], pixelSizeNm: number): Localisation[] {
  return sources.map((s) => ({ frame: s.frame, xNm: pixelToNm(s.x, pixelSizeNm), yNm: pixelToNm(s.y, pixelSizeNm), uncertaintyNm: positionUncertaintyPx(s) * pixelSizeNm, photons: s.flux }));
}

/** A region clipped to the image; refused when too little of it is inside. */
export function clipRegion(r: Region, width: number, height: number): Region {
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const x1 = Math.min(width, r.x + r.width);
  const y1 = Math.min(height, r.y + r.height);
  if (x1 - x0 < 8 || y1 - y0 < 8) throw new AppError('invalid-argument', `the region (${r.x}, ${r.y}) ${r.width}×${r.height} is not inside the ${width}×${height} image`);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}
