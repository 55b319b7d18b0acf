import { InvalidPsfError } from '../errors.js';
import type { Image } from '../image.js';
import { normalizeStamp, type Psf, type Stamp } from './types.js';

/** Options of {@link SampledPsf.fromImage}. */
export interface SampledPsfOptions {
  /**
   * Samples per image pixel along each axis, a positive integer (default 1): with s > 1 the stamp
   * pixel pitch is 1/s image pixel and the stamp is integrated over image pixels (s×s boxes).
   */
  oversample?: number;
  /** The file the stamp came from, for labels and error messages. */
  name?: string;
}

/**
 * Zero nodes added on each side of the (box-filtered) table before the spline fit, so that the
 * interpolant also passes through 0 there instead of extrapolating the stamp's edge; beyond them
 * the coefficients are cut (what leaks out is ~0.07 of the edge value, where PSF stamps are ~0).
 */
const ZERO_NODES = 2;
/** Zero coefficients around the spline table, so every tap of an in-support pixel is in range. */
const PAD = 4;

/** Uniform cubic B-spline weights of nodes i0 − 1 … i0 + 2 at fraction f = τ − i0 ∈ [0, 1). */
function splineWeights(f: number, w: Float64Array, dw: Float64Array, k: number, scale: number): void {
  const g = 1 - f;
  const f2 = f * f;
  w[k] = (g * g * g) / 6;
  w[k + 1] = (3 * f2 * f - 6 * f2 + 4) / 6;
  w[k + 2] = (-3 * f2 * f + 3 * f2 + 3 * f + 1) / 6;
  w[k + 3] = (f2 * f) / 6;
  // d/dτ, times dτ/d(source) = −s (`scale`).
  dw[k] = scale * (-0.5 * g * g);
  dw[k + 1] = scale * (1.5 * f2 - 2 * f);
  dw[k + 2] = scale * (-1.5 * f2 + f + 0.5);
  dw[k + 3] = scale * (0.5 * f2);
}

/**
 * Solve (c[k−1] + 4c[k] + c[k+1])/6 = d[k], k = 0..n−1, with c[−1] = c[n] = 0, in place on the
 * n values at data[off], data[off + stride], … (Thomas algorithm; the system is diagonally
 * dominant). `work` holds n modified super-diagonal entries.
 */
function splinePrefilter(data: Float64Array, off: number, stride: number, n: number, work: Float64Array): void {
  // Rows scaled by 6: c[k−1] + 4c[k] + c[k+1] = 6 d[k].
  let denom = 4;
  work[0] = 1 / denom;
  data[off] = (6 * data[off]) / denom;
  for (let k = 1; k < n; k++) {
    denom = 4 - work[k - 1];
    work[k] = 1 / denom;
    const i = off + k * stride;
    data[i] = (6 * data[i] - data[i - stride]) / denom;
  }
  for (let k = n - 2; k >= 0; k--) {
    const i = off + k * stride;
    data[i] -= work[k] * data[i + stride];
  }
}

/**
 * σ = FWHM / 2.3548 of the interpolant (see SampledPsf), from the area of its half-maximum region
 * sampled on a lattice of at most 1/8 node, less 1/12 image px² (the pixel integration).
 */
function halfMaximumSigma(coef: Float64Array, cw: number, bw: number, bh: number, s: number): number {
  const w = new Float64Array(4);
  const dw = new Float64Array(4);
  const v = new Float64Array(4);
  const dv = new Float64Array(4);
  const valueAt = (tx: number, ty: number): number => {
    const i0 = Math.floor(tx);
    const j0 = Math.floor(ty);
    splineWeights(tx - i0, w, dw, 0, 1);
    splineWeights(ty - j0, v, dv, 0, 1);
    let val = 0;
    for (let b = 0; b < 4; b++) {
      const r = (j0 - 1 + b) * cw + i0 - 1;
      val += v[b] * (w[0] * coef[r] + w[1] * coef[r + 1] + w[2] * coef[r + 2] + w[3] * coef[r + 3]);
    }
    return val;
  };
  // The region at or above a quarter of the largest node, one node wider: the half-maximum
  // contour lies inside, since the interpolant's peak is near its largest node.
  let top = 0;
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) top = Math.max(top, valueAt(x + PAD, y + PAD));
  let x0 = bw;
  let x1 = -1;
  let y0 = bh;
  let y1 = -1;
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      if (valueAt(x + PAD, y + PAD) >= top / 4) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  x0 = Math.max(0, x0 - 1);
  y0 = Math.max(0, y0 - 1);
  x1 = Math.min(bw - 1, x1 + 1);
  y1 = Math.min(bh - 1, y1 + 1);
  // Step 1/8 node, coarser if the region is large (at most ~250k samples).
  const span = Math.max(x1 - x0, y1 - y0);
  const h = Math.max(1 / 8, span / 500);
  const nx = Math.floor((x1 - x0) / h) + 1;
  const ny = Math.floor((y1 - y0) / h) + 1;
  const samples = new Float64Array(nx * ny);
  let peak = 0;
  for (let j = 0, k = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++, k++) {
      samples[k] = valueAt(x0 + i * h + PAD, y0 + j * h + PAD);
      peak = Math.max(peak, samples[k]);
    }
  }
  let count = 0;
  for (let k = 0; k < samples.length; k++) if (samples[k] >= peak / 2) count++;
  // Area in image px², FWHM, σ of the pixel-integrated core, less the pixel's 1/12.
  const area = (count * h * h) / (s * s);
  const fwhm = 2 * Math.sqrt(area / Math.PI);
  const sig = fwhm / (2 * Math.sqrt(2 * Math.LN2));
  return Math.max(0.1, Math.sqrt(Math.max(0, sig * sig - 1 / 12)));
}

