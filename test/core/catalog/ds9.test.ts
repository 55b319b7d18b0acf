import { describe, expect, it } from 'vitest';
import { ds9RadiusPx, formatDs9Regions } from '../../../src-main/core/catalog/ds9.js';
import type { Source } from '../../../src-main/core/catalog/types.js';
import { InvalidOptionError } from '../../../src-main/core/errors.js';

const src = (id: number, frame: number, x: number, y: number, flux: number, ra?: number, dec?: number): Source => ({
  id, frame, x, y, flux, xErr: 0.1, yErr: 0.1, fluxErr: 10, snr: flux / 10, ...(ra === undefined ? {} : { ra, dec }),
});

describe('DS9 regions', () => {
  it('writes image regions 1-based with flux-dependent radii and id labels', () => {
    const text = formatDs9Regions([src(1, 0, 0, 0, 100), src(2, 0, 10.25, 3.5, 1e4), src(3, 0, 5, 5, 2)]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('# Region file format: DS9 version 4.1');
    expect(lines[1]).toMatch(/^global color=green /);
    expect(lines[2]).toBe('image');
    expect(lines[3]).toBe('circle(1.000000,1.000000,2.000) # text={1}');
    expect(lines[4]).toBe('circle(11.250000,4.500000,4.000) # text={2}');
    expect(lines[5]).toBe('circle(6.000000,6.000000,1.000) # text={3}');
    expect(lines[6]).toBe('');
    expect(lines).toHaveLength(7);
  });

  it('radius grows with log10 flux and scales', () => {
    expect(ds9RadiusPx(1000)).toBeCloseTo(3, 12);
    expect(ds9RadiusPx(1e5, 0.5)).toBeCloseTo(2.5, 12);
    expect(ds9RadiusPx(5)).toBe(1);
    expect(ds9RadiusPx(Number.NaN)).toBe(1);
    expect(ds9RadiusPx(2e4)).toBeGreaterThan(ds9RadiusPx(1e4));
  });

  it('writes fk5 regions in degrees with radii in arcsec, and a chosen colour', () => {
    const text = formatDs9Regions([src(4, 0, 1, 1, 1000, 150.123456789, -2.5)], { system: 'fk5', pixelScale: 0.2, color: '#ff8800' });
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^global color=#ff8800 /);
    expect(lines[2]).toBe('fk5');
    expect(lines[3]).toBe('circle(150.1234567890,-2.5000000000,0.6000") # text={4}');
  });

  it('selects a frame', () => {
    const text = formatDs9Regions([src(1, 0, 1, 1, 100), src(2, 1, 2, 2, 100), src(3, 1, 3, 3, 100)], { frame: 1 });
    expect(text.match(/circle/g)).toHaveLength(2);
    expect(text).not.toContain('text={1}');
  });

  it('rejects bad options with typed errors', () => {
    const s = [src(1, 0, 1, 1, 100)];
    expect(() => formatDs9Regions(s, { system: 'fk5' })).toThrow(InvalidOptionError); // no pixel scale
    expect(() => formatDs9Regions(s, { system: 'fk5', pixelScale: 1 })).toThrow(/no ra\/dec/);
    expect(() => formatDs9Regions(s, { color: 'red; circle(1,1,1)' })).toThrow(InvalidOptionError);
    expect(() => formatDs9Regions(s, { system: 'galactic' as never })).toThrow(InvalidOptionError);
    expect(() => formatDs9Regions(s, { radiusScale: 0 })).toThrow(InvalidOptionError);
    expect(() => formatDs9Regions([src(1, 0, Number.NaN, 1, 100)])).toThrow(InvalidOptionError);
  });
});
