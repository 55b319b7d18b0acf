/**
 * Detection on the worker pool. A frame of several tiles is prepared in the calling thread (core
 * prepareFrame: noise weights, λ, background choice, tiles), its tiles are solved in parallel by
 * the workers, and the raw sources are merged by core assembleFrame, in tile order, exactly as
 * core detect() does. A frame of one tile (an SMLM frame, a small cut-out) goes whole to one
 * worker, which runs core detect()'s steps itself: the calling thread then only reads frames and
 * merges catalogues, so it never holds the workers up. Either way the results are those of core
 * detect(). Stacks are read lazily from an ImageSource, with a bounded number of frames in flight
 * (enough to keep every worker fed), so memory stays bounded.
 */

import type { Source } from '../core/catalog/types.js';
import {
  assembleFrame,
  planTiles,
  prepareFrame,
  validateDetectOptions,
  type DetectResult,
  type ValidDetectOptions,
} from '../core/detect.js';
import { InvalidOptionError } from '../core/errors.js';
import type { Image, ImageSource } from '../core/image.js';
import { buildPsf, formatPsfSpec, type PsfSpec } from '../core/psf/spec.js';
import type { Psf } from '../core/psf/types.js';
import type { CpgdStatus } from '../core/solver/cpgd.js';
import type { DetectPool } from './pool.js';
import type { FrameJob, PlainDetectOptions, SerialPsf, SharedFrame, TileJob, TileProgress, WorkerFault } from './protocol.js';

export interface ParallelDetectOptions extends PlainDetectOptions {
  /** The PSF, as a spec the workers rebuild. */
  psfSpec: PsfSpec;
  /** The stamp image of a `file` PSF spec (loaded by the caller). */
  psfImage?: Image;
  /** Test hook: make the worker fail this way (see WorkerFault). */
  fault?: WorkerFault;
  /** Progress carries the live particles (TileProgress.snapshot), for an overlay. Default false. */
  snapshot?: boolean;
}

/** Progress of one tile of one frame. */
export interface ParallelProgress extends TileProgress {
  /** The frame's index in the file (DetectOptions.frame). */
  frame: number;
}

export interface ParallelHooks {
  onProgress?: (p: ParallelProgress) => void;
  /** Aborting stops the running tiles within one solver iteration and skips the others. */
  signal?: AbortSignal;
}

let psfKeys = 0;

/**
 * Frames per worker from which a stack of small frames warms its workers up first (see
 * DetectPool.warm): the warm-up costs about what the first few cold frames would lose.
 */
const WARM_MIN_FRAMES_PER_WORKER = 10;

/** Tiles per worker from which a single large frame warms its workers up while it is prepared. */
const WARM_MIN_TILES_PER_WORKER = 4;

/** The PSF once per run: built here (so bad PSFs fail before any work) and serialised for workers. */
function preparePsf(spec: PsfSpec, psfImage: Image | undefined, width: number, height: number): { psf: Psf; serial: SerialPsf } {
  const psf = buildPsf(spec, { fileImage: psfImage, width, height });
  const serial: SerialPsf = { key: `${++psfKeys}:${formatPsfSpec(spec)}`, spec };
  if (spec.kind === 'file' && psfImage) {
    const data = new SharedArrayBuffer(psfImage.data.length * 8);
    new Float64Array(data).set(psfImage.data);
    serial.image = { width: psfImage.width, height: psfImage.height, data };
  }
  return { psf, serial };
}

function plainOptions(o: ParallelDetectOptions): PlainDetectOptions {
  const { psfSpec: _s, psfImage: _i, fault: _f, snapshot: _p, ...rest } = o;
  const r = rest as PlainDetectOptions & { onProgress?: unknown; shouldStop?: unknown; psf?: unknown };
  delete r.onProgress;
  delete r.shouldStop;
  delete r.psf;
  return r;
}

function shared(a: Float64Array): SharedArrayBuffer {
  const b = new SharedArrayBuffer(a.length * 8);
  new Float64Array(b).set(a);
  return b;
}

/** A cancel flag set when the signal aborts (and at once if it already has). */
function cancelFlag(signal: AbortSignal | undefined): { buffer: SharedArrayBuffer; dispose: () => void } {
  const buffer = new SharedArrayBuffer(4);
  const flag = new Int32Array(buffer);
  if (!signal) return { buffer, dispose: () => undefined };
  const onAbort = () => Atomics.store(flag, 0, 1);
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  return { buffer, dispose: () => signal.removeEventListener('abort', onAbort) };
}

interface FrameRun {
  o: ValidDetectOptions;
  /** Frames are of one tile: each goes whole to a worker (a FrameJob). */
  wholeFrames: boolean;
  serial: SerialPsf;
  plain: PlainDetectOptions;
  fault: WorkerFault | undefined;
  snapshot: boolean;
}

