/**
 * Drift correction: a known drift applied to localisations of a fixed structure (blinking
 * molecules at fixed sites) is recovered by cross-correlation of sub-stack renderings, and
 * correcting by it sharpens the structure back.
 */
import { describe, expect, it } from 'vitest';
import { correctDrift, driftAt, estimateDrift, formatDriftCsv } from '../../src-main/core/drift.js';
import { InvalidOptionError } from '../../src-main/core/errors.js';
import { fft, fft2 } from '../../src-main/core/fft.js';
import type { Localisation } from '../../src-main/core/render.js';
import { Rng } from '../../src-main/core/rng.js';

describe('fft', () => {
  it('agrees with a direct DFT and inverts (1-D and 2-D)', () => {
    const rng = new Rng(3);
    const n = 16;
    const re = Float64Array.from({ length: n }, () => rng.normal());
    const im = Float64Array.from({ length: n }, () => rng.normal());
    const [r0, i0] = [Float64Array.from(re), Float64Array.from(im)];
    fft(re, im);
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * k * t) / n;
        sr += r0[t] * Math.cos(a) - i0[t] * Math.sin(a);
        si += r0[t] * Math.sin(a) + i0[t] * Math.cos(a);
      }
      expect(re[k]).toBeCloseTo(sr, 10);
      expect(im[k]).toBeCloseTo(si, 10);
    }
    const m = 8;
    const a = Float64Array.from({ length: m * m }, () => rng.normal());
    const b = new Float64Array(m * m);
    const a0 = Float64Array.from(a);
    fft2(a, b, m);
    expect(a[0]).toBeCloseTo(a0.reduce((x, y) => x + y, 0), 10);
    fft2(a, b, m, true);
    for (let k = 0; k < m * m; k++) expect(a[k] / (m * m)).toBeCloseTo(a0[k], 10);
    expect(() => fft(new Float64Array(6), new Float64Array(6))).toThrow(InvalidOptionError);
  });
});

/** Localisations of `frames` frames: molecules at fixed sites blink on, seen with 10 nm precision, moved by the drift. */
function movie(frames: number, drift: (f: number) => { x: number; y: number }, seed = 1): { locs: Localisation[]; sites: { x: number; y: number }[] } {
  const rng = new Rng(seed);
  // A structure: 400 sites on random short filaments over 6.4 µm.
  const sites: { x: number; y: number }[] = [];
  for (let f = 0; f < 20; f++) {
    const x0 = rng.range(500, 5900);
    const y0 = rng.range(500, 5900);
    const ang = rng.range(0, Math.PI);
    for (let k = 0; k < 20; k++) sites.push({ x: x0 + k * 40 * Math.cos(ang), y: y0 + k * 40 * Math.sin(ang) });
  }
  const locs: Localisation[] = [];
  for (let f = 0; f < frames; f++) {
    const d = drift(f);
    for (let k = 0; k < 25; k++) {
      const s = sites[rng.int(sites.length)];
      locs.push({ frame: f, xNm: s.x + d.x + 10 * rng.normal(), yNm: s.y + d.y + 10 * rng.normal(), uncertaintyNm: 10, photons: 1000 });
    }
  }
  return { locs, sites };
}

describe('drift estimation', () => {
  it('recovers a linear drift of 150 nm × −90 nm over 400 frames within 5 nm', () => {
    const drift = (f: number) => ({ x: 0.375 * f, y: -0.225 * f });
    const { locs } = movie(400, drift);
    const curve = estimateDrift(locs, { segmentFrames: 50 });
    expect(curve.frames[0]).toBe(0);
    expect(curve.frames.at(-1)).toBe(399);
    expect(curve.segments).toHaveLength(8);
    let worst = 0;
    for (const f of [0, 25, 100, 199, 250, 399]) {
      const d = driftAt(curve, f);
      worst = Math.max(worst, Math.hypot(d.dx - drift(f).x, d.dy - drift(f).y));
    }
    expect(worst).toBeLessThan(5);
    // The CSV curve, one line per frame.
    const csv = formatDriftCsv(curve).split('\n');
    expect(csv[0]).toBe('frame,dx_nm,dy_nm');
    expect(csv).toHaveLength(402);
    expect(csv[1]).toBe('0,0.000,0.000');
  });

  it('correction brings the localisations of a site back together', () => {
    const drift = (f: number) => ({ x: 0.5 * f, y: 0.3 * f });
    const { locs } = movie(300, drift, 5);
    const curve = estimateDrift(locs, { segmentFrames: 30 });
    const fixed = correctDrift(locs, curve);
    // Residual motion: localisations of the last frames vs. the first, against the true drift.
    const err = fixed.map((l, k) => Math.hypot(l.xNm - (locs[k].xNm - drift(l.frame).x), l.yNm - (locs[k].yNm - drift(l.frame).y)));
    expect(Math.max(...err)).toBeLessThan(8);
    expect(Math.max(...locs.map((l, k) => Math.hypot(l.xNm - fixed[k].xNm, l.yNm - fixed[k].yNm)))).toBeGreaterThan(150);
  });

  it('no drift gives a flat curve; a single segment is refused', () => {
    const { locs } = movie(200, () => ({ x: 0, y: 0 }), 9);
    const curve = estimateDrift(locs, { segmentFrames: 40 });
    expect(Math.max(...curve.dxNm.map(Math.abs), ...curve.dyNm.map(Math.abs))).toBeLessThan(4);
    expect(() => estimateDrift(locs, { segmentFrames: 200 })).toThrow(/--drift/);
    expect(() => estimateDrift(locs, { segmentFrames: 0 })).toThrow(InvalidOptionError);
  });
});