/**
 * A PSF given as a stamp (a measured or modelled PSF image, e.g. from a FITS file). The PSF centre
 * is the centre of the array, ((W − 1)/2, (H − 1)/2) in stamp pixels, for odd and even sizes.
 *
 * Construction: non-finite pixels are an error; negative pixels (noise in the wings) are clipped
 * to 0; with oversampling s > 1 the fine stamp is integrated over image pixels, i.e. summed over
 * every s×s block of fine pixels (a table on the fine grid, s − 1 nodes larger per axis, whose node
 * m is the image pixel centred at fine position m − (s − 1)/2); the table is divided by the stamp
 * sum, so that it sums to 1 over any image-pixel lattice of its nodes. Pixel values are then a
 * cubic B-spline interpolant of this table extended by 2 zero nodes each side (coefficients from
 * the interpolation conditions at every node, zero beyond): C² in the source position, with exact
 * derivatives. Every stamp sums to 1 (to rounding) for any source position: for s = 1 the raw
 * sum is the same everywhere and the coefficients are scaled once; for s > 1 image pixels sample
 * the fine table sparsely, the sum varies slightly with the sub-pixel position, and each stamp
 * is divided by its own sum.
 *
 * `radius` is the true support: the interpolant is nonzero up to 2 fine nodes beyond the (box-
 * filtered, zero-extended) table, so radius = (max(W, H) + s + 6) / (2s) image pixels: half the
 * stamp extent W/(2s), plus half an image pixel for the box filter, plus 3/s for the spline (whose
 * values out there are tiny when the stamp's edges are near 0, as a PSF stamp's should be).
 * `sigma` is FWHM / 2.3548 as the Psf interface defines it, the FWHM from the area A of the
 * interpolant's half-maximum region (FWHM = 2√(A/π), the geometric mean of the axes' FWHMs for an
 * elliptical core), less the variance of the image pixel it is integrated over (1/12 px²), in
 * image pixels, at least 0.1. Not the second moments: a Moffat β = 2.5 of FWHM 3.5 px has an
 * r.m.s. width of 2.9 px from its wings, and noise in a measured stamp's wings inflates them
 * further, while the solver and the catalogue use σ for core-sized distances (merging, groups).
 */
export class SampledPsf implements Psf {
  readonly label: string;
  readonly dims = 2 as const;
  readonly periodic = false;
  readonly radius: number;
  readonly maxStampSide: number;
  readonly sigma: number;
  /** Stamp pixels per image pixel. */
  readonly oversample: number;
  /** Size of the supplied stamp, stamp pixels. */
  readonly stampWidth: number;
  readonly stampHeight: number;
  /** Support half-widths per axis, image pixels. */
  private readonly rx: number;
  private readonly ry: number;
  /** B-spline coefficients with PAD zeros around, row-major, cw × ch. */
  private readonly coef: Float64Array;
  private readonly cw: number;
  /** Table index (padded) of the PSF centre. */
  private readonly cx: number;
  private readonly cy: number;
  /** Spline weights (and derivatives) of the 4 taps per axis, shared by all pixels of a stamp. */
  private readonly wx: Float64Array;
  private readonly dwx: Float64Array;
  private readonly wy: Float64Array;
  private readonly dwy: Float64Array;
  /** First-pass results (rows of the table filtered along x), values and x-derivatives. */
  private readonly hv: Float64Array;
  private readonly hd: Float64Array;

