/**
 * Renderings: known localisations give known pixel sums and Gaussian widths; the TIFF written for
 * them reads back (with the project's geotiff-based reader) with the same values and pixel size.
 */
import { describe, expect, it } from 'vitest';
import { readLocalisationsCsv } from '../../src-main/core/catalog/localisations.js';
import { InvalidOptionError } from '../../src-main/core/errors.js';
import { readTiff } from '../../src-main/core/formats/tiff.js';
import { renderLocalisations, renderingToTiff, type Localisation } from '../../src-main/core/render.js';

const loc = (xNm: number, yNm: number, uncertaintyNm = 10, frame = 0): Localisation => ({ frame, xNm, yNm, uncertaintyNm, photons: 1000 });

describe('histogram rendering', () => {
  it('counts localisations in half-open pixels from the corner', () => {
    const r = renderLocalisations([loc(5, 5), loc(9.999, 0), loc(10, 5), loc(25, 35), loc(25, 35), loc(-1, 5), loc(Number.NaN, 5)], { pixelSizeNm: 10, mode: 'histogram', width: 4, height: 4 });
    expect([r.width, r.height]).toEqual([4, 4]);
    const at = (i: number, j: number) => r.data[j * 4 + i];
    expect(at(0, 0)).toBe(2); // (5,5) and (9.999,0)
    expect(at(1, 0)).toBe(1); // x = 10 starts pixel 1
    expect(at(2, 3)).toBe(2);
    expect(r.data.reduce((a, b) => a + b, 0)).toBe(5);
    expect(r.drawn).toBe(5);
    expect(r.outside).toBe(2);
  });

  it('sizes the image to the localisations by default', () => {
    const r = renderLocalisations([loc(5, 5), loc(1234, 567)], { pixelSizeNm: 20, mode: 'histogram' });
    expect([r.width, r.height]).toEqual([62, 29]);
    expect(r.data[28 * 62 + 61]).toBe(1);
  });
});

