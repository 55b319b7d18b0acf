/**
 * Catalogue CSV files: `cpgd detect` output and simulation truth.
 *
 * Written form: a header line, then one line per source, fields separated by commas, no spaces,
 * lines ending in '\n' (also after the last line). Numbers:
 * - id, frame: integers;
 * - x, y: fixed 6 decimals (rounding error ≤ 5e-7 px);
 * - flux, x_err, y_err, flux_err, snr: 7 significant digits, shortest form (e.g. `1234.568`,
 *   `0.0123`; exponent notation only below 1e-6 or from 1e21);
 * - ra, dec: degrees with 10 decimals (≤ 5e-11 deg = 0.2 µas, far below a pixel);
 * - x_nm, y_nm: fixed 4 decimals (nm); background, uncertainty_nm: 7 significant digits;
 * - non-finite values (NaN, ±Infinity, e.g. an snr with zero error or ra/dec of a source off the
 *   WCS) are written `NaN`, never as an empty field.
 * The reader accepts both forms (and the `background` column when present), ignores other columns,
 * their order and letter case, a UTF-8 BOM, CRLF line ends, blank lines and `#` comment lines.
 */

import { pixelToNm, positionUncertaintyPx } from '../camera.js';
import { FormatError, InvalidOptionError } from '../errors.js';
import type { Source, TruthSource } from './types.js';

export const CATALOG_COLUMNS = ['id', 'frame', 'x', 'y', 'flux', 'x_err', 'y_err', 'flux_err', 'snr'] as const;
export const WCS_COLUMNS = ['ra', 'dec'] as const;
export const TRUTH_COLUMNS = ['id', 'frame', 'x', 'y', 'flux'] as const;
/**
 * Localisation (SMLM) columns, after the others when a pixel size is known: `background` (per
 * pixel, flux units), `x_nm`, `y_nm` (nm from the corner of the first pixel, (x + 0.5) · pixel
 * size, as ThunderSTORM) and `uncertainty_nm` (√((x_err² + y_err²)/2) · pixel size).
 */
export const NM_COLUMNS = ['background', 'x_nm', 'y_nm', 'uncertainty_nm'] as const;

function fixed(v: number, decimals: number): string {
  if (!Number.isFinite(v)) return 'NaN';
  const s = v.toFixed(decimals);
  return s.startsWith('-') && Number(s) === 0 ? s.slice(1) : s; // no "-0.000000"
}

function sig(v: number, digits = 7): string {
  if (!Number.isFinite(v)) return 'NaN';
  const r = Number(v.toPrecision(digits));
  return r === 0 ? '0' : String(r);
}

function int(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v)) : 'NaN';
}

export interface CatalogCsvOptions {
  /** Add `ra,dec` columns (degrees); sources without them get `NaN`. Default false. */
  wcs?: boolean;
  /**
   * Camera pixel size, nm (> 0): adds the NM_COLUMNS at the end (after `ra,dec`). Default: none,
   * and the columns are exactly the contract's.
   */
  pixelSizeNm?: number;
}

/** The CSV text of a detection catalogue (see the module comment for the number formats). */
export function formatCatalogCsv(sources: readonly Source[], options: CatalogCsvOptions = {}): string {
  const wcs = options.wcs === true;
  const px = options.pixelSizeNm;
  if (px !== undefined && !(Number.isFinite(px) && px > 0)) throw new InvalidOptionError('--pixel-size', px, 'must be a number of nm > 0');
  const header: string[] = [...CATALOG_COLUMNS];
  if (wcs) header.push(...WCS_COLUMNS);
  if (px !== undefined) header.push(...NM_COLUMNS);
  const lines = [header.join(',')];
  for (const s of sources) {
    const f = [int(s.id), int(s.frame), fixed(s.x, 6), fixed(s.y, 6), sig(s.flux), sig(s.xErr), sig(s.yErr), sig(s.fluxErr), sig(s.snr)];
    if (wcs) f.push(fixed(s.ra ?? Number.NaN, 10), fixed(s.dec ?? Number.NaN, 10));
    if (px !== undefined) {
      f.push(sig(s.background ?? Number.NaN), fixed(pixelToNm(s.x, px), 4), fixed(pixelToNm(s.y, px), 4), sig(positionUncertaintyPx(s) * px));
    }
    lines.push(f.join(','));
  }
  return lines.join('\n') + '\n';
}

