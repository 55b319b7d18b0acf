// Session runs detection on the worker pool; workers need JavaScript, so the pool uses the
// compiled worker in out/node (`npm test` builds it first; `npm run build:node` by hand).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipRegion, convergenceTrace, detectOptions, frameStats, mergeSnapshots, ProgressAggregator, Session, thinned, Throttle } from '../../src-main/app/session.js';
import { AppError } from '../../src-main/app/validate.js';
import { writeFitsImage } from '../../src-main/core/formats/fits.js';
import { buildPsf } from '../../src-main/core/psf/spec.js';
import { simulate } from '../../src-main/core/simulate.js';
import { DetectPool } from '../../src-main/jobs/pool.js';
import type { DetectProgress, DetectRequest } from '../../src-main/shared/ipc.js';
import { celestialWcs } from '../../src-main/core/wcs.js';
import { wcsOf } from '../../src-renderer/lib/sky.js';
import { FIXTURES, ROOT } from '../paths.js';

let dir: string;
let pool: DetectPool;
let fitsPath: string;
const W = 96;
const H = 80;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-session-'));
  pool = new DetectPool({ threads: 2, progressIntervalMs: 0, workerUrl: resolve(ROOT, 'out/node/jobs/detect.worker.js') });
  const psf = buildPsf({ kind: 'gaussian', sigmaX: 1.5, sigmaY: 1.5 });
  const sim = simulate({ kind: 'stars', width: W, height: H, count: 12, psf, seed: 7, background: 40, frames: 2 });
  fitsPath = join(dir, 'field.fits');
  writeFileSync(fitsPath, writeFitsImage(sim.frames, W, H));
  writeFileSync(join(dir, 'junk.fits'), 'this is not an image at all');
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

function request(imageId: number, frame = 0): DetectRequest {
  return { imageId, frame, psf: { kind: 'gaussian', sigma: 1.5 }, lambda: { mode: 'auto', factor: 1 }, background: 'auto', camera: { gain: null, offset: 0, readNoise: null } };
}

describe('helpers', () => {
  it('Throttle lets one call through per interval', () => {
    let t = 0;
    const th = new Throttle(100, () => t);
    expect(th.ready()).toBe(true);
    t = 50;
    expect(th.ready()).toBe(false);
    t = 100;
    expect(th.ready()).toBe(true);
  });

  it('frameStats ignores non-finite pixels', () => {
    const s = frameStats(Float64Array.from([1, 2, 3, NaN, Infinity, 4, 5]));
    expect(s).toMatchObject({ min: 1, max: 5, mean: 3, median: 3, finite: 5 });
    expect(s.sigma).toBeCloseTo(1.4826, 4);
    expect(frameStats(Float64Array.from([NaN])).finite).toBe(0);
  });

  it('maps app requests to core options', () => {
    const o = detectOptions({ ...request(1), psf: { kind: 'moffat', fwhm: 3, beta: 2.5 }, lambda: { mode: 'value', value: 12 }, camera: { gain: 2, offset: 100, readNoise: null } });
    expect(o.psfSpec).toEqual({ kind: 'moffat', fwhm: 3, beta: 2.5 });
    expect(o.lambda).toBe(12);
    expect(o.noise).toEqual({ offset: 100, gain: 2 });
  });
});

