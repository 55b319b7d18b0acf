/** Regions of interest of the image view (image pixels). Pure. */
import type { Region } from '../../src-main/shared/ipc.js';

/**
 * A region no larger than `cap` per side (keeping its centre) and inside the image; null when
 * less than 8 pixels of it remain.
 */
export function capRegion(r: Region, cap: number, width: number, height: number): Region | null {
  const w = Math.min(r.width, cap);
  const h = Math.min(r.height, cap);
  const x = Math.min(Math.max(0, Math.round(r.x + (r.width - w) / 2)), Math.max(0, width - w));
  const y = Math.min(Math.max(0, Math.round(r.y + (r.height - h) / 2)), Math.max(0, height - h));
  const out = { x, y, width: Math.min(w, width - x), height: Math.min(h, height - y) };
  return out.width >= 8 && out.height >= 8 ? out : null;
}
