/**
 * Celestial world coordinates of an image from its FITS header: the TAN (gnomonic) and SIN
 * (orthographic, slant form with PVi_1/PVi_2) projections, with optional SIP distortion.
 *
 * Follows Greisen & Calabretta 2002 (paper I: linear part, CRPIX/PC/CDELT/CD/CROTA, units, frames),
 * Calabretta & Greisen 2002 (paper II: projections and the spherical rotation) and the SIP
 * convention (Shupe et al. 2005). Pixel coordinates here are 0-based with the centre of the first
 * pixel at (0, 0), as everywhere in this project; FITS pixel coordinates are 1-based, so x = p1 - 1.
 *
 * The chain, pixel to world: (u, v) = (x + 1 - CRPIX1, y + 1 - CRPIX2); SIP: u += A(u, v),
 * v += B(u, v); intermediate world coordinates = CD · (u, v) in degrees; projection plane to native
 * spherical (phi, theta); rotation about the reference point to (RA, Dec).
 *
 * `celestialWcs` returns null when the header has no equatorial TAN/SIN projection on the two image
 * axes (no CTYPE, linear axes, galactic or ecliptic axes, other projections): such images are simply
 * worked in pixels. A header that claims a supported celestial WCS but cannot be one (singular
 * matrix, RA without Dec, mismatched projections, non-numeric values, a latitude beyond ±90°)
 * throws an InvalidImageError that says why.
 */

import { InvalidImageError } from './errors.js';
import type { HeaderCard } from './image.js';

export type CelestialProjection = 'TAN' | 'SIN';

export interface Wcs {
  /** The projection code of CTYPE (without the -SIP suffix). */
  readonly projection: CelestialProjection;
  /** SIP distortion is applied (A_ORDER/B_ORDER present). */
  readonly sip: boolean;
  /** SIP inverse polynomials (AP/BP) were given; they seed the iterative inverse. */
  readonly sipInverse: boolean;
  /** RADESYS (RADECSYS), or its default: FK4 when EQUINOX < 1984, FK5 when EQUINOX >= 1984, else ICRS. */
  readonly radesys: string;
  /** EQUINOX (EPOCH), or its default for the frame (FK4 1950, FK5 2000); null where none applies. */
  readonly equinox: number | null;
  /** LONPOLE in degrees (given, or the default: 180, or 0 when the reference point is the north pole). */
  readonly lonpole: number;
  /** LATPOLE in degrees as given (default 90); it has no effect on zenithal projections. */
  readonly latpole: number;
  /** 0-based pixel of the reference point (CRPIX - 1), x then y. */
  readonly referencePixel: readonly [number, number];
  /** RA and Dec of the reference point (CRVAL) in degrees. */
  readonly referenceWorld: readonly [number, number];
  /**
   * The linear transformation in degrees per pixel, rows in (RA, Dec) order whatever the header's
   * axis order: [[dRA/du, dRA/dv], [dDec/du, dDec/dv]] (CD, or CDELT × PC, or CDELT with CROTA).
   */
  readonly cd: readonly [readonly [number, number], readonly [number, number]];
  /** RA (normalised to [0, 360)) and Dec in degrees of 0-based pixel (x, y); NaN where undefined. */
  pixelToWorld(x: number, y: number): [number, number];
  /**
   * 0-based pixel of (RA, Dec) in degrees; NaN where the point does not project (behind the
   * tangent plane or the visible hemisphere) or the SIP inverse does not converge.
   */
  worldToPixel(ra: number, dec: number): [number, number];
  /** Pixel scale at the reference pixel in arcsec per pixel: sqrt(|det|) of the local Jacobian. */
  pixelScale(): number;
  /** One short line: projection, frame, reference point, scale. */
  describe(): string;
}

export interface CelestialWcsOptions {
  /** The file name, for error messages. */
  name?: string;
}

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;

/** Degrees per unit of the CUNITi values accepted on celestial axes. */
const ANGLE_UNITS: Record<string, number> = {
  deg: 1,
  degree: 1,
  degrees: 1,
  arcmin: 1 / 60,
  arcsec: 1 / 3600,
  mas: 1 / 3_600_000,
  rad: R2D,
};

/** CTYPE of an equatorial axis: 'RA---TAN', 'DEC--SIN', 'RA---TAN-SIP'. */
const CTYPE_RE = /^(RA|DEC)-+([A-Z0-9]{3})(?:-([A-Z0-9]+))?$/;

interface SipTerm {
  readonly p: number;
  readonly q: number;
  readonly c: number;
}

