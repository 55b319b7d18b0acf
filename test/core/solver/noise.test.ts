// The sky statistics and noise weights behind λ and the solver's weights: the single-pass,
// selection-based versions give exactly (bit for bit) what the plain versions below give
// (sample with a closure, filter into copies, median of each copy).
import { describe, expect, it } from 'vitest';
import { GaussianPsf } from '../../../src-main/core/psf/gaussian.js';
import { Rng } from '../../../src-main/core/rng.js';
import { median, noiseWeights, skyStatistics, type NoiseOptions } from '../../../src-main/core/solver/noise.js';
import { simulate } from '../../../src-main/core/simulate.js';

function sample(data: Float64Array, max: number, pick: (i: number) => number | null): Float64Array {
  const stride = Math.max(1, Math.floor(data.length / max));
  const out: number[] = [];
  for (let i = 0; i < data.length; i += stride) {
    const v = pick(i);
    if (v !== null && Number.isFinite(v)) out.push(v);
  }
  return Float64Array.from(out);
}

function referenceSky(data: Float64Array, width: number, height: number): { level: number; sigma: number } {
  const pair = (i: number) => (i % width) + 1 < width ? i + 1 : height > 1 && i + width < data.length ? i + width : -1;
  const diffs = sample(data, 400_000, (i) => (pair(i) < 0 ? null : data[pair(i)]! - data[i]!));
  const md = median(diffs);
  let sigma = (1.4826 * median(diffs.map((d) => Math.abs(d - md)))) / Math.SQRT2;
  const vals = sample(data, 400_000, (i) => data[i]!);
  let level = median(vals);
  if (!(sigma > 0)) {
    let s = 0;
    let s2 = 0;
    for (const v of vals) {
      s += v;
      s2 += v * v;
    }
    const m = s / Math.max(1, vals.length);
    sigma = Math.sqrt(Math.max(0, s2 / Math.max(1, vals.length) - m * m));
  }
  for (let round = 0; round < 2 && sigma > 0; round++) {
    const cut = level + 3 * sigma;
    const d2 = sample(data, 400_000, (i) => {
      const j = pair(i);
      if (j < 0 || !(data[i]! < cut) || !(data[j]! < cut)) return null;
      return data[j]! - data[i]!;
    });
    if (d2.length < 100) break;
    const m2 = median(d2);
    const s2 = (1.4826 * median(d2.map((d) => Math.abs(d - m2)))) / Math.SQRT2;
    if (s2 > 0) sigma = s2;
    const kept = vals.filter((v) => v < level + 3 * sigma && v > level - 5 * sigma);
    if (kept.length > 0) level = median(kept);
  }
  for (let round = 0; round < 2 && sigma > 0; round++) {
    const cut = level + 3 * sigma;
    const kept = vals.filter((v) => v < cut && v > level - 5 * sigma);
    if (kept.length > 0) level = median(kept);
  }
  if (!(sigma > 0)) sigma = Math.max(Math.abs(level) * 1e-6, 1e-12);
  return { level, sigma };
}

/** Weights as first written: 3×3 means by explicit neighbour loops, then the variance model. */
function referenceWeights(data: Float64Array, width: number, height: number, o: NoiseOptions): { weights: Float64Array; medianWeight: number } {
  const N = width * height;
  const sky = referenceSky(data, width, height);
  const offset = o.offset ?? 0;
  const s2 = sky.sigma * sky.sigma;
  let gain: number | null = o.gain ?? null;
  if ((o.model ?? 'poisson-gaussian') === 'poisson-gaussian' && gain === null) {
    const readVar = o.readNoise !== undefined ? o.readNoise * o.readNoise : 0;
    if (sky.level - offset > 3 * sky.sigma && s2 > readVar) gain = (s2 - readVar) / (sky.level - offset);
  }
  const physical = o.gain !== undefined && o.readNoise !== undefined && o.offset !== undefined;
  const uniform = o.model === 'uniform' || gain === null;
  const weights = new Float64Array(N);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!Number.isFinite(data[y * width + x])) continue;
      let variance = s2;
      if (!uniform) {
        let sum = 0;
        let cnt = 0;
        for (let yy = Math.max(0, y - 1); yy <= Math.min(height - 1, y + 1); yy++) {
          let rs = 0;
          let rn = 0;
          for (let xx = Math.max(0, x - 1); xx <= Math.min(width - 1, x + 1); xx++) {
            const v = data[yy * width + xx]!;
            if (Number.isFinite(v)) {
              rs += v;
              rn++;
            }
          }
          sum += rs;
          cnt += rn;
        }
        const S = sum / cnt;
        variance = physical ? o.readNoise! * o.readNoise! + gain! * Math.max(S - offset, 0) : s2 + gain! * Math.max(S - sky.level, 0);
      }
      weights[y * width + x] = 1 / Math.max(variance, 1e-6 * s2, 1e-300);
    }
  }
  return { weights, medianWeight: median(sample(weights, 400_000, (i) => (weights[i]! > 0 ? weights[i]! : null))) };
}

function starField(w: number, h: number, seed: number): Float64Array {
  const psf = new GaussianPsf(1.5);
  return simulate({ kind: 'stars', width: w, height: h, count: Math.round((w * h) / 300), psf, seed, readNoise: 5, background: 200, backgroundGradient: 0.1 }).frames[0]!;
}

const cases: [string, number, number, () => Float64Array][] = [
  ['a crowded star field', 200, 150, () => starField(200, 150, 3)],
  ['a field with NaN and infinite pixels', 97, 61, () => {
    const d = starField(97, 61, 4);
    for (let i = 5; i < d.length; i += 37) d[i] = i % 2 ? NaN : Infinity;
    return d;
  }],
  ['one row', 300, 1, () => starField(300, 40, 5).slice(300 * 20, 300 * 21)],
  ['one column', 1, 300, () => {
    const d = starField(40, 300, 6);
    return Float64Array.from({ length: 300 }, (_, y) => d[y * 40 + 20]!);
  }],
  ['a flat integer image', 40, 30, () => new Float64Array(1200).fill(7)],
  ['integer-quantised Gaussian noise', 64, 64, () => {
    const r = new Rng(8);
    return Float64Array.from({ length: 4096 }, () => Math.round(100 + 0.3 * r.normal()));
  }],
];

describe('skyStatistics and noiseWeights', () => {
  for (const [name, w, h, make] of cases) {
    it(`equal the plain implementation bit for bit on ${name}`, () => {
      const data = make();
      expect(skyStatistics(data, w, h)).toEqual(referenceSky(data, w, h));
      for (const o of [{}, { gain: 2, offset: 100 }, { gain: 1.5, offset: 10, readNoise: 3 }, { model: 'uniform' as const }]) {
        const got = noiseWeights(data, w, h, o);
        const ref = referenceWeights(data, w, h, o);
        expect(got.weights).toEqual(ref.weights);
        expect(got.estimate.medianWeight).toBe(ref.medianWeight);
        expect(got.valid).toBe(ref.weights.filter((v) => v > 0).length);
        for (let i = 0; i < w * h; i++) expect(got.data[i]).toBe(Number.isFinite(data[i]) ? data[i] : 0);
      }
    });
  }

  it('sample a large image on a stride (over 800 000 pixels: every other pixel) as the plain version does', () => {
    const data = starField(1000, 820, 9);
    expect(skyStatistics(data, 1000, 820)).toEqual(referenceSky(data, 1000, 820));
    expect(noiseWeights(data, 1000, 820).estimate.medianWeight).toBe(referenceWeights(data, 1000, 820, {}).medianWeight);
  });
});
