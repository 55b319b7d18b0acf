/**
 * The PSF panel's preview: a cut-out of the frame around a star beside the PSF of the current
 * setting placed at the same sub-pixel position, scaled to the star (flux and background by
 * linear least squares), and their difference. Pure.
 *
 * This imports the core's Gaussian and Moffat PSFs (pure modules: no Node, no DOM) on purpose:
 * the preview must show exactly the pixel-integrated profile the solver will use, and a round
 * trip to main on every keystroke would make the preview lag behind the fields.
 */
import { makeImage } from '../../src-main/core/image.js';
import { GaussianPsf } from '../../src-main/core/psf/gaussian.js';
import { MoffatPsf } from '../../src-main/core/psf/moffat.js';
import { SampledPsf } from '../../src-main/core/psf/sampled.js';
import { allocStamp, type Psf } from '../../src-main/core/psf/types.js';
import type { PsfFileInfo, PsfSetting } from '../../src-main/shared/ipc.js';

export interface Cutout {
  x0: number;
  y0: number;
  size: number;
  /** size × size values, NaN outside the frame or where blank. */
  data: Float64Array;
}

export interface Preview {
  cutout: Cutout;
  model: Float64Array;
  residual: Float64Array;
  flux: number;
  background: number;
}

/** The PSF of a setting (a file one from its loaded stamp), or null when it cannot be built. */
export function psfOf(p: PsfSetting, file: PsfFileInfo | null = null): Psf | null {
  try {
    if (p.kind === 'file') {
      if (!file || file.fileId !== p.fileId) return null;
      return SampledPsf.fromImage(makeImage(file.width, file.height, Float64Array.from(file.stamp)), { oversample: p.oversample, name: file.name });
    }
    return p.kind === 'gaussian' ? new GaussianPsf(p.sigma, p.sigma) : new MoffatPsf(p.fwhm, p.beta);
  } catch {
    return null;
  }
}

/** A square of `size` pixels (odd) centred on the pixel containing (x, y). */
export function cutout(frame: { width: number; height: number; pixels: ArrayLike<number> }, x: number, y: number, size: number): Cutout {
  const half = size >> 1;
  const x0 = Math.round(x) - half;
  const y0 = Math.round(y) - half;
  const data = new Float64Array(size * size);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      const px = x0 + i;
      const py = y0 + j;
      data[j * size + i] = px < 0 || py < 0 || px >= frame.width || py >= frame.height ? NaN : frame.pixels[py * frame.width + px]!;
    }
  }
  return { x0, y0, size, data };
}

/** φ(p − (x, y)) over the cut-out's pixels. */
export function psfBox(psf: Psf, x: number, y: number, c: Pick<Cutout, 'x0' | 'y0' | 'size'>): Float64Array {
  const out = new Float64Array(c.size * c.size);
  const st = allocStamp(psf);
  psf.stamp(x, y, st);
  for (let j = 0; j < st.ny; j++) {
    const by = st.y0 + j - c.y0;
    if (by < 0 || by >= c.size) continue;
    for (let i = 0; i < st.nx; i++) {
      const bx = st.x0 + i - c.x0;
      if (bx >= 0 && bx < c.size) out[by * c.size + bx] = st.v[j * st.nx + i]!;
    }
  }
  return out;
}

/** Model F·φ + b fitted to the cut-out by linear least squares (finite pixels), and the residual. */
export function preview(frame: { width: number; height: number; pixels: ArrayLike<number> }, setting: PsfSetting, x: number, y: number, size = 15, file: PsfFileInfo | null = null): Preview | null {
  const psf = psfOf(setting, file);
  if (!psf) return null;
  const c = cutout(frame, x, y, size);
  const phi = psfBox(psf, x, y, c);
  let n = 0;
  let sp = 0;
  let spp = 0;
  let sd = 0;
  let spd = 0;
  for (let m = 0; m < phi.length; m++) {
    const d = c.data[m]!;
    if (!Number.isFinite(d)) continue;
    n++;
    sp += phi[m]!;
    spp += phi[m]! * phi[m]!;
    sd += d;
    spd += phi[m]! * d;
  }
  const det = n * spp - sp * sp;
  if (n < 3 || !(Math.abs(det) > 0)) return null;
  const flux = (n * spd - sp * sd) / det;
  const background = (sd - flux * sp) / n;
  const model = phi.map((v) => flux * v + background);
  const residual = c.data.map((d, m) => d - model[m]!);
  return { cutout: c, model, residual, flux, background };
}

/** The brightest pixel of the frame away from its edges (a star to preview before any detection). */
export function brightestPixel(frame: { width: number; height: number; pixels: ArrayLike<number> }, margin = 8): { x: number; y: number } | null {
  let best = -Infinity;
  let at: { x: number; y: number } | null = null;
  for (let y = margin; y < frame.height - margin; y++) {
    for (let x = margin; x < frame.width - margin; x++) {
      const v = frame.pixels[y * frame.width + x]!;
      if (v > best) {
        best = v;
        at = { x, y };
      }
    }
  }
  return at;
}

/** Display limits of a stamp: min and max of its finite values (symmetric about 0 for residuals). */
export function stampLimits(values: ArrayLike<number>, symmetric = false): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { lo: 0, hi: 1 };
  if (symmetric) {
    const a = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    return { lo: -a, hi: a };
  }
  return hi > lo ? { lo, hi } : { lo, hi: lo + 1 };
}