interface Sip {
  readonly a: readonly SipTerm[];
  readonly b: readonly SipTerm[];
  readonly ap: readonly SipTerm[] | null;
  readonly bp: readonly SipTerm[] | null;
}

class Keywords {
  private readonly map = new Map<string, HeaderCard['value']>();
  constructor(
    header: readonly HeaderCard[],
    private readonly file: string | undefined,
  ) {
    // The first occurrence of a keyword wins, as in astropy's Header.
    for (const c of header) {
      const key = c.key.trim().toUpperCase();
      if (key && !this.map.has(key)) this.map.set(key, c.value);
    }
  }
  has(key: string): boolean {
    const v = this.map.get(key);
    return v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
  }
  str(key: string): string | undefined {
    const v = this.map.get(key);
    if (v === undefined || v === null) return undefined;
    return String(v).trim();
  }
  /** A numeric keyword (numbers written as strings are accepted); undefined when absent. */
  num(key: string): number | undefined {
    const v = this.map.get(key);
    if (v === undefined || v === null) return undefined;
    let n: number;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'string' && v.trim() !== '') n = Number(v.trim().replace(/[dD]/, 'e'));
    else n = NaN;
    if (!Number.isFinite(n)) throw this.error(`${key} = ${JSON.stringify(v)} is not a finite number`);
    return n;
  }
  error(reason: string): InvalidImageError {
    return new InvalidImageError(`invalid celestial WCS: ${reason}`, this.file);
  }
}

/**
 * The celestial WCS of a header (FITS cards; a tile-compressed HDU's cards as image cards), or null
 * when it has no equatorial TAN, SIN or TAN-SIP projection on the first two axes.
 */
