/**
 * Births beside a particle: a violation of the certificate that persists next to a particle of the
 * same sign, once the rest has settled, is a second source that particle stands in for. A faint
 * isolated birth there used to crawl for hundreds of iterations; the joint step on the two
 * weights settles it at once.
 */
import { describe, expect, it } from 'vitest';
import { prepareFrame, solveTile, validateDetectOptions } from '../../../src-main/core/detect.js';
import { GaussianPsf } from '../../../src-main/core/psf/gaussian.js';
import { simulate } from '../../../src-main/core/simulate.js';

describe('births beside a particle', () => {
  it('settle a bright pair on a tile edge in tens of iterations (the 2048² benchmark field, tile 6)', () => {
    // The scale benchmark's 2048² field (bench/run.mjs): tile 6 ends at x = 1801 and two bright
    // stars (11286 and 9264 counts, 1.3 px apart) sit on its last column. Before the joint
    // split this tile took 178 iterations (every other tile of the field ≤ 48).
    const psf = new GaussianPsf(1.5);
    const size = 2048;
    const sim = simulate({ kind: 'stars', width: size, height: size, count: Math.round((size * size * 25) / 1e4), psf, seed: 7, flux: [1000, 40000], readNoise: 5, background: 200, backgroundGradient: 0.1 });
    const o = validateDetectOptions({ psf });
    const prep = prepareFrame({ width: size, height: size, data: sim.frames[0] }, o);
    expect(prep.tiles[6].x1).toBe(1801);
    const pair = sim.truth.filter((s) => Math.hypot(s.x - 1800.4, s.y - 129.3) < 2);
    expect(pair.map((s) => Math.round(s.flux))).toEqual([11286, 9264]);
    const { stats } = solveTile(prep, 6, o);
    expect(stats.status).toBe('converged');
    expect(stats.certificate.relativeGap).toBeLessThanOrEqual(1e-5);
    expect(stats.iterations).toBeLessThan(60);
  });
});
