import { describe, expect, it } from 'vitest';
import {
  AppError,
  checkArity,
  checkAutoLambdaRequest,
  checkCamera,
  checkCatalogueFormat,
  checkDetectRequest,
  checkExportOptions,
  checkRegion,
  checkSampleId,
  checkIndex,
  checkLambda,
  checkPathArgument,
  checkPsf,
  checkPsfFitRequest,
  checkSettingsPatch,
  IpcArgumentError,
  toIpcError,
} from '../../src-main/app/validate.js';
import { FormatError, InvalidOptionError } from '../../src-main/core/errors.js';

const camera = { gain: null, offset: 0, readNoise: null };
const request = { imageId: 1, frame: 0, psf: { kind: 'gaussian', sigma: 1.5 }, lambda: { mode: 'auto', factor: 1 }, background: 'auto', camera };

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(IpcArgumentError);
    return (e as IpcArgumentError).field;
  }
  throw new Error('did not throw');
}

describe('IPC argument validation', () => {
  it('accepts valid PSFs and returns fresh objects', () => {
    const input = { kind: 'gaussian', sigma: 2 };
    const out = checkPsf(input);
    expect(out).toEqual({ kind: 'gaussian', sigma: 2 });
    expect(out).not.toBe(input);
    expect(checkPsf({ kind: 'moffat', fwhm: 3, beta: 2.5 })).toEqual({ kind: 'moffat', fwhm: 3, beta: 2.5 });
  });

  it('refuses bad PSFs with the field named', () => {
    expect(fieldOf(() => checkPsf({ kind: 'gaussian', sigma: 0 }))).toBe('psf.sigma');
    expect(fieldOf(() => checkPsf({ kind: 'gaussian', sigma: NaN }))).toBe('psf.sigma');
    expect(fieldOf(() => checkPsf({ kind: 'gaussian', sigma: '2' }))).toBe('psf.sigma');
    expect(fieldOf(() => checkPsf({ kind: 'moffat', fwhm: 3, beta: 1 }))).toBe('psf.beta');
    expect(fieldOf(() => checkPsf({ kind: 'file', path: '/etc/passwd' }))).toBe('psf.kind');
    expect(fieldOf(() => checkPsf({ kind: 'gaussian', sigma: 1, extra: 1 }))).toBe('psf.extra');
    expect(fieldOf(() => checkPsf(null))).toBe('psf');
    expect(fieldOf(() => checkPsf([1]))).toBe('psf');
  });

  it('refuses objects that are not plain (prototype tricks)', () => {
    class Fake {
      kind = 'gaussian';
      sigma = 1;
    }
    expect(() => checkPsf(new Fake())).toThrow(IpcArgumentError);
    expect(() => checkPsf(JSON.parse('{"kind":"gaussian","sigma":1,"__proto__":{"x":1}}'))).toThrow(IpcArgumentError);
  });

  it('checks λ, camera and indices', () => {
    expect(checkLambda({ mode: 'value', value: 0 })).toEqual({ mode: 'value', value: 0 });
    expect(fieldOf(() => checkLambda({ mode: 'value', value: -1 }))).toBe('lambda.value');
    expect(fieldOf(() => checkLambda({ mode: 'auto', factor: 0 }))).toBe('lambda.factor');
    expect(checkCamera({ gain: 2, offset: 100, readNoise: 1.2 })).toEqual({ gain: 2, offset: 100, readNoise: 1.2 });
    expect(fieldOf(() => checkCamera({ gain: 0, offset: 0, readNoise: null }))).toBe('camera.gain');
    expect(fieldOf(() => checkCamera({ gain: null, offset: 0 }))).toBe('camera.readNoise');
    expect(checkIndex(3, 'frame')).toBe(3);
    expect(fieldOf(() => checkIndex(1.5, 'frame'))).toBe('frame');
    expect(fieldOf(() => checkIndex(-1, 'frame'))).toBe('frame');
  });

  it('checks a whole detect request', () => {
    expect(checkDetectRequest(request)).toEqual(request);
    expect(fieldOf(() => checkDetectRequest({ ...request, background: 'sky' }))).toBe('request.background');
    expect(fieldOf(() => checkDetectRequest({ ...request, psf: { kind: 'gaussian', sigma: -1 } }))).toBe('request.psf.sigma');
    expect(fieldOf(() => checkDetectRequest({ ...request, threads: 64 }))).toBe('request.threads');
  });

  it('checks regions of interest (whole pixels, 8 to 512 per side, no extra keys)', () => {
    const region = { x: 10, y: 20, width: 128, height: 64 };
    expect(checkDetectRequest({ ...request, region })).toEqual({ ...request, region });
    expect(checkRegion(region)).not.toBe(region);
    expect(fieldOf(() => checkRegion({ ...region, width: 4 }))).toBe('region.width');
    expect(fieldOf(() => checkRegion({ ...region, height: 4096 }))).toBe('region.height');
    expect(fieldOf(() => checkRegion({ ...region, x: -1 }))).toBe('region.x');
    expect(fieldOf(() => checkRegion({ ...region, y: 1.5 }))).toBe('region.y');
    expect(fieldOf(() => checkRegion({ ...region, frame: 2 }))).toBe('region.frame');
    expect(fieldOf(() => checkDetectRequest({ ...request, region: [0, 0, 8, 8] }))).toBe('request.region');
  });

  it('checks PSF fit requests: picked stars as plain {x, y}, or null', () => {
    const f = { imageId: 2, frame: 0, kind: 'moffat', start: { kind: 'gaussian', sigma: 1.5 }, stars: [{ x: 10, y: 12.5 }] };
    expect(checkPsfFitRequest(f)).toEqual(f);
    expect(checkPsfFitRequest({ ...f, stars: null }).stars).toBeNull();
    expect(fieldOf(() => checkPsfFitRequest({ ...f, kind: 'file' }))).toBe('request.kind');
    expect(fieldOf(() => checkPsfFitRequest({ ...f, stars: [] }))).toBe('request.stars');
    expect(fieldOf(() => checkPsfFitRequest({ ...f, stars: Array.from({ length: 41 }, () => ({ x: 1, y: 1 })) }))).toBe('request.stars');
    expect(fieldOf(() => checkPsfFitRequest({ ...f, stars: [{ x: 1, y: NaN }] }))).toBe('request.stars[0].y');
    expect(fieldOf(() => checkPsfFitRequest({ ...f, stars: [{ x: 1, y: 2, flux: 3 }] }))).toBe('request.stars[0].flux');
  });

  it('accepts a loaded PSF file in detections, never in the saved settings', () => {
    const psf = { kind: 'file', fileId: 3, name: 'psf.fits', oversample: 2 };
    expect(checkDetectRequest({ ...request, psf }).psf).toEqual(psf);
    expect(fieldOf(() => checkDetectRequest({ ...request, psf: { ...psf, path: '/etc/passwd' } }))).toBe('request.psf.path');
    expect(fieldOf(() => checkDetectRequest({ ...request, psf: { ...psf, oversample: 0 } }))).toBe('request.psf.oversample');
    expect(fieldOf(() => checkSettingsPatch({ psf }))).toBe('patch.psf.kind');
  });

  it('checks whole-stack runs (a boolean, not with a region)', () => {
    expect(checkDetectRequest({ ...request, allFrames: true }).allFrames).toBe(true);
    expect(checkDetectRequest({ ...request, allFrames: false })).toEqual(request);
    expect(fieldOf(() => checkDetectRequest({ ...request, allFrames: 'yes' }))).toBe('request.allFrames');
    expect(fieldOf(() => checkDetectRequest({ ...request, allFrames: true, region: { x: 0, y: 0, width: 16, height: 16 } }))).toBe('request.allFrames');
  });

  it('checks automatic-λ requests, export options and sample ids', () => {
    const a = { imageId: 1, frame: 0, psf: { kind: 'moffat', fwhm: 3, beta: 2.5 }, camera };
    expect(checkAutoLambdaRequest(a)).toEqual(a);
    expect(fieldOf(() => checkAutoLambdaRequest({ ...a, lambda: 1 }))).toBe('request.lambda');
    expect(checkExportOptions(undefined)).toEqual({});
    expect(checkExportOptions({ pixelSizeNm: 107 })).toEqual({ pixelSizeNm: 107 });
    expect(fieldOf(() => checkExportOptions({ pixelSizeNm: 0 }))).toBe('options.pixelSizeNm');
    expect(fieldOf(() => checkExportOptions({ path: '/tmp/x.csv' }))).toBe('options.path');
    expect(checkSampleId('star-field')).toBe('star-field');
    expect(checkSampleId('smlm-stack')).toBe('smlm-stack');
    expect(fieldOf(() => checkSampleId('../star-field.fits'))).toBe('sample');
    expect(fieldOf(() => checkSampleId({ id: 'star-field' }))).toBe('sample');
  });

  it('checks settings patches, formats, paths and arity', () => {
    expect(checkSettingsPatch({})).toEqual({});
    expect(checkSettingsPatch({ background: 'plane' })).toEqual({ background: 'plane' });
    expect(fieldOf(() => checkSettingsPatch({ window: { width: 1 } }))).toBe('patch.window');
    for (const f of ['csv', 'ds9', 'thunderstorm', 'fits']) expect(checkCatalogueFormat(f)).toBe(f);
    expect(fieldOf(() => checkCatalogueFormat('xml'))).toBe('format');
    expect(checkPathArgument('/data/a.fits')).toBe('/data/a.fits');
    expect(fieldOf(() => checkPathArgument(''))).toBe('path');
    expect(fieldOf(() => checkPathArgument('a\0b'))).toBe('path');
    expect(fieldOf(() => checkPathArgument(42))).toBe('path');
    expect(fieldOf(() => checkPathArgument('relative/a.fits'))).toBe('path');
    expect(() => checkArity([1], 1, 'x')).not.toThrow();
    expect(fieldOf(() => checkArity([1, 2], 1, 'file:openRecent'))).toBe('file:openRecent');
    expect(() => checkArity(['csv', {}], 1, 'catalogue:export', 1)).not.toThrow();
    expect(fieldOf(() => checkArity(['csv', {}, 3], 1, 'catalogue:export', 1))).toBe('catalogue:export');
    expect(fieldOf(() => checkArity([], 1, 'catalogue:export', 1))).toBe('catalogue:export');
  });
});

describe('toIpcError', () => {
  it('keeps the codes of typed errors and the file of core errors', () => {
    expect(toIpcError(new IpcArgumentError('psf.sigma', 'must be > 0'))).toEqual({ code: 'invalid-argument', message: 'psf.sigma: must be > 0' });
    expect(toIpcError(new AppError('busy', 'a detection is already running'))).toEqual({ code: 'busy', message: 'a detection is already running' });
    expect(toIpcError(new FormatError('FITS', 'truncated', '/d/a.fits'))).toEqual({ code: 'bad-format', message: '/d/a.fits: not a valid FITS file: truncated' });
    expect(toIpcError(new InvalidOptionError('--psf', 0, 'bad')).code).toBe('invalid-option');
  });

  it('turns anything else into a one-line internal error', () => {
    expect(toIpcError(new TypeError('x is undefined\n    at foo'))).toEqual({ code: 'internal', message: 'x is undefined' });
    expect(toIpcError('boom')).toEqual({ code: 'internal', message: 'boom' });
  });
});
