import { describe, expect, it } from 'vitest';
import { formatCatalogCsv, formatTruthCsv, parseCatalogCsv } from '../../../src-main/core/catalog/csv.js';
import type { Source, TruthSource } from '../../../src-main/core/catalog/types.js';
import { FormatError } from '../../../src-main/core/errors.js';
import { Rng } from '../../../src-main/core/rng.js';

function randomSources(n: number, seed: number, wcs: boolean): Source[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const flux = Math.exp(r.range(Math.log(10), Math.log(1e6)));
    const fluxErr = Math.sqrt(flux) * r.range(1, 3);
    const s: Source = {
      id: i + 1,
      frame: r.int(5),
      x: r.range(-0.5, 4095.5),
      y: r.range(-0.5, 4095.5),
      flux,
      xErr: r.range(1e-4, 0.5),
      yErr: r.range(1e-4, 0.5),
      fluxErr,
      snr: flux / fluxErr,
    };
    if (wcs) {
      s.ra = r.range(0, 360);
      s.dec = r.range(-90, 90);
    }
    return s;
  });
}

describe('catalogue CSV', () => {
  it('writes the header, one line per source, no spaces, \\n line ends', () => {
    const text = formatCatalogCsv(randomSources(3, 1, false));
    const lines = text.split('\n');
    expect(lines[0]).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
    expect(text).not.toMatch(/[ \r\t]/);
    for (const l of lines.slice(1, 4)) expect(l.split(',')).toHaveLength(9);
    expect(formatCatalogCsv([], { wcs: true })).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr,ra,dec\n');
  });

  it('formats numbers as documented', () => {
    const s: Source = { id: 7, frame: 2, x: 12.3456789, y: -0.0000001, flux: 1234.56789, xErr: 0.01234567, yErr: 2, fluxErr: 0, snr: Infinity, ra: 150.123456789012, dec: Number.NaN };
    expect(formatCatalogCsv([s])).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr\n7,2,12.345679,0.000000,1234.568,0.01234567,2,0,NaN\n');
    expect(formatCatalogCsv([s], { wcs: true }).split('\n')[1]).toBe('7,2,12.345679,0.000000,1234.568,0.01234567,2,0,NaN,150.1234567890,NaN');
    const { ra: _ra, dec: _dec, ...noWcs } = s;
    expect(formatCatalogCsv([noWcs], { wcs: true }).split('\n')[1].endsWith(',NaN,NaN')).toBe(true);
  });

  it('round-trips positions to 1e-6 px, ra/dec to 1e-9 deg and the rest to 7 significant digits', () => {
    for (const wcs of [false, true]) {
      const src = randomSources(500, wcs ? 2 : 3, wcs);
      const back = parseCatalogCsv(formatCatalogCsv(src, { wcs }));
      expect(back).toHaveLength(src.length);
      back.forEach((b, i) => {
        const s = src[i];
        expect(b.id).toBe(s.id);
        expect(b.frame).toBe(s.frame);
        expect(Math.abs(b.x - s.x)).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(b.y - s.y)).toBeLessThanOrEqual(1e-6);
        for (const k of ['flux', 'xErr', 'yErr', 'fluxErr', 'snr'] as const) expect(Math.abs(b[k] / s[k] - 1)).toBeLessThan(1e-6);
        if (wcs) {
          expect(Math.abs(b.ra! - s.ra!)).toBeLessThan(1e-9);
          expect(Math.abs(b.dec! - s.dec!)).toBeLessThan(1e-9);
        } else {
          expect(b.ra).toBeUndefined();
          expect(b.dec).toBeUndefined();
        }
      });
    }
  });

  it('writes and reads truth files', () => {
    const truth: TruthSource[] = [
      { id: 1, frame: 0, x: 3.25, y: 4.5, flux: 1000 },
      { id: 2, frame: 3, x: 10.1234567, y: 0, flux: 2345.678912 },
    ];
    const text = formatTruthCsv(truth);
    expect(text).toBe('id,frame,x,y,flux\n1,0,3.250000,4.500000,1000\n2,3,10.123457,0.000000,2345.679\n');
    const back = parseCatalogCsv(text);
    expect(back.map(({ id, frame, x, y, flux }) => ({ id, frame, x, y, flux }))).toEqual([
      { id: 1, frame: 0, x: 3.25, y: 4.5, flux: 1000 },
      { id: 2, frame: 3, x: 10.123457, y: 0, flux: 2345.679 },
    ]);
    expect(Number.isNaN(back[0].xErr) && Number.isNaN(back[0].snr)).toBe(true);
  });

  it('reads reordered, quoted and extra columns, CRLF, BOM, comments, blank lines and non-finite values', () => {
    const text = '\ufeff# made by hand\r\n"Flux","X","y","frame","id","note","background","snr","ra","dec"\r\n\r\n100,1.5,2.5,0,1,hello,3.5,NaN,,\r\n200,-1e-3,2E2,1,2,x,4,inf,10.5,-20.25\r\n';
    const s = parseCatalogCsv(text, 'hand.csv');
    expect(s).toHaveLength(2);
    expect(s[0]).toMatchObject({ id: 1, frame: 0, x: 1.5, y: 2.5, flux: 100, background: 3.5 });
    expect(Number.isNaN(s[0].snr)).toBe(true);
    expect(s[0].ra).toBeUndefined();
    expect(s[1]).toMatchObject({ id: 2, frame: 1, x: -0.001, y: 200, flux: 200, snr: Infinity, ra: 10.5, dec: -20.25 });
  });

  const bad: [string, string, RegExp][] = [
    ['empty text', '', /no header/],
    ['missing columns', 'id,frame,x,flux\n1,0,2,3\n', /missing columns? y/],
    ['two missing columns', 'id,x,y\n1,2,3\n', /missing columns frame, flux/],
    ['non-numeric field', 'id,frame,x,y,flux\n1,0,1,2,3\n2,0,abc,2,3\n', /line 3: column x: "abc" is not a number/],
    ['trailing garbage', 'id,frame,x,y,flux\n1,0,1.5px,2,3\n', /line 2: column x/],
    ['ragged line', 'id,frame,x,y,flux\n1,0,1,2\n', /line 2: 4 fields, the header has 5/],
    ['empty required field', 'id,frame,x,y,flux\n1,0,,2,3\n', /line 2: column x is empty/],
    ['fractional id', 'id,frame,x,y,flux\n1.5,0,1,2,3\n', /line 2: column id must be a whole number/],
    ['negative frame', 'id,frame,x,y,flux\n1,-1,1,2,3\n', /line 2: column frame/],
  ];
  for (const [what, text, re] of bad) {
    it(`rejects ${what} with a FormatError naming the file`, () => {
      let err: unknown;
      try {
        parseCatalogCsv(text, 'cat.csv');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).format).toBe('csv');
      expect((err as FormatError).file).toBe('cat.csv');
      expect((err as FormatError).message).toMatch(re);
    });
  }
});

