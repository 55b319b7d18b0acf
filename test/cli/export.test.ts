// End-to-end tests of the export formats of `cpgd detect`: ThunderSTORM CSV and DS9 regions in
// fk5 (with a celestial WCS) or image coordinates. Runs the compiled out/node (`npm run build:node`).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalogCsv } from '../../out/node/core/catalog/csv.js';
import { FIXTURES } from '../paths.js';
import { runCpgd } from './run.js';

const TS_HEADER = '"id","frame","x [nm]","y [nm]","sigma [nm]","intensity [photon]","offset [photon]","bkgstd [photon]","uncertainty [nm]"';
let dir: string;

function cpgd(...args: string[]) {
  return runCpgd(dir, args);
}
const at = (name: string) => join(dir, name);
const read = (name: string) => readFileSync(at(name), 'utf8');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-export-'));
  // A small SMLM stack: 32×32, 2 frames, 3 molecules each, gain 1, offset 100.
  const s = cpgd('simulate', '--kind', 'smlm', '--size', '32', '--frames', '2', '--count', '3', '--seed', '3', '--out', 'field.tif', '--truth', 'truth.csv', '--quiet');
  expect(s.code, s.stderr).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('cpgd detect --format thunderstorm', () => {
  it('writes the ThunderSTORM header; x [nm], y [nm] are the CSV pixels converted, frames 1-based', () => {
    const common = ['detect', 'field.tif', '--psf', 'gaussian:1.5', '--gain', '1', '--offset', '100', '--threads', '1', '--quiet'];
    const csv = cpgd(...common, '--out', 'cat.csv');
    expect(csv.code, csv.stderr).toBe(0);
    const ts = cpgd(...common, '--format', 'thunderstorm', '--pixel-size', '100', '--out', 'ts.csv');
    expect(ts.code, ts.stderr).toBe(0);
    expect(ts.stderr).toBe('');

    const sources = parseCatalogCsv(read('cat.csv'));
    expect(sources.length).toBeGreaterThan(2);
    const lines = read('ts.csv').split('\n');
    expect(lines[0]).toBe(TS_HEADER);
    expect(lines.at(-1)).toBe('');
    const rows = lines.slice(1, -1).map((l) => l.split(',').map(Number));
    expect(rows).toHaveLength(sources.length);
    rows.forEach((r, k) => {
      const s = sources[k];
      expect(r).toHaveLength(9);
      expect(r.every((v) => Number.isFinite(v))).toBe(true);
      expect(r[0]).toBe(s.id);
      expect(r[1]).toBe(s.frame + 1);
      // x [nm] = (x_px + 0.5) · 100; the CSV has x to 1e-6 px, the ThunderSTORM file to 1e-4 nm.
      expect(Math.abs(r[2] - (s.x + 0.5) * 100)).toBeLessThan(2e-4);
      expect(Math.abs(r[3] - (s.y + 0.5) * 100)).toBeLessThan(2e-4);
      expect(r[4]).toBe(150); // σ 1.5 px
      expect(r[5] / s.flux).toBeCloseTo(1, 6);
      expect(r[6]).toBeGreaterThan(0); // background, photons per pixel (simulated: 40)
      expect(r[7]).toBeCloseTo(Math.sqrt(r[6]), 5);
      expect(r[8] / (Math.hypot(s.xErr, s.yErr) / Math.SQRT2 * 100)).toBeCloseTo(1, 5);
    });
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set([1, 2]));
  });

  it('writes to standard output without --out', () => {
    const r = cpgd('detect', 'field.tif', '--psf', 'gaussian:1.5', '--frames', '0', '--format', 'thunderstorm', '--pixel-size', '160', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(TS_HEADER);
    expect(r.stdout.split('\n')[1]).toMatch(/^1,1,/);
  });

  it('without --pixel-size: exit 2, one line naming --pixel-size, no file', () => {
    const r = cpgd('detect', 'field.tif', '--psf', 'gaussian:1.5', '--format', 'thunderstorm', '--out', 'missing.csv');
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain('--pixel-size');
    expect(r.stdout).toBe('');
    expect(existsSync(at('missing.csv'))).toBe(false);
  });

  it('rejects a bad --pixel-size, and thunderstorm with a .reg output, before any work', () => {
    for (const args of [
      ['--format', 'thunderstorm', '--pixel-size', '0'],
      ['--format', 'thunderstorm', '--pixel-size', 'abc'],
      ['--pixel-size', '-5'],
      ['--format', 'thunderstorm', '--pixel-size', '100', '--out', 'cat.reg'],
    ]) {
      const r = cpgd('detect', 'field.tif', '--psf', 'gaussian:1.5', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.lines, args.join(' ')).toHaveLength(1);
      expect(r.lines[0]).toMatch(/--pixel-size|--format/);
    }
  });
});

describe('cpgd detect --format ds9', () => {
  it('with a celestial WCS writes fk5 circles centred on the CSV ra/dec, radii in arcsec', () => {
    const image = join(FIXTURES, 'scale.fits');
    const csv = cpgd('detect', image, '--psf', 'gaussian:1.5', '--threads', '1', '--out', 'wcs.csv', '--quiet');
    expect(csv.code, csv.stderr).toBe(0);
    const reg = cpgd('detect', image, '--psf', 'gaussian:1.5', '--threads', '1', '--out', 'wcs.reg', '--quiet');
    expect(reg.code, reg.stderr).toBe(0);

    const sources = parseCatalogCsv(read('wcs.csv'));
    expect(sources.length).toBeGreaterThan(0);
    const lines = read('wcs.reg').trim().split('\n');
    expect(lines[0]).toBe('# Region file format: DS9 version 4.1');
    expect(lines[2]).toBe('fk5');
    const circles = lines.slice(3);
    expect(circles).toHaveLength(sources.length);
    // scale.fits: TAN, 5"/pixel; radius = 5" × max(1, log10 flux).
    circles.forEach((line, k) => {
      const m = /^circle\(([-\d.]+),([-\d.]+),([\d.]+)"\) # text=\{(\d+)\}$/.exec(line);
      expect(m, line).not.toBeNull();
      const s = sources[k];
      expect(Number(m![4])).toBe(s.id);
      expect(Number(m![1])).toBe(s.ra);
      expect(Number(m![2])).toBe(s.dec);
      expect(Number(m![3])).toBeCloseTo(5 * Math.max(1, Math.log10(s.flux)), 3);
    });
  });

  it('without a WCS writes image coordinates (1-based)', () => {
    const r = cpgd('detect', 'field.tif', '--psf', 'gaussian:1.5', '--frames', '0', '--format', 'ds9', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[2]).toBe('image');
    expect(lines[3]).toMatch(/^circle\([\d.]+,[\d.]+,[\d.]+\) # text=\{1\}$/);
  });
});
