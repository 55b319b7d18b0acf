// The handler table behind both the Electron IPC and the browser mode, driven with a stand-in
// Host (dialogs answered by the test) under plain Node.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers, invokeHandler, type Host } from '../../src-main/app/handlers.js';
import { Session } from '../../src-main/app/session.js';
import { SettingsStore } from '../../src-main/app/settings.js';
import { writeFitsImage } from '../../src-main/core/formats/fits.js';
import { buildPsf } from '../../src-main/core/psf/spec.js';
import { simulate } from '../../src-main/core/simulate.js';
import { DetectPool } from '../../src-main/jobs/pool.js';
import { RENDERER_CHANNELS, type EventChannel } from '../../src-main/shared/ipc.js';
import { ROOT } from '../paths.js';

let dir: string;
let pool: DetectPool;
let image: string;
const answers: { open: string | null; save: string | null } = { open: null, save: null };
const events: { channel: EventChannel; payload: unknown }[] = [];
let recentChanges = 0;
const host: Host = {
  runtime: () => ({ name: 'test', electron: '', chrome: '' }),
  chooseImage: async () => answers.open,
  saveFile: async (_name, _filters, data) => {
    if (answers.save === null) return null;
    writeFileSync(answers.save, data);
    return answers.save;
  },
  send: (channel, payload) => void events.push({ channel, payload }),
  recentChanged: () => void recentChanges++,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-handlers-'));
  pool = new DetectPool({ threads: 1, progressIntervalMs: 0, workerUrl: resolve(ROOT, 'out/node/jobs/detect.worker.js') });
  const sim = simulate({ kind: 'stars', width: 48, height: 40, count: 4, psf: buildPsf({ kind: 'gaussian', sigmaX: 1.5, sigmaY: 1.5 }), seed: 3, background: 30 });
  image = join(dir, 'field.fits');
  writeFileSync(image, writeFitsImage(sim.frames, 48, 40));
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('handler table', () => {
  it('has a handler for every channel the renderer may call', () => {
    const table = createHandlers({ session: new Session({ pool }), settings: new SettingsStore(join(dir, 'u0')), host, threads: 1 });
    for (const c of RENDERER_CHANNELS) expect(typeof table[c].run).toBe('function');
  });

  it('opens through the host dialog, remembers the file, detects with progress, and exports where the host says', async () => {
    const settings = new SettingsStore(join(dir, 'u1'));
    const table = createHandlers({ session: new Session({ pool, progressIntervalMs: 0 }), settings, host, threads: 1 });
    answers.open = null;
    expect(await invokeHandler(table, 'file:open', [])).toBeNull();
    answers.open = image;
    const info = await invokeHandler(table, 'file:open', []);
    expect(info).toMatchObject({ name: 'field.fits', width: 48, height: 40 });
    expect(await invokeHandler(table, 'file:recent', [])).toEqual([image]);
    expect(recentChanges).toBeGreaterThan(0);

    const summary = await invokeHandler(table, 'detect:start', [
      { imageId: info!.imageId, frame: 0, psf: { kind: 'gaussian', sigma: 1.5 }, lambda: { mode: 'auto', factor: 1 }, background: 'constant', camera: { gain: null, offset: 0, readNoise: null } },
    ]);
    expect(summary.status).toBe('converged');
    expect(summary.sources.length).toBeGreaterThanOrEqual(3);
    expect(events.some((e) => e.channel === 'detect:progress')).toBe(true);

    answers.save = null;
    expect(await invokeHandler(table, 'catalogue:export', ['csv'])).toBeNull();
    answers.save = join(dir, 'out.csv');
    expect(await invokeHandler(table, 'catalogue:export', ['csv'])).toBe(answers.save);
    const csv = readFileSync(answers.save, 'utf8').trim().split('\n');
    expect(csv.length).toBe(summary.sources.length + 1);
  });

  it('opens the samples by id from the samples folder, and says when there is none', async () => {
    const withSamples = createHandlers({ session: new Session({ pool }), settings: new SettingsStore(join(dir, 'u4')), host, threads: 1, samplesDir: resolve(ROOT, 'resources/samples') });
    const stack = await invokeHandler(withSamples, 'file:openSample', ['smlm-stack']);
    expect(stack).toMatchObject({ name: 'smlm-stack.tif', format: 'tiff', width: 64, height: 64, frames: 40, sample: 'smlm-stack' });
    await expect(invokeHandler(withSamples, 'file:openSample', ['/etc/passwd'])).rejects.toMatchObject({ code: 'invalid-argument' });
    const without = createHandlers({ session: new Session({ pool }), settings: new SettingsStore(join(dir, 'u5')), host, threads: 1 });
    await expect(invokeHandler(without, 'file:openSample', ['star-field'])).rejects.toMatchObject({ code: 'not-available' });
  });

  it('exports every catalogue format through the host, with export options', async () => {
    const table = createHandlers({ session: new Session({ pool }), settings: new SettingsStore(join(dir, 'u6')), host, threads: 1 });
    const info = await invokeHandler(table, 'file:drop', [image]);
    const lambda = await invokeHandler(table, 'detect:autoLambda', [{ imageId: info.imageId, frame: 0, psf: { kind: 'gaussian', sigma: 1.5 }, camera: { gain: null, offset: 0, readNoise: null } }]);
    expect(lambda).toBeGreaterThan(0);
    const summary = await invokeHandler(table, 'detect:start', [
      { imageId: info.imageId, frame: 0, psf: { kind: 'gaussian', sigma: 1.5 }, lambda: { mode: 'auto', factor: 1 }, background: 'constant', camera: { gain: null, offset: 0, readNoise: null } },
    ]);
    expect(summary.lambda).toBeCloseTo(lambda, 9);
    answers.save = join(dir, 'out.fits');
    expect(await invokeHandler(table, 'catalogue:export', ['fits'])).toBe(answers.save);
    expect(readFileSync(answers.save).subarray(0, 9).toString('latin1')).toBe('SIMPLE  =');
    answers.save = join(dir, 'out.ts.csv');
    await expect(invokeHandler(table, 'catalogue:export', ['thunderstorm'])).rejects.toMatchObject({ code: 'invalid-option' });
    expect(await invokeHandler(table, 'catalogue:export', ['thunderstorm', { pixelSizeNm: 100 }])).toBe(answers.save);
    expect(readFileSync(answers.save, 'utf8').split('\n')[0]).toMatch(/^"id","frame","x \[nm\]"/);
    await expect(invokeHandler(table, 'catalogue:export', ['csv', {}, 1])).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('loads a PSF file only through the host\'s dialog', async () => {
    const without = createHandlers({ session: new Session({ pool }), settings: new SettingsStore(join(dir, 'u7')), host, threads: 1 });
    await expect(invokeHandler(without, 'psf:openFile', [1])).rejects.toMatchObject({ code: 'not-available' });
    const stamp = new Float64Array(81).map((_, i) => Math.exp(-(((i % 9) - 4) ** 2 + (Math.floor(i / 9) - 4) ** 2) / 4));
    const psfPath = join(dir, 'stamp.fits');
    writeFileSync(psfPath, writeFitsImage([stamp], 9, 9));
    let answer: string | null = null;
    const withDialog = createHandlers({ session: new Session({ pool }), settings: new SettingsStore(join(dir, 'u8')), host: { ...host, choosePsfFile: async () => answer }, threads: 1 });
    expect(await invokeHandler(withDialog, 'psf:openFile', [1])).toBeNull();
    answer = psfPath;
    expect(await invokeHandler(withDialog, 'psf:openFile', [2])).toMatchObject({ name: 'stamp.fits', width: 9, height: 9, oversample: 2 });
    await expect(invokeHandler(withDialog, 'psf:openFile', [0])).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('refuses bad arguments and paths outside the recent list', async () => {
    const table = createHandlers({ session: new Session({ pool }), settings: new SettingsStore(join(dir, 'u2')), host, threads: 1 });
    await expect(invokeHandler(table, 'image:frame', [1])).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(invokeHandler(table, 'catalogue:export', ['xml'])).rejects.toMatchObject({ code: 'invalid-argument' });
    await expect(invokeHandler(table, 'file:openRecent', [image])).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('drops a recent file that can no longer be read', async () => {
    const settings = new SettingsStore(join(dir, 'u3'));
    const gone = join(dir, 'gone.fits');
    writeFileSync(gone, readFileSync(image));
    const table = createHandlers({ session: new Session({ pool }), settings, host, threads: 1 });
    await invokeHandler(table, 'file:drop', [gone]);
    rmSync(gone);
    expect(existsSync(gone)).toBe(false);
    await expect(invokeHandler(table, 'file:openRecent', [gone])).rejects.toMatchObject({ code: 'io-error' });
    expect(settings.recent).toEqual([]);
  });
});
