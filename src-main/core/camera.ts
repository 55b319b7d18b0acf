/**
 * Camera settings in physical units, as microscopists give them (ThunderSTORM's "camera setup",
 * Picasso's camera config), and their mapping onto the solver's Poisson–Gaussian noise model
 * (solver/noise.ts) and onto catalogue units.
 *
 * Signal chain. A pixel that detects n photoelectrons reads, in ADU,
 *   value = offset + G · n + read noise,  G = emGain / electronsPerAdu  (ADU per photoelectron),
 * where electronsPerAdu counts electrons after the EM register (the "photoelectrons per A/D count"
 * of the camera sheet, also called the conversion factor or sensitivity). Its variance is
 *   var = readNoise² + F² · G · (value − offset),
 * F² the excess noise factor of electron multiplication: F² = 2 for an EMCCD at EM gain > 1 (the
 * stochastic multiplication doubles the shot-noise variance), 1 without EM gain (CCD, sCMOS).
 *
 * The solver's model is var = readNoise² + g · (S − offset) with g its "gain", and its fluxes are
 * ADU / g. So it is given the noise gain g = F² · G (right weights, right Fisher uncertainties), and
 * its fluxes, flux errors and backgrounds are multiplied by F² afterwards to be photoelectrons:
 * ADU / G = (ADU / (F² G)) · F². Positions, position errors and snr need no change.
 *
 * "Photons" in catalogues are detected photons, i.e. photoelectrons (the quantum efficiency is not
 * applied, as in ThunderSTORM and Picasso).
 */

import type { Source } from './catalog/types.js';
import { InvalidOptionError } from './errors.js';
import type { NoiseOptions } from './solver/noise.js';

/** Camera settings as given by the user or the file; every field optional. */
export interface CameraSettings {
  /** Camera pixel size in the sample plane (after the objective), nm (> 0). Positions in nm = pixels × this. */
  pixelSizeNm?: number;
  /** Base level (bias, offset) of a pixel that sees no light, ADU. Default 0. */
  offset?: number;
  /**
   * Photoelectrons per ADU (> 0): the camera's conversion factor (electrons after any EM
   * multiplication per A/D count). Mutually exclusive with `gain`.
   */
  electronsPerAdu?: number;
  /** EM gain (≥ 1; 1 or absent: no electron multiplication). Needs `electronsPerAdu`. */
  emGain?: number;
  /**
   * Overall ADU per detected photon (> 0), the CLI's `--gain`: for cameras described that way.
   * Mutually exclusive with `electronsPerAdu` and `emGain`.
   */
  gain?: number;
  /** Read noise, ADU rms (≥ 0). Default: folded into the measured sky noise. */
  readNoise?: number;
}

/** Validated camera: what the solver and the catalogue need. */
export interface Camera {
  pixelSizeNm: number | undefined;
  offset: number | undefined;
  /** G: ADU per detected photon (photoelectron), or undefined when the camera is not calibrated. */
  aduPerPhoton: number | undefined;
  /** EM gain, 1 without electron multiplication. */
  emGain: number;
  /** F², the excess noise factor: 2 when emGain > 1, else 1. */
  excessNoise: number;
  readNoise: number | undefined;
}

function check(name: string, v: number | undefined, ok: (v: number) => boolean, rule: string): void {
  if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && ok(v))) throw new InvalidOptionError(name, v, rule);
}

/** Check camera settings once; throws InvalidOptionError naming the option (CLI names). */
export function validateCamera(c: CameraSettings = {}): Camera {
  check('--pixel-size', c.pixelSizeNm, (v) => v > 0, 'must be a number of nm > 0');
  check('--offset', c.offset, () => true, 'must be a finite number of ADU');
  check('--e-per-adu', c.electronsPerAdu, (v) => v > 0, 'must be a number of photoelectrons per ADU > 0');
  check('--em-gain', c.emGain, (v) => v >= 1, 'must be a number ≥ 1 (1: no electron multiplication)');
  check('--gain', c.gain, (v) => v > 0, 'must be a number of ADU per photon > 0');
  check('--read-noise', c.readNoise, (v) => v >= 0, 'must be a number ≥ 0 (ADU rms)');
  if (c.gain !== undefined && c.electronsPerAdu !== undefined) {
    throw new InvalidOptionError('--gain', c.gain, 'contradicts --e-per-adu: give the camera either as ADU per photon (--gain) or as photoelectrons per ADU (--e-per-adu, with --em-gain)');
  }
  if (c.emGain !== undefined && c.electronsPerAdu === undefined) {
    throw new InvalidOptionError('--em-gain', c.emGain, 'needs --e-per-adu (photoelectrons per ADU): ADU per photon is then em-gain / e-per-adu');
  }
  const emGain = c.emGain ?? 1;
  const aduPerPhoton = c.gain ?? (c.electronsPerAdu !== undefined ? emGain / c.electronsPerAdu : undefined);
  return {
    pixelSizeNm: c.pixelSizeNm,
    offset: c.offset,
    aduPerPhoton,
    emGain,
    excessNoise: emGain > 1 ? 2 : 1,
    readNoise: c.readNoise,
  };
}