describe('catalogue CSV with a pixel size (localisation columns)', () => {
  it('appends background,x_nm,y_nm,uncertainty_nm after the contract columns (and after ra,dec)', () => {
    const s: Source = { id: 1, frame: 2, x: 10.25, y: -0.5, flux: 1234, xErr: 0.03, yErr: 0.04, fluxErr: 50, snr: 24.68, background: 41.5 };
    const text = formatCatalogCsv([s], { pixelSizeNm: 100 });
    const [head, row] = text.split('\n');
    expect(head).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr,background,x_nm,y_nm,uncertainty_nm');
    const f = row.split(',');
    expect(f.slice(9).map(Number)).toEqual([41.5, 1075, 0, Number((Math.sqrt((0.03 ** 2 + 0.04 ** 2) / 2) * 100).toPrecision(7))]);
    expect(formatCatalogCsv([s], { pixelSizeNm: 100, wcs: true }).split('\n')[0]).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr,ra,dec,background,x_nm,y_nm,uncertainty_nm');
    // The reader still reads it (background included; the nm columns are extra).
    const back = parseCatalogCsv(text);
    expect(back[0]).toMatchObject({ id: 1, frame: 2, x: 10.25, y: -0.5, background: 41.5 });
    expect(() => formatCatalogCsv([s], { pixelSizeNm: 0 })).toThrow(/--pixel-size/);
  });
});
