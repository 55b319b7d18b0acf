/**
 * RA/Dec of the readout. The WCS is the core's (src-main/core/wcs.ts, a pure module: no Node, no
 * DOM), built from the header cards main sends with the image, so the readout agrees to the last
 * digit with the RA/Dec columns of the exports and of `cpgd info --pixel`. Pure.
 */
import { celestialWcs, type Wcs } from '../../src-main/core/wcs.js';
import type { ImageInfo } from '../../src-main/shared/ipc.js';

/** The image's celestial WCS, or null. */
export function wcsOf(info: ImageInfo | null): Wcs | null {
  if (!info?.wcs) return null;
  try {
    return celestialWcs(info.wcs.cards, { name: info.name });
  } catch {
    return null;
  }
}

/** Sexagesimal RA (hours) and Dec (degrees), e.g. `00h42m44.33s +41°16′07.5″`. */
export function formatSky(ra: number, dec: number): string {
  if (!Number.isFinite(ra) || !Number.isFinite(dec)) return 'RA/Dec undefined here';
  const h = (((ra % 360) + 360) % 360) / 15;
  const hh = Math.floor(h);
  const hm = Math.floor((h - hh) * 60);
  let hs = ((h - hh) * 60 - hm) * 60;
  hs = Math.min(hs, 59.99);
  const sign = dec < 0 ? '−' : '+';
  const d = Math.abs(dec);
  const dd = Math.floor(d);
  const dm = Math.floor((d - dd) * 60);
  const ds = Math.min(((d - dd) * 60 - dm) * 60, 59.9);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${p2(hh)}h${p2(hm)}m${hs.toFixed(2).padStart(5, '0')}s ${sign}${p2(dd)}°${p2(dm)}′${ds.toFixed(1).padStart(4, '0')}″`;
}
