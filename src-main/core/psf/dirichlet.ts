import { InvalidPsfError } from '../errors.js';
import type { Psf, Stamp } from './types.js';

/**
 * The periodic Dirichlet kernel of the talk, on a torus sampled by an N×M grid (or N samples in
 * 1-D): per axis D_K(t) = Σ_{|k|≤K} e^{2πikt} = 1 + 2 Σ_{k=1..K} cos(2πkt) with t = (p − x)/N,
 * divided by N so that the kernel sums to one over the grid. With N ≥ 2K + 1 samples per axis the
 * grid sum equals the L² inner product on the torus exactly (discrete orthogonality of the
 * frequencies), so the pixel objective is the talk's continuous objective.
 * Its support is the whole torus: stamps cover the full grid.
 */
export class DirichletPsf implements Psf {
  readonly label: string;
  readonly dims: 1 | 2;
  readonly periodic = true;
  readonly radius: number;
  readonly maxStampSide: number;
  readonly sigma: number;
  readonly cutoff: number;
  readonly width: number;
  readonly height: number;
  private gx: Float64Array;
  private dgx: Float64Array;
  private gy: Float64Array;
  private dgy: Float64Array;

  /**
   * @param cutoff K, the highest frequency kept (≥ 1).
   * @param width N, grid samples along x (≥ 2K + 1).
   * @param height M, grid samples along y (≥ 2K + 1), or 1 for a 1-D torus.
   */
  constructor(cutoff: number, width: number, height: number) {
    if (!Number.isInteger(cutoff) || cutoff < 1) throw new InvalidPsfError(`Dirichlet cutoff must be an integer ≥ 1 (got ${cutoff})`);
    for (const [name, n] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new InvalidPsfError(`Dirichlet grid ${name} must be a positive integer (got ${n})`);
      if (n !== 1 && n < 2 * cutoff + 1) {
        throw new InvalidPsfError(`Dirichlet grid ${name} ${n} is below 2K+1 = ${2 * cutoff + 1}: the grid would alias the kernel`);
      }
    }
    if (width === 1) throw new InvalidPsfError('Dirichlet grid width must be at least 2K+1');
    this.cutoff = cutoff;
    this.width = width;
    this.height = height;
    this.dims = height === 1 ? 1 : 2;
    this.radius = Math.max(width, height) / 2;
    this.maxStampSide = Math.max(width, height);
    // FWHM of D_K is about 1.2/(2K+1) of the period.
    this.sigma = (1.2 / (2 * cutoff + 1)) * width / 2.3548;
    this.label = `dirichlet:${cutoff}`;
    this.gx = new Float64Array(width);
    this.dgx = new Float64Array(width);
    this.gy = new Float64Array(height);
    this.dgy = new Float64Array(height);
  }

  private axis(c: number, n: number, val: Float64Array, der: Float64Array): void {
    const K = this.cutoff;
    const w = (2 * Math.PI) / n;
    for (let p = 0; p < n; p++) {
      const t = w * (p - c);
      let s = 1;
      let d = 0;
      for (let k = 1; k <= K; k++) {
        s += 2 * Math.cos(k * t);
        // d/dc cos(k w (p − c)) = k w sin(k w (p − c))
        d += 2 * k * w * Math.sin(k * t);
      }
      val[p] = s / n;
      der[p] = d / n;
    }
  }

  stamp(x: number, y: number, out: Stamp): void {
    const { width, height } = this;
    this.axis(x, width, this.gx, this.dgx);
    if (height === 1) {
      this.gy[0] = 1;
      this.dgy[0] = 0;
    } else {
      this.axis(y, height, this.gy, this.dgy);
    }
    out.x0 = 0;
    out.y0 = 0;
    out.nx = width;
    out.ny = height;
    let k = 0;
    for (let j = 0; j < height; j++) {
      const gy = this.gy[j];
      const dgy = this.dgy[j];
      for (let i = 0; i < width; i++, k++) {
        out.v[k] = this.gx[i] * gy;
        out.dx[k] = this.dgx[i] * gy;
        out.dy[k] = this.gx[i] * dgy;
      }
    }
  }
}
