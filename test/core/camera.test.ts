/**
 * Camera settings: unit conversions, contradictions, OME-XML fields, and the point of it all —
 * an EMCCD frame solved with the camera's noise model gives fluxes in photons and honest
 * uncertainties (the excess noise factor 2 makes the stated errors match the scatter).
 */
import { describe, expect, it } from 'vitest';
import {
  cameraFromOmeXml,
  cameraNoiseOptions,
  nmToPixel,
  pixelToNm,
  positionUncertaintyPx,
  sourcesInPhotons,
  validateCamera,
} from '../../src-main/core/camera.js';
import { matchCatalogs } from '../../src-main/core/catalog/match.js';
import type { Source, TruthSource } from '../../src-main/core/catalog/types.js';
import { detect } from '../../src-main/core/detect.js';
import { InvalidOptionError } from '../../src-main/core/errors.js';
import { GaussianPsf } from '../../src-main/core/psf/gaussian.js';
import { allocStamp } from '../../src-main/core/psf/types.js';
import { Rng } from '../../src-main/core/rng.js';

describe('camera settings', () => {
  it('ADU per photon is em-gain / e-per-adu, or --gain; F² = 2 only with EM gain', () => {
    const em = validateCamera({ electronsPerAdu: 12.5, emGain: 100, offset: 400 });
    expect(em.aduPerPhoton).toBeCloseTo(8, 12);
    expect(em.excessNoise).toBe(2);
    // The solver's noise gain carries F²: variance = F² · G · signal.
    expect(cameraNoiseOptions(em)).toEqual({ gain: 16, offset: 400 });

    const scmos = validateCamera({ electronsPerAdu: 0.5, offset: 100, readNoise: 1.5 });
    expect(scmos.aduPerPhoton).toBe(2);
    expect(scmos.excessNoise).toBe(1);
    expect(cameraNoiseOptions(scmos)).toEqual({ gain: 2, offset: 100, readNoise: 1.5 });

    expect(validateCamera({ gain: 3 }).aduPerPhoton).toBe(3);
    expect(validateCamera({ electronsPerAdu: 2, emGain: 1 }).excessNoise).toBe(1);
    expect(validateCamera({}).aduPerPhoton).toBeUndefined();
    expect(cameraNoiseOptions(validateCamera({}))).toEqual({});
  });

  it('rejects contradictions and bad values, naming the option', () => {
    const cases: [Parameters<typeof validateCamera>[0], string][] = [
      [{ gain: 2, electronsPerAdu: 0.5 }, '--gain'],
      [{ emGain: 50 }, '--em-gain'],
      [{ electronsPerAdu: 1, emGain: 0.5 }, '--em-gain'],
      [{ electronsPerAdu: 0 }, '--e-per-adu'],
      [{ pixelSizeNm: -100 }, '--pixel-size'],
      [{ offset: Number.NaN }, '--offset'],
      [{ readNoise: -1 }, '--read-noise'],
    ];
    for (const [c, option] of cases) {
      let err: unknown;
      try {
        validateCamera(c);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(c)).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(option);
    }
  });

  it('fluxes, flux errors and backgrounds are multiplied by F² (positions untouched); nm conversions', () => {
    const s: Source = { id: 1, frame: 0, x: 3, y: 4, flux: 100, xErr: 0.03, yErr: 0.04, fluxErr: 10, snr: 10, background: 5 };
    const [em] = sourcesInPhotons([s], validateCamera({ electronsPerAdu: 10, emGain: 200 }));
    expect(em).toMatchObject({ x: 3, y: 4, flux: 200, fluxErr: 20, snr: 10, background: 10, xErr: 0.03 });
    const [plain] = sourcesInPhotons([s], validateCamera({ gain: 2 }));
    expect(plain.flux).toBe(100);
    expect(positionUncertaintyPx(s)).toBeCloseTo(Math.sqrt((0.03 ** 2 + 0.04 ** 2) / 2), 15);
    // The centre of the first pixel is half a pixel from the corner, in nm.
    expect(pixelToNm(0, 160)).toBe(80);
    expect(pixelToNm(-0.5, 160)).toBe(0);
    expect(nmToPixel(pixelToNm(12.345, 107), 107)).toBeCloseTo(12.345, 12);
  });

  it('reads the offset and an EMCCD\'s EM gain from OME-XML; the unitless Gain is not interpreted', () => {
    const xml =
      '<?xml version="1.0"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Instrument ID="Instrument:0">' +
      '<Detector ID="Detector:0" Model="iXon" Type="EMCCD" Gain="4.5" AmplificationGain="150" Offset="90"/></Instrument>' +
      '<Image ID="Image:0"><Pixels ID="Pixels:0" SizeX="4" SizeY="4"><Channel ID="Channel:0"><DetectorSettings ID="Detector:0" Offset="100"/></Channel></Pixels></Image></OME>';
    expect(cameraFromOmeXml(xml)).toEqual({ offset: 100, emGain: 150 });
    const cmos = xml.replace('Type="EMCCD"', 'Type="CMOS"');
    expect(cameraFromOmeXml(cmos)).toEqual({ offset: 100 });
    expect(cameraFromOmeXml('ImageJ=1.53\nunit=micron\n')).toEqual({});
    expect(cameraFromOmeXml('<OME><Image ID="Image:0"/></OME>')).toEqual({});
  });
});

