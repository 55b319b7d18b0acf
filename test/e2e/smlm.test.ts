// End to end, as a microscopist using the browser mode: Debian's Chromium (playwright-core) on the
// page `npm run web` serves. Opens the sample SMLM stack, sets the camera pixel size, localises
// all 40 frames while the progress line counts frames, localisations, rate and time left, shows
// the super-resolution rendering with the image's view controls, corrects drift and shows its
// curve, exports the rendering as a TIFF and the ThunderSTORM CSV, which must be the file
// `cpgd detect --format thunderstorm` writes for the same file and settings.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTiff } from '../../src-main/core/formats/tiff.js';
import { ROOT } from '../paths.js';
import { SHOTS, startSession, type E2eSession, type RunningServer } from './browser.js';

const STACK = resolve(ROOT, 'resources/samples/smlm-stack.tif');
let session: E2eSession;
let dir: string;
let server: RunningServer;
let page: Page;
let pageErrors: string[];
/** The camera the panel shows at the run, as cpgd detect options. */
const cameraArgs: string[] = [];

/** Pixels of the image canvas that are not background (the view draws the shown grid). */
async function litPixels(p: Page): Promise<number> {
  return p.getByTestId('image-canvas').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i]! + d[i + 1]! + d[i + 2]! > 150) n++;
    return n;
  });
}

beforeAll(async () => {
  session = await startSession('cpgd-e2e-smlm-', (d) => ['--data-dir', join(d, 'data'), '--threads', '1']);
  ({ dir, server, page, pageErrors } = session);
}, 60_000);

afterAll(async () => {
  await session?.close();
});

