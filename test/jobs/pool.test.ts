// The worker pool runs the compiled code in out/node (workers need JavaScript files): `npm test`
// runs build:node first; run `npm run build:node` before `npx vitest run test/jobs` by hand.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetectPool, defaultWorkerUrl, detectFrameParallel, detectFramesParallel } from '../../out/node/jobs/index.js';
import { detect } from '../../out/node/core/detect.js';
import { CpgdError, InvalidImageError, InvalidOptionError, WorkerFailedError } from '../../out/node/core/errors.js';
import { buildPsf } from '../../out/node/core/psf/spec.js';
import { simulate } from '../../out/node/core/simulate.js';

const gaussian = { kind: 'gaussian', sigmaX: 1.4, sigmaY: 1.4 } as const;

function field(width: number, height: number, count: number, seed: number, frames = 1) {
  const psf = buildPsf(gaussian);
  const sim = simulate({ kind: frames > 1 ? 'smlm' : 'stars', width, height, count, frames, psf, seed, background: 30 });
  return { psf, sim, images: sim.frames.map((data: Float64Array) => ({ width, height, data })) };
}

type Src = { id: number; frame: number; x: number; y: number; flux: number; xErr: number; yErr: number; fluxErr: number; snr: number };

function expectSameSources(a: Src[], b: Src[]) {
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    expect(b[i].id).toBe(a[i].id);
    expect(b[i].frame).toBe(a[i].frame);
    for (const k of ['x', 'y', 'flux', 'xErr', 'yErr', 'fluxErr', 'snr'] as const) {
      expect(Math.abs(b[i][k] - a[i][k])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(a[i][k])));
    }
  }
}

let pool: InstanceType<typeof DetectPool>;
beforeAll(() => {
  // A long grace: these tests look at what the solver does with a cancel by itself (the watchdog
  // that ends overrunning workers has its own test).
  pool = new DetectPool({ threads: 2, progressIntervalMs: 0, cancelGraceMs: 60_000 });
});
afterAll(async () => {
  await pool.close();
});