export function celestialWcs(header: readonly HeaderCard[], options: CelestialWcsOptions = {}): Wcs | null {
  const kw = new Keywords(header, options.name);

  // Which axes are RA and Dec: look at every axis the header describes.
  const naxes = Math.min(99, Math.max(2, Math.trunc(kw.num('WCSAXES') ?? 0), Math.trunc(kw.num('NAXIS') ?? 0)));
  let lngAxis = -1;
  let latAxis = -1;
  const codes: string[] = [];
  const suffixes: (string | undefined)[] = [];
  for (let i = 1; i <= naxes; i++) {
    const ctype = (kw.str(`CTYPE${i}`) ?? '').toUpperCase();
    const m = CTYPE_RE.exec(ctype);
    if (!m) continue;
    if (m[1] === 'RA') {
      if (lngAxis >= 0) throw kw.error(`two RA axes (CTYPE${lngAxis + 1} and CTYPE${i})`);
      lngAxis = i - 1;
    } else {
      if (latAxis >= 0) throw kw.error(`two Dec axes (CTYPE${latAxis + 1} and CTYPE${i})`);
      latAxis = i - 1;
    }
    codes[i - 1] = m[2]!;
    suffixes[i - 1] = m[3];
  }
  if (lngAxis < 0 && latAxis < 0) return null;
  const ctype = (axis: number): string => `CTYPE${axis + 1} = '${kw.str(`CTYPE${axis + 1}`)}'`;
  if (lngAxis < 0) throw kw.error(`${ctype(latAxis)} has no matching RA axis`);
  if (latAxis < 0) throw kw.error(`${ctype(lngAxis)} has no matching Dec axis`);
  const code = codes[lngAxis]!;
  if (codes[latAxis] !== code || suffixes[lngAxis] !== suffixes[latAxis]) {
    throw kw.error(`${ctype(lngAxis)} and ${ctype(latAxis)} differ in projection`);
  }
  // Celestial axes that are not the image plane, other projections, other suffixes: not ours.
  if (lngAxis > 1 || latAxis > 1) return null;
  if (code !== 'TAN' && code !== 'SIN') return null;
  const suffix = suffixes[lngAxis];
  if (suffix !== undefined && suffix !== 'SIP') return null;
  const lng = lngAxis;
  const lat = latAxis;

  // A fiducial point other than the native pole (PVi_1/PVi_2 of the longitude axis) is legal but rare.
  const phi0 = kw.num(`PV${lng + 1}_1`);
  const theta0 = kw.num(`PV${lng + 1}_2`);
  if ((phi0 !== undefined && phi0 !== 0) || (theta0 !== undefined && theta0 !== 90)) return null;

  // Units: celestial axes are in degrees unless CUNITi says another angle.
  const unit = [1, 1];
  for (const i of [0, 1]) {
    const u = kw.str(`CUNIT${i + 1}`);
    if (u === undefined || u === '') continue;
    const f = ANGLE_UNITS[u.toLowerCase()];
    if (f === undefined) throw kw.error(`CUNIT${i + 1} = '${u}' is not an angle unit`);
    unit[i] = f;
  }

  const crpix = [kw.num('CRPIX1') ?? 0, kw.num('CRPIX2') ?? 0] as const;
  const crvalAxis = [(kw.num('CRVAL1') ?? 0) * unit[0]!, (kw.num('CRVAL2') ?? 0) * unit[1]!];
  const ra0 = crvalAxis[lng]!;
  const dec0 = crvalAxis[lat]!;
  if (Math.abs(dec0) > 90) throw kw.error(`the reference declination CRVAL${lat + 1} = ${dec0}° is beyond ±90°`);

  // The linear part, in header axis order: m[i][j] = d(world i)/d(pixel j), degrees per pixel.
  const m = linearMatrix(kw, lng, lat);
  for (const i of [0, 1]) for (const j of [0, 1]) m[i]![j]! *= unit[i]!;
  const det = m[0]![0]! * m[1]![1]! - m[0]![1]! * m[1]![0]!;
  const norm = Math.max(Math.abs(m[0]![0]!), Math.abs(m[0]![1]!), Math.abs(m[1]![0]!), Math.abs(m[1]![1]!));
  if (!Number.isFinite(det) || norm === 0 || Math.abs(det) <= 1e-14 * norm * norm) {
    const matrix = `[[${m[0]![0]}, ${m[0]![1]}], [${m[1]![0]}, ${m[1]![1]}]]`;
    throw kw.error(`the linear transformation (CD, or CDELT × PC) is singular: ${matrix}`);
  }
  const inv = [
    [m[1]![1]! / det, -m[0]![1]! / det],
    [-m[1]![0]! / det, m[0]![0]! / det],
  ];

  // Projection parameters live on the latitude axis.
  let xi = 0;
  let eta = 0;
  if (code === 'SIN') {
    xi = kw.num(`PV${lat + 1}_1`) ?? 0;
    eta = kw.num(`PV${lat + 1}_2`) ?? 0;
  }

  // Zenithal projections: the reference point is the native pole, so (alpha_p, delta_p) = CRVAL.
  const lonpole = kw.num('LONPOLE') ?? kw.num(`PV${lng + 1}_3`) ?? (dec0 >= 90 ? 0 : 180);
  const latpole = kw.num('LATPOLE') ?? kw.num(`PV${lng + 1}_4`) ?? 90;

  const { radesys, equinox } = frame(kw);
  const sip = readSip(kw, suffix === 'SIP');

  const sinD0 = Math.sin(dec0 * D2R);
  const cosD0 = Math.cos(dec0 * D2R);

  /** RA, Dec from pixel offsets relative to CRPIX (after SIP): linear part, projection, rotation. */
  const toWorld = (u: number, v: number): [number, number] => {
    // Projection plane (degrees, then radians) to native spherical (radians).
    const X = (m[lng]![0]! * u + m[lng]![1]! * v) * D2R;
    const Y = (m[lat]![0]! * u + m[lat]![1]! * v) * D2R;
    let phi: number;
    let theta: number;
    if (code === 'TAN') {
      const r = Math.hypot(X, Y);
      phi = r === 0 ? 0 : Math.atan2(X, -Y);
      theta = Math.atan2(1, r);
    } else {
      // Slant orthographic: t = 1 - sin(theta) is the smaller root of
      // (1 + xi² + eta²) t² - 2 (1 + xi X + eta Y) t + (X² + Y²) = 0 (theta nearest the pole).
      const a = 1 + xi * xi + eta * eta;
      const bh = 1 + xi * X + eta * Y;
      const r2 = X * X + Y * Y;
      const disc = bh * bh - a * r2;
      if (!(disc >= 0) || bh <= 0) return [NaN, NaN];
      const t = r2 / (bh + Math.sqrt(disc));
      const cx = X - xi * t; // cos(theta) sin(phi)
      const cy = -(Y - eta * t); // cos(theta) cos(phi)
      phi = cx === 0 && cy === 0 ? 0 : Math.atan2(cx, cy);
      theta = Math.atan2(1 - t, Math.hypot(cx, cy));
    }
    // Native to celestial (paper II, eq. 2) as a rotation of unit vectors, stable near the poles.
    const dphi = phi - lonpole * D2R;
    const st = Math.sin(theta);
    const ct = Math.cos(theta);
    const px = st * cosD0 - ct * sinD0 * Math.cos(dphi);
    const py = -ct * Math.sin(dphi);
    const pz = st * sinD0 + ct * cosD0 * Math.cos(dphi);
    return [normalizeRa(ra0 + Math.atan2(py, px) * R2D), Math.atan2(pz, Math.hypot(px, py)) * R2D];
  };

  const pixelToWorld = (x: number, y: number): [number, number] => {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return [NaN, NaN];
    let u = x + 1 - crpix[0];
    let v = y + 1 - crpix[1];
    if (sip) {
      const du = poly(sip.a, u, v);
      const dv = poly(sip.b, u, v);
      u += du;
      v += dv;
    }
    return toWorld(u, v);
  };

  const worldToPixel = (ra: number, dec: number): [number, number] => {
    if (!Number.isFinite(ra) || !Number.isFinite(dec) || Math.abs(dec) > 90) return [NaN, NaN];
    // Celestial to native (paper II, eq. 5).
    const sd = Math.sin(dec * D2R);
    const cdl = Math.cos(dec * D2R);
    const dra = (ra - ra0) * D2R;
    const nx = sd * cosD0 - cdl * sinD0 * Math.cos(dra);
    const ny = -cdl * Math.sin(dra);
    const nz = sd * sinD0 + cdl * cosD0 * Math.cos(dra);
    const phi = Math.atan2(ny, nx) + lonpole * D2R;
    const ct = Math.hypot(nx, ny); // cos(theta)
    const st = nz; // sin(theta)
    let X: number;
    let Y: number;
    if (code === 'TAN') {
      if (!(st > 0)) return [NaN, NaN];
      const r = ct / st;
      X = r * Math.sin(phi);
      Y = -r * Math.cos(phi);
    } else {
      const t = (ct * ct) / (1 + Math.abs(st)); // 1 - |sin(theta)|, without cancellation
      const oneMinusSin = st >= 0 ? t : 2 - t;
      X = ct * Math.sin(phi) + xi * oneMinusSin;
      Y = -ct * Math.cos(phi) + eta * oneMinusSin;
      // Only the visible hemisphere projects: the inverse must give back the same theta.
      const a = 1 + xi * xi + eta * eta;
      const bh = 1 + xi * X + eta * Y;
      const r2 = X * X + Y * Y;
      const disc = bh * bh - a * r2;
      const tBack = disc >= 0 && bh > 0 ? r2 / (bh + Math.sqrt(disc)) : NaN;
      if (!(Math.abs(tBack - oneMinusSin) <= 1e-9 * Math.max(1, oneMinusSin))) return [NaN, NaN];
    }
    const w = [0, 0];
    w[lng] = X * R2D;
    w[lat] = Y * R2D;
    const U = inv[0]![0]! * w[0]! + inv[0]![1]! * w[1]!;
    const V = inv[1]![0]! * w[0]! + inv[1]![1]! * w[1]!;
    let u = U;
    let v = V;
    if (sip) {
      const solved = invertSip(sip, U, V);
      u = solved[0];
      v = solved[1];
    }
    return [u + crpix[0] - 1, v + crpix[1] - 1];
  };

  // Rows in (RA, Dec) order for the caller.
  const cd: Wcs['cd'] = [
    [m[lng]![0]!, m[lng]![1]!],
    [m[lat]![0]!, m[lat]![1]!],
  ];

  const pixelScale = (): number => {
    // Local Jacobian at the reference pixel: CD · (I + linear SIP terms). The projections have unit
    // scale at the reference point.
    let j00 = 1;
    let j01 = 0;
    let j10 = 0;
    let j11 = 1;
    if (sip) {
      j00 += coef(sip.a, 1, 0);
      j01 += coef(sip.a, 0, 1);
      j10 += coef(sip.b, 1, 0);
      j11 += coef(sip.b, 0, 1);
    }
    return Math.sqrt(Math.abs(det * (j00 * j11 - j01 * j10))) * 3600;
  };

  const ctypeLabel = `${code}${sip ? '-SIP' : ''}`;
  const describe = (): string => {
    const decSign = dec0 < 0 ? '-' : '+';
    const epoch = radesys.startsWith('FK4') ? 'B' : 'J';
    const frameLabel = equinox !== null && radesys !== 'ICRS' ? `${radesys} ${epoch}${equinox}` : radesys;
    return (
      `${ctypeLabel} (${frameLabel}), ${pixelScale().toPrecision(4)}"/pixel, ` +
      `RA ${ra0.toFixed(6)}° Dec ${decSign}${Math.abs(dec0).toFixed(6)}° at pixel ` +
      `(${fmt(crpix[0] - 1)}, ${fmt(crpix[1] - 1)})`
    );
  };

  return {
    projection: code,
    sip: sip !== null,
    sipInverse: sip !== null && sip.ap !== null,
    radesys,
    equinox,
    lonpole,
    latpole,
    referencePixel: [crpix[0] - 1, crpix[1] - 1],
    referenceWorld: [ra0, dec0],
    cd,
    pixelToWorld,
    worldToPixel,
    pixelScale,
    describe,
  };
}

