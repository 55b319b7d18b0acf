// End to end, as a user of the browser mode: Debian's Chromium (playwright-core) on the page that
// `npm run web` serves, the server's real worker pool behind it. Opens the sample star field by
// upload, sets the PSF and λ, runs, watches the progress and the overlay, exports the CSV and
// compares it with `cpgd detect` on the same file and settings; a corrupt file shows its message
// and the image stays; the server refuses requests without the token or from another origin.
// Screenshots go to test-results/e2e/.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFitsImage } from '../../src-main/core/formats/fits.js';
import { ROOT } from '../paths.js';
import { SHOTS, startSession, type E2eSession, type RunningServer } from './browser.js';

const SAMPLE = resolve(ROOT, 'resources/samples/star-field.fits');
// The settings the test enters in the panel, and the same for the command line.
// (σ is the sample's true PSF; λ is fixed a little above its automatic value, 0.054.)
const SIGMA = '1.5';
// Low enough that the run lasts long enough (~2 s cold on one thread) for its live chart to be
// watched: at 0.08 the faster solver finished the sample in ~15 iterations, within two or three
// progress events, and the test that watches the chart advance became a coin toss.
const LAMBDA = '0.02';
const CLI_ARGS = ['--psf', `gaussian:${SIGMA}`, '--lambda', LAMBDA];
/** The camera the panel shows at the run (the sample sets the one it was simulated with), as CLI options. */
const cameraArgs: string[] = [];

let session: E2eSession;
let dir: string;
let server: RunningServer;
let page: Page;
let pageErrors: string[];

interface Row {
  x: number;
  y: number;
  flux: number;
}

function parseCsv(text: string): Row[] {
  const [head, ...lines] = text.trim().split('\n');
  const cols = head!.split(',');
  const at = (name: string) => cols.indexOf(name);
  expect(cols.slice(0, 9)).toEqual(['id', 'frame', 'x', 'y', 'flux', 'x_err', 'y_err', 'flux_err', 'snr']);
  return lines.map((l) => {
    const v = l.split(',').map(Number);
    return { x: v[at('x')]!, y: v[at('y')]!, flux: v[at('flux')]! };
  });
}

/** Pixels of the image canvas that are strongly coloured (the grey colour map has none). */
async function colouredPixels(p: Page): Promise<number> {
  return p.getByTestId('image-canvas').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.max(d[i]!, d[i + 1]!, d[i + 2]!) - Math.min(d[i]!, d[i + 1]!, d[i + 2]!) > 60) n++;
    return n;
  });
}