describe('detectFrameParallel', () => {
  it('gives the same result as core detect() on a frame solved in several tiles', async () => {
    const { psf, images } = field(112, 96, 24, 11);
    const options = { tileSize: 48, lambda: 'auto' as const };
    const core = detect(images[0], { ...options, psf });
    expect(core.tiles.length).toBeGreaterThan(1);
    expect(core.sources.length).toBeGreaterThan(10);
    const tiles = new Set<number>();
    const par = await detectFrameParallel(images[0], { ...options, psfSpec: gaussian }, pool, { onProgress: (p: { tile: number }) => tiles.add(p.tile) });
    expectSameSources(core.sources, par.sources);
    expect(par.status).toBe(core.status);
    expect(par.lambda).toBe(core.lambda);
    expect(par.background).toBe(core.background);
    expect(par.iterations).toBe(core.iterations);
    expect(par.tiles.map((t: { iterations: number }) => t.iterations)).toEqual(core.tiles.map((t) => t.iterations));
    expect(par.relativeGap).toBeCloseTo(core.relativeGap, 12);
    // Progress came from every tile.
    expect([...tiles].sort()).toEqual(core.tiles.map((_, i) => i));
  });

  it('warms fresh workers up while it prepares a frame of many tiles, with the same result', async () => {
    const { psf, images } = field(160, 160, 40, 12);
    const options = { tileSize: 40, lambda: 'auto' as const };
    const core = detect(images[0], { ...options, psf });
    expect(core.tiles.length).toBe(16);
    const fresh = new DetectPool({ threads: 2 });
    try {
      const par = await detectFrameParallel(images[0], { ...options, psfSpec: gaussian }, fresh);
      expect(fresh.warmed).toBe(2);
      expectSameSources(core.sources, par.sources);
      expect(par.tiles.map((t: { iterations: number }) => t.iterations)).toEqual(core.tiles.map((t) => t.iterations));
      // A frame of few tiles does not wait for a warm-up.
      const few = new DetectPool({ threads: 2 });
      try {
        await detectFrameParallel(images[0], { tileSize: 80, psfSpec: gaussian }, few);
        expect(few.warmed).toBe(0);
      } finally {
        await few.close();
      }
    } finally {
      await fresh.close();
    }
  });

  it('rebuilds a file PSF from its stamp pixels in the workers', async () => {
    const { images } = field(48, 48, 6, 4);
    // A slightly elliptical stamp, 15×15, as if read from a file.
    const w = 15;
    const stamp = new Float64Array(w * w).map((_, k) => Math.exp(-(((k % w) - 7) ** 2) / (2 * 1.5 ** 2) - (Math.floor(k / w) - 7) ** 2 / (2 * 1.3 ** 2)));
    const psfImage = { width: w, height: w, data: stamp };
    const spec = { kind: 'file', path: 'stamp.fits', oversample: 1 } as const;
    const core = detect(images[0], { psf: buildPsf(spec, { fileImage: psfImage }) });
    const par = await detectFrameParallel(images[0], { psfSpec: spec, psfImage }, pool);
    expect(core.sources.length).toBeGreaterThan(3);
    expectSameSources(core.sources, par.sources);
  });

  it('reports invalid solver options as the same typed error as core detect()', async () => {
    const { psf, images } = field(40, 40, 3, 2);
    let coreError: unknown;
    try {
      detect(images[0], { psf, cpgd: { alpha: -1 } });
    } catch (e) {
      coreError = e;
    }
    expect(coreError).toBeInstanceOf(InvalidOptionError);
    const err = await detectFrameParallel(images[0], { psfSpec: gaussian, cpgd: { alpha: -1 } }, pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as CpgdError).code).toBe('invalid-option');
    expect((err as Error).message).toBe((coreError as Error).message);
  });

  it('cancels a long solve within an iteration: status cancelled, well before the iteration cap', async () => {
    const { images } = field(96, 96, 40, 9);
    const controller = new AbortController();
    const maxIter = 1_000_000;
    const par = await detectFrameParallel(images[0], { psfSpec: gaussian, cpgd: { maxIter, tolerance: 0 } }, pool, {
      signal: controller.signal,
      onProgress: (p: { iteration: number }) => {
        if (p.iteration >= 3) controller.abort();
      },
    });
    expect(par.status).toBe('cancelled');
    expect(par.iterations).toBeGreaterThanOrEqual(3);
    expect(par.iterations).toBeLessThan(maxIter);
    // The pool is free again.
    const { images: small } = field(32, 32, 2, 1);
    expect((await detectFrameParallel(small[0], { psfSpec: gaussian }, pool)).status).not.toBe('cancelled');
  });

  it('ends a cancelled job that does not stop by itself: its worker is replaced and the pool goes on', async () => {
    const strict = new DetectPool({ threads: 1, progressIntervalMs: 0 });
    try {
      const { images } = field(64, 64, 4, 5);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      // 'busy' never reads the cancel flag: without the watchdog this run would never end.
      const par = await detectFrameParallel(images[0], { psfSpec: gaussian, fault: 'busy' }, strict, { signal: controller.signal });
      expect(par.status).toBe('cancelled');
      expect(par.sources).toHaveLength(0);
      expect(strict.replaced).toBe(0); // a cancel is not a failure
      const { images: small } = field(32, 32, 2, 1);
      expect((await detectFrameParallel(small[0], { psfSpec: gaussian }, strict)).status).not.toBe('cancelled');
    } finally {
      await strict.close();
    }
  });

  it('skips every tile when the signal is already aborted', async () => {
    const { images } = field(100, 100, 10, 3);
    const controller = new AbortController();
    controller.abort();
    const par = await detectFrameParallel(images[0], { psfSpec: gaussian, tileSize: 50 }, pool, { signal: controller.signal });
    expect(par.status).toBe('cancelled');
    expect(par.tiles).toHaveLength(0);
    expect(par.sources).toHaveLength(0);
  });

  it('throttles progress: with a huge interval each tile reports at most once', async () => {
    const slow = new DetectPool({ threads: 1, progressIntervalMs: 1e9 });
    try {
      const { images } = field(100, 90, 12, 5);
      let count = 0;
      const r = await detectFrameParallel(images[0], { psfSpec: gaussian, tileSize: 50 }, slow, { onProgress: () => count++ });
      expect(r.tiles.length).toBe(4);
      expect(r.iterations).toBeGreaterThan(1);
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThanOrEqual(r.tiles.length);
    } finally {
      await slow.close();
    }
  });
});

