/**
 * PSF-matched correlation over a whole image: out(x) = Σ_p u_p φ(p − x) for every pixel centre x.
 * This is the data term of the first variation V at every grid point, used by the screened start
 * (at μ = 0 mass can only grow where it exceeds λ) and by the optimality certificate.
 * Separable PSFs cost (2R+1)·2 per pixel instead of (2R+1)².
 */

import { fft2, nextPowerOfTwo } from '../fft.js';
import { SeparablePsf, allocStamp, type Psf } from '../psf/types.js';

/**
 * Stamps of at least this many pixels are correlated through the FFT: direct summation costs
 * nx·ny per pixel (5184 for the 72×72 support of a β 2.5 Moffat), the FFT about 12·log2(n)
 * operations per pixel of n×n blocks, whatever the stamp.
 */
export const FFT_MIN_STAMP_PIXELS = 256;

/** `out` may be `u` itself (in place: no extra image for a separable PSF, a copy of u otherwise). */
export function correlate(psf: Psf, u: Float64Array, width: number, height: number, out = new Float64Array(width * height)): Float64Array {
  if (psf instanceof SeparablePsf && !psf.periodic) return correlateSeparable(psf, u, width, height, out);
  if (out === u) u = u.slice();
  if (psf.periodic) return correlatePeriodic(psf, u, width, height, out);
  const st = allocStamp(psf);
  psf.stamp(0, 0, st);
  if (st.nx * st.ny >= FFT_MIN_STAMP_PIXELS) return correlateFft(st, u, width, height, out);
  return correlateDirect(psf, u, width, height, out);
}

/**
 * Rows then columns, each a 1-D correlation with the PSF's axis profile. The row results live in
 * a ring of 2R + 1 rows (cache-resident, where a whole intermediate image cost a fresh allocation
 * per call), and output row y is written once the input rows up to y + R have been read, so `out`
 * may be `u` itself. A mirror-symmetric profile (a source at a pixel centre: every built-in
 * separable PSF) adds each pair of mirrored pixels before the multiplication, which halves the
 * products, and away from the edges the taps run three pairs per pass (symmetricTaps). Equal to
 * the plain sums up to rounding.
 */
export function correlateSeparable(psf: SeparablePsf, u: Float64Array, width: number, height: number, out: Float64Array = new Float64Array(width * height)): Float64Array {
  const R = Math.floor(psf.radius);
  const n = 2 * R + 1;
  const gx = new Float64Array(n);
  const gy = new Float64Array(n);
  const scratch = new Float64Array(n);
  // Source at 0: profile over pixels −R..R; φ(p − x) for a source at integer x is g[p − x + R].
  psf.axisProfile(0, 0, -R, n, gx, scratch);
  psf.axisProfile(1, 0, -R, n, gy, scratch);
  const rows = new RowCorrelator(gx, width);
  if (psf.dims === 1 || height === 1) {
    // 1-D signal: the y profile of a source at row 0 sampled at row 0.
    const g0 = gy[R];
    const row = new Float64Array(width);
    for (let y = 0; y < height; y++) {
      rows.run(u, y * width, row, 0);
      for (let x = 0; x < width; x++) out[y * width + x] = row[x] * g0;
    }
    return out;
  }
  const symY = mirrorSymmetric(gy);
  const half = gy.subarray(R);
  const up = new Int32Array(R + 1);
  const down = new Int32Array(R + 1);
  // Row results of input row p sit at ring offset (p mod n)·width.
  const ring = new Float64Array(n * width);
  let done = 0;
  for (let y = 0; y < height; y++) {
    const hi = Math.min(height - 1, y + R);
    for (; done <= hi; done++) rows.run(u, done * width, ring, (done % n) * width);
    const row = y * width;
    if (y >= R && y + R < height && symY) {
      for (let k = 1; k <= R; k++) {
        up[k] = ((y - k) % n) * width;
        down[k] = ((y + k) % n) * width;
      }
      symmetricTaps(ring, (y % n) * width, up, down, half, out, row, 0, width);
      continue;
    }
    const lo = Math.max(0, y - R);
    for (let x = 0; x < width; x++) out[row + x] = 0;
    for (let p = lo; p <= hi; p++) {
      const g = gy[p - y + R];
      const src = (p % n) * width;
      for (let x = 0; x < width; x++) out[row + x] += g * ring[src + x];
    }
  }
  return out;
}

