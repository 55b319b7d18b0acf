// The bundled Electron main process (out/main/index.js, built by `electron-vite build`, which
// `npm test` runs first) loaded under plain Node with a stand-in `electron` module
// (fixtures/electron-stub.mjs), and driven through its IPC handlers as the window would: the
// real worker bundle (?modulePath), file reading, detection, export, settings, validation and the
// security hooks. The Electron binary is not needed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFitsImage } from '../../src-main/core/formats/fits.js';
import { buildPsf } from '../../src-main/core/psf/spec.js';
import { simulate } from '../../src-main/core/simulate.js';
import { CONTENT_SECURITY_POLICY } from '../../src-main/app/security.js';
import { ROOT } from '../paths.js';

const MAIN = resolve(ROOT, 'out/main/index.js');
const FIXTURES = resolve(ROOT, 'test/app/fixtures');
let dir: string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let out: any;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx electron-vite build\` (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'cpgd-main-'));
  const psf = buildPsf({ kind: 'gaussian', sigmaX: 1.5, sigmaY: 1.5 });
  const sim = simulate({ kind: 'stars', width: 64, height: 64, count: 6, psf, seed: 2, background: 30 });
  writeFileSync(join(dir, 'field.fits'), writeFitsImage(sim.frames, 64, 64));
  writeFileSync(join(dir, 'junk.fits'), 'not an image');
  const stamp = new Float64Array(15 * 15).map((_, i) => Math.exp(-(((i % 15) - 7) ** 2 + (Math.floor(i / 15) - 7) ** 2) / (2 * 1.5 ** 2)));
  writeFileSync(join(dir, 'psf.fits'), writeFitsImage([stamp], 15, 15));
  mkdirSync(join(dir, 'userData'));
  const r = spawnSync(
    process.execPath,
    ['--import', join(FIXTURES, 'register.mjs'), join(FIXTURES, 'main-harness.mjs'), MAIN, join(dir, 'field.fits'), join(dir, 'junk.fits'), join(dir, 'out.csv'), join(dir, 'psf.fits')],
    { encoding: 'utf8', env: { ...process.env, CPGD_TEST_USERDATA: join(dir, 'userData') }, timeout: 60_000 },
  );
  if (r.status !== 0) throw new Error(`harness failed (${r.status}): ${r.stderr}`);
  out = JSON.parse(r.stdout);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bundled main process', () => {
  it('registers exactly the invoke channels of the shared map', () => {
    expect(out.channels).toEqual([
      'app:info',
      'catalogue:export',
      'detect:autoLambda',
      'detect:cancel',
      'detect:start',
      'file:drop',
      'file:open',
      'file:openRecent',
      'file:openSample',
      'file:recent',
      'image:frame',
      'psf:fit',
      'psf:openFile',
      'render:export',
      'render:image',
      'settings:get',
      'settings:set',
    ]);
  });

  it('opens the window sandboxed and isolated, with the CommonJS preload', () => {
    expect(out.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(out.webPreferences.preload).toBe(resolve(ROOT, 'out/preload/preload.cjs'));
    expect(existsSync(out.webPreferences.preload)).toBe(true);
  });

  it('opens a file from the dialog, remembers it, serves Float32 frames', () => {
    expect(out.cancelledOpen).toEqual({ ok: true, value: null });
    expect(out.open.ok).toBe(true);
    expect(out.open.value).toMatchObject({ name: 'field.fits', format: 'fits', width: 64, height: 64, frames: 1 });
    expect(out.recent.value).toEqual([join(dir, 'field.fits')]);
    expect(out.frame).toMatchObject({ ok: true, type: 'Float32Array', length: 4096 });
    expect(out.title).toContain('field.fits');
  });

  it('detects on the bundled worker, sends progress, exports the catalogue', () => {
    expect(out.detect).toEqual({ ok: true, status: 'converged', sources: 6 });
    expect(out.progressEvents).toBeGreaterThan(0);
    expect(out.exportBefore.error.code).toBe('no-catalogue');
    expect(out.export).toEqual({ ok: true, value: join(dir, 'out.csv') });
    expect(out.csvHeader).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr');
    expect(out.exportFits).toEqual({ ok: true, value: join(dir, 'out.csv.fits') });
    expect(out.fitsStart).toMatch(/^SIMPLE  = +T/);
    // field.fits has no pixel size: ThunderSTORM needs one from the user.
    expect(out.thunderNoPixel.error.code).toBe('invalid-option');
    expect(out.thunder.ok).toBe(true);
    expect(out.thunderHeader).toBe('"id","frame","x [nm]","y [nm]","sigma [nm]","intensity [photon]","offset [photon]","bkgstd [photon]","uncertainty [nm]"');
    expect(out.badExport.error).toEqual({ code: 'invalid-argument', message: 'options.path: is not a known field' });
  });

  it('solves a region of interest with the whole frame\'s automatic λ', () => {
    expect(out.autoLambda.ok).toBe(true);
    expect(out.roi).toEqual({ ok: true, region: { x: 0, y: 0, width: 32, height: 32 }, lambda: out.autoLambda.value, inside: true });
  });

  it('loads a PSF file through the native dialog and detects with it', () => {
    expect(out.psfCancelled).toEqual({ ok: true, value: null });
    expect(out.psfFile.value).toMatchObject({ name: 'psf.fits', width: 15, height: 15, oversample: 1 });
    expect(out.detectWithFile).toEqual({ ok: true, status: 'converged', sources: 6 });
  });

  it('opens the samples that ship in resources/samples by id only', () => {
    expect(out.sample.value).toMatchObject({ name: 'star-field.fits', width: 256, height: 256, sample: 'star-field' });
    expect(out.badSample.error.code).toBe('invalid-argument');
  });

  it('validates every argument and refuses strangers, and keeps running after errors', () => {
    expect(out.badPatch.error.code).toBe('invalid-argument');
    expect(out.notRecent.error).toEqual({ code: 'invalid-argument', message: 'path: is not in the recent-files list' });
    expect(out.badFrame.error.code).toBe('invalid-argument');
    expect(out.extraArgs.error.code).toBe('invalid-argument');
    expect(out.badDetect.error.code).toBe('invalid-argument');
    expect(out.stranger.error.message).toMatch(/does not come from the app window/);
    expect(out.drop.error.code).toBe('bad-format');
    expect(out.stillOpen).toBe(true);
  });

  it('blocks navigation, new windows, remote requests and permissions; sends the CSP', () => {
    expect(out.navigationPrevented).toBe(true);
    expect(out.windowOpen).toEqual({ action: 'deny' });
    expect(out.remoteCancelled).toBe(true);
    expect(out.fileCancelled).toBe(false);
    expect(out.permission).toBe(false);
    expect(out.csp).toEqual([CONTENT_SECURITY_POLICY]);
  });

  it('has the File and Help menus', () => {
    expect(out.menu.File).toEqual([
      'Open…',
      'Open Recent',
      'Open Sample',
      'separator',
      'Export catalogue as CSV…',
      'Export catalogue as DS9 regions…',
      'Export catalogue as ThunderSTORM CSV…',
      'Export catalogue as FITS table…',
      'separator',
      'Quit',
    ]);
    expect(out.menu.help).toEqual(['About CPGD Sources']);
  });

  it('persists settings, recent files and the window size in userData', () => {
    expect(out.settingsFile.version).toBe(1);
    expect(out.settingsFile.recent).toEqual([join(dir, 'field.fits')]);
    expect(out.settingsFile.settings.window).toEqual({ width: 1280, height: 860, maximized: false });
  });
});
