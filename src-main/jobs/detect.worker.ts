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
import { MAX_SNAPSHOT_PARTICLES, serializeError, type FrameJob, type FromWorker, type SerialPsf, type TileJob, type TileProgress, type ToWorker } from './protocol.js';

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

function run(msg: ToWorker): void {
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
  if (msg && (msg.type === 'tile' || msg.type === 'frame')) run(msg);
});