function mirrorSymmetric(g: Float64Array): boolean {
  for (let i = 0, j = g.length - 1; i < j; i++, j--) if (g[i] !== g[j]) return false;
  return true;
}

/** 1-D correlation of image rows with a profile g over −R..R (g[k + R] at offset k). */
class RowCorrelator {
  private readonly R: number;
  private readonly sym: boolean;
  private readonly half: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  constructor(
    private readonly g: Float64Array,
    private readonly width: number,
  ) {
    this.R = (g.length - 1) >> 1;
    this.sym = mirrorSymmetric(g);
    this.half = g.subarray(this.R);
    this.left = new Int32Array(this.R + 1);
    this.right = new Int32Array(this.R + 1);
  }

  /** dst[at + x] = Σ_p u[row + p] g[p − x + R] over the row's pixels p within R of x. */
  run(u: Float64Array, row: number, dst: Float64Array, at: number): void {
    const { g, R, width } = this;
    const inner0 = Math.min(R, width);
    const inner1 = Math.max(inner0, width - R);
    for (let x = 0; x < inner0; x++) dst[at + x] = edgeSum(u, row, width, g, R, x);
    if (this.sym) {
      for (let k = 1; k <= R; k++) {
        this.left[k] = row - k;
        this.right[k] = row + k;
      }
      symmetricTaps(u, row, this.left, this.right, this.half, dst, at, inner0, inner1);
    } else {
      for (let x = inner0; x < inner1; x++) {
        const c = row + x - R;
        let s = 0;
        for (let k = 0; k < g.length; k++) s += u[c + k] * g[k];
        dst[at + x] = s;
      }
    }
    for (let x = inner1; x < width; x++) dst[at + x] = edgeSum(u, row, width, g, R, x);
  }
}

function edgeSum(u: Float64Array, row: number, width: number, g: Float64Array, R: number, x: number): number {
  const lo = Math.max(0, x - R);
  const hi = Math.min(width - 1, x + R);
  let s = 0;
  for (let p = lo; p <= hi; p++) s += u[row + p] * g[p - x + R];
  return s;
}

/**
 * dst[d + x] = h[0]·src[c + x] + Σ_{k=1..R} h[k]·(src[a[k] + x] + src[b[k] + x]) for x in
 * [x0, x1), R = h.length − 1: a symmetric filter whose taps sit at arbitrary offsets (neighbours
 * in a row, or rows of a ring). Three pairs per pass over dst: a loop over the taps inside the
 * loop over x runs about half as fast (measured at R = 4 and 6).
 */
function symmetricTaps(src: Float64Array, c: number, a: Int32Array, b: Int32Array, h: Float64Array, dst: Float64Array, d: number, x0: number, x1: number): void {
  const R = h.length - 1;
  const h0 = h[0];
  let k = 1;
  if (R >= 3) {
    const h1 = h[1];
    const h2 = h[2];
    const h3 = h[3];
    const a1 = a[1] - d;
    const b1 = b[1] - d;
    const a2 = a[2] - d;
    const b2 = b[2] - d;
    const a3 = a[3] - d;
    const b3 = b[3] - d;
    const cc = c - d;
    for (let i = d + x0; i < d + x1; i++) dst[i] = h0 * src[cc + i] + h1 * (src[a1 + i] + src[b1 + i]) + h2 * (src[a2 + i] + src[b2 + i]) + h3 * (src[a3 + i] + src[b3 + i]);
    k = 4;
  } else {
    const cc = c - d;
    for (let i = d + x0; i < d + x1; i++) dst[i] = h0 * src[cc + i];
  }
  while (k <= R) {
    const m = Math.min(3, R - k + 1);
    const a1 = a[k] - d;
    const b1 = b[k] - d;
    const h1 = h[k];
    if (m === 3) {
      const h2 = h[k + 1];
      const h3 = h[k + 2];
      const a2 = a[k + 1] - d;
      const b2 = b[k + 1] - d;
      const a3 = a[k + 2] - d;
      const b3 = b[k + 2] - d;
      for (let i = d + x0; i < d + x1; i++) dst[i] += h1 * (src[a1 + i] + src[b1 + i]) + h2 * (src[a2 + i] + src[b2 + i]) + h3 * (src[a3 + i] + src[b3 + i]);
    } else if (m === 2) {
      const h2 = h[k + 1];
      const a2 = a[k + 1] - d;
      const b2 = b[k + 1] - d;
      for (let i = d + x0; i < d + x1; i++) dst[i] += h1 * (src[a1 + i] + src[b1 + i]) + h2 * (src[a2 + i] + src[b2 + i]);
    } else {
      for (let i = d + x0; i < d + x1; i++) dst[i] += h1 * (src[a1 + i] + src[b1 + i]);
    }
    k += m;
  }
}

