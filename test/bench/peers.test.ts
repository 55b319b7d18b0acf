/**
 * The pure parts of `npm run bench:peers` (bench/lib/peers.mjs): reading Source Extractor's and
 * the Python peers' outputs into cpgd's 0-based convention, the aperture correction, the choice
 * of the best threshold and the table writers. None of this needs the peers installed.
 */
import { describe, expect, it } from 'vitest';
import { GaussianPsf } from '../../src-main/core/psf/gaussian.js';
import { allocStamp } from '../../src-main/core/psf/types.js';
// @ts-expect-error plain JavaScript module of the benchmark (no declarations)
import * as lib from '../../bench/lib/peers.mjs';

const CATALOG = `#   1 XWIN_IMAGE             Windowed position estimate along x                         [pixel]
#   2 YWIN_IMAGE             Windowed position estimate along y                         [pixel]
#   3 X_IMAGE                Object position along x                                    [pixel]
#   4 Y_IMAGE                Object position along y                                    [pixel]
#   5 FLUX_APER              Flux vector within fixed circular aperture(s)              [count]
#   7 FLUX_AUTO              Flux within a Kron-like elliptical aperture                [count]
#   8 FLAGS                  Extraction flags
    1.0000     1.0000      1.2000      0.9000     900.0   950.0     1000.0   0
   57.8206    23.9543     57.8543     23.9372   27039.67 27500.0   29060.91   3
`;

describe('Source Extractor catalogue', () => {
  it('names the columns, a vector parameter spanning the gap before the next header entry', () => {
    const cat = lib.parseSextractorCatalog(CATALOG, 'a.cat');
    expect(cat.columns).toEqual(['XWIN_IMAGE', 'YWIN_IMAGE', 'X_IMAGE', 'Y_IMAGE', 'FLUX_APER', 'FLUX_APER(2)', 'FLUX_AUTO', 'FLAGS']);
    expect(cat.rows).toHaveLength(2);
    expect(cat.rows[1][6]).toBeCloseTo(29060.91, 6);
  });

  it('converts 1-based windowed positions to 0-based and aperture fluxes to corrected photons', () => {
    const src = lib.sextractorSources(lib.parseSextractorCatalog(CATALOG, 'a.cat'), { frame: 4, ee: 0.9, gain: 2 });
    // SExtractor's (1, 1) is the centre of the first pixel, cpgd's (0, 0).
    expect(src[0]).toEqual({ frame: 4, x: 0, y: 0, flux: 900 / 0.9 / 2 });
    expect(src[1].x).toBeCloseTo(56.8206, 10);
    expect(src[1].y).toBeCloseTo(22.9543, 10);
  });

  it('falls back to X_IMAGE without windowed positions, and refuses a catalogue without positions', () => {
    const cat = { columns: ['X_IMAGE', 'Y_IMAGE', 'FLUX_APER'], rows: [[10, 20, 5]] };
    expect(lib.sextractorSources(cat, { frame: 0, ee: 1, gain: 1 })).toEqual([{ frame: 0, x: 9, y: 19, flux: 5 }]);
    expect(() => lib.sextractorSources({ columns: ['FLUX_APER'], rows: [[1]] }, { frame: 0, ee: 1, gain: 1 })).toThrow(/XWIN_IMAGE, X_IMAGE/);
  });

  it('rejects text that is not an ASCII_HEAD catalogue, naming the file', () => {
    expect(() => lib.parseSextractorCatalog('1 2 3\n', 'b.cat')).toThrow(/b\.cat: no header/);
    expect(() => lib.parseSextractorCatalog('#   1 X_IMAGE\n#   2 Y_IMAGE\n1 2\n3\n', 'c.cat')).toThrow(/c\.cat: data row 2 has 1 fields, expected 2/);
    expect(() => lib.parseSextractorCatalog('#   1 X_IMAGE\n1 abc\n', 'd.cat')).toThrow(/d\.cat: line 2: non-numeric/);
    expect(() => lib.parseSextractorCatalog('#   2 X_IMAGE\n#   1 Y_IMAGE\n', 'e.cat')).toThrow(/out of order/);
  });
});