/**
 * The 2 × 2 linear matrix in header axis order, degrees per pixel before CUNIT scaling. Precedence as
 * in WCSLIB: PCi_j (with CDELTi) over CDi_j over CROTA (of the latitude axis) with CDELTi.
 */
function linearMatrix(kw: Keywords, lng: number, lat: number): number[][] {
  const hasPc = ['1_1', '1_2', '2_1', '2_2'].some((s) => kw.has(`PC${s}`) || kw.has(`PC00${s[0]}00${s[2]}`));
  const hasCd = ['1_1', '1_2', '2_1', '2_2'].some((s) => kw.has(`CD${s}`));
  const cdelt = [kw.num('CDELT1') ?? 1, kw.num('CDELT2') ?? 1];
  if (hasPc || !hasCd) {
    let pc: number[][];
    if (hasPc) {
      const el = (i: number, j: number): number =>
        kw.num(`PC${i}_${j}`) ?? kw.num(`PC00${i}00${j}`) ?? (i === j ? 1 : 0);
      pc = [
        [el(1, 1), el(1, 2)],
        [el(2, 1), el(2, 2)],
      ];
    } else {
      // Legacy CROTA: the rotation is that of the latitude axis; CROTA of the other axis is ignored.
      const rho = (kw.num(`CROTA${lat + 1}`) ?? 0) * D2R;
      pc = [
        [1, 0],
        [0, 1],
      ];
      if (rho !== 0) {
        if (cdelt[lng] === 0 || cdelt[lat] === 0) {
          // Left singular; the caller reports it.
          pc = [
            [0, 0],
            [0, 0],
          ];
        } else {
          const lambda = cdelt[lat]! / cdelt[lng]!;
          const c = Math.cos(rho);
          const s = Math.sin(rho);
          pc[lng]![lng] = c;
          pc[lat]![lat] = c;
          pc[lng]![lat] = -s * lambda;
          pc[lat]![lng] = s / lambda;
        }
      }
    }
    return [
      [cdelt[0]! * pc[0]![0]!, cdelt[0]! * pc[0]![1]!],
      [cdelt[1]! * pc[1]![0]!, cdelt[1]! * pc[1]![1]!],
    ];
  }
  // CD matrix: unspecified elements default to zero; CDELT and CROTA are ignored.
  const el = (i: number, j: number): number => kw.num(`CD${i}_${j}`) ?? 0;
  return [
    [el(1, 1), el(1, 2)],
    [el(2, 1), el(2, 2)],
  ];
}

