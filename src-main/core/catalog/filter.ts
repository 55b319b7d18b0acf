/**
 * Filters on localisations, as SMLM users apply them before rendering (ThunderSTORM's
 * "filter" expressions on intensity, uncertainty...): each bound is optional and inclusive; a
 * source whose filtered quantity is NaN fails any bound on it. The kept sources are renumbered
 * 1..N in their order (ids are running numbers within a catalogue).
 */

import { positionUncertaintyPx } from '../camera.js';
import { InvalidOptionError } from '../errors.js';
import type { Source } from './types.js';

export interface LocalisationFilter {
  /** Keep snr = flux / flux_err ≥ this (≥ 0). */
  minSnr?: number;
  /** Keep flux ≥ this, flux units (photons with a calibrated camera). */
  minPhotons?: number;
  /** Keep flux ≤ this, flux units. */
  maxPhotons?: number;
  /** Keep position uncertainty √((x_err² + y_err²)/2) ≤ this, nm (> 0); needs pixelSizeNm. */
  maxUncertaintyNm?: number;
  /** Camera pixel size, nm (> 0): the scale of maxUncertaintyNm. */
  pixelSizeNm?: number;
}

/** Check a filter once; throws InvalidOptionError naming the CLI option. */
export function validateLocalisationFilter(f: LocalisationFilter): LocalisationFilter {
  const bad = (name: string, v: unknown, rule: string): never => {
    throw new InvalidOptionError(name, v, rule);
  };
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (f.minSnr !== undefined && !(finite(f.minSnr) && f.minSnr >= 0)) bad('--min-snr', f.minSnr, 'must be a number ≥ 0');
  if (f.minPhotons !== undefined && !finite(f.minPhotons)) bad('--min-photons', f.minPhotons, 'must be a finite number');
  if (f.maxPhotons !== undefined && !finite(f.maxPhotons)) bad('--max-photons', f.maxPhotons, 'must be a finite number');
  if (f.minPhotons !== undefined && f.maxPhotons !== undefined && f.minPhotons > f.maxPhotons) {
    bad('--max-photons', f.maxPhotons, `is below --min-photons ${f.minPhotons}: nothing could be kept`);
  }
  if (f.maxUncertaintyNm !== undefined) {
    if (!(finite(f.maxUncertaintyNm) && f.maxUncertaintyNm > 0)) bad('--max-uncertainty', f.maxUncertaintyNm, 'must be a number of nm > 0');
    if (f.pixelSizeNm === undefined) bad('--max-uncertainty', f.maxUncertaintyNm, 'is in nm and needs the camera pixel size (--pixel-size NM, or a file that gives it)');
  }
  if (f.pixelSizeNm !== undefined && !(finite(f.pixelSizeNm) && f.pixelSizeNm > 0)) bad('--pixel-size', f.pixelSizeNm, 'must be a number of nm > 0');
  return { ...f };
}

/** true when the filter has at least one bound. */
export function isActiveFilter(f: LocalisationFilter): boolean {
  return f.minSnr !== undefined || f.minPhotons !== undefined || f.maxPhotons !== undefined || f.maxUncertaintyNm !== undefined;
}

/** The sources that pass every bound, renumbered 1..N (new objects). */
export function filterLocalisations(sources: readonly Source[], filter: LocalisationFilter): Source[] {
  const f = validateLocalisationFilter(filter);
  const out: Source[] = [];
  for (const s of sources) {
    if (f.minSnr !== undefined && !(s.snr >= f.minSnr)) continue;
    if (f.minPhotons !== undefined && !(s.flux >= f.minPhotons)) continue;
    if (f.maxPhotons !== undefined && !(s.flux <= f.maxPhotons)) continue;
    if (f.maxUncertaintyNm !== undefined && !(positionUncertaintyPx(s) * f.pixelSizeNm! <= f.maxUncertaintyNm)) continue;
    out.push({ ...s, id: out.length + 1 });
  }
  return out;
}
