// End-to-end tests of the real `cpgd` command (node bin/cpgd.mjs, which runs the compiled out/node:
// `npm test` builds it first; run `npm run build:node` before `npx vitest run test/cli` by hand).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalogCsv } from '../../out/node/core/catalog/csv.js';
import { matchCatalogs } from '../../out/node/core/catalog/match.js';
import { readFits, readFitsTable, writeFitsImage } from '../../out/node/core/formats/fits.js';
import { readTiff, writeTiff } from '../../out/node/core/formats/tiff.js';
import { ROOT } from '../paths.js';
import { BIN, runCpgd, type Run } from './run.js';

const CSV_HEADER = 'id,frame,x,y,flux,x_err,y_err,flux_err,snr';
let dir: string;

function cpgd(...args: string[]): Run {
  return runCpgd(dir, args);
}

const at = (name: string) => join(dir, name);
const read = (name: string) => readFileSync(at(name), 'utf8');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-cli-'));
  // A star field (64×64, 10 stars) and an SMLM stack (32×32, 6 frames): the inputs of most tests.
  const a = cpgd('simulate', '--kind', 'stars', '--size', '64', '--count', '10', '--seed', '5', '--background', '20', '--out', 'stars.fits', '--truth', 'stars.csv');
  expect(a.code, a.stderr).toBe(0);
  const b = cpgd('simulate', '--kind=smlm', '--size=32', '--frames=6', '--count=3', '--seed=2', '--out=smlm.tif', '--truth=smlm.csv', '--quiet');
  expect(b.code, b.stderr).toBe(0);
  expect(b.stderr).toBe('');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('cpgd simulate', () => {
  it('writes a float32 FITS image and a truth CSV that agree with each other', async () => {
    expect(read('stars.csv').split('\n')[0]).toBe('id,frame,x,y,flux');
    const truth = parseCatalogCsv(read('stars.csv'));
    expect(truth).toHaveLength(10);
    const src = readFits(new Uint8Array(readFileSync(at('stars.fits'))));
    expect([src.width, src.height, src.frames]).toEqual([64, 64, 1]);
    expect(src.header.find((c: { key: string }) => c.key === 'BITPIX')?.value).toBe(-32);
    // The brightest true star is a local maximum of the image, far above the sky.
    const img = await src.frame(0);
    const star = truth.reduce((a, b) => (b.flux > a.flux ? b : a));
    const px = img.data[Math.round(star.y) * 64 + Math.round(star.x)];
    expect(px).toBeGreaterThan(20 + star.flux / 20);
  });

  it('writes a multi-page TIFF stack; the same seed gives the same files', async () => {
    const src = await readTiff(new Uint8Array(readFileSync(at('smlm.tif'))));
    expect([src.width, src.height, src.frames]).toEqual([32, 32, 6]);
    const again = cpgd('simulate', '--kind', 'smlm', '--size', '32', '--frames', '6', '--count', '3', '--seed', '2', '--out', 'smlm2.tif', '--truth', 'smlm2.csv');
    expect(again.code).toBe(0);
    expect(read('smlm2.csv')).toBe(read('smlm.csv'));
    const src2 = await readTiff(new Uint8Array(readFileSync(at('smlm2.tif'))));
    expect((await src2.frame(5)).data).toEqual((await src.frame(5)).data);
  });
});

