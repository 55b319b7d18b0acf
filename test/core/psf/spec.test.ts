import { describe, expect, it } from 'vitest';
import { InvalidOptionError, InvalidPsfError } from '../../../src-main/core/errors.js';
import { makeImage } from '../../../src-main/core/image.js';
import {
  buildPsf,
  DirichletPsf,
  formatPsfSpec,
  GaussianPsf,
  MoffatPsf,
  parsePsfSpec,
  SampledPsf,
  type PsfSpec,
} from '../../../src-main/core/psf/index.js';

describe('parsePsfSpec', () => {
  it('accepts every CLI form', () => {
    const cases: [string, PsfSpec][] = [
      ['gaussian:1.5', { kind: 'gaussian', sigmaX: 1.5, sigmaY: 1.5 }],
      ['gaussian:1.2,2', { kind: 'gaussian', sigmaX: 1.2, sigmaY: 2 }],
      ['Gaussian: 0.8 , 1e0', { kind: 'gaussian', sigmaX: 0.8, sigmaY: 1 }],
      ['gaussian:.5', { kind: 'gaussian', sigmaX: 0.5, sigmaY: 0.5 }],
      ['moffat:3,2.5', { kind: 'moffat', fwhm: 3, beta: 2.5 }],
      ['MOFFAT:4.2,4.765', { kind: 'moffat', fwhm: 4.2, beta: 4.765 }],
      ['file:psf.fits', { kind: 'file', path: 'psf.fits', oversample: 1 }],
      ['file:psf.fits@4', { kind: 'file', path: 'psf.fits', oversample: 4 }],
      ['file:C:\\data\\psf.fits@2', { kind: 'file', path: 'C:\\data\\psf.fits', oversample: 2 }],
      ['file:/data/run:7/psf.fits', { kind: 'file', path: '/data/run:7/psf.fits', oversample: 1 }],
      ['file:/data/user@host/psf@2x.fits', { kind: 'file', path: '/data/user@host/psf@2x.fits', oversample: 1 }],
      ['file:/data/a@b/psf.fits@3', { kind: 'file', path: '/data/a@b/psf.fits', oversample: 3 }],
      ['file:psf@3@1', { kind: 'file', path: 'psf@3', oversample: 1 }],
      ['dirichlet:5', { kind: 'dirichlet', cutoff: 5 }],
    ];
    for (const [text, spec] of cases) expect(parsePsfSpec(text), text).toEqual(spec);
  });

  it('rejects bad specs with InvalidOptionError on --psf and a precise reason', () => {
    const cases: [string, RegExp][] = [
      ['gaussian:0', /SIGMA must be > 0/],
      ['gaussian:-1.5', /SIGMA must be > 0/],
      ['gaussian:1,0', /SY must be > 0/],
      ['gaussian:-1,2', /SX must be > 0/],
      ['gaussian:', /takes 1 or 2 comma-separated numbers/],
      ['gaussian:1,', /takes 1 or 2/],
      ['gaussian:1,2,3', /takes 1 or 2/],
      ['gaussian:abc', /SIGMA must be a number, got "abc"/],
      ['gaussian:0x10', /must be a number/],
      ['gaussian:Infinity', /must be a number/],
      ['gaussian:NaN', /must be a number/],
      ['gaussian:1.5px', /must be a number/],
      ['gaussian', /expected KIND:PARAMETERS/],
      ['', /expected gaussian:SIGMA/],
      ['moffat:3', /takes 2 comma-separated numbers \(FWHM,BETA\)/],
      ['moffat:', /takes 2/],
      ['moffat:3,1', /BETA must be > 1/],
      ['moffat:3,0.5', /BETA must be > 1/],
      ['moffat:0,2.5', /FWHM must be > 0/],
      ['moffat:3,x', /BETA must be a number/],
      ['airy:2', /unknown PSF kind "airy"/],
      [':2', /unknown PSF kind ""/],
      ['file:', /PATH is empty/],
      ['file:@2', /PATH is empty/],
      ['file:psf.fits@', /oversampling after "@" is missing/],
      ['file:psf.fits@1.5', /oversampling must be a positive integer, got "1.5"/],
      ['file:psf.fits@0', /positive integer/],
      ['file:psf.fits@-2', /positive integer/],
      ['dirichlet:2.5', /integer ≥ 1/],
      ['dirichlet:0', /integer ≥ 1/],
    ];
    for (const [text, reason] of cases) {
      let err: unknown;
      try {
        parsePsfSpec(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(InvalidOptionError);
      const e = err as InvalidOptionError;
      expect(e.option).toBe('--psf');
      expect(e.value).toBe(text);
      expect(e.message, text).toMatch(reason);
      expect(e.message).toContain(JSON.stringify(text));
    }
  });
});

describe('formatPsfSpec', () => {
  it('round-trips through parsePsfSpec', () => {
    const specs: PsfSpec[] = [
      { kind: 'gaussian', sigmaX: 1.5, sigmaY: 1.5 },
      { kind: 'gaussian', sigmaX: 0.1 + 0.2, sigmaY: 2 },
      { kind: 'moffat', fwhm: 3.25, beta: 4.765 },
      { kind: 'file', path: 'psf.fits', oversample: 1 },
      { kind: 'file', path: 'psf.fits', oversample: 4 },
      { kind: 'file', path: 'x:/a@b/psf@3', oversample: 1 },
      { kind: 'file', path: 'psf@', oversample: 2 },
      { kind: 'dirichlet', cutoff: 7 },
    ];
    for (const spec of specs) expect(parsePsfSpec(formatPsfSpec(spec))).toEqual(spec);
    expect(formatPsfSpec({ kind: 'gaussian', sigmaX: 2, sigmaY: 2 })).toBe('gaussian:2');
    expect(formatPsfSpec({ kind: 'file', path: 'psf.fits', oversample: 1 })).toBe('file:psf.fits');
    expect(formatPsfSpec({ kind: 'file', path: 'psf@3', oversample: 1 })).toBe('file:psf@3@1');
  });
});

describe('buildPsf', () => {
  it('builds each kind', () => {
    const g = buildPsf(parsePsfSpec('gaussian:1.2,2'));
    expect(g).toBeInstanceOf(GaussianPsf);
    expect(g.label).toBe('gaussian:1.2,2');
    const m = buildPsf(parsePsfSpec('moffat:3,2.5'));
    expect(m).toBeInstanceOf(MoffatPsf);
    expect(m.label).toBe('moffat:3,2.5');
    const d = buildPsf(parsePsfSpec('dirichlet:3'), { width: 16, height: 9 });
    expect(d).toBeInstanceOf(DirichletPsf);
    expect(d.periodic).toBe(true);
    const img = makeImage(7, 7, new Float64Array(49).fill(0.01));
    img.data[24] = 1;
    const f = buildPsf(parsePsfSpec('file:stars/psf.fits@1'), { fileImage: img });
    expect(f).toBeInstanceOf(SampledPsf);
    expect(f.label).toBe('file:stars/psf.fits');
  });

  it('throws InvalidPsfError when inputs are missing or the stamp is unusable', () => {
    expect(() => buildPsf({ kind: 'file', path: 'psf.fits', oversample: 1 })).toThrow(InvalidPsfError);
    expect(() => buildPsf({ kind: 'dirichlet', cutoff: 3 })).toThrow(/grid size/);
    expect(() => buildPsf({ kind: 'gaussian', sigmaX: 0, sigmaY: 1 })).toThrow(InvalidPsfError);
    const zero = makeImage(5, 5);
    try {
      buildPsf(parsePsfSpec('file:empty.fits'), { fileImage: zero });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidPsfError);
      expect((e as InvalidPsfError).file).toBe('empty.fits');
      expect((e as InvalidPsfError).message).toMatch(/sums to 0/);
    }
    const nan = makeImage(5, 5, new Float64Array(25).fill(1));
    nan.data[7] = NaN;
    expect(() => buildPsf(parsePsfSpec('file:nan.fits@1'), { fileImage: nan })).toThrow(/nan\.fits|non-finite/);
    expect(() => buildPsf(parsePsfSpec('file:big.fits@8'), { fileImage: nan })).toThrow(/smaller than one image pixel/);
  });
});
