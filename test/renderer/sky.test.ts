import { describe, expect, it } from 'vitest';
import { formatSky, wcsOf } from '../../src-renderer/lib/sky.js';

describe('RA/Dec readout', () => {
  it('writes RA in hours and Dec in degrees, sexagesimal', () => {
    expect(formatSky(10.684708, 41.26875)).toBe('00h42m44.33s +41°16′07.5″');
    expect(formatSky(359.999999, -0.5)).toBe('23h59m59.99s −00°30′00.0″');
    expect(formatSky(NaN, 0)).toBe('RA/Dec undefined here');
  });

  it('an image without WCS cards has no WCS', () => {
    expect(wcsOf(null)).toBeNull();
    expect(wcsOf({ imageId: 1, name: 'a', path: '/a', format: 'fits', width: 1, height: 1, frames: 1, pixelSizeNm: null })).toBeNull();
  });
});
