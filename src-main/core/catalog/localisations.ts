/**
 * Localisation tables for rendering and drift correction, read from either export:
 * - ThunderSTORM CSV (ours or ThunderSTORM's own): columns `x [nm]`, `y [nm]`, `frame` (1-based),
 *   optional `uncertainty [nm]` (or `uncertainty_xy [nm]`) and `intensity [photon]`; labels may be
 *   quoted; other columns are ignored.
 * - the project CSV (`cpgd detect`): with `x_nm`, `y_nm`, `uncertainty_nm` when it was written with
 *   a pixel size; otherwise x, y, x_err, y_err in pixels, converted with the camera pixel size
 *   (nm = (px + 0.5) · size, the ThunderSTORM origin), which must then be given.
 * Frames come out 0-based in both cases.
 */

import { pixelToNm, positionUncertaintyPx } from '../camera.js';
import { CpgdError, FormatError, InvalidOptionError } from '../errors.js';
import type { Localisation } from '../render.js';
import { parseCatalogCsv } from './csv.js';

export interface ReadLocalisationsOptions {
  /** The file name, for messages. */
  name?: string;
  /** Camera pixel size, nm: needed for a project CSV without nm columns, ignored otherwise. */
  cameraPixelSizeNm?: number;
}

export interface LocalisationTable {
  format: 'thunderstorm' | 'cpgd';
  localisations: Localisation[];
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

/** Read a ThunderSTORM or project CSV; FormatError naming the file and line for bad content. */
export function readLocalisationsCsv(text: string, options: ReadLocalisationsOptions = {}): LocalisationTable {
  const name = options.name;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  let li = 0;
  while (li < lines.length && (lines[li].trim() === '' || lines[li].trimStart().startsWith('#'))) li++;
  if (li >= lines.length) throw new FormatError('csv', 'no header line', name);
  const header = lines[li].split(',').map((h) => unquote(h).toLowerCase());

  if (header.includes('x [nm]')) {
    const col = (...names: string[]) => names.map((n) => header.indexOf(n)).find((i) => i >= 0) ?? -1;
    const at = { frame: col('frame'), x: col('x [nm]'), y: col('y [nm]'), u: col('uncertainty [nm]', 'uncertainty_xy [nm]'), i: col('intensity [photon]', 'intensity') };
    if (at.y < 0) throw new FormatError('csv', `line ${li + 1}: a ThunderSTORM table needs "y [nm]"`, name);
    const out: Localisation[] = [];
    for (let k = li + 1; k < lines.length; k++) {
      const line = lines[k];
      if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
      const f = line.split(',');
      if (f.length !== header.length) throw new FormatError('csv', `line ${k + 1}: ${f.length} fields, the header has ${header.length}`, name);
      const num = (i: number, what: string): number => {
        if (i < 0) return Number.NaN;
        const raw = unquote(f[i]);
        const v = /^nan$/i.test(raw) ? Number.NaN : Number(raw);
        if (raw === '' || (Number.isNaN(v) && !/^nan$/i.test(raw))) throw new FormatError('csv', `line ${k + 1}: column ${what}: ${JSON.stringify(raw.slice(0, 40))} is not a number`, name);
        return v;
      };
      const frame = at.frame >= 0 ? num(at.frame, 'frame') - 1 : 0;
      if (!(Number.isInteger(frame) && frame >= 0)) throw new FormatError('csv', `line ${k + 1}: frame must be a whole number ≥ 1 (ThunderSTORM frames are 1-based)`, name);
      out.push({ frame, xNm: num(at.x, 'x [nm]'), yNm: num(at.y, 'y [nm]'), uncertaintyNm: num(at.u, 'uncertainty [nm]'), photons: num(at.i, 'intensity [photon]') });
    }
    return { format: 'thunderstorm', localisations: out };
  }

  const sources = parseCatalogCsv(text, name);
  const has = (c: string) => header.includes(c);
  if (has('x_nm') && has('y_nm')) {
    // Read the nm columns by name (the catalogue reader keeps only the contract's fields).
    const ix = header.indexOf('x_nm');
    const iy = header.indexOf('y_nm');
    const iu = header.indexOf('uncertainty_nm');
    const rows = lines.slice(li + 1).filter((l) => !(l.trim() === '' || l.trimStart().startsWith('#')));
    const value = (raw: string | undefined) => (raw === undefined || /^nan$/i.test(raw.trim()) ? Number.NaN : Number(raw));
    return {
      format: 'cpgd',
      localisations: sources.map((s, k) => {
        const f = rows[k].split(',');
        return { frame: s.frame, xNm: value(f[ix]), yNm: value(f[iy]), uncertaintyNm: iu >= 0 ? value(f[iu]) : Number.NaN, photons: s.flux };
      }),
    };
  }
  const px = options.cameraPixelSizeNm;
  if (px === undefined) {
    throw new CpgdError('invalid-option', '--camera-pixel-size: missing; the catalogue has positions in pixels only (no x_nm, y_nm columns), so the camera pixel size in nm is needed', name);
  }
  if (!(Number.isFinite(px) && px > 0)) throw new InvalidOptionError('--camera-pixel-size', px, 'must be a number of nm > 0');
  return {
    format: 'cpgd',
    localisations: sources.map((s) => ({ frame: s.frame, xNm: pixelToNm(s.x, px), yNm: pixelToNm(s.y, px), uncertaintyNm: positionUncertaintyPx(s) * px, photons: s.flux })),
  };
}
