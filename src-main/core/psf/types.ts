/**
 * The PSF interface the solver uses. A PSF φ maps an offset (pixel centre − source position) to
 * the fraction of the source's flux that lands in that pixel, so Σ_p φ(p − x) = 1 for a source
 * well inside the image (pixel-integrated, unit sum). The solver only ever asks for a stamp: the
 * values and the gradients with respect to the source position over the PSF's finite support.
 */

/** Values and position gradients of φ(p − x) over a box of pixels. Buffers are reused by callers. */
export interface Stamp {
  /** Column of the first pixel of the box (may be negative or past the edge; periodic PSFs wrap). */
  x0: number;
  /** Row of the first pixel of the box. */
  y0: number;
  /** Box width in pixels. */
  nx: number;
  /** Box height in pixels. */
  ny: number;
  /** φ(p − x), row-major over the box: index (py − y0) * nx + (px − x0). */
  v: Float64Array;
  /** ∂φ(p − x)/∂x_source (not ∂/∂p): how the pixel value changes when the source moves right. */
  dx: Float64Array;
  /** ∂φ(p − x)/∂y_source. */
  dy: Float64Array;
}

export interface Psf {
  /** A short name for messages and catalogue metadata, e.g. `gaussian:1.5`. */
  readonly label: string;
  /** 2 for images; 1 for 1-D signals stored as images of height 1 (y is ignored). */
  readonly dims: 1 | 2;
  /**
   * True when the domain is a torus of size `period` (the talk's Dirichlet kernel): pixel indices
   * wrap and positions are taken modulo the period.
   */
  readonly periodic: boolean;
  /**
   * Half-size of the support in pixels: φ(p − x) = 0 whenever |p_x − x| > radius (and likewise
   * in y). Stamps cover at most (2·radius + 2)² pixels.
   */
  readonly radius: number;
  /** Largest stamp side this PSF produces, for sizing buffers. */
  readonly maxStampSide: number;
  /**
   * Gaussian-equivalent width σ in pixels (for a Gaussian, its σ; otherwise FWHM / 2.3548). Sets
   * default merge radii and grids; never used inside the objective.
   */
  readonly sigma: number;
  /** Fill `out` with the stamp for a source at (x, y). */
  stamp(x: number, y: number, out: Stamp): void;
}

/**
 * Divide a stamp by its own sum so it sums to exactly 1 wherever the source is:
 * φ = g / Σg and ∂φ = (∂g − φ Σ∂g) / Σg, given Σg, Σ∂g/∂x and Σ∂g/∂y over the stamp.
 */
export function normalizeStamp(out: Stamp, sum: number, sumX: number, sumY: number): void {
  const inv = 1 / sum;
  const n = out.nx * out.ny;
  const { v, dx, dy } = out;
  for (let m = 0; m < n; m++) {
    const p = v[m] * inv;
    v[m] = p;
    dx[m] = (dx[m] - p * sumX) * inv;
    dy[m] = (dy[m] - p * sumY) * inv;
  }
}

export function allocStamp(psf: Psf): Stamp {
  const n = psf.maxStampSide * (psf.dims === 1 ? 1 : psf.maxStampSide);
  return { x0: 0, y0: 0, nx: 0, ny: 0, v: new Float64Array(n), dx: new Float64Array(n), dy: new Float64Array(n) };
}

/**
 * A PSF that is a product of 1-D profiles, φ(u, v) = gx(u)·gy(v). Subclasses give the 1-D
 * profile integrated over a pixel and its derivative; the stamp is their outer product.
 */
export abstract class SeparablePsf implements Psf {
  abstract readonly label: string;
  readonly dims: 1 | 2 = 2;
  readonly periodic: boolean = false;
  abstract readonly radius: number;
  abstract readonly sigma: number;
  private bx = new Float64Array(0);
  private bdx = new Float64Array(0);
  private by = new Float64Array(0);
  private bdy = new Float64Array(0);

  get maxStampSide(): number {
    return 2 * Math.ceil(this.radius) + 2;
  }

  /**
   * Fill `val[k]` with the pixel-integrated 1-D profile at pixel `p0 + k` for a source at `c` on
   * axis `axis` (0 = x, 1 = y), and `der[k]` with its derivative with respect to `c` (both at
   * index `off + k`).
   */
  protected abstract profile(axis: 0 | 1, c: number, p0: number, n: number, val: Float64Array, der: Float64Array, off?: number): void;

  /**
   * The 1-D pixel-integrated profile along one axis (0 = x, 1 = y) for a source at coordinate
   * `c`, over pixels p0 .. p0 + n − 1, and its derivative with respect to c. Used for fast
   * separable correlations over whole images.
   */
  axisProfile(axis: 0 | 1, c: number, p0: number, n: number, val: Float64Array, der: Float64Array): void {
    this.profile(axis, c, p0, n, val, der);
  }

  /**
   * The stamp in factored form: the box and the four 1-D profiles (values and derivatives along
   * x and y) whose outer products are the stamp, written at `off` in the given arrays (each
   * needs maxStampSide values from `off`). v = gx·gy, ∂φ/∂x = dgx·gy, ∂φ/∂y = gx·dgy: loops over
   * the stamp then cost a few operations per pixel and the solver stores 4·side values per
   * particle instead of 3·side².
   */
  profiles(x: number, y: number, box: Int32Array, boxOff: number, gx: Float64Array, dgx: Float64Array, gy: Float64Array, dgy: Float64Array, off: number): void {
    const r = this.radius;
    const x0 = Math.ceil(x - r);
    const y0 = Math.ceil(y - r);
    const nx = Math.floor(x + r) - x0 + 1;
    const ny = Math.floor(y + r) - y0 + 1;
    box[boxOff] = x0;
    box[boxOff + 1] = y0;
    box[boxOff + 2] = nx;
    box[boxOff + 3] = ny;
    this.profile(0, x, x0, nx, gx, dgx, off);
    this.profile(1, y, y0, ny, gy, dgy, off);
  }

  private allocScratch(): void {
    const m = this.maxStampSide;
    this.bx = new Float64Array(m);
    this.bdx = new Float64Array(m);
    this.by = new Float64Array(m);
    this.bdy = new Float64Array(m);
  }

  stamp(x: number, y: number, out: Stamp): void {
    const r = this.radius;
    const x0 = Math.ceil(x - r);
    const y0 = Math.ceil(y - r);
    const nx = Math.floor(x + r) - x0 + 1;
    const ny = Math.floor(y + r) - y0 + 1;
    if (this.bx.length < this.maxStampSide) this.allocScratch();
    const { bx, bdx, by, bdy } = this;
    this.profile(0, x, x0, nx, bx, bdx);
    this.profile(1, y, y0, ny, by, bdy);
    out.x0 = x0;
    out.y0 = y0;
    out.nx = nx;
    out.ny = ny;
    const v = out.v;
    const dx = out.dx;
    const dy = out.dy;
    let k = 0;
    for (let j = 0; j < ny; j++) {
      const gy = by[j];
      const dgy = bdy[j];
      for (let i = 0; i < nx; i++, k++) {
        const gx = bx[i];
        v[k] = gx * gy;
        dx[k] = bdx[i] * gy;
        dy[k] = gx * dgy;
      }
    }
  }
}
