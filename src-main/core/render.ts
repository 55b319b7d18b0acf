/**
 * Super-resolution renderings of localisations (SMLM): a 2-D histogram or a Gaussian rendering
 * at a chosen pixel size in nm.
 *
 * Geometry: positions are nm from the corner of the first camera pixel (ThunderSTORM's and ImageJ's
 * origin; see camera.ts pixelToNm). Render pixel (i, j) covers
 * [originX + i·r, originX + (i+1)·r) × [originY + j·r, originY + (j+1)·r), r the render pixel size.
 *
 * - histogram: each localisation adds 1 to the pixel it falls in (half-open pixels).
 * - gaussian: each localisation adds a unit-mass 2-D Gaussian of standard deviation σ = its position
 *   uncertainty (or a fixed σ), integrated exactly over each pixel (differences of erf, separable),
 *   cut at 4σ (mass lost < 1e-4). Localisations well inside the image add exactly 1 to the image
 *   sum, so pixel values are localisations per pixel in both modes.
 * Localisations outside the image (or with a non-finite position) are not drawn; they are counted.
 */

import { InvalidOptionError } from './errors.js';
import { writeTiff } from './formats/tiff.js';
import { erf } from './math.js';

/** One localisation in nm (see the module comment for the origin). */
export interface Localisation {
  /** 0-based frame. */
  frame: number;
  xNm: number;
  yNm: number;
  /** 1σ position uncertainty of one coordinate, nm (NaN when unknown). */
  uncertaintyNm: number;
  /** Flux, photons (or the catalogue's unit). */
  photons: number;
}

export type RenderMode = 'histogram' | 'gaussian';

export interface RenderOptions {
  /** Render pixel size, nm (> 0), e.g. 10. */
  pixelSizeNm: number;
  /** Default 'gaussian'. */
  mode?: RenderMode;
  /** Image width and height, render pixels. Default: from the origin to just past the largest x and y (plus 4σ in gaussian mode). */
  width?: number;
  height?: number;
  /** nm coordinates of the top-left corner of the image. Default (0, 0), the corner of the first camera pixel. */
  originNm?: { x: number; y: number };
  /** gaussian: one σ for every localisation, nm (> 0), instead of its uncertainty. */
  sigmaNm?: number;
  /**
   * gaussian: smallest σ, nm (≥ 0). Default 0. Localisations whose uncertainty is not a finite
   * number > 0 are drawn with this σ (a σ of 0 puts all the mass in one pixel, as the histogram).
   */
  minSigmaNm?: number;
}

export interface Rendering {
  width: number;
  height: number;
  pixelSizeNm: number;
  originNm: { x: number; y: number };
  mode: RenderMode;
  /** Row-major, localisations per pixel. */
  data: Float32Array;
  /** Localisations drawn (at least partly inside the image). */
  drawn: number;
  /** Localisations left out (outside the image or a non-finite position). */
  outside: number;
}

/** Largest rendering, pixels (a 256 MiB Float32Array). */
export const MAX_RENDER_PIXELS = 2 ** 26;

/** Cut of the Gaussian, in σ. */
const CUT = 4;

function sigmaOf(l: Localisation, o: { sigmaNm?: number; minSigmaNm: number }): number {
  if (o.sigmaNm !== undefined) return o.sigmaNm;
  const u = l.uncertaintyNm;
  return Number.isFinite(u) && u > 0 ? Math.max(u, o.minSigmaNm) : o.minSigmaNm;
}

