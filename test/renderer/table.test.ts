import { describe, expect, it } from 'vitest';
import type { SourceRow } from '../../src-main/shared/ipc.js';
import { filterSources, NO_FILTER, nextSort, parseBound, sortSources } from '../../src-renderer/lib/table.js';

const row = (id: number, flux: number, snr: number, x = id): SourceRow => ({ id, frame: 0, x, y: 0, flux, xErr: 0.1, yErr: 0.1, fluxErr: flux / snr, snr });
const rows = [row(1, 500, 50), row(2, 80, 4), row(3, 2000, 120), row(4, 300, NaN), row(5, 500, 20)];

describe('source table', () => {
  it('filters by snr and flux ranges, bounds inclusive, empty bounds open', () => {
    expect(filterSources(rows, NO_FILTER).length).toBe(5);
    expect(filterSources(rows, { ...NO_FILTER, snrMin: 5 }).map((r) => r.id)).toEqual([1, 3, 5]);
    expect(filterSources(rows, { ...NO_FILTER, fluxMin: 300, fluxMax: 500 }).map((r) => r.id)).toEqual([1, 4, 5]);
    expect(filterSources(rows, { snrMin: 10, snrMax: 100, fluxMin: null, fluxMax: 1000 }).map((r) => r.id)).toEqual([1, 5]);
  });

  it('sorts either way with NaN last and ties by id', () => {
    expect(sortSources(rows, 'snr', 'desc').map((r) => r.id)).toEqual([3, 1, 5, 2, 4]);
    expect(sortSources(rows, 'snr', 'asc').map((r) => r.id)).toEqual([2, 5, 1, 3, 4]);
    expect(sortSources(rows, 'flux', 'desc').map((r) => r.id)).toEqual([3, 1, 5, 4, 2]);
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a header click flips the direction of the same column, or picks the natural one', () => {
    expect(nextSort({ key: 'id', dir: 'asc' }, 'id')).toEqual({ key: 'id', dir: 'desc' });
    expect(nextSort({ key: 'id', dir: 'asc' }, 'flux')).toEqual({ key: 'flux', dir: 'desc' });
    expect(nextSort({ key: 'flux', dir: 'desc' }, 'x')).toEqual({ key: 'x', dir: 'asc' });
  });

  it('parses typed bounds', () => {
    expect(parseBound('')).toBeNull();
    expect(parseBound(' 12.5 ')).toBe(12.5);
    expect(parseBound('1e3')).toBe(1000);
    expect(parseBound('abc')).toBeUndefined();
  });
});
