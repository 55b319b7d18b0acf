// End-to-end tests of `cpgd render` (the compiled out/node; `npm run build:node` first by hand).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalogCsv } from '../../out/node/core/catalog/csv.js';
import { readTiff } from '../../out/node/core/formats/tiff.js';
import { runCpgd } from './run.js';

let dir: string;

function cpgd(...args: string[]) {
  return runCpgd(dir, args);
}
const at = (name: string) => join(dir, name);

async function image(name: string) {
  const src = await readTiff(new Uint8Array(readFileSync(at(name))), { name });
  return { src, data: (await src.frame(0)).data as Float64Array };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-render-'));
  const s = cpgd('simulate', '--kind', 'smlm', '--size', '32', '--frames', '4', '--count', '5', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--seed', '6', '--out', 'm.tif', '--truth', 'truth.csv', '--quiet');
  expect(s.code, s.stderr).toBe(0);
  const common = ['detect', 'm.tif', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--pixel-size', '100', '--threads', '2', '--quiet'];
  expect(cpgd(...common, '--out', 'loc.csv').code).toBe(0);
  expect(cpgd(...common, '--format', 'thunderstorm', '--out', 'ts.csv').code).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('cpgd render', () => {
  it('histogram: a float32 TIFF whose pixels count the localisations, calibrated in nm', async () => {
    const r = cpgd('render', 'loc.csv', '--pixel-size', '20', '--mode', 'histogram', '--size', '160,160', '--out', 'h.tif');
    expect(r.code, r.stderr).toBe(0);
    const locs = parseCatalogCsv(readFileSync(at('loc.csv'), 'utf8'));
    expect(r.lines).toEqual([`cpgd render: ${locs.length} localisations drawn, histogram, 160×160 pixels of 20 nm → h.tif`]);
    const { src, data } = await image('h.tif');
    expect([src.width, src.height, src.frames]).toEqual([160, 160, 1]);
    expect(src.pixelSizeNm.x).toBeCloseTo(20, 9);
    expect(data.reduce((a, b) => a + b, 0)).toBe(locs.length);
    // Each localisation is in the pixel of (x + 0.5) · 100 nm / 20 nm.
    for (const s of locs) expect(data[Math.floor(((s.y + 0.5) * 100) / 20) * 160 + Math.floor(((s.x + 0.5) * 100) / 20)]).toBeGreaterThanOrEqual(1);
  });

  it('gaussian: the same total; the ThunderSTORM export renders to the same image', async () => {
    expect(cpgd('render', 'loc.csv', '--pixel-size', '10', '--size', '320,320', '--out', 'g.tif', '--quiet').code).toBe(0);
    expect(cpgd('render', 'ts.csv', '--pixel-size', '10', '--size', '320,320', '--out', 'g-ts.tif', '--quiet').code).toBe(0);
    const a = await image('g.tif');
    const b = await image('g-ts.tif');
    const n = parseCatalogCsv(readFileSync(at('loc.csv'), 'utf8')).length;
    expect(a.data.reduce((x, y) => x + y, 0)).toBeCloseTo(n, 1);
    let diff = 0;
    for (let i = 0; i < a.data.length; i++) diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    expect(diff).toBeLessThan(1e-3);
    expect(Math.max(...a.data)).toBeLessThan(1); // spread, not single pixels
  });

  it('a pixel-only CSV needs --camera-pixel-size; with it, the same image as the nm columns give', async () => {
    const px = cpgd('detect', 'm.tif', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--threads', '2', '--quiet', '--out', 'px.csv');
    expect(px.code).toBe(0);
    const bad = cpgd('render', 'px.csv', '--pixel-size', '20', '--out', 'px.tif');
    expect(bad.code).toBe(2);
    expect(bad.lines).toHaveLength(1);
    expect(bad.lines[0]).toContain('px.csv');
    expect(bad.lines[0]).toContain('--camera-pixel-size');
    expect(existsSync(at('px.tif'))).toBe(false);
    expect(cpgd('render', 'px.csv', '--camera-pixel-size', '100', '--pixel-size', '20', '--mode', 'histogram', '--size', '160,160', '--out', 'px.tif', '--quiet').code).toBe(0);
    expect((await image('px.tif')).data).toEqual((await image('h.tif')).data);
  });

  it('--frames and --min-photons select localisations', async () => {
    const r = cpgd('render', 'loc.csv', '--pixel-size', '20', '--mode', 'histogram', '--frames', '1:2', '--min-photons', '2000', '--out', 'sel.tif');
    expect(r.code, r.stderr).toBe(0);
    const locs = parseCatalogCsv(readFileSync(at('loc.csv'), 'utf8'));
    const want = locs.filter((s) => s.frame >= 1 && s.frame <= 2 && s.flux >= 2000).length;
    expect(want).toBeGreaterThan(0);
    expect((await image('sel.tif')).data.reduce((a, b) => a + b, 0)).toBe(want);
    expect(r.lines[0]).toContain(`(${locs.length - want} filtered out)`);
  });

  it('--drift corrects a ThunderSTORM table before rendering: the curve matches the drift, the image sharpens', async () => {
    // 200 frames of molecules blinking at 300 fixed sites, drifting 0.5 nm and −0.3 nm per frame.
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const sites = Array.from({ length: 300 }, () => ({ x: 300 + 5000 * rand(), y: 300 + 5000 * rand() }));
    const lines = ['"id","frame","x [nm]","y [nm]","intensity [photon]","uncertainty [nm]"'];
    for (let f = 0; f < 200; f++) {
      for (let k = 0; k < 20; k++) {
        const s = sites[Math.floor(rand() * sites.length)];
        lines.push(`${lines.length},${f + 1},${(s.x + 0.5 * f + 8 * gauss()).toFixed(2)},${(s.y - 0.3 * f + 8 * gauss()).toFixed(2)},1500,8`);
      }
    }
    writeFileSync(at('drifting.csv'), lines.join('\n') + '\n');
    const plain = cpgd('render', 'drifting.csv', '--pixel-size', '10', '--size', '600,600', '--out', 'plain.tif', '--quiet');
    expect(plain.code, plain.stderr).toBe(0);
    const r = cpgd('render', 'drifting.csv', '--pixel-size', '10', '--size', '600,600', '--drift', '40', '--out', 'fixed.tif');
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines[0]).toMatch(/drift [-\d.]+, [-\d.]+ nm at frame 199 → fixed\.drift\.csv$/);
    const curve = readFileSync(at('fixed.drift.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    expect(curve).toHaveLength(200);
    for (const [f, dx, dy] of curve) {
      expect(Math.abs(dx - 0.5 * f)).toBeLessThan(6);
      expect(Math.abs(dy + 0.3 * f)).toBeLessThan(6);
    }
    // Sharper: the brightest pixels of the corrected rendering are higher.
    const top = (d: Float64Array) => [...d].sort((a, b) => b - a).slice(0, 300).reduce((a, b) => a + b, 0);
    expect(top((await image('fixed.tif')).data)).toBeGreaterThan(1.3 * top((await image('plain.tif')).data));
  });

  it('bad input: exit 2, one line naming the file or option, no image', () => {
    writeFileSync(at('garbage.csv'), 'hello,world\n1,2\n');
    const cases: [string[], string][] = [
      [['render', 'missing.csv', '--pixel-size', '10', '--out', 'x.tif'], 'missing.csv'],
      [['render', 'garbage.csv', '--pixel-size', '10', '--out', 'x.tif'], 'garbage.csv'],
      [['render', 'loc.csv', '--pixel-size', '0', '--out', 'x.tif'], '--pixel-size'],
      [['render', 'loc.csv', '--pixel-size', '10', '--out', 'x.png'], '--out'],
      [['render', 'loc.csv', '--pixel-size', '10', '--mode', 'dots', '--out', 'x.tif'], '--mode'],
      [['render', 'loc.csv', '--out', 'x.tif'], '--pixel-size'],
      [['render', 'loc.csv', '--pixel-size', '0.0001', '--out', 'x.tif'], '--pixel-size'],
    ];
    for (const [args, mention] of cases) {
      const r = cpgd(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.lines, args.join(' ')).toHaveLength(1);
      expect(r.lines[0]).toContain(mention);
      expect(existsSync(at('x.tif'))).toBe(false);
    }
  });
});
