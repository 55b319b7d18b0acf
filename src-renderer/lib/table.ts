/**
 * The source table: sorting by a column and filtering by snr, flux (photons with a calibrated
 * camera) and position uncertainty in nm. Bounds are typed as text; an empty bound is no bound.
 * The same bounds go to main for the exports and renderings (core filterLocalisations, plus the
 * snr ceiling), so the table counts what they hold. Pure.
 */
import type { LocalisationFilterSetting, SourceRow } from '../../src-main/shared/ipc.js';

export const SORT_KEYS = ['id', 'frame', 'x', 'y', 'flux', 'fluxErr', 'uncertainty', 'background', 'snr'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

export interface RangeFilter {
  snrMin: number | null;
  snrMax: number | null;
  fluxMin: number | null;
  fluxMax: number | null;
  /** Largest position uncertainty √((x_err² + y_err²)/2), nm (needs the pixel size). */
  uncertaintyMax?: number | null;
}

export const NO_FILTER: RangeFilter = { snrMin: null, snrMax: null, fluxMin: null, fluxMax: null, uncertaintyMax: null };

/** Position uncertainty of one coordinate, nm: the quadratic mean of the errors (as ThunderSTORM's uncertainty_xy and core/camera.ts). */
export function uncertaintyNm(s: Pick<SourceRow, 'xErr' | 'yErr'>, pixelSizeNm: number): number {
  return Math.sqrt((s.xErr * s.xErr + s.yErr * s.yErr) / 2) * pixelSizeNm;
}

/** The bounds main applies to exports and renderings (absent bounds left out). */
export function filterSetting(f: RangeFilter): LocalisationFilterSetting {
  const out: LocalisationFilterSetting = {};
  if (f.snrMin !== null) out.minSnr = f.snrMin;
  if (f.snrMax !== null) out.maxSnr = f.snrMax;
  if (f.fluxMin !== null) out.minPhotons = f.fluxMin;
  if (f.fluxMax !== null) out.maxPhotons = f.fluxMax;
  if (f.uncertaintyMax != null) out.maxUncertaintyNm = f.uncertaintyMax;
  return out;
}

/** A typed bound: a number, null for an empty field, or undefined when the text is not a number. */
export function parseBound(text: string): number | null | undefined {
  const t = text.trim();
  if (t === '') return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

const inRange = (v: number, lo: number | null, hi: number | null) => (lo === null || v >= lo) && (hi === null || v <= hi);

/**
 * Rows within every bound (a NaN value fails any bound on it). The uncertainty bound needs the
 * camera pixel size; without one it keeps nothing (main refuses it too).
 */
export function filterSources<S extends SourceRow>(rows: readonly S[], f: RangeFilter, pixelSizeNm: number | null = null): S[] {
  const u = f.uncertaintyMax ?? null;
  return rows.filter(
    (s) =>
      inRange(s.snr, f.snrMin, f.snrMax) &&
      inRange(s.flux, f.fluxMin, f.fluxMax) &&
      (u === null || (pixelSizeNm !== null && uncertaintyNm(s, pixelSizeNm) <= u)),
  );
}

/** A sorted copy; NaN last whatever the direction; ties by id. */
export function sortSources<S extends SourceRow>(rows: readonly S[], key: SortKey, dir: SortDir): S[] {
  const k = dir === 'asc' ? 1 : -1;
  const value = (s: S): number => (key === 'uncertainty' ? uncertaintyNm(s, 1) : key === 'background' ? (s.background ?? NaN) : s[key]);
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    const na = Number.isNaN(va);
    const nb = Number.isNaN(vb);
    if (na || nb) return na && nb ? a.id - b.id : na ? 1 : -1;
    return va === vb ? a.id - b.id : (va < vb ? -1 : 1) * k;
  });
}

/** Clicking a column header: a new column sorts in its natural direction, the same one flips. */
export function nextSort(current: { key: SortKey; dir: SortDir }, key: SortKey): { key: SortKey; dir: SortDir } {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  // Brightest and most significant first; positions and ids ascending.
  return { key, dir: key === 'flux' || key === 'snr' || key === 'fluxErr' || key === 'background' ? 'desc' : 'asc' };
}