describe('Python peers JSON', () => {
  it('keeps 0-based positions, divides fluxes by the gain and turns null (a failed fit) into NaN', () => {
    const text = JSON.stringify({ tool: 'sep', version: '1.2.1', runs: [{ threshold: 1.5, seconds: 0.25, sources: [[0, 3.5, 4.25, 200], [2, 1, 2, null]] }], notes: ['x'] });
    const out = lib.parsePeerJson(text, 'sep_detect.py', 2);
    expect(out.tool).toBe('sep');
    expect(out.version).toBe('1.2.1');
    expect(out.notes).toEqual(['x']);
    expect(out.runs[0].threshold).toBe(1.5);
    expect(out.runs[0].sources[0]).toEqual({ frame: 0, x: 3.5, y: 4.25, flux: 100 });
    expect(out.runs[0].sources[1].frame).toBe(2);
    expect(Number.isNaN(out.runs[0].sources[1].flux)).toBe(true);
  });

  it('names the script when its output is malformed', () => {
    expect(() => lib.parsePeerJson('Traceback ...', 'p.py')).toThrow(/p\.py: output is not JSON/);
    expect(() => lib.parsePeerJson('{"runs": []}', 'p.py')).toThrow(/p\.py: expected/);
    expect(() => lib.parsePeerJson('{"tool": "t", "runs": [{"threshold": 1, "seconds": 1, "sources": [[0, 1, 2]]}]}', 'p.py')).toThrow(/run 1, source 1/);
  });
});

describe('threshold sweep', () => {
  it('keeps the best F1, the higher threshold on a tie, and says when the best is at an edge', () => {
    const r = lib.pickBestThreshold([
      { threshold: 3, f1: 0.8 },
      { threshold: 1, f1: 0.7 },
      { threshold: 2, f1: 0.85 },
      { threshold: 4, f1: 0.85 },
      { threshold: 5, f1: 0.6 },
    ]);
    expect(r.best.threshold).toBe(4);
    expect(r.atEdge).toBe(false);
    expect(lib.pickBestThreshold([{ threshold: 1, f1: 0.9 }, { threshold: 2, f1: 0.5 }]).atEdge).toBe(true);
    expect(lib.pickBestThreshold([{ threshold: 1, f1: 0.9 }]).atEdge).toBe(false);
    expect(() => lib.pickBestThreshold([])).toThrow(/no runs/);
  });
});

describe('PSF kernel and aperture correction', () => {
  const psf = new GaussianPsf(1.5);
  const st = allocStamp(psf);
  psf.stamp(0, 0, st);

  it('cuts a centred kernel of unit sum with its peak in the middle', () => {
    const k: Float64Array = lib.kernelFromStamp(st, 4);
    expect(k).toHaveLength(81);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(Math.max(...k)).toBe(k[40]);
    expect(k[4 * 9 + 3]).toBeCloseTo(k[4 * 9 + 5], 12);
    const conv: string = lib.convFile(k, 9, 'gaussian:1.5');
    const lines = conv.trim().split('\n');
    expect(lines[0]).toBe('CONV NORM');
    expect(lines).toHaveLength(11);
    expect(lines[2].split(' ')).toHaveLength(9);
  });

  it('encircled energy of an aperture sum over a pixel-integrated Gaussian: about 1 − exp(−r²/2s²), s² = σ² + 2/12', () => {
    // Pixel integration of the PSF and the pixel overlap of the aperture each add a box of
    // variance 1/12 per axis.
    for (const r of [2, 3.5, 6]) {
      const s2 = 1.5 * 1.5 + 2 / 12;
      expect(lib.encircledEnergy(st, r)).toBeCloseTo(1 - Math.exp((-r * r) / (2 * s2)), 2);
    }
    expect(lib.encircledEnergy(st, 50)).toBeCloseTo(1, 10);
  });
});

describe('tables', () => {
  it('writes Markdown with a separator line and CSV with quoted fields', () => {
    const md: string = lib.markdownTable(['a', 'long header'], [[1, 'x'], ['22', '']]);
    const lines = md.trim().split('\n');
    expect(lines[0]).toBe('| a   | long header |');
    expect(lines[1]).toBe('|-----|-------------|');
    expect(lines[2]).toBe('| 1   | x           |');
    expect(lib.csvTable(['a', 'b'], [['x,y', 'say "hi"'], [1, 2]])).toBe('a,b\n"x,y","say ""hi"""\n1,2\n');
    expect(lib.fmt(Number.NaN)).toBe('');
    expect(lib.fmt(0.12345)).toBe('0.123');
  });
});
