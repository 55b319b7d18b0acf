// The workspace state against a stand-in window.cpgd: what the user sees after runs, regions,
// cancellations and failures (server-compiled runes, no DOM).
import { describe, expect, it } from 'vitest';
import type { CpgdApi, DetectProgress, DetectRequest, DetectSummary, EventMap, FrameData, ImageInfo, IpcResult } from '../../src-main/shared/ipc.js';
import { Workspace } from '../../src-renderer/state/workspace.svelte.js';

const image: ImageInfo = { imageId: 1, name: 'a.fits', path: '/d/a.fits', format: 'fits', width: 64, height: 64, frames: 1, pixelSizeNm: null };
const frame: FrameData = { imageId: 1, frame: 0, width: 64, height: 64, pixels: new Float32Array(64 * 64), stats: { min: 0, max: 1, mean: 0, sigma: 1, median: 0, finite: 4096 } };
const trace = { iteration: [0, 5], fMinusBest: [10, 0], particles: [40, 3], gapIteration: [5], relativeGap: [1e-7] };
const summary = (r: DetectRequest, n: number, status: DetectSummary['status'] = 'converged'): DetectSummary => ({
  runId: 1,
  imageId: 1,
  frame: 0,
  region: r.region ?? null,
  frames: 1,
  status,
  sources: Array.from({ length: n }, (_, i) => ({ id: i + 1, frame: 0, x: 10 + i, y: 10, flux: 100, xErr: 0.1, yErr: 0.1, fluxErr: 10, snr: 10 })),
  lambda: 1,
  background: 'constant',
  iterations: 5,
  relativeGap: 1e-7,
  elapsedMs: 10,
  convergence: trace,
});

/** A fake API: detect:start answers with `next(request)` after sending two progress events. */
function fakeApi(next: (r: DetectRequest) => IpcResult<DetectSummary>) {
  const listeners: Partial<Record<keyof EventMap, (p: unknown) => void>> = {};
  const calls: { channel: string; args: unknown[] }[] = [];
  const progress = (i: number): DetectProgress => ({ runId: 1, tile: 0, tiles: 1, tilesStarted: 1, iteration: i, particles: 50 - i, relativeGap: i > 1 ? 0.1 / i : null, objective: 100 / i, tileObjectives: [100 / i], snapshot: { x: [1, 2], y: [3, 4], a: [5, 6] }, stack: null });
  const api = {
    async invoke(channel: string, ...args: unknown[]) {
      calls.push({ channel, args });
      switch (channel) {
        case 'detect:start': {
          for (const i of [1, 2]) listeners['detect:progress']?.(progress(i));
          return next(args[0] as DetectRequest);
        }
        case 'file:openSample':
          return { ok: true, value: { ...image, sample: args[0] } };
        case 'image:frame':
          return { ok: true, value: frame };
        case 'file:recent':
          return { ok: true, value: [] };
        case 'app:info':
        case 'settings:get':
          return { ok: false, error: { code: 'internal', message: 'not here' } };
        case 'settings:set':
          return { ok: true, value: {} };
        default:
          return { ok: false, error: { code: 'internal', message: `unexpected ${channel}` } };
      }
    },
    openDropped: async () => ({ ok: false, error: { code: 'invalid-argument', message: 'no' } }),
    on(channel: keyof EventMap, l: (p: unknown) => void) {
      listeners[channel] = l;
      return () => undefined;
    },
  } as unknown as CpgdApi;
  return { api, calls };
}

async function ready(next: (r: DetectRequest) => IpcResult<DetectSummary>) {
  const f = fakeApi(next);
  const ws = new Workspace(f.api);
  await ws.init();
  await ws.openSample('star-field');
  return { ws, ...f };
}

describe('workspace', () => {
  it('opening a sample loads its frame and takes the PSF and camera it was made with', async () => {
    const { ws } = await ready((r) => ({ ok: true, value: summary(r, 3) }));
    expect(ws.image?.sample).toBe('star-field');
    expect(ws.frame).toBe(frame);
    expect(ws.params.psf).toEqual({ kind: 'gaussian', sigma: 1.5 });
    expect(ws.params.camera).toEqual({ gain: 1, offset: 0, readNoise: 5 });
  });

  it('a region run shows its sources apart and keeps the frame catalogue', async () => {
    let n = 4;
    const { ws, calls } = await ready((r) => ({ ok: true, value: summary(r, n) }));
    await ws.detect();
    expect(ws.sources.length).toBe(4);
    n = 2;
    await ws.detect({ x: 0, y: 0, width: 32, height: 32 });
    const req = calls.filter((c) => c.channel === 'detect:start').at(-1)!.args[0] as DetectRequest;
    expect(req.region).toEqual({ x: 0, y: 0, width: 32, height: 32 });
    expect(ws.sources.length).toBe(4);
    expect(ws.regionShown?.sources.length).toBe(2);
    // The chart shows the last run's trace once it is over.
    expect(ws.series.fMinusBest).toEqual([{ x: 0, y: 10 }]);
  });

  it('a failed run shows the reason and keeps the image and the last catalogue; a cancelled one too', async () => {
    let fail = false;
    let status: DetectSummary['status'] = 'converged';
    const { ws } = await ready((r) => (fail ? { ok: false, error: { code: 'invalid-psf', message: 'psf.fits: PSF stamp sums to -25; a PSF needs a positive sum' } } : { ok: true, value: summary(r, 5, status) }));
    await ws.detect();
    fail = true;
    await ws.detect();
    expect(ws.message).toEqual({ level: 'error', text: 'psf.fits: PSF stamp sums to -25; a PSF needs a positive sum' });
    expect(ws.image).not.toBeNull();
    expect(ws.sources.length).toBe(5);
    fail = false;
    status = 'cancelled';
    await ws.detect();
    expect(ws.message?.level).toBe('info');
    expect(ws.sources.length).toBe(5);
    expect(ws.running).toBe(false);
  });

  it('during a run the chart and the overlay follow the progress events', async () => {
    let seen: { samples: number; particles: number | undefined; live: number; running: boolean } | null = null;
    const holder: { ws?: Workspace } = {};
    const { ws } = await ready((r) => {
      const w = holder.ws!;
      seen = { samples: w.liveSamples.length, particles: w.particles?.x.length, live: w.series.particles.length, running: w.running };
      return { ok: true, value: summary(r, 1) };
    });
    holder.ws = ws;
    await ws.detect();
    expect(seen).toEqual({ samples: 2, particles: 2, live: 2, running: true });
    expect(ws.particles).toBeNull();
    expect(ws.progress).toBeNull();
  });

  it('picking a table row selects the source and asks the view to centre on it', async () => {
    const { ws } = await ready((r) => ({ ok: true, value: summary(r, 3) }));
    await ws.detect();
    const centred: [number, number][] = [];
    ws.onCentre = (x, y) => void centred.push([x, y]);
    ws.select(2);
    expect(ws.selectedId).toBe(2);
    expect(centred).toEqual([[11, 10]]);
    ws.select(99);
    expect(ws.selectedId).toBe(2);
  });
});