function frame(kw: Keywords): { radesys: string; equinox: number | null } {
  let radesys = (kw.str('RADESYS') ?? kw.str('RADECSYS') ?? '').toUpperCase();
  let equinox: number | null = kw.num('EQUINOX') ?? null;
  if (equinox === null) {
    // EPOCH is the deprecated spelling of EQUINOX (paper I, section 3.1).
    const epoch = kw.num('EPOCH');
    if (epoch !== undefined) equinox = epoch;
  }
  if (radesys === '') radesys = equinox === null ? 'ICRS' : equinox < 1984 ? 'FK4' : 'FK5';
  if (equinox === null) {
    if (radesys === 'FK4' || radesys === 'FK4-NO-E') equinox = 1950;
    else if (radesys === 'FK5') equinox = 2000;
  }
  return { radesys, equinox };
}

/** SIP polynomials, when A_ORDER and B_ORDER are present (used even without the -SIP suffix, as astropy does). */
function readSip(kw: Keywords, suffixSip: boolean): Sip | null {
  const hasA = kw.has('A_ORDER');
  const hasB = kw.has('B_ORDER');
  if (!hasA && !hasB) {
    if (suffixSip) throw kw.error('CTYPE has the -SIP suffix but A_ORDER and B_ORDER are missing');
    return null;
  }
  if (!hasA || !hasB) {
    throw kw.error(`SIP distortion needs both A_ORDER and B_ORDER (only ${hasA ? 'A' : 'B'}_ORDER is present)`);
  }
  const terms = (prefix: string, orderKey: string): SipTerm[] => {
    const order = kw.num(orderKey)!;
    if (!Number.isInteger(order) || order < 0 || order > 20) {
      throw kw.error(`${orderKey} = ${order} is not a polynomial order from 0 to 20`);
    }
    const out: SipTerm[] = [];
    for (let p = 0; p <= order; p++) {
      for (let q = 0; q + p <= order; q++) {
        const c = kw.num(`${prefix}_${p}_${q}`);
        if (c !== undefined && c !== 0) out.push({ p, q, c });
      }
    }
    return out;
  };
  const a = terms('A', 'A_ORDER');
  const b = terms('B', 'B_ORDER');
  const hasAp = kw.has('AP_ORDER');
  const hasBp = kw.has('BP_ORDER');
  const ap = hasAp && hasBp ? terms('AP', 'AP_ORDER') : null;
  const bp = hasAp && hasBp ? terms('BP', 'BP_ORDER') : null;
  return { a, b, ap, bp };
}

