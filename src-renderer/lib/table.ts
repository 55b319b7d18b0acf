/**
 * The source table: sorting by a column and filtering by snr and flux ranges. Bounds are typed
 * as text; an empty bound is no bound. Pure.
 */
import type { SourceRow } from '../../src-main/shared/ipc.js';

export const SORT_KEYS = ['id', 'x', 'y', 'flux', 'fluxErr', 'snr'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

export interface RangeFilter {
  snrMin: number | null;
  snrMax: number | null;
  fluxMin: number | null;
  fluxMax: number | null;
}

export const NO_FILTER: RangeFilter = { snrMin: null, snrMax: null, fluxMin: null, fluxMax: null };

/** A typed bound: a number, null for an empty field, or undefined when the text is not a number. */
export function parseBound(text: string): number | null | undefined {
  const t = text.trim();
  if (t === '') return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

const inRange = (v: number, lo: number | null, hi: number | null) => (lo === null || v >= lo) && (hi === null || v <= hi);

/** Rows within every bound (a NaN snr fails any snr bound). */
export function filterSources<S extends SourceRow>(rows: readonly S[], f: RangeFilter): S[] {
  return rows.filter((s) => inRange(s.snr, f.snrMin, f.snrMax) && inRange(s.flux, f.fluxMin, f.fluxMax));
}

/** A sorted copy; NaN last whatever the direction; ties by id. */
export function sortSources<S extends SourceRow>(rows: readonly S[], key: SortKey, dir: SortDir): S[] {
  const k = dir === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = a[key];
    const vb = b[key];
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
  return { key, dir: key === 'flux' || key === 'snr' || key === 'fluxErr' ? 'desc' : 'asc' };
}
