/**
 * Small square stamps (PSF preview, fit residuals) drawn as grey images, one canvas pixel per
 * stamp pixel, scaled up by CSS without smoothing (image-rendering: pixelated). Re-runs when the
 * stamp it reads changes. NaN pixels are drawn in a dark blue so blanks are not mistaken for sky.
 */
import type { Attachment } from 'svelte/attachments';

export interface StampImage {
  size: number;
  values: ArrayLike<number>;
  lo: number;
  hi: number;
}

export function drawStamp(get: () => StampImage | null): Attachment<HTMLCanvasElement> {
  return (canvas) => {
    const s = get();
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    if (!s) {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    if (canvas.width !== s.size) canvas.width = s.size;
    if (canvas.height !== s.size) canvas.height = s.size;
    const img = ctx.createImageData(s.size, s.size);
    const span = s.hi - s.lo || 1;
    for (let i = 0; i < s.size * s.size; i++) {
      const v = s.values[i]!;
      const o = 4 * i;
      if (!Number.isFinite(v)) {
        img.data.set([20, 24, 60, 255], o);
        continue;
      }
      const g = Math.round(255 * Math.min(1, Math.max(0, (v - s.lo) / span)));
      img.data.set([g, g, g, 255], o);
    }
    ctx.putImageData(img, 0, 0);
  };
}
