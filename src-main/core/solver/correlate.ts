/**
 * PSF-matched correlation over a whole image: out(x) = Σ_p u_p φ(p − x) for every pixel centre x.
 * This is the data term of the first variation V at every grid point, used by the screened start
 * (at μ = 0 mass can only grow where it exceeds λ) and by the optimality certificate.
 * Separable PSFs cost (2R+1)·2 per pixel instead of (2R+1)².
 */

import { SeparablePsf, allocStamp, type Psf } from '../psf/types.js';

export function correlate(psf: Psf, u: Float64Array, width: number, height: number, out = new Float64Array(width * height)): Float64Array {
  if (psf.periodic) return correlatePeriodic(psf, u, width, height, out);
  if (psf instanceof SeparablePsf) return correlateSeparable(psf, u, width, height, out);
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

function correlateDirect(psf: Psf, u: Float64Array, width: number, height: number, out: Float64Array): Float64Array {
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