/** The CSV text of simulation truth: `id,frame,x,y,flux`. */
export function formatTruthCsv(truth: readonly TruthSource[]): string {
  const lines: string[] = [TRUTH_COLUMNS.join(',')];
  for (const s of truth) lines.push([int(s.id), int(s.frame), fixed(s.x, 6), fixed(s.y, 6), sig(s.flux)].join(','));
  return lines.join('\n') + '\n';
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE: Record<string, number> = {
  nan: Number.NaN,
  '+nan': Number.NaN,
  '-nan': Number.NaN,
  inf: Infinity,
  '+inf': Infinity,
  infinity: Infinity,
  '+infinity': Infinity,
  '-inf': -Infinity,
  '-infinity': -Infinity,
};

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

/**
 * Read a catalogue CSV in either the detection or the truth form. Columns id, frame, x, y and flux
 * are required; x_err, y_err, flux_err and snr are NaN when absent; ra, dec and background are set
 * when their columns are present (an empty ra/dec field leaves them unset). Throws
 * FormatError('csv', …, name) naming the line for missing columns, ragged lines, non-numeric
 * fields or non-integer ids and frames.
 */
export function parseCatalogCsv(text: string, name?: string): Source[] {
  const fail = (reason: string): never => {
    throw new FormatError('csv', reason, name);
  };
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  let li = 0;
  const isSkippable = (l: string): boolean => l.trim() === '' || l.trimStart().startsWith('#');
  while (li < lines.length && isSkippable(lines[li])) li++;
  if (li >= lines.length) fail('no header line (expected id,frame,x,y,flux,...)');
  const header = lines[li].split(',').map((h) => unquote(h).toLowerCase());
  const col = (c: string): number => header.indexOf(c);
  const missing = TRUTH_COLUMNS.filter((c) => col(c) < 0);
  if (missing.length > 0) fail(`line ${li + 1}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const at = {
    id: col('id'),
    frame: col('frame'),
    x: col('x'),
    y: col('y'),
    flux: col('flux'),
    xErr: col('x_err'),
    yErr: col('y_err'),
    fluxErr: col('flux_err'),
    snr: col('snr'),
    ra: col('ra'),
    dec: col('dec'),
    background: col('background'),
  };

  const out: Source[] = [];
  for (li++; li < lines.length; li++) {
    const line = lines[li];
    if (isSkippable(line)) continue;
    const fields = line.split(',');
    const lineNo = li + 1;
    if (fields.length !== header.length) fail(`line ${lineNo}: ${fields.length} fields, the header has ${header.length}`);
    const num = (index: number, column: string, optional = false): number | undefined => {
      const raw = unquote(fields[index]);
      if (raw === '') {
        if (optional) return undefined;
        fail(`line ${lineNo}: column ${column} is empty`);
      }
      const nf = NON_FINITE[raw.toLowerCase()];
      if (nf !== undefined) return nf;
      if (!NUMBER_RE.test(raw)) fail(`line ${lineNo}: column ${column}: ${JSON.stringify(raw.slice(0, 40))} is not a number`);
      return Number(raw);
    };
    const whole = (index: number, column: string): number => {
      const v = num(index, column) as number;
      if (!Number.isSafeInteger(v) || v < 0) fail(`line ${lineNo}: column ${column} must be a whole number ≥ 0 (got ${fields[index].trim()})`);
      return v;
    };
    const opt = (index: number, column: string): number => (index < 0 ? Number.NaN : (num(index, column, true) ?? Number.NaN));
    const s: Source = {
      id: whole(at.id, 'id'),
      frame: whole(at.frame, 'frame'),
      x: num(at.x, 'x') as number,
      y: num(at.y, 'y') as number,
      flux: num(at.flux, 'flux') as number,
      xErr: opt(at.xErr, 'x_err'),
      yErr: opt(at.yErr, 'y_err'),
      fluxErr: opt(at.fluxErr, 'flux_err'),
      snr: opt(at.snr, 'snr'),
    };
    if (at.background >= 0) {
      const b = num(at.background, 'background', true);
      if (b !== undefined) s.background = b;
    }
    if (at.ra >= 0) {
      const ra = num(at.ra, 'ra', true);
      if (ra !== undefined) s.ra = ra;
    }
    if (at.dec >= 0) {
      const dec = num(at.dec, 'dec', true);
      if (dec !== undefined) s.dec = dec;
    }
    out.push(s);
  }
  return out;
}
