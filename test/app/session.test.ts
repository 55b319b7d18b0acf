// Session runs detection on the worker pool; workers need JavaScript, so the pool uses the
// compiled worker in out/node (`npm test` builds it first; `npm run build:node` by hand).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectOptions, frameStats, Session, Throttle } from '../../src-main/app/session.js';
import { AppError } from '../../src-main/app/validate.js';
import { writeFitsImage } from '../../src-main/core/formats/fits.js';
import { buildPsf } from '../../src-main/core/psf/spec.js';
import { simulate } from '../../src-main/core/simulate.js';
import { DetectPool } from '../../src-main/jobs/pool.js';
import type { DetectProgress, DetectRequest } from '../../src-main/shared/ipc.js';
import { ROOT } from '../paths.js';

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
    expect(csv.text.split('\n')[0]).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr');
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