/** The solver's noise options for this camera (noise gain F²·G; see the module comment). */
export function cameraNoiseOptions(camera: Camera): NoiseOptions {
  const n: NoiseOptions = {};
  if (camera.aduPerPhoton !== undefined) n.gain = camera.excessNoise * camera.aduPerPhoton;
  if (camera.offset !== undefined) n.offset = camera.offset;
  if (camera.readNoise !== undefined) n.readNoise = camera.readNoise;
  return n;
}

/**
 * Sources from the solver run with cameraNoiseOptions, in photons: flux, flux error and background
 * × F² (a no-op without EM gain or without a gain). Returns new objects.
 */
export function sourcesInPhotons(sources: readonly Source[], camera: Camera): Source[] {
  const k = camera.aduPerPhoton !== undefined ? camera.excessNoise : 1;
  return sources.map((s) => {
    const r: Source = { ...s, flux: s.flux * k, fluxErr: s.fluxErr * k };
    if (s.background !== undefined) r.background = s.background * k;
    return r;
  });
}

/** Position uncertainty of one coordinate, pixels: the quadratic mean √((x_err² + y_err²)/2) (as ThunderSTORM's uncertainty_xy). */
export function positionUncertaintyPx(s: Pick<Source, 'xErr' | 'yErr'>): number {
  return Math.sqrt((s.xErr * s.xErr + s.yErr * s.yErr) / 2);
}

/**
 * Position in nm from the corner of the first pixel (ThunderSTORM's and ImageJ's origin):
 * (x + 0.5) · pixel size, so nm coordinates agree in every export and rendering.
 */
export function pixelToNm(x: number, pixelSizeNm: number): number {
  return (x + 0.5) * pixelSizeNm;
}

/** Inverse of pixelToNm. */
export function nmToPixel(xNm: number, pixelSizeNm: number): number {
  return xNm / pixelSizeNm - 0.5;
}

/**
 * Camera fields of an OME-XML document (an OME-TIFF's ImageDescription), where present:
 * Detector/DetectorSettings `Offset` (ADU) and, for `Type="EMCCD"` detectors, `AmplificationGain`
 * as the EM gain. OME's `Gain` attribute is unitless and used by acquisition software for
 * different quantities (ADU per electron, electrons per ADU, a preamp setting), so it is not
 * interpreted. DetectorSettings (per channel, the values of this acquisition) win over the
 * Detector's defaults. Returns an empty object when nothing is found.
 */
export function cameraFromOmeXml(xml: string): Pick<CameraSettings, 'offset' | 'emGain'> {
  const out: Pick<CameraSettings, 'offset' | 'emGain'> = {};
  if (!/<(?:[\w.-]+:)?OME[\s>]/.test(xml)) return out;
  const attrs = (tag: string): Map<string, string>[] => {
    const found: Map<string, string>[] = [];
    const re = new RegExp(`<(?:[\\w.-]+:)?${tag}\\b([^>]*)>`, 'g');
    for (const m of xml.matchAll(re)) {
      const a = new Map<string, string>();
      for (const kv of m[1]!.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) a.set(kv[1]!, kv[2] ?? kv[3] ?? '');
      found.push(a);
    }
    return found;
  };
  const num = (v: string | undefined): number | undefined => {
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const detectors = attrs('Detector');
  const settings = attrs('DetectorSettings');
  const emccd = new Set(detectors.filter((d) => (d.get('Type') ?? '').toUpperCase() === 'EMCCD').map((d) => d.get('ID')));
  for (const d of detectors) {
    const off = num(d.get('Offset'));
    if (off !== undefined) out.offset = off;
    const em = num(d.get('AmplificationGain'));
    if (em !== undefined && em >= 1 && emccd.has(d.get('ID'))) out.emGain = em;
  }
  for (const s of settings) {
    const off = num(s.get('Offset'));
    if (off !== undefined) out.offset = off;
    // DetectorSettings has no AmplificationGain in the schema; some writers add it anyway.
    const em = num(s.get('AmplificationGain'));
    if (em !== undefined && em >= 1 && emccd.has(s.get('ID'))) out.emGain = em;
  }
  return out;
}