/** Render localisations; throws InvalidOptionError for bad options or an image too large. */
export function renderLocalisations(locs: readonly Localisation[], options: RenderOptions): Rendering {
  const r = options?.pixelSizeNm;
  if (!(typeof r === 'number' && Number.isFinite(r) && r > 0)) throw new InvalidOptionError('--pixel-size', r, 'the render pixel size must be a number of nm > 0');
  const mode = options.mode ?? 'gaussian';
  if (mode !== 'histogram' && mode !== 'gaussian') throw new InvalidOptionError('--mode', mode, 'must be histogram or gaussian');
  const minSigmaNm = options.minSigmaNm ?? 0;
  if (!(Number.isFinite(minSigmaNm) && minSigmaNm >= 0)) throw new InvalidOptionError('--min-sigma', minSigmaNm, 'must be a number of nm ≥ 0');
  if (options.sigmaNm !== undefined && !(Number.isFinite(options.sigmaNm) && options.sigmaNm > 0)) {
    throw new InvalidOptionError('--sigma', options.sigmaNm, 'must be a number of nm > 0');
  }
  const origin = options.originNm ?? { x: 0, y: 0 };
  if (!(Number.isFinite(origin.x) && Number.isFinite(origin.y))) throw new InvalidOptionError('origin', origin, 'must be finite nm');
  const so = { sigmaNm: options.sigmaNm, minSigmaNm };

  let width = options.width;
  let height = options.height;
  if (width === undefined || height === undefined) {
    let maxX = 0;
    let maxY = 0;
    for (const l of locs) {
      if (!(Number.isFinite(l.xNm) && Number.isFinite(l.yNm))) continue;
      const pad = mode === 'gaussian' ? CUT * sigmaOf(l, so) : 0;
      maxX = Math.max(maxX, l.xNm - origin.x + pad);
      maxY = Math.max(maxY, l.yNm - origin.y + pad);
    }
    width ??= Math.max(1, Math.floor(maxX / r) + 1);
    height ??= Math.max(1, Math.floor(maxY / r) + 1);
  }
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new InvalidOptionError('--size', v, `the ${name} must be a whole number of render pixels ≥ 1`);
  }
  if (width * height > MAX_RENDER_PIXELS) {
    throw new InvalidOptionError('--pixel-size', r, `the rendering would be ${width}×${height} pixels (at most ${MAX_RENDER_PIXELS}); choose a larger pixel size or a smaller --size`);
  }

  const data = new Float32Array(width * height);
  let drawn = 0;
  let outside = 0;
  // Row and column weights of one Gaussian, reused.
  const wx = new Float64Array(width);
  const wy = new Float64Array(height);
  for (const l of locs) {
    const u = (l.xNm - origin.x) / r; // in render pixels from the image corner
    const v = (l.yNm - origin.y) / r;
    if (!(Number.isFinite(u) && Number.isFinite(v))) {
      outside++;
      continue;
    }
    const s = mode === 'gaussian' ? sigmaOf(l, so) / r : 0;
    if (s <= 1e-6) {
      const i = Math.floor(u);
      const j = Math.floor(v);
      if (i < 0 || j < 0 || i >= width || j >= height) {
        outside++;
        continue;
      }
      data[j * width + i] += 1;
      drawn++;
      continue;
    }
    const i0 = Math.max(0, Math.floor(u - CUT * s));
    const i1 = Math.min(width - 1, Math.floor(u + CUT * s));
    const j0 = Math.max(0, Math.floor(v - CUT * s));
    const j1 = Math.min(height - 1, Math.floor(v + CUT * s));
    if (i0 > i1 || j0 > j1) {
      outside++;
      continue;
    }
    const k = 1 / (Math.SQRT2 * s);
    // Pixel i spans [i, i + 1): mass ½(erf((i + 1 − u)k) − erf((i − u)k)).
    let prev = erf((i0 - u) * k);
    for (let i = i0; i <= i1; i++) {
      const next = erf((i + 1 - u) * k);
      wx[i] = 0.5 * (next - prev);
      prev = next;
    }
    prev = erf((j0 - v) * k);
    for (let j = j0; j <= j1; j++) {
      const next = erf((j + 1 - v) * k);
      wy[j] = 0.5 * (next - prev);
      prev = next;
    }
    for (let j = j0; j <= j1; j++) {
      const row = j * width;
      const a = wy[j];
      for (let i = i0; i <= i1; i++) data[row + i] += a * wx[i];
    }
    drawn++;
  }
  return { width, height, pixelSizeNm: r, originNm: { x: origin.x, y: origin.y }, mode, data, drawn, outside };
}

/**
 * A rendering as a single-page, little-endian, uncompressed 32-bit float TIFF that ImageJ/Fiji
 * open calibrated: ImageDescription `ImageJ=1.11a`, `unit=micron` (and `min=0`, `max=` the
 * brightest pixel, ImageJ's display range), XResolution = YResolution = 1000 / pixel size nm (pixels
 * per µm, as 32-bit rationals) and ResolutionUnit 1 (no absolute unit: ImageJ's convention when
 * the unit is in the description). This project's TIFF reader gives the pixel size back in nm.
 */
export function renderingToTiff(r: Rendering): Uint8Array {
  let max = 0;
  for (let i = 0; i < r.data.length; i++) if (r.data[i] > max) max = r.data[i];
  const perMicron = 1000 / r.pixelSizeNm;
  return writeTiff([r.data], r.width, r.height, {
    type: 'float32',
    description: `ImageJ=1.11a\nunit=micron\nmin=0\nmax=${max}\n`,
    resolution: { x: perMicron, y: perMicron, unit: 1 },
  });
}
