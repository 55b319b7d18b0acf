import { describe, expect, it } from 'vitest';
import { maxFlux, nearestSource, particleRadius, snrColour, snrPosition, SOURCE_RADIUS, sourceRadius } from '../../src-renderer/lib/overlay.js';

describe('overlay geometry and colours', () => {
  it('circle radius grows as √flux from 1 to 3 PSF σ', () => {
    expect(sourceRadius(100, 100, 2)).toBe(2 * SOURCE_RADIUS.max);
    expect(sourceRadius(0, 100, 2)).toBe(2 * SOURCE_RADIUS.min);
    expect(sourceRadius(-5, 100, 2)).toBe(2 * SOURCE_RADIUS.min);
    const r25 = sourceRadius(25, 100, 1) - SOURCE_RADIUS.min;
    const r100 = sourceRadius(100, 100, 1) - SOURCE_RADIUS.min;
    expect(r25 / r100).toBeCloseTo(0.5, 12);
    expect(sourceRadius(10, 0, 1.1)).toBeCloseTo(1.1, 12);
    expect(sourceRadius(100, 100)).toBe(4.5);
  });

  it('snr maps logarithmically from red (3) to blue (300)', () => {
    expect(snrPosition(3)).toBe(0);
    expect(snrPosition(NaN)).toBe(0);
    expect(snrPosition(30)).toBeCloseTo(0.5, 12);
    expect(snrPosition(3000)).toBe(1);
    expect(snrColour(1)).toBe('rgb(255, 77, 77)');
    expect(snrColour(300)).toBe('rgb(79, 195, 255)');
    expect(snrColour(30)).not.toBe(snrColour(10));
  });

  it('particles get bigger dots with weight, and the nearest source is found within reach', () => {
    expect(particleRadius(4, 4)).toBe(4);
    expect(particleRadius(1, 4)).toBe(2.5);
    expect(particleRadius(-4, 4)).toBe(4);
    const rows = [
      { x: 1, y: 1, id: 1 },
      { x: 10, y: 10, id: 2 },
    ];
    expect(nearestSource(rows, 9, 9.5, 3)?.id).toBe(2);
    expect(nearestSource(rows, 5, 5, 3)).toBeNull();
    expect(maxFlux([{ flux: 3 }, { flux: 9 }, { flux: -1 }])).toBe(9);
    expect(maxFlux([])).toBe(0);
  });
});
