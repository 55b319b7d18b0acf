import { describe, expect, it } from 'vitest';
import { defaultParams, formFromParams, paramsFromForm } from '../../src-renderer/lib/params.js';
import { clock, frameRate, parseFrameRange, stackProgressText, timeLeftMs } from '../../src-renderer/lib/stack.js';
import { filterSetting, filterSources, NO_FILTER, sortSources, uncertaintyNm } from '../../src-renderer/lib/table.js';
import type { SourceRow } from '../../src-main/shared/ipc.js';

describe('stack progress', () => {
  it('rate is frames per second since the start, the time left is the rest at that rate', () => {
    expect(frameRate(0, 5000)).toBeNull();
    expect(frameRate(10, 0)).toBeNull();
    expect(frameRate(10, 4000)).toBe(2.5);
    expect(timeLeftMs(10, 40, 4000)).toBe(12_000);
    expect(timeLeftMs(40, 40, 4000)).toBe(0);
    expect(timeLeftMs(0, 40, 4000)).toBeNull();
  });

  it('reads as frames done, localisations, rate and time left', () => {
    expect(stackProgressText({ frame: 3, done: 0, frames: 40, localisations: 0, elapsedMs: 800 })).toBe('0 of 40 frames · 0 localisations · starting');
    expect(stackProgressText({ frame: 3, done: 12, frames: 40, localisations: 245, elapsedMs: 3500 })).toBe('12 of 40 frames · 245 localisations · 3.4 frames/s · 0:08 left');
    expect(stackProgressText({ frame: 9, done: 1, frames: 100000, localisations: 1, elapsedMs: 50 })).toBe('1 of 100000 frames · 1 localisation · 20 frames/s · 1:23:20 left');
    expect(clock(59_499)).toBe('0:59');
    expect(clock(3_600_000)).toBe('1:00:00');
  });

  it('takes a frame range as typed: empty ends are the stack’s, and says what is wrong', () => {
    expect(parseFrameRange('', '', 40)).toEqual({ ok: true, range: { first: 0, last: 39 } });
    expect(parseFrameRange(' 5', '9 ', 40)).toEqual({ ok: true, range: { first: 5, last: 9 } });
    expect(parseFrameRange('7', '7', 40)).toEqual({ ok: true, range: { first: 7, last: 7 } });
    expect(parseFrameRange('9', '5', 40)).toEqual({ ok: false, error: 'the first frame is after the last' });
    expect(parseFrameRange('0', '40', 40)).toEqual({ ok: false, error: 'the last frame is 39' });
    expect(parseFrameRange('-1', '', 40).ok).toBe(false);
    expect(parseFrameRange('2.5', '', 40).ok).toBe(false);
  });
});

const row = (id: number, flux: number, snr: number, err: number, background?: number): SourceRow => ({ id, frame: id % 2, x: id, y: 0, flux, xErr: err, yErr: err, fluxErr: flux / snr, snr, ...(background !== undefined ? { background } : {}) });
const rows = [row(1, 500, 50, 0.1, 40), row(2, 80, 4, 0.5, 41), row(3, 2000, 120, 0.05), row(4, 300, 10, NaN, 39)];

describe('localisation filters', () => {
  it('filter on the uncertainty in nm with the pixel size, as core filterLocalisations does', () => {
    expect(uncertaintyNm({ xErr: 0.3, yErr: 0.4 }, 100)).toBeCloseTo(Math.sqrt(0.125) * 100, 12);
    const f = { ...NO_FILTER, uncertaintyMax: 20 };
    expect(filterSources(rows, f, 100).map((r) => r.id)).toEqual([1, 3]);
    expect(filterSources(rows, f, 1000).map((r) => r.id)).toEqual([]);
    // Without a pixel size the bound keeps nothing (it cannot be evaluated; main refuses it too).
    expect(filterSources(rows, f, null)).toEqual([]);
    expect(filterSources(rows, { ...f, uncertaintyMax: null }, null).length).toBe(4);
  });

  it('hands main the bounds that are set, under the names of the catalogue view', () => {
    expect(filterSetting(NO_FILTER)).toEqual({});
    expect(filterSetting({ snrMin: 5, snrMax: null, fluxMin: 100, fluxMax: 5000, uncertaintyMax: 25 })).toEqual({ minSnr: 5, minPhotons: 100, maxPhotons: 5000, maxUncertaintyNm: 25 });
  });

  it('sorts by uncertainty and background, NaN and missing last', () => {
    expect(sortSources(rows, 'uncertainty', 'asc').map((r) => r.id)).toEqual([3, 1, 2, 4]);
    expect(sortSources(rows, 'background', 'desc').map((r) => r.id)).toEqual([2, 1, 4, 3]);
    expect(sortSources(rows, 'frame', 'asc').map((r) => r.id)).toEqual([2, 4, 1, 3]);
  });
});

describe('camera form', () => {
  it('round-trips pixel size, photoelectrons per ADU and EM gain; empty fields stay out', () => {
    const p = { ...defaultParams(), camera: { gain: null, offset: 100, readNoise: 1.5, pixelSizeNm: 107, electronsPerAdu: 4.2, emGain: 300 } };
    expect(paramsFromForm(formFromParams(p))).toEqual({ ok: true, params: p });
    const r = paramsFromForm(formFromParams(defaultParams()));
    expect(r.ok && r.params.camera).toEqual({ gain: null, offset: 0, readNoise: null });
  });

  it('gives the gain one way only, and the EM gain with photoelectrons per ADU', () => {
    const f = formFromParams(defaultParams());
    expect(paramsFromForm({ ...f, gain: '2', ePerAdu: '0.5' })).toEqual({ ok: false, errors: { ePerAdu: 'or the gain in ADU/photon, not both' } });
    expect(paramsFromForm({ ...f, emGain: '100' })).toEqual({ ok: false, errors: { emGain: 'needs e⁻ per ADU' } });
    expect(paramsFromForm({ ...f, ePerAdu: '4', emGain: '0.5' })).toEqual({ ok: false, errors: { emGain: 'must be ≥ 1' } });
    expect(paramsFromForm({ ...f, pixelSize: '0' })).toEqual({ ok: false, errors: { pixelSize: 'must be > 0' } });
  });
});