function get(path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => ok({ status: res.statusCode!, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

beforeAll(async () => {
  session = await startSession('cpgd-e2e-', (d) => ['--data-dir', join(d, 'data'), '--threads', '1', '--max-upload-mb', '1']);
  ({ dir, server, page, pageErrors } = session);
}, 60_000);

afterAll(async () => {
  await session?.close();
});

describe('browser mode, end to end', () => {
  it('loads the app with the token, which then leaves the address bar', async () => {
    await page.goto(server.url);
    expect(page.url()).toBe(`${server.origin}/`);
    await expect(page.getByRole('button', { name: 'Open image…' }).isEnabled()).resolves.toBe(true);
    await page.screenshot({ path: join(SHOTS, '01-start.png') });
  });

  it('opens a sample from the start screen (a channel the transport carries without special code)', async () => {
    await page.getByRole('button', { name: /^Star field/ }).click();
    await page.getByText('star-field.fits', { exact: true }).waitFor();
  });

  it('opens the star field file through the file picker (an upload)', async () => {
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Open…' }).click()]);
    // The sample opened before has the same name: wait for the upload's answer, or a run could
    // start on the sample and be refused when the upload replaces it (seen on a loaded machine).
    const uploaded = page.waitForResponse((r) => r.url().includes('/api/upload/file%3Aopen') || r.url().includes('/api/upload/file:open'));
    await chooser.setFiles(SAMPLE);
    await uploaded;
    await page.getByText('star-field.fits', { exact: true }).waitFor();
    await page.getByText('256 × 256 · FITS').waitFor();
    // The frame is drawn: the canvas shows a range of greys, not a blank.
    await page.waitForFunction(() => {
      const c = document.querySelector<HTMLCanvasElement>('canvas[data-testid="image-canvas"]');
      if (!c || c.width === 0) return false;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i]!);
      return seen.size > 20;
    });
  });

  it('sets the PSF and λ, runs, shows the chart advance and the sources on the image', async () => {
    const model = page.getByRole('combobox', { name: 'PSF model' });
    await model.selectOption('moffat');
    await page.getByRole('textbox', { name: 'PSF FWHM (px)' }).waitFor();
    await model.selectOption('gaussian');
    await page.getByRole('textbox', { name: 'PSF sigma (px)' }).fill(SIGMA);
    await page.getByRole('combobox', { name: 'λ mode' }).selectOption('value');
    await page.getByRole('textbox', { name: 'λ value' }).fill(LAMBDA);
    // Opening the sample applied the camera it was simulated with (gain 1, read noise 5).
    await page.locator('summary', { hasText: 'Camera' }).click();
    const gain = await page.getByRole('textbox', { name: /^Gain/ }).inputValue();
    const offset = await page.getByRole('textbox', { name: /^Offset/ }).inputValue();
    const readNoise = await page.getByRole('textbox', { name: /^Read noise/ }).inputValue();
    expect([gain, offset, readNoise]).toEqual(['1', '0', '5']);
    cameraArgs.push('--gain', gain, '--offset', offset, '--read-noise', readNoise);
    await page.locator('summary', { hasText: 'Camera' }).click();
    // Every state of the live chart and the progress line, as the page shows them, and whether the
    // Cancel button showed: recorded as they happen, because a run can now end before a test step
    // that waits for one of them has started looking (then it waited for ever).
    await page.evaluate(() => {
      const seen: { iteration: number; points: number; text: string }[] = [];
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver(() => {
        if ([...document.querySelectorAll('button')].some((b) => b.textContent?.trim() === 'Cancel')) (window as unknown as { cancelShown: boolean }).cancelShown = true;
        const chart = document.querySelector('[data-testid="convergence"]');
        const text = document.querySelector('[data-testid="progress-text"]')?.textContent?.trim() ?? '';
        const iteration = Number(chart?.getAttribute('data-iteration') ?? 0);
        const points = Number(chart?.getAttribute('data-points') ?? 0);
        const last = seen.at(-1);
        if (text && (!last || last.iteration !== iteration || last.text !== text)) seen.push({ iteration, points, text });
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByRole('button', { name: 'Run detection' }).click();
    const summary = page.getByTestId('result-summary');
    const done = summary.getByText(/\d+ sources? · converged · λ = 0\.02 /).waitFor({ timeout: 60_000 });
    // A screenshot of the running state when the page is caught in it (a fast run may not be).
    const running = page.getByTestId('progress-text').filter({ hasText: /iteration [1-9]\d* · \d+ particles · gap/ }).waitFor({ timeout: 60_000 });
    running.catch(() => {});
    if ((await Promise.race([running.then(() => 'running'), done.then(() => 'done')])) === 'running') await page.screenshot({ path: join(SHOTS, '02-running.png') });
    await done;

    const { seen, cancelShown } = await page.evaluate(() => {
      const w = window as unknown as { seen: { iteration: number; points: number; text: string }[]; cancelShown?: boolean };
      return { seen: w.seen, cancelShown: w.cancelShown === true };
    });
    // The run showed its Cancel button and its progress line while it went on.
    expect(cancelShown).toBe(true);
    expect(seen.some((s) => /iteration [1-9]\d* · \d+ particles · gap/.test(s.text))).toBe(true);
    const live = seen.filter((s) => /iteration \d+/.test(s.text));
    expect(live.length).toBeGreaterThanOrEqual(3);
    // The chart's last iteration and its number of points grow while the run goes on.
    expect(live.at(-1)!.iteration).toBeGreaterThan(live[0]!.iteration);
    expect(live.at(-1)!.points).toBeGreaterThan(live[0]!.points);
    // The chart is drawn (chart.js on a canvas): many non-transparent pixels.
    const inked = await page.getByRole('img', { name: /F − F_best/ }).or(page.locator('canvas[data-testid="convergence-chart"]')).first().evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(1000);

    // The sources are circled on the image: coloured marks appear with the overlay, none without.
    const count = Number(/(\d+) sources?/.exec((await summary.textContent())!)![1]);
    await expect.poll(() => page.getByTestId('image-canvas').getAttribute('data-sources')).toBe(String(count));
    await expect.poll(() => page.getByTestId('source-count').textContent()).toMatch(new RegExp(`^${count} sources`));
    const sources = page.getByRole('checkbox', { name: 'Sources' });
    await expect(sources.isChecked()).resolves.toBe(true);
    const withOverlay = await colouredPixels(page);
    // At least a ring of a few pixels per source.
    expect(withOverlay).toBeGreaterThan(count * 10);
    await sources.uncheck();
    await expect.poll(() => colouredPixels(page)).toBe(0);
    await sources.check();
    await expect.poll(() => colouredPixels(page)).toBe(withOverlay);
    await page.screenshot({ path: join(SHOTS, '03-detected.png') });
  });

  it('exports the CSV as a download, with the sources `cpgd detect` finds with the same settings', async () => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'CSV…' }).click()]);
    expect(d.suggestedFilename()).toBe('star-field.csv');
    const saved = join(dir, 'app.csv');
    await d.saveAs(saved);
    await page.getByRole('status').getByText(/star-field\.csv/).waitFor();

    const cliOut = join(dir, 'cli.csv');
    execFileSync(process.execPath, [resolve(ROOT, 'bin/cpgd.mjs'), 'detect', SAMPLE, ...CLI_ARGS, ...cameraArgs, '--threads', '1', '--quiet', '--out', cliOut], { cwd: ROOT });
    const app = parseCsv(readFileSync(saved, 'utf8'));
    const cli = parseCsv(readFileSync(cliOut, 'utf8'));
    const shown = Number(/(\d+) sources?/.exec((await page.getByTestId('result-summary').textContent())!)![1]);
    expect(app.length).toBe(shown);
    expect(app.length).toBe(cli.length);
    expect(app.length).toBeGreaterThan(100);
    for (const s of cli) {
      const nearest = app.reduce((best, a) => (Math.hypot(a.x - s.x, a.y - s.y) < Math.hypot(best.x - s.x, best.y - s.y) ? a : best));
      expect(Math.hypot(nearest.x - s.x, nearest.y - s.y)).toBeLessThan(0.01);
      expect(Math.abs(nearest.flux - s.flux)).toBeLessThan(1e-3 * Math.abs(s.flux) + 1e-6);
    }
  });

  it('takes a PSF stamp file chosen in the PSF panel (uploaded), runs with it, and cancels the run', async () => {
    // A 15×15 Gaussian stamp, σ 1.5 px, written by the project's own FITS writer.
    const stamp = join(dir, 'psf-stamp.fits');
    const size = 15;
    const values = Float32Array.from({ length: size * size }, (_, i) => Math.exp(-(((i % size) - 7) ** 2 + (Math.floor(i / size) - 7) ** 2) / (2 * 1.5 ** 2)));
    writeFileSync(stamp, writeFitsImage([values], size, size));
    const before = await page.getByTestId('source-count').textContent();
    await page.getByRole('combobox', { name: 'PSF model' }).selectOption('file');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Choose…' }).click()]);
    await chooser.setFiles(stamp);
    const name = page.getByTestId('psf-file-name');
    await name.getByText('psf-stamp.fits').waitFor();
    // The server measured the stamp: σ ≈ 1.5 px.
    const sigma = Number(/σ ≈ ([\d.]+) px/.exec((await name.getAttribute('title'))!)![1]);
    expect(sigma).toBeCloseTo(1.5, 1);
    await page.getByRole('button', { name: 'Run detection' }).click();
    await page.getByTestId('progress-text').filter({ hasText: /iteration [1-9]/ }).waitFor({ timeout: 60_000 });
    const asked = Date.now();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Run detection' }).waitFor({ timeout: 15_000 });
    // A generous bound: the solver checks for cancellation between iterations, and the first
    // iterations with a sampled PSF and thousands of particles take over a second each on a
    // loaded machine (measured under Node without the browser: 0.4–1.9 s).
    expect(Date.now() - asked).toBeLessThan(15_000);
    await page.getByRole('status').getByText('Detection cancelled.').waitFor();
    // The last complete catalogue stays.
    expect(await page.getByTestId('source-count').textContent()).toBe(before);
    await page.getByRole('combobox', { name: 'PSF model' }).selectOption('gaussian');
  });

  it('shows why a corrupt file cannot be opened, and keeps the image and its sources', async () => {
    const before = await page.getByTestId('source-count').textContent();
    const corrupt = join(dir, 'corrupt.fits');
    writeFileSync(corrupt, Buffer.from('SIMPLE  =                    T / but nothing else is right'.padEnd(2880, '#')));
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Open…' }).click()]);
    await chooser.setFiles(corrupt);
    const alert = page.getByRole('alert');
    await alert.getByText(/corrupt\.fits/).waitFor();
    expect(await alert.textContent()).toMatch(/not a valid FITS file/);
    expect(await alert.textContent()).not.toMatch(/cpgd-web-/);
    await page.getByText('star-field.fits', { exact: true }).waitFor();
    expect(await page.getByTestId('source-count').textContent()).toBe(before);
    await page.getByTestId('result-summary').getByText(/\d+ sources? · converged/).waitFor();
    await page.screenshot({ path: join(SHOTS, '04-corrupt-file.png') });
  });

  it('refuses an upload over the limit with a message that says the limit', async () => {
    const big = join(dir, 'big.fits');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1));
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Open…' }).click()]);
    await chooser.setFiles(big);
    await page.getByRole('alert').getByText(/big\.fits .*too large to upload: the limit is 1\.0 MiB/).waitFor();
    await page.getByText('star-field.fits', { exact: true }).waitFor();
  });

  it('opens a file dropped on the window (uploaded too)', async () => {
    const bytes = readFileSync(SAMPLE).toString('base64');
    await page.evaluate(async (b64) => {
      const data = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], 'dropped-field.fits'));
      for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await page.getByText('dropped-field.fits', { exact: true }).waitFor();
  });

  it('had no errors in the page (no script errors, failed loads or CSP violations)', () => {
    expect(pageErrors).toEqual([]);
  });

  it('refuses requests without the token, and from another origin even with it', async () => {
    expect((await get('/', {})).status).toBe(403);
    expect((await get('/?token=not-the-token', {})).status).toBe(403);
    expect((await get('/api/events', {})).status).toBe(403);
    expect((await get('/api/invoke/app:info', {}, 'POST')).status).toBe(403);
    const foreign = await get('/api/invoke/app:info', { 'x-cpgd-token': server.token, origin: 'http://evil.example' }, 'POST');
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatch(/origin/);
    // And from a page of another origin in the browser, the API cannot be read.
    const other = await session.browser.context.newPage();
    await other.goto('about:blank');
    const outcome = await other.evaluate(async (origin) => {
      try {
        const r = await fetch(`${origin}/api/invoke/app:info`, { method: 'POST', credentials: 'include' });
        return `status ${r.status}`;
      } catch (e) {
        return `blocked: ${(e as Error).message}`;
      }
    }, server.origin);
    expect(outcome).toMatch(/^blocked/);
    await other.close();
  });
});