describe('convergence and progress helpers', () => {
  it('sums F − F_best over tiles (a stopped tile keeps its last value) and takes the worst gap', () => {
    const a = { history: [10, 4, 2, 1], particleHistory: [50, 20, 8, 5], certificates: [{ iteration: 0, gap: 9, relativeGap: 0.9, minV: -1 }, { iteration: 2, gap: 0.1, relativeGap: 0.05, minV: 0 }] };
    const b = { history: [7, 3], particleHistory: [30, 3], certificates: [{ iteration: 1, gap: 1, relativeGap: 0.3, minV: 0 }] };
    const t = convergenceTrace([a, b]);
    expect(t.iteration).toEqual([0, 1, 2, 3]);
    // Tile a: F − 1 = 9, 3, 1, 0; tile b: F − 3 = 4, 0, then stays 0.
    expect(t.fMinusBest).toEqual([13, 3, 1, 0]);
    expect(t.particles).toEqual([80, 23, 11, 8]);
    expect(t.gapIteration).toEqual([0, 1, 2]);
    // At 2: a's latest is 0.05, b's latest (from iteration 1) 0.3.
    expect(t.relativeGap).toEqual([0.9, 0.9, 0.3]);
  });

  it('thins long histories to about 1000 points, keeping the first and the last', () => {
    const n = 5003;
    const h = Array.from({ length: n }, (_, i) => 1 + 1 / (i + 1));
    const t = convergenceTrace([{ history: h, particleHistory: h.map(() => 1), certificates: [] }]);
    expect(t.iteration.length).toBeLessThanOrEqual(1001);
    expect(t.iteration[0]).toBe(0);
    expect(t.iteration.at(-1)).toBe(n - 1);
    expect(thinned(3, 1000)).toEqual([0, 1, 2]);
    expect(thinned(0, 10)).toEqual([]);
  });

  it('combines the tiles\' latest reports: summed F and particles, worst gap, each tile\'s F, all particles', () => {
    const agg = new ProgressAggregator(7);
    const tile = (t: number, iteration: number, objective: number, relativeGap: number | null, particles: number, x: number) => ({ tile: t, tiles: 3, iteration, objective, relativeGap, particles, snapshot: { x: [x], y: [1], a: [particles] } });
    agg.add(tile(0, 10, 50, 0.2, 30, 5));
    agg.add(tile(2, 4, 80, null, 60, 200));
    agg.add(tile(0, 12, 45, 0.1, 25, 6));
    const e = agg.event(tile(0, 12, 45, 0.1, 25, 6), { x: 100, y: 0 });
    expect(e).toMatchObject({ runId: 7, tiles: 3, tilesStarted: 2, iteration: 12, particles: 85, relativeGap: 0.1, objective: 125, tileObjectives: [45, null, 80], stack: null });
    expect(e.snapshot).toEqual({ x: [106, 300], y: [1, 1], a: [25, 60] });
    agg.add(tile(2, 9, 70, 0.4, 50, 201));
    expect(agg.event(tile(2, 9, 70, 0.4, 50, 201)).relativeGap).toBe(0.4);
  });

  it('merges tile snapshots, keeps the heaviest and shifts them by the region offset', () => {
    const m = mergeSnapshots([{ x: [1, 2], y: [1, 2], a: [5, -9] }, { x: [3], y: [3], a: [1] }], 2, { x: 10, y: 20 });
    expect(m).toEqual({ x: [12, 11], y: [22, 21], a: [-9, 5] });
  });

  it('clips a region to the image and refuses one outside it', () => {
    expect(clipRegion({ x: 90, y: 70, width: 32, height: 32 }, 100, 80)).toEqual({ x: 90, y: 70, width: 10, height: 10 });
    expect(() => clipRegion({ x: 96, y: 0, width: 32, height: 32 }, 100, 80)).toThrow(/not inside/);
  });
});

