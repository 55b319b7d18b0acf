/**
 * The detection worker: a thin shell around core solveTile. It receives a tile job (frame pixels
 * and weights in shared memory, a serialisable PSF, plain detect options), rebuilds the PSF,
 * solves the tile and posts the raw sources and solver statistics back. Progress is posted at
 * most once per `progressIntervalMs`; the shared cancel flag is read by the solver's shouldStop,
 * so a cancel takes effect within one iteration.
 */

import { parentPort } from 'node:worker_threads';
import { solveTile, validateDetectOptions, type PreparedFrame } from '../core/detect.js';
import { makeImage } from '../core/image.js';
import { buildPsf } from '../core/psf/spec.js';
import type { Psf } from '../core/psf/types.js';
import { MAX_SNAPSHOT_PARTICLES, serializeError, type FromWorker, type SerialPsf, type TileJob, type TileProgress, type ToWorker } from './protocol.js';

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

function run({ id, job, progressIntervalMs }: ToWorker): void {
  try {
    injectFault(job.fault);
    const f = job.frame;
    const flag = new Int32Array(job.cancel);
    const psf = psfOf(job.psf, f.width, f.height);
    let last = -Infinity;
    let relativeGap: number | null = null;
    const tiles = f.tiles.length;
    const o = validateDetectOptions({
      ...job.options,
      psf,
      shouldStop: () => Atomics.load(flag, 0) !== 0,
      onProgress: (p) => {
        if (p.certificate) relativeGap = p.certificate.relativeGap;
        const now = performance.now();
        if (now - last < progressIntervalMs) return;
        last = now;
        const progress: TileProgress = { tile: job.tileIndex, tiles, iteration: p.iteration, objective: p.objective, relativeGap, particles: p.particles };
        if (job.snapshot) progress.snapshot = heaviest(p.snapshot(), MAX_SNAPSHOT_PARTICLES);
        post({ type: 'progress', id, progress });
      },
    });
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
  if (msg && msg.type === 'tile') run(msg);
});
