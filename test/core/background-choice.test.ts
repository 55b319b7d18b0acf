// The background choice (BIC over constant, plane, surface fitted on a masked lattice): the
// candidates' fits come from one set of surface normal equations and one χ² pass; each sky
// shape must still pick its own model, on a small image and on one thinned to a lattice.
import { describe, expect, it } from 'vitest';
import { chooseBackground, autoLambda } from '../../src-main/core/detect.js';
import { GaussianPsf } from '../../src-main/core/psf/gaussian.js';
import { noiseWeights } from '../../src-main/core/solver/noise.js';
import { simulate } from '../../src-main/core/simulate.js';

const psf = new GaussianPsf(1.5);

function field(size: number, sky: (u: number, v: number) => number): Float64Array {
  const sim = simulate({ kind: 'stars', width: size, height: size, count: Math.round((size * size) / 400), psf, seed: size, readNoise: 5, background: 0 });
  const d = sim.frames[0]!;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) d[y * size + x] += sky((2 * x) / (size - 1) - 1, (2 * y) / (size - 1) - 1);
  return d;
}

function choose(size: number, d: Float64Array): string {
  const { weights, data, estimate, valid } = noiseWeights(d, size, size);
  return chooseBackground(data, weights, size, size, psf, autoLambda(psf, estimate.medianWeight, valid));
}

describe('chooseBackground', () => {
  it('tells a flat, a tilted and a curved sky apart', () => {
    expect(choose(160, field(160, () => 200))).toBe('constant');
    expect(choose(160, field(160, (u, v) => 200 + 40 * u - 25 * v))).toBe('plane');
    expect(choose(160, field(160, (u, v) => 200 + 40 * u * u * u - 30 * u * v * v + 20 * v * v))).toBe('surface');
  });

  it('tells a flat and a curved sky apart on an image thinned to a lattice (1100×1100, every other pixel)', () => {
    expect(choose(1100, field(1100, () => 200))).toBe('constant');
    expect(choose(1100, field(1100, (u, v) => 200 + 40 * u * u * u - 30 * u * v * v + 20 * v * v))).toBe('surface');
  });
});