describe('Session', () => {
  it('opens a FITS file, serves frames and detects sources with progress', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    await expect(s.frame(1, 0)).rejects.toMatchObject({ code: 'no-image' });
    const info = await s.open(fitsPath);
    expect(info).toMatchObject({ name: 'field.fits', format: 'fits', width: W, height: H, frames: 2, pixelSizeNm: null });
    const f = await s.frame(info.imageId, 1);
    expect(f.pixels).toBeInstanceOf(Float32Array);
    expect(f.pixels.length).toBe(W * H);
    expect(f.stats.finite).toBe(W * H);
    await expect(s.frame(info.imageId, 2)).rejects.toBeInstanceOf(AppError);
    await expect(s.frame(info.imageId + 1, 0)).rejects.toMatchObject({ code: 'no-image' });

    expect(() => s.exportCatalogue('csv')).toThrow(AppError);
    const progress: DetectProgress[] = [];
    const r = await s.detect(request(info.imageId), (p) => progress.push(p));
    expect(r.status).toBe('converged');
    expect(r.sources.length).toBeGreaterThanOrEqual(8);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.runId === r.runId)).toBe(true);
    const csv = s.exportCatalogue('csv');
    expect(csv.suggestedName).toBe('field.csv');
    expect((csv.data as string).split('\n')[0]).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr');
    expect(s.exportCatalogue('ds9').suggestedName).toBe('field.reg');
  });

  it('refuses a second run while one is going, and cancels', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(fitsPath);
    let cancelled = false;
    const run = s.detect({ ...request(info.imageId), lambda: { mode: 'auto', factor: 0.3 } }, () => {
      if (!cancelled) cancelled = s.cancel();
    });
    await expect(s.detect(request(info.imageId))).rejects.toMatchObject({ code: 'busy' });
    await expect(s.open(fitsPath)).rejects.toMatchObject({ code: 'busy' });
    const r = await run;
    expect(cancelled).toBe(true);
    expect(r.status).toBe('cancelled');
    expect(s.busy).toBe(false);
    expect(s.cancel()).toBe(false);
    expect(s.hasCatalogue).toBe(false);
  });

  it('reports unreadable files with typed errors and keeps the previous image', async () => {
    const s = new Session({ pool });
    const info = await s.open(fitsPath);
    await expect(s.open(join(dir, 'junk.fits'))).rejects.toMatchObject({ code: 'bad-format' });
    await expect(s.open(join(dir, 'missing.fits'))).rejects.toMatchObject({ code: 'io-error' });
    expect(s.image?.imageId).toBe(info.imageId);
  });

  it('rejects bad detection parameters with the core typed error', async () => {
    const s = new Session({ pool });
    const info = await s.open(fitsPath);
    await expect(s.detect({ ...request(info.imageId), psf: { kind: 'moffat', fwhm: 3, beta: 0.5 } })).rejects.toMatchObject({ code: expect.stringMatching(/invalid-(psf|option)/) });
    expect(s.busy).toBe(false);
  });
});

