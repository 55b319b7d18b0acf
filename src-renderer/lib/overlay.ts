/**
 * Geometry and colours of the image overlay. Sources are circles whose area grows with flux
 * (radius ∝ √flux, relative to the brightest source shown) and whose colour says the snr on a
 * logarithmic scale from 3 (red: barely there) to 300 (blue: certain); particles of a running
 * solve are dots whose area grows with their weight. Pure.
 */
import type { SourceRow } from '../../src-main/shared/ipc.js';

/** Radius range of source circles, in PSF σ (so circles hug the stars whatever the PSF width). */
export const SOURCE_RADIUS = { min: 1, max: 3 } as const;
/** snr at the two ends of the colour scale. */
export const SNR_SCALE = { low: 3, high: 300 } as const;

/** Colour stops of the snr scale (low → high), chosen to stand out on grey and viridis images. */
export const SNR_COLOURS: readonly [number, number, number][] = [
  [255, 77, 77],
  [255, 200, 61],
  [61, 220, 132],
  [79, 195, 255],
];

/** Circle radius in image pixels for a source of this flux, given the largest flux shown and the PSF σ (pixels, default 1.5). */
export function sourceRadius(flux: number, maxFlux: number, sigma = 1.5): number {
  const s = sigma > 0 ? sigma : 1.5;
  if (!(maxFlux > 0) || !(flux > 0)) return SOURCE_RADIUS.min * s;
  const f = Math.min(1, Math.sqrt(flux / maxFlux));
  return s * (SOURCE_RADIUS.min + (SOURCE_RADIUS.max - SOURCE_RADIUS.min) * f);
}

/** Position 0 … 1 of an snr on the logarithmic colour scale (NaN and ≤ low → 0, ≥ high → 1). */
export function snrPosition(snr: number): number {
  if (!(snr > SNR_SCALE.low)) return 0;
  const t = Math.log(snr / SNR_SCALE.low) / Math.log(SNR_SCALE.high / SNR_SCALE.low);
  return Math.min(1, t);
}

/** CSS colour of an snr. */
export function snrColour(snr: number): string {
  const t = snrPosition(snr) * (SNR_COLOURS.length - 1);
  const i = Math.min(SNR_COLOURS.length - 2, Math.floor(t));
  const f = t - i;
  const a = SNR_COLOURS[i]!;
  const b = SNR_COLOURS[i + 1]!;
  const c = a.map((v, k) => Math.round(v + (b[k]! - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Largest flux of a list (0 when empty). */
export function maxFlux(sources: readonly Pick<SourceRow, 'flux'>[]): number {
  let m = 0;
  for (const s of sources) if (s.flux > m) m = s.flux;
  return m;
}

/** Dot radius in screen pixels of a particle of weight a, given the largest |weight|. */
export function particleRadius(a: number, maxWeight: number): number {
  if (!(maxWeight > 0)) return 1;
  return 1 + 3 * Math.sqrt(Math.min(1, Math.abs(a) / maxWeight));
}

/** The source nearest (x, y) within `reach` image pixels, or null. */
export function nearestSource<S extends Pick<SourceRow, 'x' | 'y'>>(sources: readonly S[], x: number, y: number, reach: number): S | null {
  let best: S | null = null;
  let bestD = reach * reach;
  for (const s of sources) {
    const d = (s.x - x) ** 2 + (s.y - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = s;
    }
  }
  return best;
}
