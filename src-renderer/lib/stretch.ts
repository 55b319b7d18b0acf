/**
 * Pixel stretches: a value is first scaled to t ∈ [0, 1] between the display limits (clipped),
 * then mapped through a monotonic curve to [0, 1]. The curves follow the usual astronomical
 * display conventions (as in DS9 and astropy.visualization):
 *   linear  t
 *   sqrt    √t
 *   log     log(1 + a·t) / log(1 + a)          a = 1000
 *   asinh   asinh(t / β) / asinh(1 / β)         β = 0.1 (linear below ~β, logarithmic above)
 * Pure functions, no DOM.
 */

export const STRETCHES = ['linear', 'sqrt', 'log', 'asinh'] as const;
export type StretchKind = (typeof STRETCHES)[number];

export const LOG_A = 1000;
export const ASINH_BETA = 0.1;

/** t clipped to [0, 1]; NaN stays NaN. */
export function clip01(t: number): number {
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/** The value scaled to [0, 1] between lo and hi (clipped). A zero range maps everything to 0. */
export function normalize(v: number, lo: number, hi: number): number {
  const range = hi - lo;
  if (!(range > 0)) return v > lo ? 1 : 0;
  return clip01((v - lo) / range);
}

/** The stretch curve at t ∈ [0, 1] (t outside is clipped first). */
export function stretch(t: number, kind: StretchKind): number {
  const x = clip01(t);
  switch (kind) {
    case 'linear':
      return x;
    case 'sqrt':
      return Math.sqrt(x);
    case 'log':
      return Math.log1p(LOG_A * x) / Math.log1p(LOG_A);
    case 'asinh':
      return Math.asinh(x / ASINH_BETA) / Math.asinh(1 / ASINH_BETA);
  }
}

/**
 * The curve tabulated at `size` evenly spaced t (0 and 1 included), as colour-map indices 0..levels-1:
 * index = lut[round(t · (size − 1))]. Rendering a frame then costs one multiply and two lookups a pixel.
 */
export function stretchTable(kind: StretchKind, size = 4096, levels = 256): Uint16Array {
  if (!(Number.isInteger(size) && size >= 2)) throw new RangeError(`size must be an integer ≥ 2 (got ${size})`);
  const out = new Uint16Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.min(levels - 1, Math.round(stretch(i / (size - 1), kind) * (levels - 1)));
  return out;
}
