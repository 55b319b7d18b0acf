/**
 * Messages between the detection pool (main thread) and its workers. Everything here is plain
 * data that survives structured cloning; the frame pixels and the cancel flag travel as
 * SharedArrayBuffers, so a tile job costs a few hundred bytes however large the frame is.
 */

import {
  CpgdError,
  FormatError,
  InvalidImageError,
  InvalidOptionError,
  InvalidPsfError,
  UnsupportedFormatError,
  WorkerFailedError,
  type ErrorCode,
} from '../core/errors.js';
import type { RawSource } from '../core/catalog/build.js';
import type { DetectOptions, DetectResult, Tile, TileStats } from '../core/detect.js';
import type { PsfSpec } from '../core/psf/spec.js';
import type { BackgroundKind } from '../core/solver/background.js';
import type { NoiseEstimate } from '../core/solver/noise.js';

/** Detect options that are plain data (no PSF object, no callbacks). */
export type PlainDetectOptions = Omit<DetectOptions, 'psf' | 'onProgress' | 'shouldStop'>;

/** A PSF the worker can rebuild with buildPsf: the spec, plus the stamp pixels of a `file` PSF. */
export interface SerialPsf {
  /** Identifies this PSF for the worker's cache (same key ⇒ same spec and pixels). */
  key: string;
  spec: PsfSpec;
  /** Pixels of a `file` PSF stamp, row-major (a SharedArrayBuffer of float64). */
  image?: { width: number; height: number; data: SharedArrayBuffer };
}

/** A prepared frame (see core prepareFrame) with its pixels in shared memory. */
export interface SharedFrame {
  width: number;
  height: number;
  /** Float64 pixels after the noise model (PreparedFrame.data). */
  data: SharedArrayBuffer;
  /** Float64 noise weights (PreparedFrame.weights). */
  weights: SharedArrayBuffer;
  lambda: number;
  background: BackgroundKind;
  noise: NoiseEstimate;
  tiles: Tile[];
}

/**
 * Faults a worker injects on purpose, for tests of the pool's failure handling: 'throw' throws
 * an Error inside the job, 'uncaught' throws outside it (the worker dies), 'exit' calls
 * process.exit(3), 'oom' allocates until the heap limit, 'busy' computes forever without looking at
 * the cancel flag.
 */
export type WorkerFault = 'throw' | 'uncaught' | 'exit' | 'oom' | 'busy';

/** One tile of one frame. */
export interface TileJob {
  frame: SharedFrame;
  tileIndex: number;
  psf: SerialPsf;
  options: PlainDetectOptions;
  /** Int32Array(1) over this buffer: nonzero asks the solver to stop (checked every iteration). */
  cancel: SharedArrayBuffer;
  /** Send the live particles with each progress message (for the app's overlay; default false). */
  snapshot?: boolean;
  /** Test hook; never set in normal use. */
  fault?: WorkerFault;
}

/**
 * A whole frame of one tile: the worker prepares it (noise weights, λ, background choice), solves
 * it and assembles its catalogue, exactly as core detect() does, so a stack of small frames costs
 * one message per frame and the calling thread only reads frames and merges catalogues.
 */
export interface FrameJob {
  /** The raw frame pixels, row-major float64 (copied by structured cloning: a few tens of kB). */
  image: { width: number; height: number; data: Float64Array };
  psf: SerialPsf;
  /** Options of the frame (its `frame` index included: the catalogue's frame column). */
  options: PlainDetectOptions;
  /** Int32Array(1) over this buffer: nonzero asks the solver to stop (checked every iteration). */
  cancel: SharedArrayBuffer;
  /** Send the live particles with each progress message (default false). */
  snapshot?: boolean;
  /** Test hook; never set in normal use. */
  fault?: WorkerFault;
}

/**
 * A JIT warm-up of a fresh worker before a stack of small frames: the worker solves a few tiny
 * synthetic frames (see detect.worker.ts) with the stack's PSF and options, and throws the results
 * away. A fresh V8 isolate runs its first frames ~10× slower while it interprets and compiles the
 * solver; tiny frames get it through that phase for less CPU than real frames would.
 */