describe('Session: live progress, regions, automatic λ and exports', () => {
  it('progress carries the summed objective, each tile\'s F, the worst gap and the live particles in image pixels', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(fitsPath);
    const progress: DetectProgress[] = [];
    const r = await s.detect(request(info.imageId), (p) => progress.push(p));
    expect(progress.length).toBeGreaterThan(2);
    for (const p of progress) {
      expect(p.tileObjectives.length).toBe(p.tiles);
      const sum = p.tileObjectives.reduce<number>((a, f) => a + (f ?? 0), 0);
      expect(p.objective).toBeCloseTo(sum, 6);
      expect(p.snapshot).not.toBeNull();
      // Every live particle, up to the caps (2000 per tile, 4000 in all).
      expect(p.snapshot!.x.length).toBe(Math.min(p.particles, 2000 * p.tilesStarted, 4000));
      // Particles may sit a little beyond the edge (a source half off the image), not further.
      for (let i = 0; i < p.snapshot!.x.length; i++) {
        expect(p.snapshot!.x[i]).toBeGreaterThan(-3);
        expect(p.snapshot!.x[i]).toBeLessThan(W + 2);
        expect(p.snapshot!.y[i]).toBeGreaterThan(-3);
        expect(p.snapshot!.y[i]).toBeLessThan(H + 2);
      }
    }
    // The objective decreases over the run (CPGD is a descent method) and the trace says the same.
    expect(progress.at(-1)!.objective).toBeLessThan(progress[0]!.objective);
    const t = r.convergence;
    expect(t.iteration.at(-1)).toBe(r.iterations);
    expect(t.fMinusBest.at(-1)).toBe(0);
    expect(t.fMinusBest[0]).toBeGreaterThan(0);
    expect(t.relativeGap.at(-1)).toBeCloseTo(r.relativeGap, 12);
    expect(r.region).toBeNull();
  });

  it('sends at most one progress event per interval', async () => {
    const s = new Session({ pool, progressIntervalMs: 50 });
    const info = await s.open(fitsPath);
    const times: number[] = [];
    await s.detect({ ...request(info.imageId), lambda: { mode: 'auto', factor: 0.5 } }, () => times.push(performance.now()));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(49);
  });

  it('solves a region of interest with the whole frame\'s λ, in image coordinates, without replacing the catalogue', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(fitsPath);
    const full = await s.detect(request(info.imageId));
    const auto = await s.autoLambda({ imageId: info.imageId, frame: 0, psf: { kind: 'gaussian', sigma: 1.5 }, camera: { gain: null, offset: 0, readNoise: null } });
    expect(auto).toBeCloseTo(full.lambda, 9);
    const region = { x: 40, y: 30, width: 40, height: 40 };
    const roi = await s.detect({ ...request(info.imageId), region });
    expect(roi.region).toEqual(region);
    expect(roi.lambda).toBeCloseTo(full.lambda, 9);
    // The sources well inside the region are those of the full run, at the same places.
    const inner = full.sources.filter((q) => q.x > 44 && q.x < 76 && q.y > 34 && q.y < 66);
    expect(inner.length).toBeGreaterThan(0);
    for (const q of inner) {
      const near = roi.sources.find((p) => Math.hypot(p.x - q.x, p.y - q.y) < 0.3);
      expect(near, `source at (${q.x}, ${q.y})`).toBeDefined();
    }
    for (const p of roi.sources) expect(p.x >= 39.5 && p.x < 80.5 && p.y >= 29.5 && p.y < 70.5).toBe(true);
    const csv = s.exportCatalogue('csv').data as string;
    expect(csv.trim().split('\n').length).toBe(full.sources.length + 1);
  });

  it('exports ThunderSTORM CSV (pixel size required) and a FITS table', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(fitsPath);
    const r = await s.detect(request(info.imageId));
    expect(() => s.exportCatalogue('thunderstorm')).toThrow(/pixel size/);
    const ts = s.exportCatalogue('thunderstorm', { pixelSizeNm: 160 });
    expect(ts.suggestedName).toBe('field.thunderstorm.csv');
    const lines = (ts.data as string).trim().split('\n');
    expect(lines.length).toBe(r.sources.length + 1);
    const first = lines[1]!.split(',').map(Number);
    // x [nm] = (x + 0.5) · pixel size, from the corner of the first pixel.
    expect(first[2]).toBeCloseTo((r.sources[0]!.x + 0.5) * 160, 1);
    const fits = s.exportCatalogue('fits');
    expect(fits.suggestedName).toBe('field.cat.fits');
    expect(fits.data).toBeInstanceOf(Uint8Array);
    const bytes = fits.data as Uint8Array;
    expect(bytes.length % 2880).toBe(0);
    const text = new TextDecoder('latin1').decode(bytes);
    expect(text).toMatch(/XTENSION= 'BINTABLE'/);
    expect(text).toMatch(new RegExp(`NAXIS2  = +${r.sources.length} `));
  });

  it('fits the PSF shape to proposed or picked stars, and says when there is none', async () => {
    const s = new Session({ pool });
    const info = await s.open(fitsPath);
    const fit = await s.fitPsf({ imageId: info.imageId, frame: 0, kind: 'gaussian', start: { kind: 'gaussian', sigma: 1 }, stars: null });
    expect(fit.psf.kind).toBe('gaussian');
    expect(Math.abs((fit.psf as { sigma: number }).sigma - 1.5)).toBeLessThan(0.08);
    expect(fit.stars.length).toBeGreaterThan(0);
    expect(fit.boxes[0]!.data.length).toBe(fit.boxes[0]!.size ** 2);
    // The same stars, picked by hand (rounded clicks), give the same shape.
    const picked = await s.fitPsf({ imageId: info.imageId, frame: 0, kind: 'gaussian', start: { kind: 'gaussian', sigma: 2 }, stars: fit.stars.map((q) => ({ x: Math.round(q.x), y: Math.round(q.y) })) });
    expect((picked.psf as { sigma: number }).sigma).toBeCloseTo((fit.psf as { sigma: number }).sigma, 2);
    await expect(s.fitPsf({ imageId: info.imageId, frame: 0, kind: 'moffat', start: { kind: 'gaussian', sigma: 1.5 }, stars: [{ x: 0, y: 0 }] })).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('loads a PSF stamp file, detects with it, and explains a bad one', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(fitsPath);
    // The same Gaussian σ 1.5 the field was made with, as a 15×15 stamp.
    const stamp = new Float64Array(15 * 15);
    for (let y = 0; y < 15; y++) for (let x = 0; x < 15; x++) stamp[y * 15 + x] = Math.exp(-((x - 7) ** 2 + (y - 7) ** 2) / (2 * 1.5 ** 2));
    const psfPath = join(dir, 'psf.fits');
    writeFileSync(psfPath, writeFitsImage([stamp], 15, 15));
    const file = await s.loadPsfFile(psfPath, 1);
    expect(file).toMatchObject({ name: 'psf.fits', width: 15, height: 15, oversample: 1 });
    expect(file.sigma).toBeGreaterThan(1.3);
    expect(file.sigma).toBeLessThan(1.7);
    expect(file.stamp.length).toBe(225);
    const analytic = await s.detect(request(info.imageId));
    const sampled = await s.detect({ ...request(info.imageId), psf: { kind: 'file', fileId: file.fileId, name: file.name, oversample: 1 } });
    expect(sampled.status).not.toBe('cancelled');
    // The bright sources are the same with the stamp as with the analytic PSF.
    for (const q of analytic.sources.filter((p) => p.snr > 20)) expect(sampled.sources.some((p) => Math.hypot(p.x - q.x, p.y - q.y) < 0.3)).toBe(true);
    expect((s.exportCatalogue('fits').data as Uint8Array).length).toBeGreaterThan(0);
    expect(s.exportCatalogue('thunderstorm', { pixelSizeNm: 100 }).data).toMatch(/^"id"/);
    const bad = join(dir, 'bad-psf.fits');
    writeFileSync(bad, writeFitsImage([new Float64Array(25).fill(-1)], 5, 5));
    await expect(s.loadPsfFile(bad, 1)).rejects.toMatchObject({ code: 'invalid-psf', message: expect.stringMatching(/positive sum/) });
    await expect(s.detect({ ...request(info.imageId), psf: { kind: 'file', fileId: 999, name: 'gone.fits', oversample: 1 } })).rejects.toMatchObject({ code: 'invalid-psf' });
  });

  it('solves every frame of a stack: sources of each frame, progress by frame, one catalogue', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(fitsPath);
    const progress: DetectProgress[] = [];
    const r = await s.detect({ ...request(info.imageId), allFrames: true }, (p) => progress.push(p));
    expect(r.frames).toBe(2);
    expect(r.status).toBe('converged');
    const f0 = await s.detect(request(info.imageId, 0));
    const f1 = await s.detect(request(info.imageId, 1));
    // The stack's frames are the frames solved one by one (same solver, same options).
    expect(r.sources.filter((q) => q.frame === 0).length).toBe(f0.sources.length);
    expect(r.sources.filter((q) => q.frame === 1).length).toBe(f1.sources.length);
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) {
      expect(p.stack).not.toBeNull();
      expect(p.stack!.frames).toBe(2);
      expect([0, 1]).toContain(p.stack!.frame);
      expect(p.snapshot).toBeNull();
    }
    // The last catalogue is f1's now; run the stack again and export it: both frames.
    await s.detect({ ...request(info.imageId), allFrames: true });
    const csv = (s.exportCatalogue('csv').data as string).trim().split('\n').slice(1);
    expect(new Set(csv.map((l) => l.split(',')[1]))).toEqual(new Set(['0', '1']));
    expect(csv.length).toBe(r.sources.length);
  });

  it('with a celestial WCS: RA/Dec on the sources and in the CSV and DS9 exports, and the cards for the readout', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(join(FIXTURES, 'scale.fits'));
    expect(info.wcs?.description).toBeTruthy();
    const r = await s.detect({ ...request(info.imageId), psf: { kind: 'gaussian', sigma: 1.5 } });
    expect(r.sources.length).toBeGreaterThan(0);
    // The renderer's WCS, built from the cards main sends, gives the same RA/Dec as the exports.
    const renderer = wcsOf(info)!;
    for (const q of r.sources.slice(0, 5)) {
      const [ra, dec] = renderer.pixelToWorld(q.x, q.y);
      expect(q.ra).toBeCloseTo(ra, 10);
      expect(q.dec).toBeCloseTo(dec, 10);
    }
    const csv = (s.exportCatalogue('csv').data as string).split('\n');
    expect(csv[0]).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr,ra,dec');
    expect(s.exportCatalogue('ds9').data).toMatch(/fk5/);
    // A file without WCS keeps pixel coordinates.
    const plain = await s.open(fitsPath);
    expect(plain.wcs).toBeUndefined();
    expect(celestialWcs([], {})).toBeNull();
  });
});
