/**
 * SAOImage DS9 region files (format version 4.1) marking the sources of a catalogue: one circle
 * per source with its id as text label.
 *
 * Coordinates: in the `image` system DS9 counts pixels from 1 with the centre of the first pixel at
 * (1, 1), so a source at our 0-based (x, y) is written at (x + 1, y + 1). In `fk5` the centre is
 * (ra, dec) in degrees and the radius is in arcseconds.
 *
 * Circle radius, pixels: radiusScale · max(1, log10(flux)), so a 100-photon source gets 2 px and a
 * 10⁴-photon one 4 px; sources with flux ≤ 10 (or non-finite) get radiusScale px.
 */

import { InvalidOptionError } from '../errors.js';
import type { Source } from './types.js';

export interface Ds9Options {
  /** Coordinate system of the regions. Default `'image'`. */
  system?: 'image' | 'fk5';
  /**
   * Region colour: a DS9 colour name (letters only, e.g. `green`, `cyan`) or `#rrggbb`.
   * Default `green`.
   */
  color?: string;
  /** Pixel scale, arcseconds per pixel (> 0), to turn radii into arcseconds. Required for fk5. */
  pixelScale?: number;
  /** Multiplies every circle radius (> 0). Default 1. */
  radiusScale?: number;
  /** Only write the sources of this 0-based frame (DS9 regions have no frame). Default: all. */
  frame?: number;
}

/** The radius in pixels of the circle drawn for a source of this flux (see the module comment). */
export function ds9RadiusPx(flux: number, radiusScale = 1): number {
  const l = Number.isFinite(flux) && flux > 10 ? Math.log10(flux) : 1;
  return radiusScale * l;
}

function num(v: number, decimals: number): string {
  const s = v.toFixed(decimals);
  return s.startsWith('-') && Number(s) === 0 ? s.slice(1) : s;
}

/** The text of a DS9 region file for these sources. Throws InvalidOptionError for bad options. */
export function formatDs9Regions(sources: readonly Source[], options: Ds9Options = {}): string {
  const system = options.system ?? 'image';
  if (system !== 'image' && system !== 'fk5') throw new InvalidOptionError('--regions-system', system, "the region system must be 'image' or 'fk5'");
  const color = options.color ?? 'green';
  if (typeof color !== 'string' || !/^(#[0-9a-fA-F]{6}|[a-zA-Z]{1,20})$/.test(color)) {
    throw new InvalidOptionError('--regions-color', color, 'the colour must be a DS9 colour name or #rrggbb');
  }
  const radiusScale = options.radiusScale ?? 1;
  if (!(typeof radiusScale === 'number' && Number.isFinite(radiusScale) && radiusScale > 0)) {
    throw new InvalidOptionError('--regions-radius-scale', radiusScale, 'the radius scale must be a number > 0');
  }
  const pixelScale = options.pixelScale;
  if (system === 'fk5' && !(typeof pixelScale === 'number' && Number.isFinite(pixelScale) && pixelScale > 0)) {
    throw new InvalidOptionError('--pixel-scale', pixelScale, 'fk5 regions need the pixel scale in arcseconds per pixel (> 0)');
  }
  const frame = options.frame;
  if (frame !== undefined && !(Number.isInteger(frame) && frame >= 0)) {
    throw new InvalidOptionError('--frame', frame, 'the frame must be a whole number ≥ 0');
  }

  const lines = [
    '# Region file format: DS9 version 4.1',
    `global color=${color} dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1 highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1`,
    system,
  ];
  for (const s of sources) {
    if (frame !== undefined && s.frame !== frame) continue;
    const rPx = ds9RadiusPx(s.flux, radiusScale);
    const label = ` # text={${Number.isFinite(s.id) ? Math.round(s.id) : '?'}}`;
    if (system === 'image') {
      if (!Number.isFinite(s.x) || !Number.isFinite(s.y)) {
        throw new InvalidOptionError('--regions', s.id, `source ${s.id} has no finite position`);
      }
      lines.push(`circle(${num(s.x + 1, 6)},${num(s.y + 1, 6)},${num(rPx, 3)})${label}`);
    } else {
      const { ra, dec } = s;
      if (ra === undefined || dec === undefined || !Number.isFinite(ra) || !Number.isFinite(dec)) {
        throw new InvalidOptionError('--regions-system', 'fk5', `source ${s.id} has no ra/dec: fk5 regions need a celestial WCS`);
      }
      lines.push(`circle(${num(ra, 10)},${num(dec, 10)},${num(rPx * (pixelScale as number), 4)}")${label}`);
    }
  }
  return lines.join('\n') + '\n';
}
