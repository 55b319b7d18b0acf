import { describe, expect, it } from 'vitest';
import { formatThunderstormCsv, THUNDERSTORM_HEADER } from '../../../src-main/core/catalog/thunderstorm.js';
import type { Source } from '../../../src-main/core/catalog/types.js';
import { InvalidOptionError } from '../../../src-main/core/errors.js';

const HEADER = '"id","frame","x [nm]","y [nm]","sigma [nm]","intensity [photon]","offset [photon]","bkgstd [photon]","uncertainty [nm]"';

const src = (over: Partial<Source> = {}): Source => ({
  id: 1, frame: 0, x: 10.25, y: 3.5, flux: 1234.5, xErr: 0.03, yErr: 0.04, fluxErr: 40, snr: 30.8625, background: 16, ...over,
});

/** Split a ThunderSTORM CSV into its header labels (unquoted) and numeric rows. */
function parse(text: string): { labels: string[]; rows: number[][] } {
  const lines = text.split('\n');
  expect(lines.at(-1)).toBe('');
  const labels = lines[0].split(',').map((l) => l.replace(/^"(.*)"$/, '$1'));
  const rows = lines.slice(1, -1).map((l) => l.split(',').map(Number));
  return { labels, rows };
}

describe('ThunderSTORM CSV', () => {
  it('writes the header exactly as ThunderSTORM does', () => {
    expect(THUNDERSTORM_HEADER).toBe(HEADER);
    expect(formatThunderstormCsv([], { pixelSizeNm: 100, psfSigmaPx: 1.5 })).toBe(HEADER + '\n');
  });

  it('converts a hand-made source: 1-based frame, nm from the corner of the first pixel, photons', () => {
    const text = formatThunderstormCsv([src({ id: 7, frame: 2 })], { pixelSizeNm: 100, psfSigmaPx: 1.5 });
    const line = text.split('\n')[1];
    // x = (10.25 + 0.5)·100, y = (3.5 + 0.5)·100, σ = 150 nm, offset 16 → bkgstd √16 = 4,
    // uncertainty = √((0.03² + 0.04²)/2)·100 = √0.00125·100.
    const u = Number((Math.sqrt(0.00125) * 100).toPrecision(7));
    expect(line).toBe(`7,3,1075.0000,400.0000,150,1234.5,16,4,${u}`);
  });

  it('frame is 1-based; the first pixel centre is at half a pixel', () => {
    const text = formatThunderstormCsv([src({ frame: 0, x: 0, y: 0 }), src({ id: 2, frame: 5, x: -0.5, y: 63.5 })], { pixelSizeNm: 160, psfSigmaPx: 1 });
    const { rows } = parse(text);
    expect(rows.map((r) => r[1])).toEqual([1, 6]);
    expect(rows[0].slice(2, 4)).toEqual([80, 80]);
    expect(rows[1].slice(2, 4)).toEqual([0, 64 * 160]);
  });

  it('scales fluxes and backgrounds by photonsPerUnit', () => {
    const { rows } = parse(formatThunderstormCsv([src({ flux: 500, background: 2.25 })], { pixelSizeNm: 100, psfSigmaPx: 1.2, photonsPerUnit: 4 }));
    expect(rows[0][4]).toBe(120);
    expect(rows[0][5]).toBe(2000);
    expect(rows[0][6]).toBe(9);
    expect(rows[0][7]).toBe(3);
  });

  it('numbers round-trip: x, y to 5e-5 nm, the others to 7 significant digits', () => {
    const sources: Source[] = [];
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 200; i++) {
      sources.push(src({ id: i + 1, frame: i % 7, x: rnd() * 512 - 0.5, y: rnd() * 512 - 0.5, flux: 10 ** (1 + 5 * rnd()), xErr: rnd() * 0.2, yErr: rnd() * 0.2, background: rnd() * 1000 }));
    }
    const px = 106.7;
    const sigma = 1.37;
    const { labels, rows } = parse(formatThunderstormCsv(sources, { pixelSizeNm: px, psfSigmaPx: sigma }));
    expect(labels).toEqual(['id', 'frame', 'x [nm]', 'y [nm]', 'sigma [nm]', 'intensity [photon]', 'offset [photon]', 'bkgstd [photon]', 'uncertainty [nm]']);
    expect(rows).toHaveLength(200);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    rows.forEach((r, k) => {
      const s = sources[k];
      expect(r).toHaveLength(9);
      expect(r[0]).toBe(s.id);
      expect(r[1]).toBe(s.frame + 1);
      expect(Math.abs(r[2] / px - 0.5 - s.x)).toBeLessThan(1e-6);
      expect(Math.abs(r[3] / px - 0.5 - s.y)).toBeLessThan(1e-6);
      expect(rel(r[4], sigma * px)).toBeLessThan(5e-7);
      expect(rel(r[5], s.flux)).toBeLessThan(5e-7);
      expect(rel(r[6], s.background!)).toBeLessThan(5e-7);
      expect(rel(r[7], Math.sqrt(s.background!))).toBeLessThan(5e-7);
      expect(rel(r[8], Math.hypot(s.xErr, s.yErr) / Math.SQRT2 * px)).toBeLessThan(5e-7);
    });
  });

  it('writes NaN (never an empty field) for non-finite values and a missing background', () => {
    const line = formatThunderstormCsv([src({ background: undefined, xErr: Number.NaN, flux: Infinity })], { pixelSizeNm: 100, psfSigmaPx: 1 }).split('\n')[1];
    const f = line.split(',');
    expect(f).toHaveLength(9);
    expect(f.slice(5)).toEqual(['NaN', 'NaN', 'NaN', 'NaN']);
    // A negative fitted background has no Poisson noise: bkgstd 0.
    const neg = formatThunderstormCsv([src({ background: -3 })], { pixelSizeNm: 100, psfSigmaPx: 1 }).split('\n')[1].split(',');
    expect(neg.slice(6, 8)).toEqual(['-3', '0']);
  });

  it('rejects a pixel size, PSF sigma or photon factor that is not > 0', () => {
    for (const pixelSizeNm of [0, -100, Number.NaN, Infinity]) {
      expect(() => formatThunderstormCsv([src()], { pixelSizeNm, psfSigmaPx: 1 })).toThrow(InvalidOptionError);
    }
    expect(() => formatThunderstormCsv([src()], { pixelSizeNm: 100, psfSigmaPx: 0 })).toThrow(InvalidOptionError);
    expect(() => formatThunderstormCsv([src()], { pixelSizeNm: 100, psfSigmaPx: 1, photonsPerUnit: -1 })).toThrow(InvalidOptionError);
    expect(() => formatThunderstormCsv([], { pixelSizeNm: 0, psfSigmaPx: 1 })).toThrow(/^--pixel-size: /);
  });
});