  private constructor(
    label: string,
    s: number,
    stampWidth: number,
    stampHeight: number,
    coef: Float64Array,
    bw: number,
    bh: number,
    sigma: number,
  ) {
    this.label = label;
    this.oversample = s;
    this.stampWidth = stampWidth;
    this.stampHeight = stampHeight;
    this.coef = coef;
    this.cw = bw + 2 * PAD;
    this.cx = (bw - 1) / 2 + PAD;
    this.cy = (bh - 1) / 2 + PAD;
    this.rx = (bw + 3) / (2 * s);
    this.ry = (bh + 3) / (2 * s);
    this.radius = Math.max(this.rx, this.ry);
    this.maxStampSide = 2 * Math.ceil(this.radius) + 2;
    this.sigma = sigma;
    const m = this.maxStampSide;
    this.wx = new Float64Array(4);
    this.dwx = new Float64Array(4);
    this.wy = new Float64Array(4);
    this.dwy = new Float64Array(4);
    this.hv = new Float64Array((s * (m - 1) + 4) * m);
    this.hd = new Float64Array(this.hv.length);
  }

  /**
   * Build from a stamp image. Throws InvalidPsfError (with `options.name` as the file) for an
   * oversampling that is not a positive integer, a stamp under 3 pixels or under one image pixel
   * (s stamp pixels) on a side, a non-finite pixel, or a sum ≤ 0.
   */
  static fromImage(image: Image, options: SampledPsfOptions = {}): SampledPsf {
    const name = options.name;
    const s = options.oversample ?? 1;
    if (!Number.isInteger(s) || s < 1) throw new InvalidPsfError(`PSF oversampling must be a positive integer (got ${s})`, name);
    const { width: w, height: h, data } = image;
    if (w < 3 || h < 3) throw new InvalidPsfError(`PSF stamp is ${w}×${h} pixels; it needs at least 3×3`, name);
    if (w < s || h < s) {
      throw new InvalidPsfError(`PSF stamp of ${w}×${h} pixels is smaller than one image pixel at oversampling ${s}`, name);
    }
    if (data.length !== w * h) throw new InvalidPsfError(`PSF stamp has ${data.length} values, expected ${w}×${h}`, name);
    let raw = 0;
    for (let k = 0; k < data.length; k++) {
      const v = data[k];
      if (!Number.isFinite(v)) {
        throw new InvalidPsfError(`PSF stamp has a non-finite value (${v}) at x=${k % w}, y=${Math.floor(k / w)}`, name);
      }
      raw += v;
    }
    if (!(raw > 0)) throw new InvalidPsfError(`PSF stamp sums to ${raw}; a PSF needs a positive sum`, name);

    // Clip negatives.
    const fine = new Float64Array(w * h);
    let sum = 0;
    for (let k = 0; k < w * h; k++) {
      const v = data[k] > 0 ? data[k] : 0;
      fine[k] = v;
      sum += v;
    }

    // Box filter to image pixels (separable): table node m + ZERO_NODES is the sum of the s×s fine
    // pixels m − s + 1 … m per axis, i.e. the image pixel centred at fine position m − (s − 1)/2;
    // the table has w + s − 1 + 2 ZERO_NODES nodes per row and its centre is the PSF centre.
    const bw = w + s - 1 + 2 * ZERO_NODES;
    const bh = h + s - 1 + 2 * ZERO_NODES;
    const cw = bw + 2 * PAD;
    const ch = bh + 2 * PAD;
    const coef = new Float64Array(cw * ch);
    const inv = 1 / sum;
    const z = ZERO_NODES;
    const rows = new Float64Array(bw * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = fine[y * w + x];
        if (v !== 0) for (let o = 0; o < s; o++) rows[y * bw + x + o + z] += v;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < bw; x++) {
        const v = rows[y * bw + x] * inv;
        if (v !== 0) for (let o = 0; o < s; o++) coef[(y + o + z + PAD) * cw + x + PAD] += v;
      }
    }

    // Interpolating cubic B-spline coefficients: prefilter rows, then columns.
    const work = new Float64Array(Math.max(bw, bh));
    for (let y = 0; y < bh; y++) splinePrefilter(coef, (y + PAD) * cw + PAD, 1, bw, work);
    for (let x = 0; x < bw; x++) splinePrefilter(coef, PAD * cw + x + PAD, cw, bh, work);
    const sigma = halfMaximumSigma(coef, cw, bw, bh, s);
    if (s === 1) {
      // Without oversampling a stamp's taps cover every coefficient once per spline weight, and
      // the weights sum to 1 (their derivatives to 0): every stamp sums to Σc. Scaling the
      // coefficients by 1/Σc makes each stamp sum to 1 without a normalising pass.
      let total = 0;
      for (let k = 0; k < coef.length; k++) total += coef[k];
      for (let k = 0; k < coef.length; k++) coef[k] /= total;
    }