function poly(terms: readonly SipTerm[], u: number, v: number): number {
  let s = 0;
  for (const t of terms) s += t.c * ipow(u, t.p) * ipow(v, t.q);
  return s;
}

/** The polynomial and its partial derivatives at (u, v). */
function polyGrad(terms: readonly SipTerm[], u: number, v: number): [number, number, number] {
  let f = 0;
  let fu = 0;
  let fv = 0;
  for (const t of terms) {
    const up = ipow(u, t.p);
    const vq = ipow(v, t.q);
    f += t.c * up * vq;
    if (t.p > 0) fu += t.c * t.p * ipow(u, t.p - 1) * vq;
    if (t.q > 0) fv += t.c * t.q * up * ipow(v, t.q - 1);
  }
  return [f, fu, fv];
}

function coef(terms: readonly SipTerm[], p: number, q: number): number {
  for (const t of terms) if (t.p === p && t.q === q) return t.c;
  return 0;
}

function ipow(x: number, n: number): number {
  let r = 1;
  for (let i = 0; i < n; i++) r *= x;
  return r;
}

/**
 * Solves u + A(u, v) = U, v + B(u, v) = V by Newton's method, started from the AP/BP inverse when
 * the header has one, to 1e-10 pixel. NaN when it does not converge (far outside a distortion
 * model's domain).
 */
function invertSip(sip: Sip, U: number, V: number): [number, number] {
  let u = U;
  let v = V;
  if (sip.ap && sip.bp) {
    u = U + poly(sip.ap, U, V);
    v = V + poly(sip.bp, U, V);
  }
  // Offsets of thousands of pixels carry rounding of ~1e-13 pixel: tolerances scale with them.
  const scale = Math.max(1, Math.abs(U) + Math.abs(V));
  const tol = 1e-10 * scale;
  let best: [number, number] = [NaN, NaN];
  let bestRes = Infinity;
  let prevRes = Infinity;
  for (let iter = 0; iter < 60; iter++) {
    const [f, fu, fv] = polyGrad(sip.a, u, v);
    const [g, gu, gv] = polyGrad(sip.b, u, v);
    const r1 = u + f - U;
    const r2 = v + g - V;
    const res = Math.hypot(r1, r2);
    if (!Number.isFinite(res)) break;
    if (res < bestRes) {
      bestRes = res;
      best = [u, v];
    }
    // Done at rounding level, or once Newton stops improving below the tolerance.
    if (res <= 1e-14 * scale || (res >= prevRes && bestRes <= tol)) break;
    prevRes = res;
    const j00 = 1 + fu;
    const j01 = fv;
    const j10 = gu;
    const j11 = 1 + gv;
    const d = j00 * j11 - j01 * j10;
    if (!Number.isFinite(d) || d === 0) break;
    u -= (j11 * r1 - j01 * r2) / d;
    v -= (j00 * r2 - j10 * r1) / d;
  }
  return bestRes <= tol ? best : [NaN, NaN];
}

function normalizeRa(ra: number): number {
  let r = ra % 360;
  if (r < 0) r += 360;
  // -1e-15 % 360 + 360 rounds to 360.
  return r >= 360 ? 0 : r;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3)));
}