describe('worker failures', () => {
  const { images } = field(32, 32, 2, 8);
  const ok = () => detectFrameParallel(images[0], { psfSpec: gaussian }, pool);

  it('a worker that throws rejects its job with a typed error; the pool goes on', async () => {
    const err = await detectFrameParallel(images[0], { psfSpec: gaussian, fault: 'throw' }, pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerFailedError);
    expect((err as WorkerFailedError).code).toBe('worker-failed');
    expect((err as WorkerFailedError).reason).toBe('error');
    expect((err as Error).message).toContain('injected fault');
    expect((await ok()).status).toBe('converged');
  });

  it('a worker that exits rejects its job and is replaced', async () => {
    const before = pool.replaced;
    const err = await detectFrameParallel(images[0], { psfSpec: gaussian, fault: 'exit' }, pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerFailedError);
    expect((err as WorkerFailedError).reason).toBe('exit');
    expect((err as WorkerFailedError).exitCode).toBe(3);
    expect(pool.replaced).toBe(before + 1);
    const r = await ok();
    expect(r.status).toBe('converged');
    expect(r.sources.length).toBeGreaterThan(0);
  });

  it('a worker killed by an uncaught exception rejects its job and is replaced', async () => {
    const before = pool.replaced;
    const err = await detectFrameParallel(images[0], { psfSpec: gaussian, fault: 'uncaught' }, pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerFailedError);
    expect((err as WorkerFailedError).reason).toBe('crashed');
    expect((err as Error).message).toContain('uncaught exception');
    expect(pool.replaced).toBe(before + 1);
    expect((await ok()).status).toBe('converged');
  });

  it('a worker that runs out of memory rejects its job with reason out-of-memory', async () => {
    const small = new DetectPool({ threads: 1, resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 } });
    try {
      const err = await detectFrameParallel(images[0], { psfSpec: gaussian, fault: 'oom' }, small).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkerFailedError);
      expect((err as WorkerFailedError).reason).toBe('out-of-memory');
      expect(small.replaced).toBe(1);
      expect((await detectFrameParallel(images[0], { psfSpec: gaussian }, small)).status).toBe('converged');
    } finally {
      await small.close();
    }
  });

  it('a worker script that does not load fails the job with a typed error', async () => {
    const broken = new DetectPool({ threads: 1, workerUrl: new URL('./no-such-worker.js', defaultWorkerUrl()) });
    try {
      const err = await detectFrameParallel(images[0], { psfSpec: gaussian }, broken).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkerFailedError);
    } finally {
      await broken.close();
    }
  });
});

/** A stack over images in memory that counts frames read and finished, and the most in flight. */
function countingStack(images: ReturnType<typeof field>['images'], width: number, height: number) {
  const c = { read: 0, finished: 0, maxInFlight: 0 };
  const source = {
    format: 'tiff' as const,
    width,
    height,
    frames: images.length,
    header: [],
    frame: async (i: number) => {
      c.read++;
      c.maxInFlight = Math.max(c.maxInFlight, c.read - c.finished);
      return images[i]!;
    },
  };
  return { source, counts: c, onFrame: () => void c.finished++ };
}

