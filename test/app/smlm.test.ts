// The microscopy (SMLM) side of the app's services: camera settings in physical units give the
// numbers `cpgd detect` gives, stack runs over a frame range report frames done, localisations
// and time, a cancel keeps the frames finished, filters and drift correction shape the exports,
// and the catalogue renders as `cpgd render` renders it. Needs the compiled worker and CLI in
// out/node (`npm test` builds them; `npm run build:node` by hand).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlers, invokeHandler, type Host } from '../../src-main/app/handlers.js';
import { cameraOf, localisationsOf, Session } from '../../src-main/app/session.js';
import { SettingsStore } from '../../src-main/app/settings.js';
import { checkCamera, checkDetectRequest, checkExportOptions, checkRenderRequest } from '../../src-main/app/validate.js';
import { parseCatalogCsv } from '../../src-main/core/catalog/csv.js';
import { driftAt, estimateDrift } from '../../src-main/core/drift.js';
import { readTiff } from '../../src-main/core/formats/tiff.js';
import { renderLocalisations } from '../../src-main/core/render.js';
import { DetectPool } from '../../src-main/jobs/pool.js';
import type { CameraSetting, DetectProgress, DetectRequest } from '../../src-main/shared/ipc.js';
import { ROOT } from '../paths.js';

const STACK = resolve(ROOT, 'resources/samples/smlm-stack.tif');
const BIN = resolve(ROOT, 'bin/cpgd.mjs');
// The sample's camera (gain 1, offset 100, read noise 1.5) given as photoelectrons per ADU with
// an EM gain of 4: ADU per photon 4 / 4 = 1, noise gain F²·G = 2.
const EM: CameraSetting = { gain: null, offset: 100, readNoise: 1.5, electronsPerAdu: 4, emGain: 4, pixelSizeNm: 100 };
let dir: string;
let pool: DetectPool;

function request(imageId: number, camera: CameraSetting, first: number, last: number): DetectRequest {
  return { imageId, frame: 0, psf: { kind: 'gaussian', sigma: 1.1 }, lambda: { mode: 'auto', factor: 1 }, background: 'auto', camera, allFrames: true, frameRange: { first, last } };
}

