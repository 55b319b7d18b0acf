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

  it('a PSF file comes from the file loaded in main, with the form\'s oversampling', () => {
    const file = { fileId: 7, name: 'psf.fits', width: 15, height: 15, oversample: 1, sigma: 1.4, stamp: [] };
    const f = { ...formFromParams(defaultParams()), psfKind: 'file' as const, oversample: '2' };
    expect(paramsFromForm(f, file)).toMatchObject({ ok: true, params: { psf: { kind: 'file', fileId: 7, name: 'psf.fits', oversample: 2 } } });
    expect(paramsFromForm(f)).toEqual({ ok: false, errors: { psfKind: 'choose a PSF file' } });
    expect(paramsFromForm({ ...f, oversample: '1.5' }, file)).toEqual({ ok: false, errors: { oversample: 'must be a whole number' } });
    const back = formFromParams({ ...defaultParams(), psf: { kind: 'file', fileId: 7, name: 'psf.fits', oversample: 3 } });
    expect(back).toMatchObject({ psfKind: 'file', oversample: '3' });
  });
});