describe('Gaussian rendering', () => {
  it('each localisation has unit mass, its centroid at the position and its σ the uncertainty', () => {
    const locs = [loc(403, 387, 15), loc(855, 811, 30)];
    const r = renderLocalisations(locs, { pixelSizeNm: 5, mode: "gaussian", width: 260, height: 260 });
    expect(r.drawn).toBe(2);
    for (const l of locs) {
      // Moments over a window around the localisation (the two are far apart).
      let m0 = 0;
      let mx = 0;
      let my = 0;
      let mxx = 0;
      const ci = Math.floor(l.xNm / 5);
      const cj = Math.floor(l.yNm / 5);
      for (let j = cj - 40; j <= cj + 40; j++) {
        for (let i = ci - 40; i <= ci + 40; i++) {
          const v = r.data[j * 260 + i];
          const x = (i + 0.5) * 5;
          const y = (j + 0.5) * 5;
          m0 += v;
          mx += v * x;
          my += v * y;
          mxx += v * (x - l.xNm) ** 2;
        }
      }
      expect(Math.abs(m0 - 1)).toBeLessThan(1e-4); // the 4σ cut loses < 1e-4
      expect(mx / m0).toBeCloseTo(l.xNm, 2);
      expect(my / m0).toBeCloseTo(l.yNm, 2);
      // Pixel integration adds r²/12 to the variance of the pixel-centre moments.
      expect(Math.sqrt(mxx / m0 - 25 / 12)).toBeCloseTo(l.uncertaintyNm, 1);
    }
    // A fixed σ and a floor override the uncertainty.
    const fixed = renderLocalisations([loc(500, 500, 3)], { pixelSizeNm: 5, width: 200, height: 200, sigmaNm: 40 });
    const floor = renderLocalisations([loc(500, 500, 3)], { pixelSizeNm: 5, width: 200, height: 200, minSigmaNm: 40 });
    expect(Array.from(fixed.data)).toEqual(Array.from(floor.data));
    expect(fixed.data[100 * 200 + 100]).toBeCloseTo((0.5 * (erfLike(5 / (Math.SQRT2 * 40)))) ** 2, 3);
  });

  it('a localisation without uncertainty and no floor falls in one pixel, as in the histogram', () => {
    const r = renderLocalisations([loc(33, 47, Number.NaN)], { pixelSizeNm: 10, width: 8, height: 8 });
    expect(r.data[4 * 8 + 3]).toBe(1);
    expect(r.data.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('rejects bad options and images too large', () => {
    expect(() => renderLocalisations([], { pixelSizeNm: 0 })).toThrow(InvalidOptionError);
    expect(() => renderLocalisations([], { pixelSizeNm: 10, mode: 'dots' as never })).toThrow(/--mode/);
    expect(() => renderLocalisations([loc(1e9, 1e9)], { pixelSizeNm: 1 })).toThrow(/larger pixel size/);
  });
});

/** erf(a) − erf(−a) over 2 for a centred pixel = erf(a); a simple series is enough here. */
function erfLike(a: number): number {
  let sum = 0;
  let term = a;
  for (let n = 0; n < 30; n++) {
    sum += term / (2 * n + 1);
    term *= (-a * a) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe('rendering TIFF', () => {
  it('reads back with the project TIFF reader: same float32 values, one page, pixel size in nm', async () => {
    const r = renderLocalisations([loc(120, 80, 12), loc(300, 260, 25), loc(310, 250, 8)], { pixelSizeNm: 7.5, mode: 'gaussian' });
    const bytes = renderingToTiff(r);
    expect(String.fromCharCode(bytes[0], bytes[1])).toBe('II'); // little-endian
    const src = await readTiff(bytes, { name: 'render.tif' });
    expect([src.width, src.height, src.frames]).toEqual([r.width, r.height, 1]);
    expect(src.pixelSizeNm!.x).toBeCloseTo(7.5, 9);
    expect(src.pixelSizeNm!.y).toBeCloseTo(7.5, 9);
    const img = await src.frame(0);
    expect(Array.from(img.data)).toEqual(Array.from(r.data)); // exactly the float32 values
    expect(src.header.find((c) => c.key === 'SampleFormat')?.value).toBeDefined();
    const desc = String(src.header.find((c) => c.key === 'ImageDescription')?.value);
    expect(desc).toContain('unit=micron');
  });
});

describe('localisation tables', () => {
  it('reads a ThunderSTORM CSV (frames 1-based → 0-based) and a cpgd CSV with or without nm columns', () => {
    const ts = '"id","frame","x [nm]","y [nm]","sigma [nm]","intensity [photon]","offset [photon]","bkgstd [photon]","uncertainty [nm]"\n1,3,150.5,250.25,110,2000,40,6.3,12.5\n';
    expect(readLocalisationsCsv(ts)).toEqual({ format: 'thunderstorm', localisations: [{ frame: 2, xNm: 150.5, yNm: 250.25, uncertaintyNm: 12.5, photons: 2000 }] });
    const nm = 'id,frame,x,y,flux,x_err,y_err,flux_err,snr,background,x_nm,y_nm,uncertainty_nm\n1,4,1.0,2.0,900,0.1,0.1,30,30,40,150.0000,250.0000,10\n';
    expect(readLocalisationsCsv(nm).localisations).toEqual([{ frame: 4, xNm: 150, yNm: 250, uncertaintyNm: 10, photons: 900 }]);
    const px = 'id,frame,x,y,flux,x_err,y_err,flux_err,snr\n1,0,1.0,2.0,900,0.1,0.1,30,30\n';
    expect(readLocalisationsCsv(px, { cameraPixelSizeNm: 100 }).localisations[0]).toMatchObject({ xNm: 150, yNm: 250, photons: 900 });
    expect(readLocalisationsCsv(px, { cameraPixelSizeNm: 100 }).localisations[0].uncertaintyNm).toBeCloseTo(10, 9);
    expect(() => readLocalisationsCsv(px, { name: 'cat.csv' })).toThrow(/--camera-pixel-size/);
    expect(() => readLocalisationsCsv('"frame","x [nm]","y [nm]"\n1,abc,3\n', { name: 't.csv' })).toThrow(/line 2.*not a number/);
    expect(() => readLocalisationsCsv('"frame","x [nm]","y [nm]"\n0,1,3\n', { name: 't.csv' })).toThrow(/1-based/);
  });
});
