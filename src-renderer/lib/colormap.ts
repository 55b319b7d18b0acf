/**
 * Colour maps as 256-entry RGB tables. Grey and inverted grey are ramps; 'viridis' is a perceptual
 * map generated here from nine published anchor colours of matplotlib's viridis (the hex values at
 * 0, 1/8, …, 1 listed in its documentation), interpolated in OKLab (Björn Ottosson's perceptual
 * colour space) so that lightness rises smoothly and monotonically. Pure functions, no DOM.
 */

export const COLORMAPS = ['grey', 'inverted', 'viridis'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

/** 256 × RGB, row k at [3k, 3k + 3). */
export type Lut = Uint8Array;

export const VIRIDIS_ANCHORS: readonly string[] = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

export function hexToRgb(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

const toLinear = (c: number) => {
  const x = c / 255;
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
};
const fromLinear = (x: number) => {
  const c = x <= 0.0031308 ? 12.92 * x : 1.055 * Math.max(0, x) ** (1 / 2.4) - 0.055;
  return Math.round(Math.min(1, Math.max(0, c)) * 255);
};

/** sRGB (0..255) → OKLab [L, a, b]. */
export function rgbToOklab([r8, g8, b8]: readonly [number, number, number]): [number, number, number] {
  const r = toLinear(r8);
  const g = toLinear(g8);
  const b = toLinear(b8);
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s, 1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s, 0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s];
}

/** OKLab → sRGB (0..255, clamped). */
export function oklabToRgb([L, A, B]: readonly [number, number, number]): [number, number, number] {
  const l = (L + 0.3963377774 * A + 0.2158037573 * B) ** 3;
  const m = (L - 0.1055613458 * A - 0.0638541728 * B) ** 3;
  const s = (L - 0.0894841775 * A - 1.291485548 * B) ** 3;
  return [
    fromLinear(4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s),
    fromLinear(-1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s),
    fromLinear(-0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s),
  ];
}

/** A 256-entry table through the anchors (evenly spaced), interpolated in OKLab. */
export function lutFromAnchors(anchors: readonly string[]): Lut {
  if (anchors.length < 2) throw new Error('a colour map needs at least two anchors');
  const lab = anchors.map((h) => rgbToOklab(hexToRgb(h)));
  const out = new Uint8Array(256 * 3);
  const segments = anchors.length - 1;
  for (let k = 0; k < 256; k++) {
    const pos = (k / 255) * segments;
    const i = Math.min(segments - 1, Math.floor(pos));
    const f = pos - i;
    const a = lab[i]!;
    const b = lab[i + 1]!;
    const rgb = oklabToRgb([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
    out.set(rgb, 3 * k);
  }
  return out;
}

function greyRamp(inverted: boolean): Lut {
  const out = new Uint8Array(256 * 3);
  for (let k = 0; k < 256; k++) out.fill(inverted ? 255 - k : k, 3 * k, 3 * k + 3);
  return out;
}

const cache = new Map<ColormapName, Lut>();

export function colormap(name: ColormapName): Lut {
  let lut = cache.get(name);
  if (!lut) {
    lut = name === 'grey' ? greyRamp(false) : name === 'inverted' ? greyRamp(true) : lutFromAnchors(VIRIDIS_ANCHORS);
    cache.set(name, lut);
  }
  return lut;
}

/** A colour for overlays that stands out on this map. */
export function overlayColour(name: ColormapName): string {
  return name === 'viridis' ? '#ff4d6d' : '#3ddc84';
}