/**
 * The same sums as correlateDirect, by blocks: each n×n block of the image (zero outside it) is
 * correlated with the zero-padded stamp by FFT; the first (n − nx + 1) × (n − ny + 1) outputs of a
 * block need no wrap-around and are exact up to rounding (~1e-15 of the largest term). Two real
 * blocks share one complex transform (the second as the imaginary part), since correlating with a
 * real stamp keeps real and imaginary parts apart.
 */
export function correlateFft(
  st: { x0: number; y0: number; nx: number; ny: number; v: Float64Array },
  u: Float64Array,
  width: number,
  height: number,
  out = new Float64Array(width * height),
): Float64Array {
  const { x0, y0, nx, ny, v } = st;
  const n = Math.max(64, nextPowerOfTwo(2 * Math.max(nx, ny)));
  const bx = n - nx + 1;
  const by = n - ny + 1;
  const nn = n * n;
  // Conjugate spectrum of the stamp.
  const kr = new Float64Array(nn);
  const ki = new Float64Array(nn);
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) kr[j * n + i] = v[j * nx + i]!;
  fft2(kr, ki, n);
  const blocks: [number, number][] = [];
  for (let Y = 0; Y < height; Y += by) for (let X = 0; X < width; X += bx) blocks.push([X, Y]);
  const re = new Float64Array(nn);
  const im = new Float64Array(nn);
  const fill = (dst: Float64Array, X: number, Y: number) => {
    dst.fill(0);
    for (let jj = 0; jj < n; jj++) {
      const py = Y + y0 + jj;
      if (py < 0 || py >= height) continue;
      const lo = Math.max(0, -(X + x0));
      const hi = Math.min(n, width - (X + x0));
      const src = py * width + X + x0;
      for (let ii = lo; ii < hi; ii++) dst[jj * n + ii] = u[src + ii]!;
    }
  };
  const store = (src: Float64Array, X: number, Y: number) => {
    const h = Math.min(by, height - Y);
    const w = Math.min(bx, width - X);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(Y + y) * width + X + x] = src[y * n + x]! / nn;
  };
  for (let b = 0; b < blocks.length; b += 2) {
    const [X1, Y1] = blocks[b]!;
    fill(re, X1, Y1);
    const second = blocks[b + 1];
    if (second) fill(im, second[0], second[1]);
    else im.fill(0);
    fft2(re, im, n);
    // (A) · conj(K): a correlation in the pixel domain.
    for (let k = 0; k < nn; k++) {
      const ar = re[k]!;
      const ai = im[k]!;
      const br = kr[k]!;
      const bi = -ki[k]!;
      re[k] = ar * br - ai * bi;
      im[k] = ar * bi + ai * br;
    }
    fft2(re, im, n, true);
    store(re, X1, Y1);
    if (second) store(im, second[0], second[1]);
  }
  return out;
}

/** Direct summation (small stamps, and the reference the FFT path is tested against). */
export function correlateDirect(psf: Psf, u: Float64Array, width: number, height: number, out: Float64Array): Float64Array {
  const st = allocStamp(psf);
  psf.stamp(0, 0, st);
  const { x0, y0, nx, ny, v } = st;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < ny; j++) {
        const py = y + y0 + j;
        if (py < 0 || py >= height) continue;
        const row = py * width;
        for (let i = 0; i < nx; i++) {
          const px = x + x0 + i;
          if (px < 0 || px >= width) continue;
          s += u[row + px] * v[j * nx + i];
        }
      }
      out[y * width + x] = s;
    }
  }
  return out;
}

function correlatePeriodic(psf: Psf, u: Float64Array, width: number, height: number, out: Float64Array): Float64Array {
  const st = allocStamp(psf);
  psf.stamp(0, 0, st);
  const v = st.v;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let py = 0; py < height; py++) {
        const dy = (py - y + height) % height;
        for (let px = 0; px < width; px++) {
          const dx = (px - x + width) % width;
          s += u[py * width + px] * v[dy * width + dx];
        }
      }
      out[y * width + x] = s;
    }
  }
  return out;
}
