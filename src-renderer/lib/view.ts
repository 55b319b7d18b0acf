/**
 * The view transform of the image canvas: screen = offset + scale · image, in CSS pixels, with
 * image pixel (x, y) centred at image coordinates (x + ½, y + ½) of the drawn bitmap. Pure.
 */

export interface View {
  /** Screen pixels per image pixel. */
  scale: number;
  /** Screen position of the image's top-left corner. */
  offsetX: number;
  offsetY: number;
}

export const MIN_SCALE = 1 / 64;
export const MAX_SCALE = 64;

/** The whole image centred in the canvas, at the largest scale that fits (at most 8×). */
export function fitView(imageW: number, imageH: number, canvasW: number, canvasH: number): View {
  const s = Math.max(MIN_SCALE, Math.min(8, Math.min(canvasW / imageW, canvasH / imageH)));
  const scale = Number.isFinite(s) && s > 0 ? s : 1;
  return { scale, offsetX: (canvasW - imageW * scale) / 2, offsetY: (canvasH - imageH * scale) / 2 };
}

/** Zoom by `factor` keeping the image point under (sx, sy) where it is. */
export function zoomAt(v: View, factor: number, sx: number, sy: number): View {
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, v.scale * factor));
  const k = scale / v.scale;
  return { scale, offsetX: sx - (sx - v.offsetX) * k, offsetY: sy - (sy - v.offsetY) * k };
}

export function panBy(v: View, dx: number, dy: number): View {
  return { scale: v.scale, offsetX: v.offsetX + dx, offsetY: v.offsetY + dy };
}

/**
 * The image pixel under a screen point, in the catalogue convention (centre of the first pixel
 * at (0, 0)): continuous coordinates x, y and the integer pixel (col, row) containing them.
 */
export function screenToImage(v: View, sx: number, sy: number): { x: number; y: number; col: number; row: number } {
  const x = (sx - v.offsetX) / v.scale - 0.5;
  const y = (sy - v.offsetY) / v.scale - 0.5;
  return { x, y, col: Math.round(x), row: Math.round(y) };
}

/** Screen position of image coordinates (catalogue convention). */
export function imageToScreen(v: View, x: number, y: number): { sx: number; sy: number } {
  return { sx: v.offsetX + (x + 0.5) * v.scale, sy: v.offsetY + (y + 0.5) * v.scale };
}

/** Wheel delta → zoom factor (smooth for trackpads, one notch ≈ ×1.2). */
export function wheelFactor(deltaY: number, deltaMode: number): number {
  const px = deltaMode === 1 ? deltaY * 33 : deltaMode === 2 ? deltaY * 400 : deltaY;
  return Math.exp((-px / 100) * Math.log(1.2));
}
