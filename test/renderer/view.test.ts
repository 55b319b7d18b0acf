import { describe, expect, it } from 'vitest';
import { fitView, imageToScreen, MAX_SCALE, panBy, screenToImage, wheelFactor, zoomAt } from '../../src-renderer/lib/view.js';

describe('view transform', () => {
  it('fits and centres the image', () => {
    const v = fitView(100, 50, 400, 400);
    expect(v.scale).toBe(4);
    expect(v.offsetX).toBe(0);
    expect(v.offsetY).toBe(100);
  });

  it('zooms about the cursor: the image point under it stays put', () => {
    const v = fitView(100, 100, 500, 500);
    const before = screenToImage(v, 123, 321);
    const z = zoomAt(v, 2.5, 123, 321);
    const after = screenToImage(z, 123, 321);
    expect(after.x).toBeCloseTo(before.x, 9);
    expect(after.y).toBeCloseTo(before.y, 9);
    expect(zoomAt(v, 1e9, 0, 0).scale).toBe(MAX_SCALE);
  });

  it('maps pixel centres both ways in the catalogue convention', () => {
    const v = panBy({ scale: 10, offsetX: 0, offsetY: 0 }, 5, 7);
    expect(screenToImage(v, 5 + 5, 7 + 5)).toEqual({ x: 0, y: 0, col: 0, row: 0 });
    const p = imageToScreen(v, 3, 4);
    expect(screenToImage(v, p.sx, p.sy)).toMatchObject({ col: 3, row: 4 });
  });

  it('turns wheel steps into zoom factors', () => {
    expect(wheelFactor(-100, 0)).toBeCloseTo(1.2, 9);
    expect(wheelFactor(100, 0)).toBeCloseTo(1 / 1.2, 9);
    expect(wheelFactor(0, 0)).toBe(1);
  });
});

describe('regions of interest', () => {
  it('caps a region around its centre and keeps it inside the image', async () => {
    const { capRegion } = await import('../../src-renderer/lib/region.js');
    expect(capRegion({ x: 0, y: 0, width: 256, height: 256 }, 128, 256, 256)).toEqual({ x: 64, y: 64, width: 128, height: 128 });
    expect(capRegion({ x: 10, y: 20, width: 40, height: 30 }, 128, 256, 256)).toEqual({ x: 10, y: 20, width: 40, height: 30 });
    expect(capRegion({ x: 200, y: 0, width: 300, height: 64 }, 128, 256, 64)).toEqual({ x: 128, y: 0, width: 128, height: 64 });
    expect(capRegion({ x: 0, y: 0, width: 5, height: 100 }, 128, 256, 256)).toBeNull();
  });
});
