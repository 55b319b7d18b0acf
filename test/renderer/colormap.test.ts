import { describe, expect, it } from 'vitest';
import { colormap, COLORMAPS, hexToRgb, lutFromAnchors, oklabToRgb, rgbToOklab, VIRIDIS_ANCHORS } from '../../src-renderer/lib/colormap.js';
import { BLANK_RGBA, renderRgba } from '../../src-renderer/lib/render.js';
import { stretchTable } from '../../src-renderer/lib/stretch.js';

const rgb = (lut: Uint8Array, k: number) => Array.from(lut.subarray(3 * k, 3 * k + 3));

describe('colour maps', () => {
  it('are 256 RGB entries', () => {
    for (const name of COLORMAPS) expect(colormap(name).length).toBe(768);
  });

  it('grey and inverted are ramps', () => {
    expect(rgb(colormap('grey'), 0)).toEqual([0, 0, 0]);
    expect(rgb(colormap('grey'), 200)).toEqual([200, 200, 200]);
    expect(rgb(colormap('inverted'), 0)).toEqual([255, 255, 255]);
    expect(rgb(colormap('inverted'), 255)).toEqual([0, 0, 0]);
  });

  it('OKLab conversion round-trips sRGB', () => {
    for (const hex of [...VIRIDIS_ANCHORS, '#000000', '#ffffff', '#ff0000', '#123456']) {
      const c = hexToRgb(hex);
      const back = oklabToRgb(rgbToOklab(c));
      for (let i = 0; i < 3; i++) expect(Math.abs(back[i]! - c[i]!)).toBeLessThanOrEqual(1);
    }
    expect(rgbToOklab([255, 255, 255])[0]).toBeCloseTo(1, 4);
  });

  it('viridis passes through its anchors and its lightness rises monotonically', () => {
    const lut = colormap('viridis');
    expect(rgb(lut, 0)).toEqual(hexToRgb(VIRIDIS_ANCHORS[0]!));
    expect(rgb(lut, 255)).toEqual(hexToRgb(VIRIDIS_ANCHORS[8]!));
    // Anchors sit at k = 255·i/8; the nearest entry is within a couple of levels of the anchor.
    for (let i = 1; i < 8; i++) {
      const got = rgb(lut, Math.round((255 * i) / 8));
      const want = hexToRgb(VIRIDIS_ANCHORS[i]!);
      for (let c = 0; c < 3; c++) expect(Math.abs(got[c]! - want[c]!)).toBeLessThanOrEqual(4);
    }
    let prev = -1;
    for (let k = 0; k < 256; k++) {
      const L = rgbToOklab(rgb(lut, k) as [number, number, number])[0];
      expect(L).toBeGreaterThan(prev - 1e-3);
      prev = L;
    }
    expect(() => lutFromAnchors(['#000000'])).toThrow();
  });
});

describe('renderRgba', () => {
  it('applies limits, stretch and colour map, with blank pixels marked', () => {
    const px = Float32Array.from([0, 5, 10, 20, NaN, -4]);
    const out = renderRgba(px, { lo: 0, hi: 10 }, stretchTable('linear'), colormap('grey'));
    expect(out.length).toBe(24);
    expect(Array.from(out.subarray(0, 4))).toEqual([0, 0, 0, 255]);
    expect(out[4]).toBe(128);
    expect(Array.from(out.subarray(8, 12))).toEqual([255, 255, 255, 255]);
    expect(out[12]).toBe(255); // above hi: clipped
    expect(Array.from(out.subarray(16, 20))).toEqual([...BLANK_RGBA]);
    expect(out[20]).toBe(0); // below lo: clipped
  });

  it('reuses the output buffer when its size fits', () => {
    const buf = new Uint8ClampedArray(8);
    const out = renderRgba(Float32Array.from([1, 2]), { lo: 1, hi: 2 }, stretchTable('sqrt'), colormap('inverted'), buf);
    expect(out).toBe(buf);
    expect(out[0]).toBe(255);
    expect(out[4]).toBe(0);
  });
});