function cpgd(...args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-app-smlm-'));
  pool = new DetectPool({ threads: 2, progressIntervalMs: 0, workerUrl: resolve(ROOT, 'out/node/jobs/detect.worker.js') });
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('camera settings in physical units', () => {
  it('are checked like the command line: one way to give the gain, EM gain with photoelectrons per ADU', () => {
    expect(checkCamera(EM)).toEqual(EM);
    // Settings of older versions have no pixel size or EM fields.
    expect(checkCamera({ gain: 2, offset: 0, readNoise: null })).toEqual({ gain: 2, offset: 0, readNoise: null });
    expect(() => checkCamera({ ...EM, gain: 2 })).toThrow(/contradicts gain/);
    expect(() => checkCamera({ gain: null, offset: 0, readNoise: null, emGain: 10 })).toThrow(/needs electronsPerAdu/);
    expect(() => checkCamera({ ...EM, emGain: 0.5 })).toThrow(/emGain: must be ≥ 1/);
    expect(() => checkCamera({ ...EM, pixelSizeNm: 0 })).toThrow(/pixelSizeNm: must be > 0/);
    expect(() => checkCamera({ ...EM, pixelSizeNm: '100' })).toThrow(/finite number/);
    const c = cameraOf(EM);
    expect(c).toMatchObject({ aduPerPhoton: 1, emGain: 4, excessNoise: 2, pixelSizeNm: 100, offset: 100 });
    // The file's pixel size when the settings have none.
    expect(cameraOf({ ...EM, pixelSizeNm: null }, 160).pixelSizeNm).toBe(160);
  });

  it('persist in the settings with the other detection parameters', () => {
    const a = new SettingsStore(join(dir, 'settings-camera'));
    a.update({ camera: EM });
    expect(new SettingsStore(join(dir, 'settings-camera')).get().camera).toEqual(EM);
  });

  it('checks frame ranges, filters, drift and render requests', () => {
    const base = request(1, EM, 2, 5);
    expect(checkDetectRequest(base).frameRange).toEqual({ first: 2, last: 5 });
    expect(() => checkDetectRequest({ ...base, frameRange: { first: 5, last: 2 } })).toThrow(/last: must be ≥ first/);
    expect(() => checkDetectRequest({ ...base, allFrames: undefined })).toThrow(/only with allFrames/);
    expect(() => checkDetectRequest({ ...base, frameRange: { first: -1, last: 2 } })).toThrow(/first/);
    expect(checkExportOptions({ pixelSizeNm: 100, filter: { minSnr: 5, maxUncertaintyNm: 30 }, driftSegmentFrames: 10 })).toEqual({ pixelSizeNm: 100, filter: { minSnr: 5, maxUncertaintyNm: 30 }, driftSegmentFrames: 10 });
    expect(() => checkExportOptions({ filter: { minPhotons: 10, maxPhotons: 5 } })).toThrow(/maxPhotons: is below minPhotons/);
    expect(() => checkExportOptions({ filter: { brightest: 5 } })).toThrow(/not a known field/);
    expect(() => checkExportOptions({ driftSegmentFrames: 2.5 })).toThrow(/whole number/);
    expect(checkRenderRequest({ renderPixelSizeNm: 10, mode: 'gaussian' })).toEqual({ renderPixelSizeNm: 10, mode: 'gaussian' });
    expect(() => checkRenderRequest({ renderPixelSizeNm: 10, mode: 'splat' })).toThrow(/mode/);
    expect(() => checkRenderRequest({ renderPixelSizeNm: -1, mode: 'histogram' })).toThrow(/renderPixelSizeNm/);
  });
});

describe('stack runs in the session', () => {
  it('a frame range with an EMCCD camera gives the ThunderSTORM and CSV files cpgd detect writes, with progress by frame', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(STACK);
    const progress: DetectProgress[] = [];
    const r = await s.detect(request(info.imageId, EM, 3, 8), (p) => progress.push(p));
    expect(r.status).not.toBe('cancelled');
    expect(r).toMatchObject({ frames: 6, frame: 3, photons: true, pixelSizeNm: 100, stack: { range: { first: 3, last: 8 }, framesDone: 6 } });
    expect(new Set(r.sources.map((q) => q.frame))).toEqual(new Set([3, 4, 5, 6, 7, 8]));
    expect(r.sources.every((q) => q.background !== undefined && q.background > 20 && q.background < 60)).toBe(true);
    // Progress: frames done never go back and reach 6, with the localisations of the frames done.
    const stacks = progress.map((p) => p.stack!);
    expect(stacks.every((q) => q !== null && q.frames === 6 && q.frame >= 3 && q.frame <= 8)).toBe(true);
    for (let i = 1; i < stacks.length; i++) {
      expect(stacks[i]!.done).toBeGreaterThanOrEqual(stacks[i - 1]!.done);
      expect(stacks[i]!.elapsedMs).toBeGreaterThanOrEqual(stacks[i - 1]!.elapsedMs);
    }
    expect(stacks.at(-1)).toMatchObject({ done: 6, localisations: r.sources.length });

    const cli = ['detect', STACK, '--psf', 'gaussian:1.1', '--e-per-adu', '4', '--em-gain', '4', '--offset', '100', '--read-noise', '1.5', '--pixel-size', '100', '--frames', '3-8', '--threads', '2', '--quiet'];
    expect(s.exportCatalogue('thunderstorm').data).toBe(cpgd(...cli, '--format', 'thunderstorm'));
    expect(s.exportCatalogue('csv').data).toBe(cpgd(...cli));
    // The same filters as the command line's give the same file (ids renumbered).
    const filter = { minSnr: 12, minPhotons: 900, maxUncertaintyNm: 15 };
    expect(s.exportCatalogue('thunderstorm', { filter }).data).toBe(cpgd(...cli, '--format', 'thunderstorm', '--min-snr', '12', '--min-photons', '900', '--max-uncertainty', '15'));
  });

  it('a cancelled stack run keeps the frames it finished as the catalogue, and leaves the others out whole', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(STACK);
    let cancelled = false;
    const r = await s.detect(request(info.imageId, EM, 0, 39), (p) => {
      if (!cancelled && p.stack && p.stack.done >= 3) cancelled = s.cancel();
    });
    expect(cancelled).toBe(true);
    expect(r.status).toBe('cancelled');
    const done = r.stack!.framesDone;
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(40);
    const frames = [...new Set(r.sources.map((q) => q.frame))];
    expect(frames.length).toBeLessThanOrEqual(done);
    expect(r.sources.map((q) => q.id)).toEqual(r.sources.map((_, i) => i + 1));
    // Each kept frame is complete: the same sources as the frame solved alone.
    const f = frames[0]!;
    const exported = parseCatalogCsv(s.exportCatalogue('csv').data as string);
    expect(exported.length).toBe(r.sources.length);
    const alone = await s.detect(request(info.imageId, EM, f, f));
    expect(r.sources.filter((q) => q.frame === f).length).toBe(alone.sources.length);
  });

  it('refuses a frame range beyond the stack', async () => {
    const s = new Session({ pool, progressIntervalMs: 0 });
    const info = await s.open(STACK);
    await expect(s.detect(request(info.imageId, EM, 30, 40))).rejects.toMatchObject({ code: 'invalid-argument', message: expect.stringMatching(/0 to 39/) });
    expect(s.busy).toBe(false);
  });
});

