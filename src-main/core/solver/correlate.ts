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

export function correlate(psf: Psf, u: Float64Array, width: number, height: number, out = new Float64Array(width * height)): Float64Array {
  if (psf.periodic) return correlatePeriodic(psf, u, width, height, out);
  if (psf instanceof SeparablePsf) return correlateSeparable(psf, u, width, height, out);
  const st = allocStamp(psf);
  psf.stamp(0, 0, st);
  if (st.nx * st.ny >= FFT_MIN_STAMP_PIXELS) return correlateFft(st, u, width, height, out);
  return correlateDirect(psf, u, width, height, out);
}

function correlateSeparable(psf: SeparablePsf, u: Float64Array, width: number, height: number, out: Float64Array): Float64Array {
  const R = Math.floor(psf.radius);
  const n = 2 * R + 1;
  const gx = new Float64Array(n);
  const gy = new Float64Array(n);
  const scratch = new Float64Array(n);
  // Source at 0: profile over pixels −R..R; φ(p − x) for a source at integer x is g[p − x + R].
  psf.axisProfile(0, 0, -R, n, gx, scratch);
  psf.axisProfile(1, 0, -R, n, gy, scratch);
  const tmp = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const lo = Math.max(0, x - R);
      const hi = Math.min(width - 1, x + R);
      let s = 0;
      for (let p = lo; p <= hi; p++) s += u[row + p] * gx[p - x + R];
      tmp[row + x] = s;
    }
  }
  if (psf.dims === 1 || height === 1) {
    // 1-D signal: the y profile of a source at row 0 sampled at row 0.
    const g0 = gy[R];
    for (let i = 0; i < width * height; i++) out[i] = tmp[i] * g0;
    return out;
  }
  for (let y = 0; y < height; y++) {
    const lo = Math.max(0, y - R);
    const hi = Math.min(height - 1, y + R);
    const row = y * width;
    for (let x = 0; x < width; x++) out[row + x] = 0;
    for (let p = lo; p <= hi; p++) {
      const g = gy[p - y + R];
      const src = p * width;
      for (let x = 0; x < width; x++) out[row + x] += g * tmp[src + x];
    }
  }
  return out;
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
