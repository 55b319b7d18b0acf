import { InvalidOptionError, InvalidPsfError } from '../errors.js';
import type { Image } from '../image.js';
import { DirichletPsf } from './dirichlet.js';
import { GaussianPsf } from './gaussian.js';
import { MoffatPsf } from './moffat.js';
import { SampledPsf } from './sampled.js';
import type { Psf } from './types.js';

/** A PSF as the user describes it (CLI `--psf`, app settings, catalogue metadata). */
export type PsfSpec =
  | { kind: 'gaussian'; sigmaX: number; sigmaY: number }
  | { kind: 'moffat'; fwhm: number; beta: number }
  | { kind: 'file'; path: string; oversample: number }
  | { kind: 'dirichlet'; cutoff: number };

const OPTION = '--psf';
/** A plain decimal number: no hex, no Infinity/NaN, no empty string. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FORMS = 'gaussian:SIGMA, gaussian:SX,SY, moffat:FWHM,BETA, file:PATH[@OVERSAMPLE] or dirichlet:K';

/**
 * Parse the CLI forms
 *   gaussian:SIGMA        circular Gaussian, σ in pixels (> 0)
 *   gaussian:SX,SY        axis-aligned elliptical Gaussian
 *   moffat:FWHM,BETA      Moffat profile, FWHM in pixels (> 0), β > 1
 *   file:PATH[@N]         PSF stamp read from PATH, sampled N times finer than the image (default 1)
 *   dirichlet:K           periodic Dirichlet kernel of cutoff frequency K (integer ≥ 1)
 * The kind is case-insensitive; spaces around numbers are ignored. PATH may contain ':' and '@':
 * only a trailing `@` followed by something number-like is read as the oversampling, which must
 * then be a positive integer (`file:a@2x.fits` is the path `a@2x.fits`; `file:a.fits@1.5` is an
 * error). Throws InvalidOptionError('--psf', text, reason).
 */
export function parsePsfSpec(text: string): PsfSpec {
  const fail = (reason: string): never => {
    throw new InvalidOptionError(OPTION, text, reason);
  };
  if (typeof text !== 'string' || text.trim() === '') fail(`expected ${FORMS}`);
  const colon = text.indexOf(':');
  if (colon < 0) fail(`expected KIND:PARAMETERS, one of ${FORMS}`);
  const kind = text.slice(0, colon).trim().toLowerCase();
  const rest = text.slice(colon + 1);

  const numbers = (what: string, names: readonly string[], min: number, max: number): number[] => {
    const parts = rest.split(',').map((p) => p.trim());
    if (parts.length < min || parts.length > max || parts.some((p) => p === '')) {
      const count = min === max ? `${min}` : `${min} or ${max}`;
      fail(`${what} takes ${count} comma-separated number${max > 1 ? 's' : ''} (${names.slice(0, max).join(',')}), got "${rest}"`);
    }
    return parts.map((p, i) => {
      if (!NUMBER.test(p)) fail(`${what} ${names[i]} must be a number, got "${p}"`);
      const v = Number(p);
      if (!Number.isFinite(v)) fail(`${what} ${names[i]} must be a finite number, got "${p}"`);
      return v;
    });
  };

  switch (kind) {
    case 'gaussian': {
      const v = numbers('gaussian', rest.includes(',') ? ['SX', 'SY'] : ['SIGMA', 'SY'], 1, 2);
      const sx = v[0];
      const sy = v.length > 1 ? v[1] : sx;
      if (!(sx > 0)) fail(`gaussian ${v.length === 1 ? 'SIGMA' : 'SX'} must be > 0 pixels, got ${sx}`);
      if (!(sy > 0)) fail(`gaussian SY must be > 0 pixels, got ${sy}`);
      return { kind: 'gaussian', sigmaX: sx, sigmaY: sy };
    }
    case 'moffat': {
      const [fwhm, beta] = numbers('moffat', ['FWHM', 'BETA'], 2, 2);
      if (!(fwhm > 0)) fail(`moffat FWHM must be > 0 pixels, got ${fwhm}`);
      if (!(beta > 1)) fail(`moffat BETA must be > 1 (the profile has infinite flux otherwise), got ${beta}`);
      return { kind: 'moffat', fwhm, beta };
    }
    case 'file': {
      let path = rest;
      let oversample = 1;
      const at = rest.lastIndexOf('@');
      if (at >= 0) {
        const tail = rest.slice(at + 1).trim();
        if (tail === '') fail('file oversampling after "@" is missing (use file:PATH@N with N a positive integer)');
        if (NUMBER.test(tail)) {
          const n = Number(tail);
          if (!Number.isInteger(n) || n < 1) fail(`file oversampling must be a positive integer, got "${tail}"`);
          oversample = n;
          path = rest.slice(0, at);
        }
      }
      if (path === '') fail('file PATH is empty');
      return { kind: 'file', path, oversample };
    }
    case 'dirichlet': {
      const [k] = numbers('dirichlet', ['K'], 1, 1);
      if (!Number.isInteger(k) || k < 1) fail(`dirichlet cutoff K must be an integer ≥ 1, got ${k}`);
      return { kind: 'dirichlet', cutoff: k };
    }
    default:
      return fail(`unknown PSF kind "${text.slice(0, colon)}": expected ${FORMS}`);
  }
}

