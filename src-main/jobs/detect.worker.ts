/**
 * The detection worker: a thin shell around core. It receives a tile job (frame pixels and
 * weights in shared memory, a serialisable PSF, plain detect options), rebuilds the PSF, solves
 * the tile and posts the raw sources and solver statistics back; or a frame job (the raw pixels
 * of a frame of one tile), which it prepares, solves and assembles as core detect() does. Progress is posted at
 * most once per `progressIntervalMs`; the shared cancel flag is read by the solver's shouldStop,
 * so a cancel takes effect within one iteration.
 */

import { parentPort } from 'node:worker_threads';
import { assembleFrame, prepareFrame, solveTile, validateDetectOptions, type PreparedFrame, type ValidDetectOptions } from '../core/detect.js';
import { makeImage } from '../core/image.js';
import { buildPsf } from '../core/psf/spec.js';
import type { Psf } from '../core/psf/types.js';
import { simulate } from '../core/simulate.js';
import { MAX_SNAPSHOT_PARTICLES, serializeError, type FrameJob, type FromWorker, type SerialPsf, type TileJob, type TileProgress, type ToWorker, type WarmJob } from './protocol.js';

if (!parentPort) throw new Error('detect.worker.js must run in a worker thread');
const port = parentPort;

/** The last PSF built, by key: consecutive tiles of a frame (and frames of a stack) share it. */
let cached: { key: string; psf: Psf } | null = null;

function psfOf(p: SerialPsf, width: number, height: number): Psf {
  const key = `${p.key}|${width}x${height}`;
  if (cached?.key === key) return cached.psf;
  const fileImage = p.image ? makeImage(p.image.width, p.image.height, new Float64Array(p.image.data)) : undefined;
  const psf = buildPsf(p.spec, { fileImage, width, height });
  cached = { key, psf };
  return psf;
}

function injectFault(fault: TileJob['fault']): void {
  switch (fault) {
    case undefined:
      return;
    case 'throw':
      throw new Error('injected fault: throw');
    case 'uncaught':
      setImmediate(() => {
        throw new Error('injected fault: uncaught exception');
      });
      // Keep the job pending; the uncaught exception kills the worker.
      throw Symbol.for('cpgd.fault.pending');
    case 'exit':
      return process.exit(3);
    case 'busy': {
      // Computes without ever looking at the cancel flag (as a long solver phase does).
      for (;;) Math.sqrt(Math.random());
    }
    case 'oom': {
      const hoard: number[][] = [];
      for (;;) hoard.push(Array.from({ length: 1 << 16 }, (_, i) => i + hoard.length));
    }
  }
}

/** The `max` heaviest particles (by |weight|) as parallel arrays. */
function heaviest(list: { x: number; y: number; a: number }[], max: number): { x: number[]; y: number[]; a: number[] } {
  const kept = list.length > max ? [...list].sort((p, q) => Math.abs(q.a) - Math.abs(p.a)).slice(0, max) : list;
  return { x: kept.map((p) => p.x), y: kept.map((p) => p.y), a: kept.map((p) => p.a) };
}

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

/** The validated options of a job: its PSF from the cache, the cancel flag, throttled progress. */
function jobOptions(id: number, job: TileJob | FrameJob, width: number, height: number, progressIntervalMs: number, progress: boolean): ValidDetectOptions {
  const flag = new Int32Array(job.cancel);
  const psf = psfOf(job.psf, width, height);
  let last = -Infinity;
  let relativeGap: number | null = null;
  return validateDetectOptions({
    ...job.options,
    psf,
    shouldStop: () => Atomics.load(flag, 0) !== 0,
    // Nobody listening (e.g. a stack without a per-frame progress display): no hook, no messages.
    onProgress: !progress ? undefined : (p) => {
      if (p.certificate) relativeGap = p.certificate.relativeGap;
      const now = performance.now();
      if (now - last < progressIntervalMs) return;
      last = now;
      const progress: TileProgress = { tile: p.tile, tiles: p.tiles, iteration: p.iteration, objective: p.objective, relativeGap, particles: p.particles };
      if (job.snapshot) progress.snapshot = heaviest(p.snapshot(), MAX_SNAPSHOT_PARTICLES);
      post({ type: 'progress', id, progress });
    },
  });
}