describe('detectFramesParallel', () => {
  it('solves the frames of a stack like core detect() frame by frame, ids running over all frames, reading frames lazily', async () => {
    const { psf, images } = field(40, 40, 3, 21, 7);
    const { source, counts, onFrame } = countingStack(images, 40, 40);
    const frames = [1, 2, 3, 4, 5, 6];
    const r = await detectFramesParallel(source, frames, { psfSpec: gaussian }, pool, { onFrame });
    expect(counts.read).toBe(frames.length);
    expect(counts.maxInFlight).toBeLessThanOrEqual(pool.size + 1);
    const expected: Src[] = [];
    for (const f of frames) {
      for (const s of detect(images[f], { psf, frame: f }).sources) expected.push({ ...s, id: expected.length + 1 });
    }
    expect(expected.length).toBeGreaterThan(5);
    expectSameSources(expected, r.sources);
    expect(r.frames.map((f: { frame: number }) => f.frame)).toEqual(frames);
    expect(r.skipped).toEqual([]);
    expect(new Set(r.sources.map((s: Src) => s.frame)).has(0)).toBe(false);
  });

  it('keeps fewer frames in flight when each frame fills the pool with tiles', async () => {
    const { psf, images } = field(64, 64, 4, 13, 3);
    const { source, counts, onFrame } = countingStack(images, 64, 64);
    const r = await detectFramesParallel(source, [0, 1, 2], { psfSpec: gaussian, tileSize: 32 }, pool, { onFrame });
    // 4 tiles per frame on 2 workers: one frame solving, one being read.
    expect(counts.maxInFlight).toBeLessThanOrEqual(2);
    const expected: Src[] = [];
    for (const f of [0, 1, 2]) {
      const d = detect(images[f], { psf, frame: f, tileSize: 32 });
      expect(d.tiles).toHaveLength(4);
      for (const s of d.sources) expected.push({ ...s, id: expected.length + 1 });
    }
    expectSameSources(expected, r.sources);
  });

  // Frames of one tile go whole to a worker (preparation, solve and assembly there): what the
  // calling thread used to throw or report must come back the same from the worker.
  it('a frame of one tile that cannot be solved rejects with the same typed error as core detect(); the pool goes on', async () => {
    const { psf, images } = field(24, 24, 2, 5, 3);
    const blank = { width: 24, height: 24, data: new Float64Array(24 * 24).fill(NaN) };
    const frames = [images[0], blank, images[2]];
    const source = { format: 'tiff' as const, width: 24, height: 24, frames: 3, header: [], frame: async (i: number) => frames[i] };
    const expected = (() => {
      try {
        detect(blank, { psf });
      } catch (e) {
        return e as Error;
      }
      throw new Error('core detect() accepted a frame without finite pixels');
    })();
    const err = await detectFramesParallel(source, [0, 1, 2], { psfSpec: gaussian }, pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidImageError);
    expect((err as Error).message).toBe(expected.message);
    const r = await detectFramesParallel(source, [0, 2], { psfSpec: gaussian }, pool);
    expect(r.status).toBe('converged');
    expect(r.frames.map((f: { frame: number }) => f.frame)).toEqual([0, 2]);
  });

  it('a worker failure on a frame of one tile rejects the stack with WorkerFailedError', async () => {
    const { images } = field(24, 24, 2, 6, 2);
    const source = { format: 'tiff' as const, width: 24, height: 24, frames: 2, header: [], frame: async (i: number) => images[i] };
    const err = await detectFramesParallel(source, [0, 1], { psfSpec: gaussian, fault: 'throw' }, pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerFailedError);
    expect((err as Error).message).toContain('injected fault');
  });

  it('cancelling a stack of one-tile frames: progress names the frame, unsolved frames are skipped, status cancelled', async () => {
    const { images } = field(40, 40, 6, 17, 12);
    const source = { format: 'tiff' as const, width: 40, height: 40, frames: images.length, header: [], frame: async (i: number) => images[i] };
    const frames = images.map((_: unknown, i: number) => i);
    const ac = new AbortController();
    const seen = new Set<number>();
    let solved = 0;
    const r = await detectFramesParallel(source, frames, { psfSpec: gaussian }, pool, {
      signal: ac.signal,
      onProgress: (p: { frame: number; tiles: number }) => {
        seen.add(p.frame);
        expect(p.tiles).toBe(1);
      },
      onFrame: () => {
        if (++solved === 2) ac.abort();
      },
    });
    expect(r.status).toBe('cancelled');
    expect(r.skipped.length).toBeGreaterThan(0);
    expect(r.frames.length + r.skipped.length).toBe(frames.length);
    expect([...r.frames.map((f: { frame: number }) => f.frame), ...r.skipped].sort((a, b) => a - b)).toEqual(frames);
    for (const f of seen) expect(frames).toContain(f);
    expect(seen.size).toBeGreaterThan(0);
  });

  it('a stack long enough to warm fresh workers up first gives the results of core detect() frame by frame', async () => {
    const { psf, images } = field(24, 24, 2, 31, 24);
    const { source, counts, onFrame } = countingStack(images, 24, 24);
    const fresh = new DetectPool({ threads: 2 });
    try {
      const frames = images.map((_: unknown, i: number) => i);
      const r = await detectFramesParallel(source, frames, { psfSpec: gaussian }, fresh, { onFrame });
      // Both workers solved synthetic frames before the stack's (10 frames per worker and more).
      expect(fresh.warmed).toBe(2);
      expect(counts.maxInFlight).toBeLessThanOrEqual(fresh.size + 1);
      const expected: Src[] = [];
      for (const f of frames) for (const s of detect(images[f], { psf, frame: f }).sources) expected.push({ ...s, id: expected.length + 1 });
      expect(expected.length).toBeGreaterThan(10);
      expectSameSources(expected, r.sources);
      expect(r.skipped).toEqual([]);
      // Warmed workers are not warmed again by the next stack; a short stack warms none.
      await detectFramesParallel(source, frames, { psfSpec: gaussian }, fresh);
      expect(fresh.warmed).toBe(2);
    } finally {
      await fresh.close();
    }
    const short = new DetectPool({ threads: 2 });
    try {
      await detectFramesParallel(source, [0, 1, 2, 3], { psfSpec: gaussian }, short);
      expect(short.warmed).toBe(0);
    } finally {
      await short.close();
    }
  });

  it('a stack cancelled while its workers warm up: every frame skipped, status cancelled', async () => {
    const { images } = field(24, 24, 2, 32, 30);
    const { source, onFrame } = countingStack(images, 24, 24);
    const fresh = new DetectPool({ threads: 2 });
    try {
      const ac = new AbortController();
      const frames = images.map((_: unknown, i: number) => i);
      const running = detectFramesParallel(source, frames, { psfSpec: gaussian }, fresh, { signal: ac.signal, onFrame });
      // The warm-ups were posted at once, before any frame.
      expect(fresh.warmed).toBe(2);
      ac.abort();
      const r = await running;
      expect(r.status).toBe('cancelled');
      expect(r.frames).toEqual([]);
      expect(r.skipped).toEqual(frames);
    } finally {
      await fresh.close();
    }
  });

  it('rejects frame indices outside the source', async () => {
    const { images } = field(24, 24, 1, 1, 2);
    const source = { format: 'tiff' as const, width: 24, height: 24, frames: 2, header: [], frame: async (i: number) => images[i] };
    const err = await detectFramesParallel(source, [0, 2], { psfSpec: gaussian }, pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe('--frames');
  });
});
