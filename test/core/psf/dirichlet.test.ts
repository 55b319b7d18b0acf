import { describe, expect, it } from 'vitest';
import { InvalidPsfError } from '../../../src-main/core/errors.js';
import { DirichletPsf } from '../../../src-main/core/psf/dirichlet.js';
import { gradientError, rng, stampOf, stampSum } from './psf-checks.js';

describe('DirichletPsf', () => {
  const rand = rng(5);

  it('sums to 1 over the grid for any source position', () => {
    for (const [k, w, h] of [[3, 16, 12], [5, 11, 11], [4, 32, 1]] as const) {
      const psf = new DirichletPsf(k, w, h);
      for (let t = 0; t < 10; t++) expect(Math.abs(stampSum(stampOf(psf, w * rand(), h * rand())) - 1)).toBeLessThan(1e-12);
    }
  });

  it('is the normalised Dirichlet kernel D_K((p − x)/N)/N per axis', () => {
    const psf = new DirichletPsf(3, 16, 12);
    const x = 5.3;
    const y = 7.9;
    const st = stampOf(psf, x, y);
    const D = (t: number, n: number): number => Math.sin(Math.PI * 7 * t) / Math.sin(Math.PI * t) / n;
    for (const [px, py] of [[0, 0], [5, 8], [15, 3], [9, 11]]) {
      expect(st.v[py * 16 + px]).toBeCloseTo(D((px - x) / 16, 16) * D((py - y) / 12, 12), 13);
    }
  });

  it('is periodic: sources at x and x + N give the same stamp', () => {
    const psf = new DirichletPsf(4, 20, 14);
    for (let t = 0; t < 5; t++) {
      const x = 20 * rand();
      const y = 14 * rand();
      const a = stampOf(psf, x, y);
      for (const [sx, sy] of [[20, 0], [0, 14], [-40, 28]]) {
        const b = stampOf(psf, x + sx, y + sy);
        expect([b.x0, b.y0, b.nx, b.ny]).toEqual([a.x0, a.y0, a.nx, a.ny]);
        for (let k = 0; k < a.nx * a.ny; k++) {
          expect(Math.abs(b.v[k] - a.v[k])).toBeLessThan(1e-12);
          expect(Math.abs(b.dx[k] - a.dx[k])).toBeLessThan(1e-11);
          expect(Math.abs(b.dy[k] - a.dy[k])).toBeLessThan(1e-11);
        }
      }
    }
  });

  it('has gradients equal to finite differences of its values (2-D and 1-D)', () => {
    for (const [k, w, h] of [[3, 16, 12], [6, 13, 17], [4, 32, 1]] as const) {
      const psf = new DirichletPsf(k, w, h);
      for (let t = 0; t < 5; t++) {
        const { err, scale } = gradientError(psf, w * rand(), h * rand());
        expect(err).toBeLessThan(1e-8 * scale);
      }
    }
  });

  it('is symmetric about the source on the torus', () => {
    const psf = new DirichletPsf(3, 16, 16);
    const a = stampOf(psf, 5.3, 6.6);
    const b = stampOf(psf, 16 - 5.3, 16 - 6.6);
    // p − x ↦ x − p: pixel (i, j) for the first source matches (−i mod N, −j mod N) for the second.
    for (let j = 0; j < 16; j++) {
      for (let i = 0; i < 16; i++) {
        expect(Math.abs(a.v[j * 16 + i] - b.v[((16 - j) % 16) * 16 + ((16 - i) % 16)])).toBeLessThan(1e-14);
      }
    }
  });

  it('rejects grids that alias the kernel', () => {
    expect(() => new DirichletPsf(5, 10, 10)).toThrow(InvalidPsfError);
    expect(() => new DirichletPsf(0, 10, 10)).toThrow(InvalidPsfError);
    expect(() => new DirichletPsf(2.5, 10, 10)).toThrow(InvalidPsfError);
  });
});