describe('renderings, filters and drift of the catalogue', () => {
  let s: Session;
  let imageId: number;
  beforeAll(async () => {
    s = new Session({ pool, progressIntervalMs: 0 });
    imageId = (await s.open(STACK)).imageId;
    await s.detect(request(imageId, EM, 0, 19));
  });

  it('renders the filtered localisations as cpgd render does, over the camera field, and as an ImageJ TIFF', async () => {
    const all = s.viewCatalogue().sources;
    const filter = { minSnr: 10 };
    const r = s.render({ renderPixelSizeNm: 20, mode: 'histogram', filter });
    // 64 camera pixels of 100 nm at 20 nm.
    expect([r.width, r.height]).toEqual([320, 320]);
    const kept = all.filter((q) => q.snr >= 10);
    expect(r.filteredOut).toBe(all.length - kept.length);
    expect(r.drawn).toBe(kept.length);
    let sum = 0;
    for (const v of r.pixels) sum += v;
    expect(sum).toBe(kept.length);
    const g = s.render({ renderPixelSizeNm: 20, mode: 'gaussian' });
    const core = renderLocalisations(localisationsOf(all, 100), { pixelSizeNm: 20, mode: 'gaussian', width: 320, height: 320 });
    expect(Array.from(g.pixels)).toEqual(Array.from(core.data));
    expect(g.stats.max).toBeGreaterThan(0);
    const tiff = s.renderTiff({ renderPixelSizeNm: 20, mode: 'gaussian' });
    expect(tiff.suggestedName).toBe('smlm-stack.render-20nm.tif');
    const back = await readTiff(tiff.data);
    expect([back.width, back.height]).toEqual([320, 320]);
    expect(back.pixelSizeNm?.x).toBeCloseTo(20, 6);
    expect(Array.from((await back.frame(0)).data)).toEqual(Array.from(g.pixels));
    // Too fine for the view: a message that says what would do.
    expect(() => s.render({ renderPixelSizeNm: 0.5, mode: 'histogram' })).toThrow(/at least \d/);
  });

  it('corrects drift as cpgd detect --drift does, and reports the curve', () => {
    const view = s.viewCatalogue({ driftSegmentFrames: 5 });
    const raw = s.viewCatalogue();
    expect(view.drift).not.toBeNull();
    expect(view.drift!.segments.length).toBe(4);
    expect(view.drift!.frames[0]).toBe(0);
    const curve = estimateDrift(localisationsOf(raw.sources, 100), { segmentFrames: 5 });
    expect(Array.from(view.drift!.dxNm)).toEqual(Array.from(curve.dxNm));
    view.sources.forEach((q, k) => {
      const d = driftAt(curve, q.frame);
      expect(q.x).toBeCloseTo(raw.sources[k]!.x - d.dx / 100, 9);
      expect(q.y).toBeCloseTo(raw.sources[k]!.y - d.dy / 100, 9);
    });
    const r = s.render({ renderPixelSizeNm: 20, mode: 'histogram', driftSegmentFrames: 5 });
    expect(r.drift?.frames.length).toBe(20);
    expect(r.drift?.dxNm[0]).toBe(0);
    expect(() => s.viewCatalogue({ driftSegmentFrames: 20 })).toThrow(/at least two/);
  });
});

describe('render channels', () => {
  it('render:image and render:export through the handler table and the host', async () => {
    let saved: { name: string; data: Uint8Array } | null = null;
    const host: Host = {
      runtime: () => ({ name: 'test', electron: '', chrome: '' }),
      chooseImage: async () => STACK,
      saveFile: async (name, _filters, data) => {
        saved = { name, data: data as Uint8Array };
        const path = join(dir, name);
        writeFileSync(path, data);
        return path;
      },
      send: () => undefined,
    };
    const table = createHandlers({ session: new Session({ pool, progressIntervalMs: 0 }), settings: new SettingsStore(join(dir, 'u')), host, threads: 2 });
    await expect(invokeHandler(table, 'render:image', [{ renderPixelSizeNm: 10, mode: 'gaussian' }])).rejects.toMatchObject({ code: 'no-catalogue' });
    const info = (await invokeHandler(table, 'file:open', []))!;
    await invokeHandler(table, 'detect:start', [request(info.imageId, { gain: 1, offset: 100, readNoise: 1.5 }, 0, 3)]);
    // No pixel size in the settings or the file: a rendering says where to give it.
    await expect(invokeHandler(table, 'render:image', [{ renderPixelSizeNm: 10, mode: 'gaussian' }])).rejects.toMatchObject({ code: 'invalid-option', message: expect.stringMatching(/camera settings/) });
    const img = await invokeHandler(table, 'render:image', [{ renderPixelSizeNm: 10, mode: 'gaussian', pixelSizeNm: 100 }]);
    expect(img.pixels).toBeInstanceOf(Float32Array);
    expect([img.width, img.height]).toEqual([640, 640]);
    await expect(invokeHandler(table, 'render:image', [{ renderPixelSizeNm: 10, mode: 'gaussian', path: '/etc/passwd' }])).rejects.toMatchObject({ code: 'invalid-argument' });
    const path = await invokeHandler(table, 'render:export', [{ renderPixelSizeNm: 10, mode: 'gaussian', pixelSizeNm: 100 }]);
    expect(path).toBe(join(dir, 'smlm-stack.render-10nm.tif'));
    expect(saved!.name).toBe('smlm-stack.render-10nm.tif');
    const tiff = await readTiff(new Uint8Array(readFileSync(path!)));
    expect([tiff.width, tiff.height, tiff.frames]).toEqual([640, 640, 1]);
    expect(Array.from((await tiff.frame(0)).data)).toEqual(Array.from(img.pixels));
  });
});