/** An EMCCD frame: Poisson photoelectrons, multiplied by a Gamma(n, M) register, / e-per-ADU, + offset. */
function emccdFrame(width: number, height: number, truth: TruthSource[], psf: GaussianPsf, background: number, emGain: number, ePerAdu: number, offset: number, rng: Rng): Float64Array {
  const lambda = new Float64Array(width * height).fill(background);
  const st = allocStamp(psf);
  for (const s of truth) {
    psf.stamp(s.x, s.y, st);
    for (let j = 0; j < st.ny; j++) {
      for (let i = 0; i < st.nx; i++) {
        const px = st.x0 + i;
        const py = st.y0 + j;
        if (px >= 0 && px < width && py >= 0 && py < height) lambda[py * width + px] += s.flux * st.v[j * st.nx + i];
      }
    }
  }
  const out = new Float64Array(width * height);
  for (let p = 0; p < out.length; p++) {
    const n = rng.poisson(lambda[p]);
    let electrons = 0;
    for (let k = 0; k < n; k++) electrons -= emGain * Math.log(1 - rng.uniform()); // Gamma(n, M) as a sum of exponentials
    out[p] = offset + electrons / ePerAdu + 2 * rng.normal();
  }
  return out;
}

describe('an EMCCD movie solved with its camera model', () => {
  it('gives fluxes in photons and position errors that match the scatter (F² = 2 applied)', () => {
    const psf = new GaussianPsf(1.2);
    const rng = new Rng(7);
    const width = 48;
    const height = 48;
    const camera = validateCamera({ electronsPerAdu: 20, emGain: 100, offset: 200, readNoise: 2 });
    const detected: Source[] = [];
    const truth: TruthSource[] = [];
    for (let frame = 0; frame < 8; frame++) {
      // Nine isolated molecules on a 3×3 grid with sub-pixel jitter, 1500 photons each.
      const t: TruthSource[] = [];
      for (let k = 0; k < 9; k++) t.push({ id: truth.length + t.length + 1, frame, x: 10 + 14 * (k % 3) + rng.range(-0.5, 0.5), y: 10 + 14 * Math.floor(k / 3) + rng.range(-0.5, 0.5), flux: 1500 });
      const data = emccdFrame(width, height, t, psf, 20, 100, 20, 200, rng);
      const res = detect({ width, height, data }, { psf, noise: cameraNoiseOptions(camera), background: 'constant', frame });
      detected.push(...sourcesInPhotons(res.sources, camera));
      truth.push(...t);
    }
    const m = matchCatalogs(detected, truth, 1);
    expect(m.tp).toBe(72);
    expect(m.fp).toBe(0);
    const pairs = m.pairs.map((p) => ({ d: detected[p.detected], t: truth[p.truth] }));
    const meanFlux = pairs.reduce((a, p) => a + p.d.flux, 0) / pairs.length;
    expect(meanFlux / 1500).toBeGreaterThan(0.95);
    expect(meanFlux / 1500).toBeLessThan(1.05);
    // Background in photons per pixel (simulated 20).
    const meanBg = pairs.reduce((a, p) => a + p.d.background!, 0) / pairs.length;
    expect(meanBg).toBeGreaterThan(18);
    expect(meanBg).toBeLessThan(22);
    // Stated errors vs. the real scatter: normalised residuals have an rms near 1 (√2 too large without F²).
    let z2 = 0;
    for (const { d, t } of pairs) z2 += ((d.x - t.x) / d.xErr) ** 2 + ((d.y - t.y) / d.yErr) ** 2;
    const zRms = Math.sqrt(z2 / (2 * pairs.length));
    expect(zRms).toBeGreaterThan(0.75);
    expect(zRms).toBeLessThan(1.25);
    // Flux errors as honest: the flux scatter over its stated error.
    let f2 = 0;
    for (const { d } of pairs) f2 += ((d.flux - 1500) / d.fluxErr) ** 2;
    const fRms = Math.sqrt(f2 / pairs.length);
    expect(fRms).toBeGreaterThan(0.7);
    expect(fRms).toBeLessThan(1.3);
  });
});
