/**
 * Frame pixels → RGBA for a canvas: limits, stretch table and colour map applied in one pass.
 * Pure (writes into a Uint8ClampedArray the caller wraps in ImageData), no DOM.
 */
import type { Lut } from './colormap.js';
import type { Limits } from './zscale.js';

/** RGBA of blank (NaN) pixels. */
export const BLANK_RGBA: readonly [number, number, number, number] = [60, 20, 40, 255];

export function renderRgba(pixels: ArrayLike<number>, limits: Limits, table: Uint16Array, lut: Lut, out?: Uint8ClampedArray): Uint8ClampedArray {
  const n = pixels.length;
  const rgba = out && out.length === 4 * n ? out : new Uint8ClampedArray(4 * n);
  const { lo, hi } = limits;
  const range = hi - lo;
  const last = table.length - 1;
  const scale = range > 0 ? last / range : 0;
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    const v = pixels[i]!;
    if (v !== v) {
      rgba[o] = BLANK_RGBA[0];
      rgba[o + 1] = BLANK_RGBA[1];
      rgba[o + 2] = BLANK_RGBA[2];
      rgba[o + 3] = BLANK_RGBA[3];
      continue;
    }
    let t = range > 0 ? (v - lo) * scale : v > lo ? last : 0;
    t = t < 0 ? 0 : t > last ? last : t;
    const k = 3 * table[Math.round(t)]!;
    rgba[o] = lut[k]!;
    rgba[o + 1] = lut[k + 1]!;
    rgba[o + 2] = lut[k + 2]!;
    rgba[o + 3] = 255;
  }
  return rgba;
}