describe('cpgd detect', () => {
  it('finds the simulated stars: recall and precision ≥ 0.9 at 1 px, CSV columns exactly as the contract', () => {
    const r = cpgd('detect', 'stars.fits', '--psf', 'gaussian:1.5', '--out', 'stars-det.csv');
    expect(r.code, r.stderr).toBe(0);
    const text = read('stars-det.csv');
    expect(text.split('\n')[0]).toBe(CSV_HEADER);
    const found = parseCatalogCsv(text);
    const m = matchCatalogs(found, parseCatalogCsv(read('stars.csv')), 1);
    expect(m.recall).toBeGreaterThanOrEqual(0.9);
    expect(m.precision).toBeGreaterThanOrEqual(0.9);
    expect(found.map((s) => s.id)).toEqual(found.map((_, i) => i + 1));
    // The summary names frames, sources, λ, status, gap and time.
    const summary = r.lines[r.lines.length - 1];
    expect(summary).toMatch(/1 frame, \d+ sources?, λ [\d.e-]+ \(auto\), background \w+, status converged, relative gap [\d.e-]+, [\d.]+ s/);
    // No temporary file is left next to the output.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the same catalogue to standard output, and nothing on stderr with --quiet', () => {
    const r = cpgd('detect', 'stars.fits', '--psf=gaussian:1.5', '--quiet', '--threads', '1');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(read('stars-det.csv'));
  });

  it('writes DS9 regions when --out ends in .reg: one circle per source at 1-based coordinates', () => {
    const r = cpgd('detect', 'stars.fits', '--psf', 'gaussian:1.5', '--out', 'stars.reg', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const lines = read('stars.reg').trim().split('\n');
    expect(lines[0]).toBe('# Region file format: DS9 version 4.1');
    expect(lines[2]).toBe('image');
    const csv = parseCatalogCsv(read('stars-det.csv'));
    const circles = lines.filter((l) => l.startsWith('circle('));
    expect(circles).toHaveLength(csv.length);
    const [x, y] = /^circle\(([^,]+),([^,]+),/.exec(circles[0])!.slice(1).map(Number);
    expect(x).toBeCloseTo(csv[0].x + 1, 5);
    expect(y).toBeCloseTo(csv[0].y + 1, 5);
  });

  it('writes a FITS binary table with --format fits', () => {
    const r = cpgd('detect', 'stars.fits', '--psf', 'gaussian:1.5', '--format', 'fits', '--out', 'stars-cat.fits', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const t = readFitsTable(new Uint8Array(readFileSync(at('stars-cat.fits'))));
    const csv = parseCatalogCsv(read('stars-det.csv'));
    expect(t.columns.map((c: { name: string }) => c.name)).toEqual(CSV_HEADER.split(','));
    expect(t.rows).toBe(csv.length);
    const col = (name: string) => t.columns.find((c: { name: string }) => c.name === name)!.data as Float64Array;
    csv.forEach((s, i) => {
      expect(col('id')[i]).toBe(s.id);
      expect(col('x')[i]).toBeCloseTo(s.x, 5);
      expect(col('flux')[i] / s.flux).toBeCloseTo(1, 5);
    });
  });

  it('--frames selects frames of a stack; the frame column is the 0-based frame of the file', () => {
    const r = cpgd('detect', 'smlm.tif', '--psf', 'gaussian:1.5', '--frames', '2-4', '--offset', '100', '--gain', '1', '--threads', '2');
    expect(r.code, r.stderr).toBe(0);
    const found = parseCatalogCsv(r.stdout);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((s) => s.frame >= 2 && s.frame <= 4)).toBe(true);
    expect(found.map((s) => s.id)).toEqual(found.map((_, i) => i + 1));
    const truth = parseCatalogCsv(read('smlm.csv')).filter((s) => s.frame >= 2 && s.frame <= 4);
    expect(truth.length).toBeGreaterThan(2);
    const m = matchCatalogs(found, truth, 1);
    expect(m.recall).toBeGreaterThanOrEqual(0.8);
    expect(r.lines[r.lines.length - 1]).toContain('3 frames');

    const one = cpgd('detect', 'smlm.tif', '--psf', 'gaussian:1.5', '--frames', '4', '--quiet');
    expect(one.code).toBe(0);
    const f4 = parseCatalogCsv(one.stdout);
    expect(f4.length).toBeGreaterThan(0);
    expect(new Set(f4.map((s) => s.frame))).toEqual(new Set([4]));
  });

  it('reads a PSF from a file (TIFF stamp)', () => {
    const w = 15;
    const stamp = new Float64Array(w * w).map((_, k) => Math.exp(-(((k % w) - 7) ** 2 + (Math.floor(k / w) - 7) ** 2) / (2 * 1.5 ** 2)));
    writeFileSync(at('psf.tif'), writeTiff([stamp], w, w));
    const r = cpgd('detect', 'stars.fits', '--psf', 'file:psf.tif', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    const m = matchCatalogs(parseCatalogCsv(r.stdout), parseCatalogCsv(read('stars.csv')), 1);
    expect(m.recall).toBeGreaterThanOrEqual(0.9);
  });

  it('Ctrl-C stops the solver: exit 1 and no output file', async () => {
    const s = cpgd('simulate', '--kind', 'stars', '--size', '96', '--count', '120', '--seed', '3', '--out', 'crowded.fits', '--truth', 'crowded.csv', '--quiet');
    expect(s.code).toBe(0);
    const child = spawn(process.execPath, [BIN, 'detect', 'crowded.fits', '--psf', 'gaussian:1.5', '--lambda', 'auto:0.3', '--threads', '1', '--progress', '--out', 'crowded-det.csv'], { cwd: dir });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
      // Once the solver runs (its first progress line), one Ctrl-C.
      if (!sent && stderr.includes('iteration')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(code).toBe(1);
    expect(stderr).toContain('cancelled');
    expect(existsSync(at('crowded-det.csv'))).toBe(false);
  });
});

describe('cpgd info', () => {
  it('--json gives size, frames and pixel statistics over all frames', async () => {
    const r = cpgd('info', 'smlm.tif', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(Object.keys(info)).toEqual(['frames', 'height', 'width', 'min', 'max', 'mean', 'nan_count']);
    const src = await readTiff(new Uint8Array(readFileSync(at('smlm.tif'))));
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let f = 0; f < src.frames; f++) {
      for (const v of (await src.frame(f)).data) {
        min = Math.min(min, v);
        max = Math.max(max, v);
        sum += v;
      }
    }
    expect(info).toMatchObject({ frames: 6, height: 32, width: 32, min, max, nan_count: 0 });
    expect(info.mean).toBeCloseTo(sum / (6 * 32 * 32), 9);
  });

  it('counts NaN pixels, ignores them in the statistics, and gives the HDU of a FITS file', () => {
    const data = Float64Array.from([1, NaN, 3, NaN, 5, 7]);
    writeFileSync(at('nan.fits'), writeFitsImage([data], 3, 2));
    writeFileSync(at('allnan.fits'), writeFitsImage([new Float64Array(4).fill(NaN)], 2, 2));
    const r = cpgd('info', 'nan.fits', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ hdu: 0, frames: 1, height: 2, width: 3, min: 1, max: 7, mean: 4, nan_count: 2 });
    const all = cpgd('info', 'allnan.fits', '--json');
    expect(JSON.parse(all.stdout)).toEqual({ hdu: 0, frames: 1, height: 2, width: 2, min: null, max: null, mean: null, nan_count: 4 });
  });

  it('prints the same facts and the header cards for people', () => {
    const r = cpgd('info', 'stars.fits');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/64 × 64 pixels, 1 frame/);
    expect(r.stdout).toMatch(/FITS, HDU 0/);
    expect(r.stdout).toMatch(/NAXIS1\s*= 64/);
    expect(r.stdout).toMatch(/SIMKIND\s*= 'stars'/);
  });
});

describe('bad input: exit 2, one line on stderr naming the file or option, no output file', () => {
  const cases: { name: string; args: string[]; mention: string; setup?: () => void }[] = [
    { name: 'missing image', args: ['detect', 'missing.fits', '--psf', 'gaussian:1.5'], mention: 'missing.fits' },
    { name: 'image is a directory', args: ['detect', 'somedir', '--psf', 'gaussian:1.5'], mention: 'somedir', setup: () => mkdirSync(at('somedir'), { recursive: true }) },
    { name: 'empty image', args: ['detect', 'empty.fits', '--psf', 'gaussian:1.5'], mention: 'empty.fits', setup: () => writeFileSync(at('empty.fits'), '') },
    {
      name: 'truncated FITS',
      args: ['detect', 'trunc.fits', '--psf', 'gaussian:1.5'],
      mention: 'trunc.fits',
      setup: () => writeFileSync(at('trunc.fits'), readFileSync(at('stars.fits')).subarray(0, 4000)),
    },
    { name: 'neither FITS nor TIFF', args: ['detect', 'junk.tif', '--psf', 'gaussian:1.5'], mention: 'junk.tif', setup: () => writeFileSync(at('junk.tif'), 'hello, world\n') },
    {
      name: 'corrupt TIFF',
      args: ['detect', 'bad.tif', '--psf', 'gaussian:1.5'],
      mention: 'bad.tif',
      setup: () => writeFileSync(at('bad.tif'), readFileSync(at('smlm.tif')).subarray(0, 300)),
    },
    {
      name: 'PSF file summing to zero',
      args: ['detect', 'stars.fits', '--psf', 'file:zero-psf.fits'],
      mention: 'zero-psf.fits',
      setup: () => writeFileSync(at('zero-psf.fits'), writeFitsImage([new Float64Array(81)], 9, 9)),
    },
    {
      name: 'PSF file with a negative sum',
      args: ['detect', 'stars.fits', '--psf', 'file:neg-psf.tif'],
      mention: 'neg-psf.tif',
      setup: () => writeFileSync(at('neg-psf.tif'), writeTiff([new Float64Array(81).fill(-1)], 9, 9)),
    },
    { name: 'missing PSF file', args: ['detect', 'stars.fits', '--psf', 'file:nope.fits'], mention: 'nope.fits' },
    { name: 'sigma = 0', args: ['detect', 'stars.fits', '--psf', 'gaussian:0'], mention: '--psf' },
    { name: 'sigma < 0', args: ['detect', 'stars.fits', '--psf', 'gaussian:-2'], mention: '--psf' },
    { name: 'no --psf', args: ['detect', 'stars.fits'], mention: '--psf' },
    { name: 'λ < 0', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--lambda', '-1'], mention: '--lambda' },
    { name: 'λ not a number', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--lambda=lots'], mention: '--lambda' },
    { name: 'unknown option', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--bogus'], mention: '--bogus' },
    { name: 'missing option value', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--lambda'], mention: '--lambda' },
    { name: 'option value is another option', args: ['detect', 'stars.fits', '--psf', '--quiet'], mention: '--psf' },
    { name: '--format contradicting --out', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--format', 'ds9', '--out', 'out.fits'], mention: '--format' },
    { name: '--frames past the end', args: ['detect', 'smlm.tif', '--psf', 'gaussian:1.5', '--frames', '6'], mention: '--frames' },
    { name: '--frames past the end of a 1-frame file', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--frames', '5'], mention: '--frames' },
    { name: '--frames backwards', args: ['detect', 'smlm.tif', '--psf', 'gaussian:1.5', '--frames', '3-1'], mention: '--frames' },
    { name: '--hdu on a TIFF file', args: ['detect', 'smlm.tif', '--psf', 'gaussian:1.5', '--hdu', '1'], mention: '--hdu' },
    { name: '--hdu that does not exist', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--hdu', '4'], mention: '--hdu' },
    { name: '--threads 0', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--threads', '0'], mention: '--threads' },
    { name: '--gain 0', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--gain', '0'], mention: '--gain' },
    { name: '--read-noise < 0', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--read-noise=-1'], mention: '--read-noise' },
    { name: '--max-iter not whole', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--max-iter', '2.5'], mention: '--max-iter' },
    { name: '--min-snr < 0', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--min-snr', '-3'], mention: '--min-snr' },
    { name: '--background unknown', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--background', 'sky'], mention: '--background' },
    { name: 'option given twice', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--psf', 'gaussian:2'], mention: '--psf' },
    { name: 'extra argument', args: ['detect', 'stars.fits', 'smlm.tif', '--psf', 'gaussian:1.5'], mention: 'smlm.tif' },
    { name: '--out is a directory', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--out', 'somedir'], mention: '--out', setup: () => mkdirSync(at('somedir'), { recursive: true }) },
    { name: '--out in a missing directory', args: ['detect', 'stars.fits', '--psf', 'gaussian:1.5', '--out', 'no/such/dir.csv'], mention: '--out' },
    { name: 'info on a missing file', args: ['info', 'missing.fits', '--json'], mention: 'missing.fits' },
    { name: 'info with an unknown option', args: ['info', 'stars.fits', '--csv'], mention: '--csv' },
    { name: 'simulate: unknown kind', args: ['simulate', '--kind', 'galaxies', '--out', 'sim.fits', '--truth', 'sim.csv'], mention: '--kind' },
    { name: 'simulate: image name of unknown type', args: ['simulate', '--kind', 'stars', '--out', 'sim.png', '--truth', 'sim.csv'], mention: '--out' },
    { name: 'simulate: no --truth', args: ['simulate', '--kind', 'stars', '--out', 'sim.fits'], mention: '--truth' },
    { name: 'simulate: --size 0', args: ['simulate', '--kind', 'stars', '--size', '0', '--out', 'sim.fits', '--truth', 'sim.csv'], mention: '--size' },
    { name: 'simulate: sigma < 0', args: ['simulate', '--kind', 'stars', '--psf', 'gaussian:-1', '--out', 'sim.fits', '--truth', 'sim.csv'], mention: '--psf' },
    { name: 'unknown command', args: ['detct', 'stars.fits'], mention: 'detct' },
  ];

  for (const c of cases) {
    it(c.name, () => {
      c.setup?.();
      const before = new Set(readdirSync(dir));
      const r = cpgd(...c.args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.lines, r.stderr).toHaveLength(1);
      expect(r.stderr.endsWith('\n')).toBe(true);
      expect(r.lines[0]).toContain(c.mention);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe('');
      expect(readdirSync(dir).filter((f) => !before.has(f))).toEqual([]);
    });
  }

  it('leaves an existing --out file untouched', () => {
    writeFileSync(at('keep.csv'), 'precious\n');
    writeFileSync(at('keep.fits'), 'precious too\n');
    const r1 = cpgd('detect', 'trunc.fits', '--psf', 'gaussian:1.5', '--out', 'keep.csv');
    const r2 = cpgd('detect', 'stars.fits', '--psf', 'gaussian:1.5', '--lambda', '-1', '--out', 'keep.csv');
    const r3 = cpgd('simulate', '--kind', 'stars', '--psf', 'gaussian:0', '--out', 'keep.fits', '--truth', 'keep.csv');
    expect([r1.code, r2.code, r3.code]).toEqual([2, 2, 2]);
    expect(read('keep.csv')).toBe('precious\n');
    expect(read('keep.fits')).toBe('precious too\n');
    // ...and replaces it once a catalogue is complete.
    const ok = cpgd('detect', 'stars.fits', '--psf', 'gaussian:1.5', '--out', 'keep.csv', '--quiet');
    expect(ok.code).toBe(0);
    expect(read('keep.csv')).toBe(read('stars-det.csv'));
  });
});

describe('help and version', () => {
  const documented: Record<string, string[]> = {
    detect: ['psf', 'lambda', 'background', 'gain', 'offset', 'read-noise', 'e-per-adu', 'em-gain', 'frames', 'hdu', 'max-iter', 'tolerance', 'threads', 'out', 'format', 'pixel-size', 'min-snr', 'min-photons', 'max-photons', 'max-uncertainty', 'drift', 'drift-out', 'progress', 'quiet', 'help'],
    simulate: ['kind', 'size', 'count', 'frames', 'psf', 'background', 'gain', 'offset', 'read-noise', 'seed', 'sites', 'drift-rate', 'out', 'truth', 'quiet', 'help'],
    info: ['hdu', 'pixel', 'json', 'help'],
    render: ['pixel-size', 'out', 'mode', 'camera-pixel-size', 'sigma', 'min-sigma', 'size', 'frames', 'min-photons', 'max-uncertainty', 'drift', 'drift-out', 'quiet', 'help'],
  };
  const flags = new Set(['quiet', 'help', 'json', 'progress']);

  for (const [command, options] of Object.entries(documented)) {
    it(`cpgd ${command} --help describes every option with its default (or says it is required)`, () => {
      const r = cpgd(command, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: cpgd ${command}`);
      // Split the help into one block per option.
      const blocks = new Map<string, string>();
      const text = r.stdout.split('Options:\n')[1];
      for (const block of text.split(/\n(?=  (?:-\w, )?--)/)) {
        const m = /^\s*(?:-\w, )?--([\w-]+)/.exec(block);
        if (m) blocks.set(m[1], block);
      }
      expect([...blocks.keys()].sort()).toEqual([...options].sort());
      for (const o of options) {
        if (flags.has(o)) continue;
        expect(blocks.get(o), o).toMatch(/Default:\s|Required\./);
      }
    });
  }

  it('the help gives units of the physical options', () => {
    const detect = cpgd('detect', '--help').stdout;
    expect(detect).toMatch(/--gain G\s+Camera gain, ADU per photon/);
    expect(detect).toMatch(/--read-noise R\s+Read noise, ADU rms/);
    expect(detect).toMatch(/--offset O\s+Camera offset \(bias\), ADU/);
    const simulate = cpgd('simulate', '--help').stdout;
    expect(simulate).toMatch(/--background B\s+Mean background, photons per pixel/);
    expect(simulate).toMatch(/--size W\[,H\]\s+Image width and height, pixels/);
  });

  it('cpgd --help lists the commands; cpgd --version prints the package version', () => {
    const r = cpgd('--help');
    expect(r.code).toBe(0);
    for (const c of ['cpgd detect IMAGE', 'cpgd simulate', 'cpgd info FILE', 'cpgd render CATALOG.csv']) expect(r.stdout).toContain(c);
    const v = cpgd('--version');
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(`cpgd ${JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')).version}`);
  });
});