/**
 * Synthetic frames of a warm-up. Measured on 64×64 SMLM frames (fresh process, CPU of all threads,
 * loaded machine): the first real frames cost ~600–900, ~350–500, then ~100–200 ms against ~60
 * warm, mostly TurboFan compiles on V8's background threads. After 20 frames of 12×12 px (~0.6 s)
 * the same 20 real frames cost ~0.5–1 s less in all (warm-up included) in each of three rounds
 * (2581–2986 against 3422–4415 ms); 16 px frames gained less. What the JIT needs is the same code
 * run often, not many pixels.
 */
const WARM_FRAMES = 20;
const WARM_SIZE = 12;
const WARM_MAX_ITER = 300;

/**
 * Solve WARM_FRAMES tiny synthetic SMLM-like frames with the job's PSF and options, results
 * discarded: only the JIT state stays. Best effort: a PSF or options the simulator cannot use
 * (periodic, 1-D, too wide for the frame) or any error just ends it; the cancel flag stops it.
 */
function warmUp(job: WarmJob): void {
  const flag = new Int32Array(job.cancel);
  const stop = () => Atomics.load(flag, 0) !== 0;
  try {
    // Wide PSFs get larger frames (a frame of about 8 σ on a side).
    const size = Math.max(WARM_SIZE, Math.ceil(8 * psfOf(job.psf, WARM_SIZE, WARM_SIZE).sigma));
    const psf = psfOf(job.psf, size, size);
    if (psf.periodic || psf.dims !== 2 || stop()) return;
    const noise = job.options.noise ?? {};
    // About the emitter density of a crowded SMLM frame (35 per 64×64 px).
    const sim = simulate({ kind: 'smlm', width: size, height: size, count: (35 * size * size) / 4096, frames: WARM_FRAMES, psf, seed: 1, gain: noise.gain ?? 1, offset: noise.offset ?? 0 });
    // Capped iterations: a tolerance set very tight for the real frames must not make this long.
    const cpgd = { ...job.options.cpgd, maxIter: Math.min(job.options.cpgd?.maxIter ?? WARM_MAX_ITER, WARM_MAX_ITER) };
    const o = validateDetectOptions({ ...job.options, cpgd, psf, frame: 0, shouldStop: stop, onProgress: undefined });
    for (const data of sim.frames) {
      if (stop()) return;
      const prep = prepareFrame(makeImage(size, size, data), o);
      assembleFrame(prep, o, prep.tiles.map((_, i) => (stop() ? null : solveTile(prep, i, o))));
    }
  } catch {
    // A warm-up that fails costs nothing but itself: the real frames report their own errors.
  }
}

function run(msg: ToWorker): void {
  if (msg.type === 'warm') {
    warmUp(msg.job);
    post({ type: 'warmed', id: msg.id });
    return;
  }
  const { id, progressIntervalMs } = msg;
  const progress = msg.progress !== false;
  try {
    injectFault(msg.job.fault);
    if (msg.type === 'frame') {
      // The whole of core detect(), here rather than in the calling thread.
      const { image } = msg.job;
      const o = jobOptions(id, msg.job, image.width, image.height, progressIntervalMs, progress);
      const prep = prepareFrame(makeImage(image.width, image.height, image.data), o);
      const outcomes = prep.tiles.map((_, i) => (o.shouldStop?.() ? null : solveTile(prep, i, o)));
      post({ type: 'frame-result', id, result: assembleFrame(prep, o, outcomes) });
      return;
    }
    const { job } = msg;
    const f = job.frame;
    const o = jobOptions(id, job, f.width, f.height, progressIntervalMs, progress);
    const prep: PreparedFrame = {
      width: f.width,
      height: f.height,
      data: new Float64Array(f.data),
      weights: new Float64Array(f.weights),
      lambda: f.lambda,
      background: f.background,
      noise: f.noise,
      tiles: f.tiles,
    };
    const outcome = solveTile(prep, job.tileIndex, o);
    post({ type: 'result', id, outcome });
  } catch (e) {
    if (e === Symbol.for('cpgd.fault.pending')) return;
    post({ type: 'error', id, error: serializeError(e) });
  }
}

port.on('message', (msg: ToWorker) => {
  if (msg && (msg.type === 'tile' || msg.type === 'frame' || msg.type === 'warm')) run(msg);
});
