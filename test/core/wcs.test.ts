import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpgdError, InvalidImageError } from '../../src-main/core/errors.js';
import type { HeaderCard } from '../../src-main/core/image.js';
import { readFits } from '../../src-main/core/formats/fits.js';
import { readTiff } from '../../src-main/core/formats/tiff.js';
import { celestialWcs, type Wcs } from '../../src-main/core/wcs.js';
import { FIXTURES } from '../paths.js';

// ---------------------------------------------------------------------------------------------
// Helpers

interface Expected {
  wcs?: [number, number, number, number][];
}

const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, Expected>;
const fitsNames = Object.keys(expected).filter((n) => /\.fits(\.gz)?$/.test(n));
const tiffNames = Object.keys(expected).filter((n) => /\.tiff?$/i.test(n));
const withWcs = fitsNames.filter((n) => expected[n]!.wcs !== undefined);
const withoutWcs = fitsNames.filter((n) => expected[n]!.wcs === undefined);

const fixture = (n: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, n)));

function cards(kw: Record<string, string | number | boolean | null>): HeaderCard[] {
  return Object.entries(kw).map(([key, value]) => ({ key, value }));
}

function wcsOf(kw: Record<string, string | number | boolean | null>): Wcs {
  const w = celestialWcs(cards(kw));
  expect(w).not.toBeNull();
  return w!;
}

/** RA difference in degrees, wrapped to (-180, 180]. */
function dRa(a: number, b: number): number {
  let d = (((a - b) % 360) + 360) % 360;
  if (d > 180) d -= 360;
  return d;
}

function expectSky(actual: [number, number], ra: number, dec: number, tol: number): void {
  expect(Math.abs(dRa(actual[0], ra))).toBeLessThanOrEqual(tol);
  expect(Math.abs(actual[1] - dec)).toBeLessThanOrEqual(tol);
  expect(actual[0]).toBeGreaterThanOrEqual(0);
  expect(actual[0]).toBeLessThan(360);
}

function expectRoundTrip(w: Wcs, x: number, y: number, tol = 1e-6): void {
  const [ra, dec] = w.pixelToWorld(x, y);
  const [px, py] = w.worldToPixel(ra, dec);
  expect(Math.abs(px - x)).toBeLessThanOrEqual(tol);
  expect(Math.abs(py - y)).toBeLessThanOrEqual(tol);
}

/** A grid of pixels around and well beyond a 200 × 150 image. */
const GRID: [number, number][] = [];
for (let y = -50; y <= 200; y += 25) for (let x = -50; x <= 250; x += 30) GRID.push([x, y]);

