/**
 * ThunderSTORM-compatible CSV (the ImageJ SMLM plug-in's "Export results" → CSV, readable by its
 * "Import results" and by tools that read ThunderSTORM tables, e.g. pandas scripts keyed on
 * `"x [nm]"`).
 *
 * Header, exactly as ThunderSTORM writes it (every label in double quotes, unit in brackets):
 * `"id","frame","x [nm]","y [nm]","sigma [nm]","intensity [photon]","offset [photon]","bkgstd [photon]","uncertainty [nm]"`
 * then one unquoted line per source, fields separated by commas, lines ending in '\n'.
 *
 * Conventions:
 * - frame: 1-based (ThunderSTORM numbers ImageJ stack slices from 1; its importer adds the starting
 *   frame − 1 to the column), so our 0-based frame f is written f + 1.
 * - x, y [nm]: (x_px + 0.5) · pixelSizeNm, likewise y. ThunderSTORM measures positions from the
 *   top-left corner of the first pixel (ImageJ's convention: pixel i spans [i, i + 1), its centre
 *   at i + 0.5); its fitters return the offset from the integer pixel of the candidate and then add
 *   `xInt + 0.5`. Our coordinates put the centre of the first pixel at 0, hence the + 0.5, so a
 *   source exactly on pixel (0, 0) is at (pixelSize/2, pixelSize/2) nm, as in ThunderSTORM, and
 *   renderings / ROIs of the two programs line up.
 * - sigma [nm]: the PSF's (Gaussian-equivalent) σ in pixels × pixelSizeNm; the same for every
 *   source, since the PSF is given, not fitted per source.
 * - intensity [photon]: flux · photonsPerUnit.
 * - offset [photon]: the local background per pixel (Source.background) · photonsPerUnit; NaN when
 *   the source has no background.
 * - bkgstd [photon]: the background noise per pixel. The catalogue holds no measured noise, so it
 *   is the Poisson value √(offset) (0 for a non-positive background, NaN without one).
 * - uncertainty [nm]: the 1σ localisation uncertainty of one coordinate, as ThunderSTORM's
 *   (single-axis) `uncertainty_xy`: the quadratic mean √((x_err² + y_err²)/2) of our Fisher errors
 *   × pixelSizeNm (equal to either for an isotropic fit; the larger error is not hidden by a
 *   plain mean).
 *
 * Numbers: id and frame integers; x, y fixed 4 decimals in nm (≤ 5e-5 nm rounding); the others
 * 7 significant digits, shortest form (exponent form only below 1e-6 or from 1e21, which Java's
 * Double.parseDouble, used by ThunderSTORM's importer, reads). Non-finite values are written
 * `NaN` (also read by Double.parseDouble); no thousands separators.
 */

import { InvalidOptionError } from '../errors.js';
import type { Source } from './types.js';

export const THUNDERSTORM_COLUMNS = [
  'id',
  'frame',
  'x [nm]',
  'y [nm]',
  'sigma [nm]',
  'intensity [photon]',
  'offset [photon]',
  'bkgstd [photon]',
  'uncertainty [nm]',
] as const;

/** The header line (without the line end). */
export const THUNDERSTORM_HEADER = THUNDERSTORM_COLUMNS.map((c) => `"${c}"`).join(',');

export interface ThunderstormOptions {
  /** Camera pixel size in the sample plane, nanometres (> 0). */
  pixelSizeNm: number;
  /** PSF σ in pixels (> 0): the Gaussian σ, or the Gaussian-equivalent FWHM / 2.3548. */
  psfSigmaPx: number;
  /** Photons per catalogue flux unit (> 0); 1 when the fluxes are already photons. Default 1. */
  photonsPerUnit?: number;
}

function positive(option: string, v: unknown, what: string): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new InvalidOptionError(option, v, `${what} must be a number > 0`);
  return v;
}

function fixed(v: number, decimals: number): string {
  if (!Number.isFinite(v)) return 'NaN';
  const s = v.toFixed(decimals);
  return s.startsWith('-') && Number(s) === 0 ? s.slice(1) : s;
}

function sig(v: number): string {
  if (!Number.isFinite(v)) return 'NaN';
  const r = Number(v.toPrecision(7));
  return r === 0 ? '0' : String(r);
}

function int(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v)) : 'NaN';
}

/**
 * The ThunderSTORM CSV text of a catalogue (see the module comment for units and conventions).
 * Throws InvalidOptionError for a pixel size, PSF σ or photon factor that is not a number > 0.
 */
export function formatThunderstormCsv(sources: readonly Source[], options: ThunderstormOptions): string {
  const px = positive('--pixel-size', options?.pixelSizeNm, 'the pixel size in nm');
  const sigmaPx = positive('--psf', options.psfSigmaPx, 'the PSF sigma in pixels');
  const ppu = positive('photonsPerUnit', options.photonsPerUnit ?? 1, 'the number of photons per flux unit');
  const sigmaNm = sig(sigmaPx * px);
  const lines: string[] = [THUNDERSTORM_HEADER];
  for (const s of sources) {
    const offset = s.background === undefined ? Number.NaN : s.background * ppu;
    const bkgstd = Number.isFinite(offset) ? Math.sqrt(Math.max(0, offset)) : Number.NaN;
    const uncertainty = Math.sqrt((s.xErr * s.xErr + s.yErr * s.yErr) / 2) * px;
    lines.push(
      [
        int(s.id),
        int(s.frame + 1),
        fixed((s.x + 0.5) * px, 4),
        fixed((s.y + 0.5) * px, 4),
        sigmaNm,
        sig(s.flux * ppu),
        sig(offset),
        sig(bkgstd),
        sig(uncertainty),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}