export interface WarmJob {
  psf: SerialPsf;
  options: PlainDetectOptions;
  /** Int32Array(1) over this buffer: nonzero stops the warm-up (the stack's cancel flag). */
  cancel: SharedArrayBuffer;
}

/** Progress of a tile, at most `progressIntervalMs` apart (20 per second by default). */
export interface TileProgress {
  tile: number;
  tiles: number;
  iteration: number;
  objective: number;
  /** Relative duality gap of the latest certificate, null before the first one. */
  relativeGap: number | null;
  /** Live particles. */
  particles: number;
  /**
   * The live particles for the overlay, in full-image pixels: at most `maxSnapshot` of them (the
   * heaviest), as parallel arrays. Absent when the job asked for none.
   */
  snapshot?: { x: number[]; y: number[]; a: number[] };
}

export interface TileOutcome {
  sources: RawSource[];
  stats: TileStats;
}

/**
 * A job for a worker. `progress`: whether anyone listens to its progress; when false the worker
 * gives the solver no progress hook at all (no per-iteration callback, no messages).
 */
export type ToWorker =
  | { type: 'tile'; id: number; job: TileJob; progressIntervalMs: number; progress: boolean }
  | { type: 'frame'; id: number; job: FrameJob; progressIntervalMs: number; progress: boolean }
  | { type: 'warm'; id: number; job: WarmJob };

/** Particles a progress snapshot carries at most (the heaviest): enough to see them move and merge. */
export const MAX_SNAPSHOT_PARTICLES = 2000;

export type FromWorker =
  | { type: 'progress'; id: number; progress: TileProgress }
  | { type: 'result'; id: number; outcome: TileOutcome }
  | { type: 'frame-result'; id: number; result: DetectResult }
  /** The warm-up is over (whether it ran to the end, stopped on cancel or failed: it is best effort). */
  | { type: 'warmed'; id: number }
  | { type: 'error'; id: number; error: SerialError };

/** An error as it crosses the thread boundary. */
export interface SerialError {
  name: string;
  message: string;
  code?: ErrorCode;
  file?: string;
  option?: string;
  format?: string;
  stack?: string;
}

export function serializeError(e: unknown): SerialError {
  if (e instanceof CpgdError) {
    const out: SerialError = { name: e.name, message: e.message, code: e.code };
    if (e.file !== undefined) out.file = e.file;
    if (e instanceof InvalidOptionError) out.option = e.option;
    if (e instanceof FormatError || e instanceof UnsupportedFormatError) out.format = e.format;
    return out;
  }
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/**
 * The main-thread error for an error a worker reported: our typed errors come back as the same
 * class with the same message and file; anything else (a bug, a thrown string) becomes a
 * WorkerFailedError with reason 'error'.
 */
export function reviveError(s: SerialError): CpgdError {
  let e: CpgdError;
  switch (s.code) {
    case 'invalid-option':
      e = Object.assign(Object.create(InvalidOptionError.prototype) as InvalidOptionError, { option: s.option ?? '', value: undefined });
      break;
    case 'invalid-image':
      e = Object.create(InvalidImageError.prototype) as CpgdError;
      break;
    case 'invalid-psf':
      e = Object.create(InvalidPsfError.prototype) as CpgdError;
      break;
    case 'bad-format':
      e = Object.assign(Object.create(FormatError.prototype) as FormatError, { format: s.format ?? '', offset: undefined });
      break;
    case 'unsupported-format':
      e = Object.assign(Object.create(UnsupportedFormatError.prototype) as UnsupportedFormatError, { format: s.format ?? '' });
      break;
    case undefined:
      return new WorkerFailedError('error', `${s.name}: ${s.message}`);
    default:
      e = Object.create(CpgdError.prototype) as CpgdError;
  }
  // Fill in what the constructors would have set, keeping the worker's exact message.
  Object.defineProperties(e, {
    name: { value: s.name, writable: true, configurable: true },
    message: { value: s.message, writable: true, configurable: true },
    code: { value: s.code, enumerable: true },
    stack: { value: `${s.name}: ${s.message}\n    at detection worker`, writable: true, configurable: true },
  });
  e.file = s.file;
  return e;
}
