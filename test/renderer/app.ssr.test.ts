// The renderer's components rendered to HTML (svelte/server, no DOM here): the first screen, and
// the image screen with a workspace that has an image and a result. Canvas drawing (attachments)
// does not run on the server; lib/ has its own tests.
import { render } from 'svelte/server';
import { describe, expect, it } from 'vitest';
import App from '../../src-renderer/App.svelte';
import DetectPanel from '../../src-renderer/components/DetectPanel.svelte';
import SourceTable from '../../src-renderer/components/SourceTable.svelte';
import StartScreen from '../../src-renderer/components/StartScreen.svelte';
import StatusBar from '../../src-renderer/components/StatusBar.svelte';
import Toolbar from '../../src-renderer/components/Toolbar.svelte';
import { Display } from '../../src-renderer/state/display.svelte.js';
import { Workspace } from '../../src-renderer/state/workspace.svelte.js';
import type { DetectSummary, FrameData, ImageInfo } from '../../src-main/shared/ipc.js';

const image: ImageInfo = { imageId: 3, name: 'm31.fits', path: '/data/m31.fits', format: 'fits', width: 4, height: 2, frames: 5, pixelSizeNm: null };
const frame: FrameData = {
  imageId: 3,
  frame: 0,
  width: 4,
  height: 2,
  pixels: Float32Array.from([1, 2, 3, 4, 5, 6, 7, NaN]),
  stats: { min: 1, max: 7, mean: 4, sigma: 2, median: 4, finite: 7 },
};
const result: DetectSummary = {
  runId: 1,
  imageId: 3,
  frame: 0,
  region: null,
  frames: 1,
  status: 'converged',
  sources: [
    { id: 1, frame: 0, x: 1.2, y: 0.8, flux: 100, xErr: 0.1, yErr: 0.1, fluxErr: 5, snr: 20 },
    { id: 2, frame: 0, x: 3.1, y: 1.4, flux: 400, xErr: 0.05, yErr: 0.05, fluxErr: 8, snr: 50 },
  ],
  lambda: 12.5,
  background: 'constant',
  iterations: 40,
  relativeGap: 1e-6,
  elapsedMs: 250,
  convergence: { iteration: [0, 20, 40], fMinusBest: [50, 2, 0], particles: [300, 12, 2], gapIteration: [0, 40], relativeGap: [0.5, 1e-6] },
};

describe('renderer components (server render)', () => {
  it('the app starts on the start screen, and says when it runs outside Electron', () => {
    const { body } = render(App);
    expect(body).toContain('Open image…');
    expect(body).toContain('drop a FITS or TIFF file here');
    expect(body).toContain('outside the desktop app');
    // The samples open from the start screen.
    expect(body).toContain('data-testid="sample-star-field"');
    expect(body).toContain('data-testid="sample-smlm-stack"');
    expect(body).toContain('role="alert"');
  });

  it('the start screen lists recent files', () => {
    const ws = new Workspace(null);
    ws.recent = ['/data/a.fits', '/data/b.tif'];
    const { body } = render(StartScreen, { props: { ws, dropping: false } });
    expect(body).toContain('Recent files');
    expect(body).toContain('/data/b.tif');
  });

  it('the image screen shows the file, frames, display choices, readout and result', () => {
    const ws = new Workspace(null);
    ws.image = image;
    ws.frame = frame;
    ws.result = result;
    const display = new Display(ws);
    display.cursor = { x: 2.1, y: 0.9, col: 2, row: 1 };
    const bar = render(Toolbar, { props: { ws, display } }).body;
    expect(bar).toContain('m31.fits');
    expect(bar).toContain('4 × 2 × 5');
    for (const s of ['linear', 'sqrt', 'log', 'asinh', 'zscale', 'viridis']) expect(bar).toContain(s);
    const status = render(StatusBar, { props: { ws, display } }).body;
    expect(status).toContain('pixel (2, 1) = 7');
    expect(status).toContain('source #1: (1.20, 0.80) flux 100 ± 5 · SNR 20');
    const panel = render(DetectPanel, { props: { ws, display } }).body;
    expect(panel).toContain('Run detection');
    expect(panel).toContain('<strong>2</strong> sources');
    // The image has 5 frames: the whole stack can be solved too.
    expect(panel).toContain('Run on all 5 frames');
    for (const id of ['psf-kind', 'psf-sigma', 'psf-fit', 'lambda-slider', 'lambda-auto', 'roi-run', 'run', 'convergence-chart', 'particles-chart']) expect(panel).toContain(`data-testid="${id}"`);
    // The finished run's trace: 3 points, the last at iteration 40.
    expect(panel).toMatch(/data-testid="convergence"[^>]*data-points="3"/);
    expect(panel).toContain('data-iteration="40"');
  });

  it('the source table sorts by flux (brightest first), counts and offers every export', () => {
    const ws = new Workspace(null);
    ws.image = image;
    ws.frame = frame;
    ws.result = result;
    const table = render(SourceTable, { props: { ws } }).body;
    expect(table).toContain('data-testid="source-count">2 sources');
    const order = [...table.matchAll(/data-id="(\d+)"/g)].map((m) => Number(m[1]));
    expect(order).toEqual([2, 1]);
    for (const id of ['export-csv', 'export-ds9', 'export-fits', 'export-thunderstorm', 'filter-snr-min', 'filter-uncertainty-max', 'filter-flux-max']) expect(table).toContain(`data-testid="${id}"`);
    expect(table).toContain('aria-sort="descending"');
  });

  it('the display derives limits and an RGBA bitmap from the frame', () => {
    const ws = new Workspace(null);
    ws.frame = frame;
    const display = new Display(ws);
    display.limitsMode = 'minmax';
    expect(display.limits).toEqual({ lo: 1, hi: 7 });
    expect(display.rgba?.data.length).toBe(4 * 8);
  });
});
