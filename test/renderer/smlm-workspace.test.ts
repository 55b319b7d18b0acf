// The workspace on a stack against a stand-in window.cpgd: the camera the file gives, stack runs
// over a frame range, a cancel that keeps the frames finished, and exports and renderings that
// follow the table's filters and the camera pixel size.
import { describe, expect, it } from 'vitest';
import type { CpgdApi, DetectRequest, DetectSummary, FrameData, ImageInfo, IpcResult } from '../../src-main/shared/ipc.js';
import { Workspace } from '../../src-renderer/state/workspace.svelte.js';

const image: ImageInfo = { imageId: 1, name: 'movie.ome.tif', path: '/d/movie.ome.tif', format: 'tiff', width: 32, height: 32, frames: 10, pixelSizeNm: { x: 107, y: 107 }, camera: { offset: 98 } };
const frame = (f: number): FrameData => ({ imageId: 1, frame: f, width: 32, height: 32, pixels: new Float32Array(32 * 32), stats: { min: 0, max: 1, mean: 0, sigma: 1, median: 0, finite: 1024 } });
const trace = { iteration: [0], fMinusBest: [0], particles: [1], gapIteration: [], relativeGap: [] };

function stackSummary(r: DetectRequest, framesDone: number, status: DetectSummary['status']): DetectSummary {
  const range = r.frameRange!;
  const frames = range.last - range.first + 1;
  const sources = Array.from({ length: framesDone * 2 }, (_, i) => ({ id: i + 1, frame: range.first + (i >> 1), x: 5 + i, y: 5, flux: 1000, xErr: 0.05, yErr: 0.05, fluxErr: 40, snr: 25, background: 40 }));
  return { runId: 1, imageId: 1, frame: range.first, region: null, frames, stack: { range, framesDone }, photons: true, pixelSizeNm: 107, status, sources, lambda: 1, background: 'constant', iterations: 9, relativeGap: 1e-6, elapsedMs: 100, convergence: trace };
}

async function ready(answer: (channel: string, args: unknown[]) => IpcResult<unknown> | undefined) {
  const calls: { channel: string; args: unknown[] }[] = [];
  const api = {
    async invoke(channel: string, ...args: unknown[]) {
      calls.push({ channel, args });
      const a = answer(channel, args);
      if (a) return a;
      if (channel === 'file:open') return { ok: true, value: image };
      if (channel === 'image:frame') return { ok: true, value: frame(args[1] as number) };
      if (channel === 'file:recent') return { ok: true, value: [] };
      return { ok: true, value: null };
    },
    openDropped: async () => ({ ok: false, error: { code: 'invalid-argument', message: 'no' } }),
    on: () => () => undefined,
  } as unknown as CpgdApi;
  const ws = new Workspace(api);
  await ws.open();
  return { ws, calls };
}

describe('workspace on an SMLM stack', () => {
  it('takes the pixel size and offset the file gives, and says so', async () => {
    const { ws } = await ready(() => undefined);
    expect(ws.params.camera).toMatchObject({ pixelSizeNm: 107, offset: 98 });
    expect(ws.pixelSizeNm).toBe(107);
    expect(ws.message?.text).toMatch(/pixel size 107 nm, offset 98 ADU/);
  });

  it('runs a frame range, and a cancel keeps the frames finished as the catalogue', async () => {
    let done = 4;
    const { ws, calls } = await ready((c, args) => (c === 'detect:start' ? { ok: true, value: stackSummary(args[0] as DetectRequest, done, done < 6 ? 'cancelled' : 'converged') } : undefined));
    ws.rangeForm = { first: '2', last: '7' };
    await ws.detect(null, true);
    const req = calls.find((c) => c.channel === 'detect:start')!.args[0] as DetectRequest;
    expect(req).toMatchObject({ allFrames: true, frameRange: { first: 2, last: 7 } });
    expect(ws.result?.stack?.framesDone).toBe(4);
    expect(ws.message?.text).toBe('Cancelled after 4 of 6 frames: the 8 localisations of the frames finished are kept.');
    // The table shows the frame on screen.
    await ws.loadFrame(3);
    expect(ws.sources.map((s) => s.frame)).toEqual([3, 3]);
    // A bad range is refused before anything is asked of main.
    ws.rangeForm = { first: '8', last: '3' };
    const before = calls.length;
    await ws.detect(null, true);
    expect(calls.length).toBe(before);
    expect(ws.message).toEqual({ level: 'error', text: 'Frames: the first frame is after the last.' });
    done = 6;
  });

  it('exports and renders with the camera pixel size, the table\u2019s filters and drift correction', async () => {
    const { ws, calls } = await ready((c, args) => {
      if (c === 'detect:start') return { ok: true, value: stackSummary(args[0] as DetectRequest, 10, 'converged') };
      if (c === 'render:image') return { ok: true, value: { width: 4, height: 4, renderPixelSizeNm: 10, cameraPixelSizeNm: 107, mode: 'gaussian', pixels: new Float32Array(16), stats: { min: 0, max: 0, mean: 0, sigma: 0, median: 0, finite: 16 }, drawn: 0, filteredOut: 0, drift: null } };
      if (c === 'catalogue:export' || c === 'render:export') return { ok: true, value: '/out/file' };
      return undefined;
    });
    await ws.detect(null, true);
    ws.filterForm = { snrMin: '5', snrMax: '', fluxMin: '200', fluxMax: 'x', uncertaintyMax: '30' };
    ws.renderForm = { pixelSize: '20', mode: 'histogram', drift: true, segment: '5' };
    await ws.exportCatalogue('thunderstorm');
    const view = { pixelSizeNm: 107, filter: { minSnr: 5, minPhotons: 200, maxUncertaintyNm: 30 }, driftSegmentFrames: 5 };
    expect(calls.at(-1)).toEqual({ channel: 'catalogue:export', args: ['thunderstorm', view] });
    await ws.render();
    expect(calls.at(-1)).toEqual({ channel: 'render:image', args: [{ ...view, renderPixelSizeNm: 20, mode: 'histogram' }] });
    expect(ws.rendering?.width).toBe(4);
    expect(ws.renderingStale).toBe(false);
    ws.filterForm = { ...ws.filterForm, snrMin: '6' };
    expect(ws.renderingStale).toBe(true);
    ws.filterForm = { ...ws.filterForm, snrMin: '5' };
    expect(ws.renderingStale).toBe(false);
    await ws.exportRendering();
    expect(calls.at(-1)?.channel).toBe('render:export');
    expect(ws.message?.text).toBe('Rendering written to /out/file');
    ws.renderForm = { ...ws.renderForm, pixelSize: '0' };
    await ws.render();
    expect(ws.message?.text).toMatch(/render pixel size must be a number of nm > 0/);
    // A new run's catalogue makes the old rendering stale: it goes.
    await ws.detect(null, true);
    expect(ws.rendering).toBeNull();
  });
});