    const label = name !== undefined ? `file:${name}${s > 1 ? `@${s}` : ''}` : `sampled:${w}x${h}${s > 1 ? `@${s}` : ''}`;
    return new SampledPsf(label, s, w, h, coef, bw, bh, sigma);
  }

  stamp(x: number, y: number, out: Stamp): void {
    const s = this.oversample;
    const x0 = Math.ceil(x - this.rx);
    const y0 = Math.ceil(y - this.ry);
    const nx = Math.floor(x + this.rx) - x0 + 1;
    const ny = Math.floor(y + this.ry) - y0 + 1;
    out.x0 = x0;
    out.y0 = y0;
    out.nx = nx;
    out.ny = ny;
    // Pixel (i, j) sits at table coordinates (s·(x0 + i − x) + cx, s·(y0 + j − y) + cy): s is an
    // integer, so every pixel has the same fractions, hence the same 4 spline weights per axis,
    // and its taps start s·i (s·j) nodes after the first pixel's. The stamp is then a separable
    // filter of the coefficient table, evaluated in two passes: along x on every table row the
    // stamp touches (rows shared by neighbouring pixel rows when s < 4), then along y.
    const { wx, dwx, wy, dwy, coef, cw, hv, hd } = this;
    const tx = s * (x0 - x) + this.cx;
    const i0 = Math.floor(tx);
    splineWeights(tx - i0, wx, dwx, 0, -s);
    const ty = s * (y0 - y) + this.cy;
    const j0 = Math.floor(ty);
    splineWeights(ty - j0, wy, dwy, 0, -s);
    const a0 = wx[0];
    const a1 = wx[1];
    const a2 = wx[2];
    const a3 = wx[3];
    const d0 = dwx[0];
    const d1 = dwx[1];
    const d2 = dwx[2];
    const d3 = dwx[3];
    // Pass 1: hv[q·nx + i] = Σ_a wx_a c[j0 − 1 + q][i0 − 1 + s·i + a], hd likewise with dwx, for
    // the rows q = s·j + b (b = 0..3) some pixel row uses.
    const nq = s * (ny - 1) + 4;
    for (let q = 0; q < nq; q++) {
      if (s > 4 && q % s > 3) continue;
      let r = (j0 - 1 + q) * cw + i0 - 1;
      const o = q * nx;
      for (let i = 0; i < nx; i++, r += s) {
        const c0 = coef[r];
        const c1 = coef[r + 1];
        const c2 = coef[r + 2];
        const c3 = coef[r + 3];
        hv[o + i] = a0 * c0 + a1 * c1 + a2 * c2 + a3 * c3;
        hd[o + i] = d0 * c0 + d1 * c1 + d2 * c2 + d3 * c3;
      }
    }
    // Pass 2: along y.
    const b0 = wy[0];
    const b1 = wy[1];
    const b2 = wy[2];
    const b3 = wy[3];
    const e0 = dwy[0];
    const e1 = dwy[1];
    const e2 = dwy[2];
    const e3 = dwy[3];
    const ov = out.v;
    const ox = out.dx;
    const oy = out.dy;
    let sum = 0;
    let sumX = 0;
    let sumY = 0;
    for (let j = 0, k = 0; j < ny; j++) {
      const q0 = s * j * nx;
      const q1 = q0 + nx;
      const q2 = q1 + nx;
      const q3 = q2 + nx;
      for (let i = 0; i < nx; i++, k++) {
        const h0 = hv[q0 + i];
        const h1 = hv[q1 + i];
        const h2 = hv[q2 + i];
        const h3 = hv[q3 + i];
        const val = b0 * h0 + b1 * h1 + b2 * h2 + b3 * h3;
        const gx = b0 * hd[q0 + i] + b1 * hd[q1 + i] + b2 * hd[q2 + i] + b3 * hd[q3 + i];
        const gy = e0 * h0 + e1 * h1 + e2 * h2 + e3 * h3;
        ov[k] = val;
        ox[k] = gx;
        oy[k] = gy;
        sum += val;
        sumX += gx;
        sumY += gy;
      }
    }
    if (s > 1) normalizeStamp(out, sum, sumX, sumY);
  }
}
