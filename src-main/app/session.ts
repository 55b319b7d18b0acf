/**
 * What the main process does for the window, without Electron: the open image, its frames as
 * Float32 pixels with statistics, detection on the worker pool (one run at a time, progress
 * throttled, cancel), and the latest catalogue for export. main.ts wires it to IPC, dialogs and
 * menus; tests drive it directly under Node.
 */
import { basename } from 'node:path';
import { formatCatalogCsv } from '../core/catalog/csv.js';
import { formatDs9Regions } from '../core/catalog/ds9.js';
import type { Source } from '../core/catalog/types.js';
import type { Image, ImageSource } from '../core/image.js';
import type { PsfSpec } from '../core/psf/spec.js';
import type { NoiseOptions } from '../core/solver/noise.js';
import { openImage } from '../cli/io.js';
import type { DetectPool } from '../jobs/pool.js';
import { detectFrameParallel, type ParallelDetectOptions } from '../jobs/parallel.js';
import type {
  CatalogueFormat,
  DetectProgress,
  DetectRequest,
  DetectSummary,
  FrameData,
  FrameStats,
  ImageInfo,
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

/** The core's PSF spec and noise options of an app request. */
export function detectOptions(r: DetectRequest): ParallelDetectOptions {
  const psfSpec: PsfSpec = r.psf.kind === 'gaussian' ? { kind: 'gaussian', sigmaX: r.psf.sigma, sigmaY: r.psf.sigma } : { kind: 'moffat', fwhm: r.psf.fwhm, beta: r.psf.beta };
  const noise: NoiseOptions = { offset: r.camera.offset };
  if (r.camera.gain !== null) noise.gain = r.camera.gain;
  if (r.camera.readNoise !== null) noise.readNoise = r.camera.readNoise;
  return {
    psfSpec,
    lambda: r.lambda.mode === 'auto' ? { auto: r.lambda.factor } : r.lambda.value,
    background: r.background,
    noise,
    frame: r.frame,
  };
}

function row(s: Source): SourceRow {
  return { id: s.id, frame: s.frame, x: s.x, y: s.y, flux: s.flux, xErr: s.xErr, yErr: s.yErr, fluxErr: s.fluxErr, snr: s.snr };
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
  private catalogue: { imageName: string; sources: Source[] } | null = null;

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
    this.source = source;
    this.catalogue = null;
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
   * Detect the sources of one frame on the pool. Progress goes to `onProgress` at most once per
   * progressIntervalMs. Rejects with AppError('busy') while another run is going, and with the
   * core's typed errors for bad parameters or failed workers.
   */
  async detect(request: DetectRequest, onProgress?: (p: DetectProgress) => void): Promise<DetectSummary> {
    if (this.running) throw new AppError('busy', 'a detection is already running');
    const runId = this.nextRunId++;
    const abort = new AbortController();
    this.running = { runId, abort };
    const started = performance.now();
    try {
      const { image } = await this.readFrame(request.imageId, request.frame);
      const throttle = new Throttle(this.progressIntervalMs);
      const seen = new Set<number>();
      const result = await detectFrameParallel(image, detectOptions(request), this.pool, {
        signal: abort.signal,
        onProgress: (p) => {
          seen.add(p.tile);
          if (!onProgress || !throttle.ready()) return;
          onProgress({ runId, tile: p.tile, tiles: p.tiles, tilesStarted: seen.size, iteration: p.iteration, particles: p.particles, relativeGap: p.relativeGap });
        },
      });
      if (result.status !== 'cancelled') this.catalogue = { imageName: this.info!.name, sources: result.sources };
      return {
        runId,
        imageId: request.imageId,
        frame: request.frame,
        status: result.status,
        sources: result.sources.map(row),
        lambda: result.lambda,
        background: result.background,
        iterations: result.iterations,
        relativeGap: result.relativeGap,
        elapsedMs: performance.now() - started,
      };
    } finally {
      this.running = null;
    }
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

  /** The latest complete catalogue as file contents, and a file name to suggest. */
  exportCatalogue(format: CatalogueFormat): { text: string; suggestedName: string } {
    const c = this.catalogue;
    if (!c) throw new AppError('no-catalogue', 'there is no catalogue to export yet: run a detection first');
    const stem = c.imageName.replace(/\.(fits?|fts|tiff?)(\.gz)?$/i, '') || 'catalogue';
    if (format === 'csv') return { text: formatCatalogCsv(c.sources), suggestedName: `${stem}.csv` };
    return { text: formatDs9Regions(c.sources), suggestedName: `${stem}.reg` };
  }
}