async function solveFrame(
  image: Image,
  run: FrameRun,
  pool: DetectPool,
  cancel: SharedArrayBuffer,
  onProgress: ((p: ParallelProgress) => void) | undefined,
  firstId: number,
): Promise<DetectResult | null> {
  const { o } = run;
  if (run.wholeFrames) {
    // Structured cloning copies a typed array's whole buffer: a view into a larger one (a file
    // read whole) is cut down to the frame first.
    const d = image.data;
    const data = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength ? d : d.slice();
    const job: FrameJob = { image: { width: image.width, height: image.height, data }, psf: run.serial, options: run.plain, cancel };
    if (run.fault) job.fault = run.fault;
    if (run.snapshot) job.snapshot = true;
    const r = await pool.runFrame(job, onProgress ? (p) => onProgress({ ...p, frame: o.frame }) : undefined);
    // Skipped (cancelled before its turn): the frame was not solved.
    if (!r) return null;
    if (firstId !== 1) r.sources.forEach((s, i) => (s.id = firstId + i));
    return r;
  }
  const prep = prepareFrame(image, o);
  const frame: SharedFrame = {
    width: prep.width,
    height: prep.height,
    data: shared(prep.data),
    weights: shared(prep.weights),
    lambda: prep.lambda,
    background: prep.background,
    noise: prep.noise,
    tiles: prep.tiles,
  };
  const flag = new Int32Array(cancel);
  const outcomes = await settleAll(
    prep.tiles.map((_, tileIndex) => {
      const job: TileJob = { frame, tileIndex, psf: run.serial, options: run.plain, cancel };
      if (run.fault) job.fault = run.fault;
      if (run.snapshot) job.snapshot = true;
      return pool.runTile(job, onProgress ? (p) => onProgress({ ...p, frame: o.frame }) : undefined);
    }),
    // One failed tile dooms the frame: stop its siblings rather than wait for them.
    () => Atomics.store(flag, 0, 1),
  );
  return assembleFrame(prep, o, outcomes, firstId);
}

/**
 * Like Promise.all, but on the first rejection calls `onFirstError`, waits for every promise to
 * settle (no job left running unseen), then rejects with that first error.
 */
async function settleAll<T>(promises: Promise<T>[], onFirstError: () => void): Promise<T[]> {
  let first: { error: unknown } | null = null;
  const results = await Promise.all(
    promises.map((p) =>
      p.catch((error: unknown) => {
        if (!first) {
          first = { error };
          onFirstError();
        }
        return undefined as T;
      }),
    ),
  );
  if (first) throw (first as { error: unknown }).error;
  return results;
}

function frameRun(options: ParallelDetectOptions, width: number, height: number): FrameRun {
  if (!options || typeof options !== 'object' || !options.psfSpec) throw new InvalidOptionError('--psf', options?.psfSpec, 'a PSF spec is required');
  const { psf, serial } = preparePsf(options.psfSpec, options.psfImage, width, height);
  const plain = plainOptions(options);
  const o = validateDetectOptions({ ...plain, psf });
  const wholeFrames = o.psf.periodic || planTiles(width, height, o.tileSize, 0).length === 1;
  return { o, wholeFrames, serial, plain, fault: options.fault, snapshot: options.snapshot === true };
}

/**
 * Detect the sources of one frame with the pool: the same result as core detect() on the same
 * image and options. Throws (rejects) on invalid input with the core's typed errors, and with
 * WorkerFailedError when a worker fails; cancellation is the status 'cancelled'.
 */
export async function detectFrameParallel(image: Image, options: ParallelDetectOptions, pool: DetectPool, hooks: ParallelHooks = {}): Promise<DetectResult> {
  // Prepared here even when of one tile: a frame cancelled before it started still reports its
  // λ, background and noise (status 'cancelled'), as core detect() does.
  const run = { ...frameRun(options, image.width, image.height), wholeFrames: false };
  const cancel = cancelFlag(hooks.signal);
  // A frame of many tiles is first prepared on this thread (noise, λ, background: ~0.7 s at
  // 2048²) while the workers would sit idle; cold workers warm their JIT up meanwhile, which took
  // 2048² from 10.7 to 10.0–10.4 s wall on 2 cores.
  if (!run.fault && !run.o.psf.periodic && planTiles(image.width, image.height, run.o.tileSize, 0).length >= WARM_MIN_TILES_PER_WORKER * pool.size) {
    pool.warm({ psf: run.serial, options: run.plain, cancel: cancel.buffer });
  }
  try {
    return (await solveFrame(image, run, pool, cancel.buffer, hooks.onProgress, 1))!;
  } finally {
    cancel.dispose();
  }
}

