import { describe, expect, it } from 'vitest';
import { filterLocalisations, isActiveFilter, validateLocalisationFilter } from '../../../src-main/core/catalog/filter.js';
import type { Source } from '../../../src-main/core/catalog/types.js';
import { InvalidOptionError } from '../../../src-main/core/errors.js';

const src = (id: number, flux: number, err: number, snr: number): Source => ({ id, frame: 0, x: id, y: 0, flux, xErr: err, yErr: err, fluxErr: flux / snr, snr });

describe('localisation filters', () => {
  const all = [src(1, 500, 0.3, 4), src(2, 1500, 0.1, 20), src(3, 3000, 0.05, 40), src(4, 9000, 0.02, 80), { ...src(5, 2000, 0.1, 10), snr: Number.NaN }];

  it('keeps the sources within every bound (inclusive) and renumbers them 1..N', () => {
    const kept = filterLocalisations(all, { minPhotons: 1500, maxPhotons: 3000 });
    expect(kept.map((s) => s.x)).toEqual([2, 3, 5]);
    expect(kept.map((s) => s.id)).toEqual([1, 2, 3]);
    // 0.1 px × 100 nm = 10 nm: inclusive; NaN snr fails an snr bound.
    expect(filterLocalisations(all, { maxUncertaintyNm: 10, pixelSizeNm: 100 }).map((s) => s.x)).toEqual([2, 3, 4, 5]);
    expect(filterLocalisations(all, { minSnr: 20 }).map((s) => s.x)).toEqual([2, 3, 4]);
    expect(filterLocalisations(all, {})).toHaveLength(5);
    expect(all[1].id).toBe(2); // the input is not modified
    expect(isActiveFilter({})).toBe(false);
    expect(isActiveFilter({ pixelSizeNm: 100 })).toBe(false);
    expect(isActiveFilter({ maxPhotons: 1 })).toBe(true);
  });

  it('rejects bounds that make no sense, naming the option', () => {
    for (const [f, option] of [
      [{ maxUncertaintyNm: 20 }, '--max-uncertainty'],
      [{ maxUncertaintyNm: 0, pixelSizeNm: 100 }, '--max-uncertainty'],
      [{ minPhotons: 10, maxPhotons: 5 }, '--max-photons'],
      [{ minSnr: -1 }, '--min-snr'],
      [{ minPhotons: Number.NaN }, '--min-photons'],
    ] as const) {
      expect(() => validateLocalisationFilter(f), JSON.stringify(f)).toThrow(InvalidOptionError);
      try {
        validateLocalisationFilter(f);
      } catch (e) {
        expect((e as InvalidOptionError).option).toBe(option);
      }
    }
  });
});
