/**
 * `cpgd info --pixel` and the ra/dec columns of `cpgd detect` on the shared fixtures whose
 * headers carry a celestial WCS; expected values are astropy's all_pix2world(..., 0).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT } from '../paths.js';

const BIN = resolve(ROOT, 'bin/cpgd.mjs');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, { wcs?: number[][] }>;
const cpgd = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const angle = (a: number, b: number) => Math.abs(((a - b + 540) % 360) - 180);

describe('cpgd info --pixel with a celestial WCS', () => {
  for (const [file, e] of Object.entries(expected)) {
    if (!e.wcs) continue;
    it(`${file}: pixel → (RA, Dec) agrees with astropy to 1e-8 deg`, () => {
      const pix = e.wcs!.map(([x, y]) => `${x},${y}`).join(';');
      const r = cpgd('info', join(FIXTURES, file), '--pixel', pix, '--json');
      expect(r.status, r.stderr).toBe(0);
      const info = JSON.parse(r.stdout);
      expect(info.wcs).toHaveLength(e.wcs!.length);
      info.wcs.forEach((row: number[], k: number) => {
        const [x, y, ra, dec] = e.wcs![k];
        expect(row[0]).toBe(x);
        expect(row[1]).toBe(y);
        expect(angle(row[2], ra)).toBeLessThan(1e-8);
        expect(Math.abs(row[3] - dec)).toBeLessThan(1e-8);
      });
    });
  }

  it('leaves out "wcs" without a celestial WCS, and rejects a malformed --pixel', () => {
    const r = cpgd('info', join(FIXTURES, 'arange.fits'), '--pixel', '1,2', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).wcs).toBeUndefined();
    const bad = cpgd('info', join(FIXTURES, 'checksum.fits'), '--pixel', '1;2', '--json');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--pixel');
  });
});

describe('cpgd detect adds ra,dec columns when the image has a celestial WCS', () => {
  it('writes id,frame,x,y,flux,x_err,y_err,flux_err,snr,ra,dec with coordinates from the WCS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpgd-wcs-'));
    const out = join(dir, 'cat.csv');
    const r = cpgd('detect', join(FIXTURES, 'scale.fits'), '--psf', 'gaussian:1.5', '--out', out, '--quiet');
    expect(r.status, r.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr,ra,dec');
    // Every row's ra/dec is the WCS of its x,y: check against `cpgd info --pixel` (x and y are
    // written to 1e-6 px, hence the 1e-8 deg tolerance).
    const rows = lines.slice(1, 6).map((l) => l.split(',').map(Number));
    expect(rows.length).toBeGreaterThan(0);
    const info = JSON.parse(cpgd('info', join(FIXTURES, 'scale.fits'), '--pixel', rows.map((c) => `${c[2]},${c[3]}`).join(';'), '--json').stdout);
    rows.forEach((c, k) => {
      expect(angle(c[9], info.wcs[k][2])).toBeLessThan(1e-8);
      expect(Math.abs(c[10] - info.wcs[k][3])).toBeLessThan(1e-8);
    });
  });
});