/** What is kept of each frame of a stack (the sources go to the combined list). */
export interface FrameSummary {
  frame: number;
  status: CpgdStatus;
  sources: number;
  lambda: number;
  background: DetectResult['background'];
  relativeGap: number;
  minV: number;
  iterations: number;
}

export interface StackResult {
  /** 'cancelled' if any frame was cancelled or skipped, else 'max-iter' if any frame hit the cap, else 'converged'. */
  status: CpgdStatus;
  /** Sources of every frame, in frame order then by decreasing flux; ids 1..N over all frames. */
  sources: Source[];
  /** One entry per requested frame that was solved, in the order requested. */
  frames: FrameSummary[];
  /** Requested frames that were not solved because the run was cancelled. */
  skipped: number[];
}

export interface StackHooks extends ParallelHooks {
  /** Called as each frame finishes (in completion order), with its full result (ids local to the frame). */
  onFrame?: (frame: number, result: DetectResult) => void;
}

/**
 * Detect the sources of several frames of a source. Frames are read lazily and solved in parallel
 * (at most pool.size + 1 in flight). `frames` are 0-based frame indices of the source. Rejects
 * with the first error (the other frames are cancelled); cancellation is the status 'cancelled'.
 */
export async function detectFramesParallel(
  source: ImageSource,
  frames: readonly number[],
  options: ParallelDetectOptions,
  pool: DetectPool,
  hooks: StackHooks = {},
): Promise<StackResult> {
  for (const f of frames) {
    if (!(Number.isInteger(f) && f >= 0 && f < source.frames)) {
      throw new InvalidOptionError('--frames', f, `the file has ${source.frames} frame${source.frames === 1 ? '' : 's'} (0 to ${source.frames - 1})`);
    }
  }
  const run = frameRun(options, source.width, source.height);
  const cancel = cancelFlag(hooks.signal);
  const flag = new Int32Array(cancel.buffer);
  // Only the sources and a summary of each frame are kept (not the solver histories).
  const results: ({ summary: FrameSummary; sources: Source[] } | null)[] = frames.map(() => null);
  // Enough frames in flight to keep every worker busy, plus one being read and prepared: frames
  // of one tile each run side by side; a frame of many tiles already fills the pool by itself.
  const tilesPerFrame = run.o.psf.periodic ? 1 : planTiles(source.width, source.height, run.o.tileSize, 0).length;
  // Whole frames: one waits in the pool's queue, so a worker that finishes a frame takes the next
  // at once while the calling thread reads another.
  const inFlight = Math.ceil(pool.size / tilesPerFrame) + 1;
  // A fresh worker's first small frames cost several times the warmed figure (JIT): on a stack of
  // enough of them, each worker first warms up on tiny synthetic frames, for less CPU in all.
  if (run.wholeFrames && !run.fault && frames.length >= WARM_MIN_FRAMES_PER_WORKER * pool.size) {
    pool.warm({ psf: run.serial, options: run.plain, cancel: cancel.buffer });
  }
  let next = 0;
  let failure: { error: unknown } | null = null;

  const worker = async (): Promise<void> => {
    while (next < frames.length && !failure && Atomics.load(flag, 0) === 0) {
      const k = next++;
      const f = frames[k];
      try {
        const image = await source.frame(f);
        const frameRunF: FrameRun = { ...run, o: { ...run.o, frame: f }, plain: { ...run.plain, frame: f } };
        const r = await solveFrame(image, frameRunF, pool, cancel.buffer, hooks.onProgress, 1);
        if (!r) continue;
        results[k] = {
          sources: r.sources,
          summary: {
            frame: f,
            status: r.status,
            sources: r.sources.length,
            lambda: r.lambda,
            background: r.background,
            relativeGap: r.relativeGap,
            minV: r.minV,
            iterations: r.iterations,
          },
        };
        hooks.onFrame?.(f, r);
      } catch (error) {
        if (!failure) failure = { error };
        Atomics.store(flag, 0, 1);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(inFlight, frames.length) }, worker));
  } finally {
    cancel.dispose();
  }
  if (failure) throw (failure as { error: unknown }).error;

  const sources: Source[] = [];
  const summaries: FrameSummary[] = [];
  const skipped: number[] = [];
  let status: CpgdStatus = 'converged';
  results.forEach((r, k) => {
    if (!r) {
      skipped.push(frames[k]);
      status = 'cancelled';
      return;
    }
    for (const s of r.sources) sources.push({ ...s, id: sources.length + 1 });
    summaries.push(r.summary);
    if (r.summary.status === 'cancelled') status = 'cancelled';
    else if (r.summary.status === 'max-iter' && status === 'converged') status = 'max-iter';
  });
  return { status, sources, frames: summaries, skipped };
}