/** The text form of a spec; parsePsfSpec(formatPsfSpec(s)) gives s back. */
export function formatPsfSpec(spec: PsfSpec): string {
  switch (spec.kind) {
    case 'gaussian':
      return spec.sigmaX === spec.sigmaY ? `gaussian:${spec.sigmaX}` : `gaussian:${spec.sigmaX},${spec.sigmaY}`;
    case 'moffat':
      return `moffat:${spec.fwhm},${spec.beta}`;
    case 'file': {
      // Spell out @1 when the path itself ends in something the parser would take for one.
      const at = spec.path.lastIndexOf('@');
      const ambiguous = at >= 0 && (spec.path.slice(at + 1).trim() === '' || NUMBER.test(spec.path.slice(at + 1).trim()));
      return spec.oversample !== 1 || ambiguous ? `file:${spec.path}@${spec.oversample}` : `file:${spec.path}`;
    }
    case 'dirichlet':
      return `dirichlet:${spec.cutoff}`;
  }
}

/** What buildPsf needs besides the spec. */
export interface BuildPsfOptions {
  /** The stamp image of a `file` spec, loaded by the caller (the core does no I/O). */
  fileImage?: Image;
  /** Grid size of a `dirichlet` spec (height 1 for a 1-D signal). */
  width?: number;
  height?: number;
}

/**
 * Build the PSF of a spec. A `file` spec needs `opts.fileImage`, a `dirichlet` spec `opts.width`
 * and `opts.height`; missing ones, or parameters the PSF rejects, throw InvalidPsfError.
 */
export function buildPsf(spec: PsfSpec, opts: BuildPsfOptions = {}): Psf {
  switch (spec.kind) {
    case 'gaussian':
      return new GaussianPsf(spec.sigmaX, spec.sigmaY);
    case 'moffat':
      return new MoffatPsf(spec.fwhm, spec.beta);
    case 'file':
      if (!opts.fileImage) throw new InvalidPsfError('the PSF file has not been loaded (buildPsf needs fileImage)', spec.path);
      return SampledPsf.fromImage(opts.fileImage, { oversample: spec.oversample, name: spec.path });
    case 'dirichlet':
      if (opts.width === undefined || opts.height === undefined) {
        throw new InvalidPsfError('the Dirichlet kernel needs the grid size (buildPsf needs width and height)');
      }
      return new DirichletPsf(spec.cutoff, opts.width, opts.height);
  }
}