function expectInvalid(kw: Record<string, string | number | boolean | null>, message: RegExp): void {
  let err: unknown;
  try {
    celestialWcs(cards(kw), { name: 'x.fits' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidImageError);
  expect((err as CpgdError).code).toBe('invalid-image');
  expect((err as CpgdError).file).toBe('x.fits');
  expect((err as Error).message).toMatch(message);
}

const TAN = {
  NAXIS: 2,
  NAXIS1: 200,
  NAXIS2: 150,
  CTYPE1: 'RA---TAN',
  CTYPE2: 'DEC--TAN',
  CRPIX1: 100.5,
  CRPIX2: 75.5,
  CRVAL1: 150.1,
  CRVAL2: 2.2,
};

// ---------------------------------------------------------------------------------------------
// Fixtures against astropy

describe('celestialWcs on the fixtures', () => {
  it('the fixture set has headers with and without WCS', () => {
    expect(withWcs.length).toBeGreaterThanOrEqual(4);
    expect(withoutWcs.length).toBeGreaterThanOrEqual(4);
  });

  for (const name of withWcs) {
    it(`${name}: pixelToWorld agrees with astropy all_pix2world to 1e-8 degrees`, () => {
      const src = readFits(fixture(name), { name });
      const w = celestialWcs(src.header, { name });
      expect(w).not.toBeNull();
      for (const [x, y, ra, dec] of expected[name]!.wcs!) {
        expectSky(w!.pixelToWorld(x, y), ra, dec, 1e-8);
        const [px, py] = w!.worldToPixel(ra, dec);
        expect(Math.abs(px - x)).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(py - y)).toBeLessThanOrEqual(1e-6);
      }
      for (const x of [0, src.width / 2, src.width - 1]) {
        for (const y of [0, src.height / 3, src.height - 1]) expectRoundTrip(w!, x, y);
      }
      expect(w!.pixelScale()).toBeGreaterThan(0);
      expect(w!.describe()).toMatch(new RegExp(w!.projection));
    });
  }

  for (const name of withoutWcs) {
    it(`${name}: no celestial WCS gives null`, () => {
      expect(celestialWcs(readFits(fixture(name), { name }).header, { name })).toBeNull();
    });
  }

  it('TIFF headers give null', async () => {
    for (const name of tiffNames) {
      expect(celestialWcs((await readTiff(fixture(name), { name })).header)).toBeNull();
    }
  });

  it('reads the frame, scale and SIP of the fixtures', () => {
    const scale = celestialWcs(readFits(fixture('scale.fits')).header)!;
    expect(scale.projection).toBe('TAN');
    expect(scale.sip).toBe(false);
    expect(scale.radesys).toBe('FK5'); // EQUINOX 2000 without RADESYS
    expect(scale.equinox).toBe(2000);
    expect(scale.pixelScale()).toBeCloseTo(0.001388889 * 3600, 9);
    expect(scale.referencePixel).toEqual([360, 359.5]);
    expect(scale.referenceWorld).toEqual([266.4, -28.93333]);

    const sin = celestialWcs(readFits(fixture('checksum.fits')).header)!;
    expect(sin.projection).toBe('SIN');
    expect(sin.radesys).toBe('FK4'); // EQUINOX 1950 without RADESYS
    expect(sin.equinox).toBe(1950);
    expect(sin.lonpole).toBe(180);

    const sip = celestialWcs(readFits(fixture('ext_after_table_wcs.fits')).header)!;
    expect(sip.sip).toBe(true);
    expect(sip.sipInverse).toBe(false);
    expect(sip.radesys).toBe('ICRS');
    expect(sip.equinox).toBeNull();
    expect(sip.latpole).toBe(2.2);
    expect(sip.pixelScale()).toBeCloseTo(0.72, 12);
    expect(sip.describe()).toBe('TAN-SIP (ICRS), 0.7200"/pixel, RA 150.100000° Dec +2.200000° at pixel (49.5, 39.5)');
  });

  it('a tile-compressed image gives the same WCS as its uncompressed twin', () => {
    const comp = celestialWcs(readFits(fixture('comp.fits')).header)!;
    const plain = celestialWcs(readFits(fixture('checksum.fits')).header)!;
    for (const [x, y] of GRID) expect(comp.pixelToWorld(x, y)).toEqual(plain.pixelToWorld(x, y));
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-built headers

describe('celestialWcs on hand-built headers', () => {
  it('TAN follows the gnomonic projection along the axes', () => {
    const w = wcsOf({ ...TAN, CRVAL1: 0, CRVAL2: 0, CDELT1: -1e-3, CDELT2: 1e-3 });
    const a = (Math.atan(Math.PI / 180) * 180) / Math.PI; // one degree on the tangent plane
    expectSky(w.pixelToWorld(99.5 + 1000, 74.5), 360 - a, 0, 1e-12);
    expectSky(w.pixelToWorld(99.5 - 1000, 74.5), a, 0, 1e-12);
    expectSky(w.pixelToWorld(99.5, 74.5 + 1000), 0, a, 1e-12);
    expectSky(w.pixelToWorld(99.5, 74.5), 0, 0, 1e-13);
    expect(w.lonpole).toBe(180);
    // Behind the tangent plane nothing projects.
    expect(w.worldToPixel(180, 0).every(Number.isNaN)).toBe(true);
  });

  it('CROTA2 gives the same transformation as the equivalent CD matrix', () => {
    const cdelt1 = -2e-4;
    const cdelt2 = 3e-4;
    for (const rho of [30, -120, 90]) {
      const r = (rho * Math.PI) / 180;
      const rot = wcsOf({ ...TAN, CDELT1: cdelt1, CDELT2: cdelt2, CROTA1: 0, CROTA2: rho });
      const cd = wcsOf({
        ...TAN,
        CD1_1: cdelt1 * Math.cos(r),
        CD1_2: -cdelt2 * Math.sin(r),
        CD2_1: cdelt1 * Math.sin(r),
        CD2_2: cdelt2 * Math.cos(r),
        // CD wins over CDELT and CROTA.
        CDELT1: 7,
        CROTA2: 11,
      });
      for (const [x, y] of GRID) {
        const [ra, dec] = cd.pixelToWorld(x, y);
        expectSky(rot.pixelToWorld(x, y), ra, dec, 1e-11);
        expectRoundTrip(rot, x, y);
      }
      expect(rot.pixelScale()).toBeCloseTo(Math.sqrt(Math.abs(cdelt1 * cdelt2)) * 3600, 10);
    }
  });

  it('PC × CDELT is CD, PC wins over CD, and unspecified CD elements are zero', () => {
    const pc = wcsOf({ ...TAN, CDELT1: -2e-4, CDELT2: 2e-4, PC1_1: 0.8, PC1_2: 0.6, PC2_1: -0.6, PC2_2: 0.8, CD1_1: 1 });
    const cd = wcsOf({ ...TAN, CD1_1: -1.6e-4, CD1_2: -1.2e-4, CD2_1: -1.2e-4, CD2_2: 1.6e-4 });
    for (const [x, y] of GRID) {
      const [ra, dec] = cd.pixelToWorld(x, y);
      expectSky(pc.pixelToWorld(x, y), ra, dec, 1e-11);
    }
    const diag = wcsOf({ ...TAN, CD1_1: -2e-4, CD2_2: 2e-4 });
    const cdelt = wcsOf({ ...TAN, CDELT1: -2e-4, CDELT2: 2e-4 });
    for (const [x, y] of GRID) expect(diag.pixelToWorld(x, y)).toEqual(cdelt.pixelToWorld(x, y));
    expect(cd.cd).toEqual([
      [-1.6e-4, -1.2e-4],
      [-1.2e-4, 1.6e-4],
    ]);
  });

  it('CUNIT in arcsec scales CRVAL and CDELT', () => {
    const deg = wcsOf({ ...TAN, CDELT1: -2e-4, CDELT2: 2e-4, CUNIT1: 'deg', CUNIT2: 'deg' });
    const arcsec = wcsOf({
      ...TAN,
      CRVAL1: 150.1 * 3600,
      CRVAL2: 2.2 * 3600,
      CDELT1: -0.72,
      CDELT2: 0.72,
      CUNIT1: 'arcsec',
      CUNIT2: 'arcsec',
    });
    for (const [x, y] of GRID) {
      const [ra, dec] = deg.pixelToWorld(x, y);
      expectSky(arcsec.pixelToWorld(x, y), ra, dec, 1e-11);
    }
  });

  it('SIN follows the orthographic projection, and PV2_1/PV2_2 its slant form (NCP)', () => {
    const ortho = wcsOf({ ...TAN, CTYPE1: 'RA---SIN', CTYPE2: 'DEC--SIN', CRVAL1: 0, CRVAL2: 0, CDELT1: -1e-3, CDELT2: 1e-3 });
    const s = (Math.asin(Math.PI / 180) * 180) / Math.PI; // one degree on the plane
    expectSky(ortho.pixelToWorld(99.5, 74.5 + 1000), 0, s, 1e-12);
    expectSky(ortho.pixelToWorld(99.5 + 1000, 74.5), 360 - s, 0, 1e-12);
    expect(ortho.worldToPixel(120, 0).every(Number.isNaN)).toBe(true); // far hemisphere
    expect(ortho.pixelToWorld(99.5 + 60000, 74.5).every(Number.isNaN)).toBe(true); // beyond the limb

    // NCP (a SIN with xi = 0, eta = cot(dec0)): x = cos(dec) sin(dRA), y = (cos(dec0) - cos(dec) cos(dRA)) / sin(dec0).
    const dec0 = 35;
    const d0 = (dec0 * Math.PI) / 180;
    const cdelt = 2e-3;
    const ncp = wcsOf({
      ...TAN,
      CTYPE1: 'RA---SIN',
      CTYPE2: 'DEC--SIN',
      CRVAL1: 200,
      CRVAL2: dec0,
      CDELT1: -cdelt,
      CDELT2: cdelt,
      PV2_1: 0,
      PV2_2: 1 / Math.tan(d0),
    });
    for (const [ra, dec] of [
      [200, 35],
      [201, 36],
      [199.2, 33.5],
      [203, 38],
    ] as const) {
      const da = ((ra - 200) * Math.PI) / 180;
      const d = (dec * Math.PI) / 180;
      const l = Math.cos(d) * Math.sin(da);
      const m = (Math.cos(d0) - Math.cos(d) * Math.cos(da)) / Math.sin(d0);
      const px = 99.5 + (l * 180) / Math.PI / -cdelt;
      const py = 74.5 + (m * 180) / Math.PI / cdelt;
      const [x, y] = ncp.worldToPixel(ra, dec);
      expect(Math.abs(x - px)).toBeLessThanOrEqual(1e-8);
      expect(Math.abs(y - py)).toBeLessThanOrEqual(1e-8);
      expectSky(ncp.pixelToWorld(px, py), ra, dec, 1e-10);
    }
    for (const [x, y] of GRID) expectRoundTrip(ncp, x, y);

    // A general slant on the Dec axis, which carries the projection parameters.
    const slant = wcsOf({ ...TAN, CTYPE1: 'RA---SIN', CTYPE2: 'DEC--SIN', CDELT1: -1e-3, CDELT2: 1e-3, PV2_1: 0.3, PV2_2: -0.2 });
    for (const [x, y] of GRID) expectRoundTrip(slant, x, y);
    expectSky(slant.pixelToWorld(99.5, 74.5), 150.1, 2.2, 1e-12);
  });

  it('Dec first: swapping the axes of the header gives the same sky', () => {
    const cd = [
      [-1.6e-4, -1.2e-4],
      [-1.1e-4, 1.7e-4],
    ];
    const normal = wcsOf({ ...TAN, CD1_1: cd[0]![0]!, CD1_2: cd[0]![1]!, CD2_1: cd[1]![0]!, CD2_2: cd[1]![1]! });
    const swapped = wcsOf({
      ...TAN,
      CTYPE1: 'DEC--TAN',
      CTYPE2: 'RA---TAN',
      CRVAL1: 2.2,
      CRVAL2: 150.1,
      CD1_1: cd[1]![0]!,
      CD1_2: cd[1]![1]!,
      CD2_1: cd[0]![0]!,
      CD2_2: cd[0]![1]!,
    });
    expect(swapped.referenceWorld).toEqual([150.1, 2.2]);
    expect(swapped.cd).toEqual(normal.cd);
    for (const [x, y] of GRID) {
      const [ra, dec] = normal.pixelToWorld(x, y);
      expectSky(swapped.pixelToWorld(x, y), ra, dec, 1e-12);
      expectRoundTrip(swapped, x, y);
    }

    // SIN with the slant on the Dec axis, here axis 1 (PV1_1, PV1_2).
    const sinNormal = wcsOf({ ...TAN, CTYPE1: 'RA---SIN', CTYPE2: 'DEC--SIN', CDELT1: -1e-3, CDELT2: 1e-3, PV2_1: 0.1, PV2_2: 0.4 });
    const sinSwapped = wcsOf({
      ...TAN,
      CTYPE1: 'DEC--SIN',
      CTYPE2: 'RA---SIN',
      CRVAL1: 2.2,
      CRVAL2: 150.1,
      PC1_1: 0,
      PC1_2: 1,
      PC2_1: 1,
      PC2_2: 0,
      CDELT1: 1e-3,
      CDELT2: -1e-3,
      PV1_1: 0.1,
      PV1_2: 0.4,
    });
    for (const [x, y] of GRID) {
      const [ra, dec] = sinNormal.pixelToWorld(x, y);
      expectSky(sinSwapped.pixelToWorld(x, y), ra, dec, 1e-12);
    }
  });

  it('wraps RA at 0/360 and handles the pole', () => {
    const w = wcsOf({ ...TAN, CRVAL1: 0.01, CRVAL2: 10, CDELT1: -1e-3, CDELT2: 1e-3 });
    const east = w.pixelToWorld(0, 74.5);
    const west = w.pixelToWorld(199, 74.5);
    expect(east[0]).toBeLessThan(1);
    expect(west[0]).toBeGreaterThan(359);
    for (const [x, y] of GRID) expectRoundTrip(w, x, y);
    const [x, y] = w.worldToPixel(-0.05, 10);
    const [x2, y2] = w.worldToPixel(359.95, 10);
    expect(Math.abs(x2 - x)).toBeLessThan(1e-9);
    expect(Math.abs(y2 - y)).toBeLessThan(1e-9);
    expect(x).toBeGreaterThan(149); // 0.06° west of CRVAL1 at 1e-3°/pixel (cos 10° stretches it)

    const pole = wcsOf({ ...TAN, CRVAL1: 0, CRVAL2: 90, CDELT1: -1e-3, CDELT2: 1e-3 });
    expect(pole.lonpole).toBe(0);
    expect(pole.pixelToWorld(99.5, 74.5)[1]).toBe(90);
    for (const [x, y] of GRID) if (x !== 99.5 || y !== 74.5) expectRoundTrip(pole, x, y);
    // At the pole the default LONPOLE is 0: alpha = alpha_p + phi - phi_p + 180, so +y (phi = 180°)
    // runs along RA = CRVAL1; LONPOLE 180 turns it to the opposite meridian.
    const off = 90 - (Math.atan(Math.PI / 180) * 180) / Math.PI;
    expectSky(pole.pixelToWorld(99.5, 74.5 + 1000), 0, off, 1e-12);
    const flipped = wcsOf({ ...TAN, CRVAL1: 0, CRVAL2: 90, CDELT1: -1e-3, CDELT2: 1e-3, LONPOLE: 180 });
    expectSky(flipped.pixelToWorld(99.5, 74.5 + 1000), 180, off, 1e-12);
    // An explicit LONPOLE rotates the sky about the reference point.
    const turned = wcsOf({ ...TAN, CRVAL1: 0, CRVAL2: 90, CDELT1: -1e-3, CDELT2: 1e-3, LONPOLE: 90 });
    const [ra1] = pole.pixelToWorld(150, 120);
    const [ra2] = turned.pixelToWorld(150, 120);
    expect(Math.abs(dRa(ra2, ra1 - 90))).toBeLessThan(1e-9);
  });

  it('records RADESYS and EQUINOX with their defaults', () => {
    expect(wcsOf({ ...TAN }).radesys).toBe('ICRS');
    expect(wcsOf({ ...TAN }).equinox).toBeNull();
    expect(wcsOf({ ...TAN, RADESYS: 'fk5' }).equinox).toBe(2000);
    expect(wcsOf({ ...TAN, RADECSYS: 'FK4' }).equinox).toBe(1950);
    expect(wcsOf({ ...TAN, EPOCH: 1950 }).radesys).toBe('FK4');
    expect(wcsOf({ ...TAN, RADESYS: 'ICRS', EQUINOX: 2000 }).describe()).toMatch(/\(ICRS\)/);
    expect(wcsOf({ ...TAN, EQUINOX: 2000 }).describe()).toMatch(/\(FK5 J2000\)/);
  });

  it('SIP distortion with and without AP/BP', () => {
    const base = { ...TAN, CTYPE1: 'RA---TAN-SIP', CTYPE2: 'DEC--TAN-SIP', CD1_1: -2e-4, CD1_2: 1e-5, CD2_1: 1.2e-5, CD2_2: 2e-4 };
    const sip = {
      A_ORDER: 3,
      A_2_0: 2e-5,
      A_1_1: -1e-5,
      A_0_2: 3e-6,
      A_3_0: 1e-8,
      A_1_2: -2e-8,
      B_ORDER: 3,
      B_2_0: -4e-6,
      B_1_1: 3e-5,
      B_0_2: 1e-5,
      B_0_3: 2e-8,
      B_2_1: 1e-8,
    };
    const noSip = wcsOf({ ...base, CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN' });
    const forward = wcsOf({ ...base, ...sip });
    expect(forward.sip).toBe(true);
    expect(forward.sipInverse).toBe(false);
    // The distortion moves pixel offsets (relative to CRPIX) before the linear transformation.
    for (const [x, y] of GRID) {
      const u = x + 1 - 100.5;
      const v = y + 1 - 75.5;
      const du = 2e-5 * u * u - 1e-5 * u * v + 3e-6 * v * v + 1e-8 * u ** 3 - 2e-8 * u * v * v;
      const dv = -4e-6 * u * u + 3e-5 * u * v + 1e-5 * v * v + 2e-8 * v ** 3 + 1e-8 * u * u * v;
      const [ra, dec] = noSip.pixelToWorld(x + du, y + dv);
      expectSky(forward.pixelToWorld(x, y), ra, dec, 1e-11);
      expectRoundTrip(forward, x, y);
    }

    // A rough inverse (first order: AP = -A) only seeds the iteration: same answers.
    const ap: Record<string, number> = { AP_ORDER: 3, BP_ORDER: 3 };
    for (const [k, c] of Object.entries(sip)) {
      if (k.startsWith('A_') && k !== 'A_ORDER') ap[`AP${k.slice(1)}`] = -c;
      if (k.startsWith('B_') && k !== 'B_ORDER') ap[`BP${k.slice(1)}`] = -c;
    }
    const withInverse = wcsOf({ ...base, ...sip, ...ap });
    expect(withInverse.sipInverse).toBe(true);
    for (const [x, y] of GRID) {
      const [ra, dec] = forward.pixelToWorld(x, y);
      expect(withInverse.pixelToWorld(x, y)).toEqual([ra, dec]);
      const [px, py] = withInverse.worldToPixel(ra, dec);
      expect(Math.abs(px - x)).toBeLessThanOrEqual(1e-8);
      expect(Math.abs(py - y)).toBeLessThanOrEqual(1e-8);
    }

    // SIP coefficients without the -SIP suffix are applied, as astropy does.
    const noSuffix = wcsOf({ ...base, CTYPE1: 'RA---TAN', CTYPE2: 'DEC--TAN', ...sip });
    expect(noSuffix.pixelToWorld(3, 4)).toEqual(forward.pixelToWorld(3, 4));
    // Linear SIP terms count in the pixel scale.
    const stretched = wcsOf({ ...base, A_ORDER: 1, A_1_0: 0.1, B_ORDER: 1 });
    expect(stretched.pixelScale() / noSip.pixelScale()).toBeCloseTo(Math.sqrt(1.1), 12);
  });

  it('no celestial TAN/SIN projection gives null', () => {
    expect(celestialWcs([])).toBeNull();
    expect(celestialWcs(cards({ NAXIS: 2, CRPIX1: 1, CDELT1: 1 }))).toBeNull();
    expect(celestialWcs(cards({ ...TAN, CTYPE1: 'LINEAR', CTYPE2: 'LINEAR' }))).toBeNull();
    expect(celestialWcs(cards({ ...TAN, CTYPE1: 'RA', CTYPE2: 'DEC' }))).toBeNull();
    expect(celestialWcs(cards({ ...TAN, CTYPE1: 'GLON-TAN', CTYPE2: 'GLAT-TAN' }))).toBeNull();
    expect(celestialWcs(cards({ ...TAN, CTYPE1: 'RA---CAR', CTYPE2: 'DEC--CAR' }))).toBeNull();
    expect(celestialWcs(cards({ ...TAN, CTYPE1: 'RA---TPV', CTYPE2: 'DEC--TPV' }))).toBeNull();
    expect(celestialWcs(cards({ ...TAN, CTYPE1: 'RA---TAN-TAB', CTYPE2: 'DEC--TAN-TAB' }))).toBeNull();
    // Celestial axes that are not the image plane (a position-velocity cube).
    expect(
      celestialWcs(cards({ ...TAN, NAXIS: 3, NAXIS3: 5, CTYPE2: 'VELO-LSR', CTYPE3: 'DEC--TAN' })),
    ).toBeNull();
    // A third, spectral axis beside RA/Dec is fine.
    expect(celestialWcs(cards({ ...TAN, NAXIS: 3, NAXIS3: 5, CTYPE3: 'FREQ', CDELT1: -1e-3, CDELT2: 1e-3 }))).not.toBeNull();
  });

  it('a malformed celestial WCS throws a typed error that explains it', () => {
    expectInvalid({ ...TAN, CD1_1: 1e-4, CD1_2: 2e-4, CD2_1: 2e-4, CD2_2: 4e-4 }, /singular/);
    expectInvalid({ ...TAN, CDELT1: 0, CDELT2: 1e-3 }, /singular/);
    expectInvalid({ ...TAN, CD1_1: 1e-4 }, /singular/);
    expectInvalid({ ...TAN, CTYPE2: 'LINEAR' }, /no matching Dec axis/);
    expectInvalid({ ...TAN, CTYPE2: 'DEC--SIN' }, /differ in projection/);
    expectInvalid({ ...TAN, CTYPE2: 'RA---TAN' }, /two RA axes/);
    expectInvalid({ ...TAN, CRVAL2: 95 }, /beyond ±90/);
    expectInvalid({ ...TAN, CRPIX1: 'middle' }, /CRPIX1 = "middle" is not a finite number/);
    expectInvalid({ ...TAN, CUNIT1: 'm' }, /CUNIT1 = 'm' is not an angle unit/);
    expectInvalid({ ...TAN, CTYPE1: 'RA---TAN-SIP', CTYPE2: 'DEC--TAN-SIP' }, /A_ORDER and B_ORDER are missing/);
    expectInvalid({ ...TAN, A_ORDER: 2, A_2_0: 1e-5 }, /needs both A_ORDER and B_ORDER/);
    expectInvalid({ ...TAN, A_ORDER: 2.5, B_ORDER: 2 }, /A_ORDER = 2.5/);
  });

  it('numbers written as strings are read', () => {
    const w = wcsOf({ ...TAN, CRPIX1: '100.5', CDELT1: '-2.0D-4', CDELT2: 2e-4 });
    const ref = wcsOf({ ...TAN, CDELT1: -2e-4, CDELT2: 2e-4 });
    expect(w.pixelToWorld(10, 20)).toEqual(ref.pixelToWorld(10, 20));
  });

  it('non-finite pixels and world points give NaN', () => {
    const w = wcsOf({ ...TAN, CDELT1: -2e-4, CDELT2: 2e-4 });
    expect(w.pixelToWorld(NaN, 1).every(Number.isNaN)).toBe(true);
    expect(w.worldToPixel(150, Infinity).every(Number.isNaN)).toBe(true);
    expect(w.worldToPixel(150, 91).every(Number.isNaN)).toBe(true);
  });
});
