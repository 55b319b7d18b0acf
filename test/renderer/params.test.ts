import { describe, expect, it } from 'vitest';
import { defaultParams, formFromParams, paramsFromForm } from '../../src-renderer/lib/params.js';

describe('detection parameters form', () => {
  it('round-trips the parameters through the form', () => {
    const p = defaultParams();
    expect(paramsFromForm(formFromParams(p))).toEqual({ ok: true, params: p });
    const q = { psf: { kind: 'moffat', fwhm: 3.2, beta: 2.5 }, lambda: { mode: 'value', value: 40 }, background: 'plane', camera: { gain: 1.8, offset: 100, readNoise: 1.6 } } as const;
    expect(paramsFromForm(formFromParams(q))).toEqual({ ok: true, params: q });
  });

  it('treats empty gain and read noise as "estimate"', () => {
    const f = { ...formFromParams(defaultParams()), gain: ' ', readNoise: '', offset: '' };
    const r = paramsFromForm(f);
    expect(r.ok && r.params.camera).toEqual({ gain: null, offset: 0, readNoise: null });
  });

  it('names each bad field with what it must be', () => {
    const f = { ...formFromParams(defaultParams()), sigma: '0', factor: 'abc', gain: '-1', readNoise: '1e' };
    const r = paramsFromForm(f);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual({ sigma: 'must be > 0', factor: 'must be a number', gain: 'must be > 0', readNoise: 'must be a number' });
    const m = paramsFromForm({ ...formFromParams(defaultParams()), psfKind: 'moffat', beta: '1' });
    expect(!m.ok && m.errors).toEqual({ beta: 'must be > 1' });
  });
});