describe('browser mode, SMLM stack end to end', () => {
  it('opens the sample stack and takes the camera pixel size', async () => {
    await page.goto(server.url);
    await page.getByRole('button', { name: /^SMLM stack/ }).click();
    await page.getByText('smlm-stack.tif', { exact: true }).waitFor();
    await page.getByText('64 × 64 × 40 · TIFF').waitFor();
    // The camera settings are open for a stack; the sample set the camera it was made with.
    const pixel = page.getByTestId('camera-pixel-size');
    await pixel.fill('100');
    const gain = await page.getByTestId('camera-gain').inputValue();
    const offset = await page.getByTestId('camera-offset').inputValue();
    const readNoise = await page.getByTestId('camera-read-noise').inputValue();
    expect([gain, offset, readNoise]).toEqual(['1', '100', '1.5']);
    cameraArgs.push('--gain', gain, '--offset', offset, '--read-noise', readNoise, '--pixel-size', '100');
    await page.getByText('Fluxes in photons. Positions also in nm.').waitFor();
  });

  it('localises all 40 frames with progress (frames, localisations, rate, time left) and counts the localisations', async () => {
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid="progress-text"]')?.textContent?.trim() ?? '';
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const runAll = page.getByTestId('run-all');
    await expect(runAll.textContent()).resolves.toMatch(/Run on all 40 frames/);
    await runAll.click();
    const summary = page.getByTestId('result-summary');
    await summary.getByText(/\d+ localisations in 40 frames \(0–39\)/).waitFor({ timeout: 120_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    const lines = seen.filter((t) => /^\d+ of 40 frames · \d+ localisations · [\d.]+ frames\/s · \d+:\d\d left$/.test(t));
    expect(lines.length, seen.join('\n')).toBeGreaterThanOrEqual(2);
    const done = lines.map((t) => Number(/^(\d+)/.exec(t)![1]));
    expect(done.at(-1)!).toBeGreaterThan(done[0]!);
    const total = Number(/(\d+) localisations/.exec((await summary.textContent())!)![1]);
    // About 20 emitters a frame.
    expect(total).toBeGreaterThan(400);
    await expect.poll(() => page.getByTestId('source-count').textContent()).toMatch(new RegExp(`in frame 0 \\(${total} in 40 frames\\)`));
    // The table in physical units: positions in nm, photons, uncertainty in nm.
    const heads = await page.getByTestId('source-table').locator('th').allTextContents();
    expect(heads.map((h) => h.replace(/[▲▼]/g, '').trim())).toEqual(['id', 'x nm', 'y nm', 'photons', 'σ photons', 'σ nm', 'bg', 'snr']);
  });

  it('shows the rendering at 10 nm with the view controls, and corrects drift with its curve', async () => {
    await page.getByTestId('render-pixel-size').fill('10');
    await page.getByTestId('render-show').click();
    const summary = page.getByTestId('render-summary');
    await summary.getByText(/\d+ localisations · gaussian · 640×640 px of 10 nm/).waitFor();
    await expect(page.getByTestId('view-rendering').getAttribute('aria-pressed')).resolves.toBe('true');
    // The view shows the rendering: few bright spots on black, unlike the camera frame.
    await expect.poll(() => litPixels(page)).toBeGreaterThan(100);
    const stretch = page.getByRole('combobox', { name: 'Stretch' }).or(page.locator('.toolbar select').first()).first();
    await stretch.selectOption('log');
    await page.screenshot({ path: join(SHOTS, 'smlm-rendering.png') });
    // Back to the image: its own stretch, untouched.
    await page.getByTestId('view-image').click();
    await expect(page.locator('.toolbar select').first().inputValue()).resolves.toBe('asinh');
    await page.getByTestId('view-rendering').click();
    await expect(page.locator('.toolbar select').first().inputValue()).resolves.toBe('log');

    await page.getByTestId('drift-enabled').check();
    await page.getByTestId('drift-segment').fill('10');
    await page.getByTestId('render-show').click();
    await summary.getByText(/drift .* nm at frame 39/).waitFor();
    await expect(page.getByTestId('drift-chart').getAttribute('data-points')).resolves.toBe('40');
    await page.getByTestId('drift-enabled').uncheck();
  });

  it('exports the rendering as a 32-bit TIFF of 10 nm pixels', async () => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId('render-export').click()]);
    expect(d.suggestedFilename()).toBe('smlm-stack.render-10nm.tif');
    const saved = join(dir, 'render.tif');
    await d.saveAs(saved);
    const tiff = await readTiff(new Uint8Array(readFileSync(saved)));
    expect([tiff.width, tiff.height, tiff.frames]).toEqual([640, 640, 1]);
    expect(tiff.pixelSizeNm?.x).toBeCloseTo(10, 6);
  });

  it('exports the ThunderSTORM CSV that cpgd detect writes for the same file and settings', async () => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-thunderstorm').click()]);
    expect(d.suggestedFilename()).toBe('smlm-stack.thunderstorm.csv');
    const saved = join(dir, 'app.csv');
    await d.saveAs(saved);
    const cli = join(dir, 'cli.csv');
    execFileSync(process.execPath, [resolve(ROOT, 'bin/cpgd.mjs'), 'detect', STACK, '--psf', 'gaussian:1.1', ...cameraArgs, '--format', 'thunderstorm', '--threads', '1', '--quiet', '--out', cli], { cwd: ROOT });
    const app = readFileSync(saved, 'utf8').trim().split('\n');
    const ref = readFileSync(cli, 'utf8').trim().split('\n');
    expect(app[0]).toBe('"id","frame","x [nm]","y [nm]","sigma [nm]","intensity [photon]","offset [photon]","bkgstd [photon]","uncertainty [nm]"');
    expect(app[0]).toBe(ref[0]);
    const total = Number(/(\d+) localisations/.exec((await page.getByTestId('result-summary').textContent())!)![1]);
    expect(app.length - 1).toBe(total);
    expect(app.length).toBe(ref.length);
    expect(new Set(app.slice(1).map((l) => l.split(',')[1]))).toEqual(new Set(Array.from({ length: 40 }, (_, i) => String(i + 1))));
    // The same solver, options and camera: the same rows.
    expect(app).toEqual(ref);
  });

  it('had no errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
