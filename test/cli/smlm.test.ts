// End-to-end tests of the microscopy (SMLM) side of `cpgd detect`: stacks with a frame range,
// camera settings, nm columns, filters, progress, Ctrl-C, bad input. Runs the compiled out/node
// (`npm run build:node` first when running by hand).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCatalogCsv, parseCatalogCsv } from '../../out/node/core/catalog/csv.js';
import { cameraNoiseOptions, sourcesInPhotons, validateCamera } from '../../out/node/core/camera.js';
import { detect } from '../../out/node/core/detect.js';
import { buildPsf } from '../../out/node/core/psf/spec.js';
import { matchCatalogs } from '../../out/node/core/catalog/match.js';
import { readTiff, writeTiff } from '../../out/node/core/formats/tiff.js';
import { FIXTURES } from '../paths.js';
import { BIN, runCpgd } from './run.js';

let dir: string;

function cpgd(...args: string[]) {
  return runCpgd(dir, args);
}
const at = (name: string) => join(dir, name);
const read = (name: string) => readFileSync(at(name), 'utf8');

/** Rows of a CSV as objects keyed by the header. */
function rows(text: string): Record<string, number>[] {
  const [head, ...lines] = text.trim().split('\n');
  const keys = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i], Number(v)])));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-smlm-'));
  // The camera at a small size: 100 nm pixels, σ 1.1 px, gain 2 ADU/photon, offset 100.
  const s = cpgd('simulate', '--kind', 'smlm', '--size', '32', '--frames', '8', '--count', '6', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--seed', '4', '--out', 'movie.tif', '--truth', 'truth.csv', '--quiet');
  expect(s.code, s.stderr).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('cpgd detect on an SMLM stack', () => {
  it('--frames A:B, camera as e-per-adu: photons, nm columns, frame column of the file', () => {
    // 2 ADU per photon = 0.5 photoelectrons per ADU.
    const r = cpgd('detect', 'movie.tif', '--psf', 'gaussian:1.1', '--pixel-size', '100', '--e-per-adu', '0.5', '--offset', '100', '--frames', '2:5', '--threads', '2', '--out', 'loc.csv');
    expect(r.code, r.stderr).toBe(0);
    const text = read('loc.csv');
    expect(text.split('\n')[0]).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr,background,x_nm,y_nm,uncertainty_nm');
    const found = parseCatalogCsv(text);
    const table = rows(text);
    expect(new Set(found.map((s) => s.frame))).toEqual(new Set([2, 3, 4, 5]));
    const truth = parseCatalogCsv(read('truth.csv')).filter((s) => s.frame >= 2 && s.frame <= 5);
    const m = matchCatalogs(found, truth, 1);
    expect(m.recall).toBeGreaterThanOrEqual(0.85);
    expect(m.precision).toBeGreaterThanOrEqual(0.9);
    // Fluxes in photons (truth: 800–4000), background in photons per pixel (simulated 40).
    const ratio = m.pairs.map((p) => found[p.detected].flux / truth[p.truth].flux).sort((a, b) => a - b);
    expect(ratio[ratio.length >> 1]).toBeGreaterThan(0.9);
    expect(ratio[ratio.length >> 1]).toBeLessThan(1.1);
    table.forEach((t, k) => {
      expect(t.background).toBeGreaterThan(30);
      expect(t.background).toBeLessThan(50);
      expect(t.x_nm).toBeCloseTo((found[k].x + 0.5) * 100, 3);
      expect(t.y_nm).toBeCloseTo((found[k].y + 0.5) * 100, 3);
      expect(t.uncertainty_nm / (Math.hypot(found[k].xErr, found[k].yErr) / Math.SQRT2 * 100)).toBeCloseTo(1, 5);
    });
    expect(r.lines.at(-1)).toMatch(/4 frames, \d+ sources, .* frames\/s → loc\.csv$/);

    // A looser --tolerance stops each frame's solver at a larger certified gap (reported), same sources here.
    const loose = cpgd('detect', 'movie.tif', '--psf', 'gaussian:1.1', '--pixel-size', '100', '--gain', '2', '--offset', '100', '--frames', '2:5', '--tolerance', '1e-3', '--threads', '2', '--out', 'loose.csv');
    expect(loose.code, loose.stderr).toBe(0);
    const gapOf = (line: string) => Number(/relative gap ([\d.e-]+)/.exec(line)![1]);
    expect(gapOf(loose.lines.at(-1)!)).toBeLessThanOrEqual(1e-3);
    expect(gapOf(r.lines.at(-1)!)).toBeLessThanOrEqual(1e-5);
    expect(matchCatalogs(parseCatalogCsv(read('loose.csv')), found, 0.1).f1).toBeGreaterThan(0.95);

    // Same fluxes with --gain 2 (the two ways to give this camera agree).
    const g = cpgd('detect', 'movie.tif', '--psf', 'gaussian:1.1', '--pixel-size', '100', '--gain', '2', '--offset', '100', '--frames', '2-5', '--threads', '2', '--quiet');
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toBe(text);
  });

  // The CSV of a stack is formatted frame by frame as the frames finish (and, from 10 frames per
  // worker, after the workers warmed up on synthetic frames): it must be the very bytes of the
  // whole catalogue formatted at once from core detect() on each frame.
  it('a stack\'s CSV is byte for byte formatCatalogCsv of core detect() frame by frame; the same through the end-of-run path', async () => {
    const s = cpgd('simulate', '--kind', 'smlm', '--size', '32', '--frames', '24', '--count', '8', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--seed', '12', '--out', 'bytes.tif', '--truth', 'bytes-truth.csv', '--quiet');
    expect(s.code, s.stderr).toBe(0);
    const r = cpgd('detect', 'bytes.tif', '--psf', 'gaussian:1.1', '--pixel-size', '100', '--gain', '2', '--offset', '100', '--threads', '2', '--quiet', '--out', 'bytes.csv');
    expect(r.code, r.stderr).toBe(0);
    const src = await readTiff(new Uint8Array(readFileSync(at('bytes.tif'))));
    const camera = validateCamera({ gain: 2, offset: 100, pixelSizeNm: 100 });
    const psf = buildPsf({ kind: 'gaussian', sigmaX: 1.1, sigmaY: 1.1 });
    const all: { id: number }[] = [];
    for (let f = 0; f < src.frames; f++) {
      for (const x of detect(await src.frame(f), { psf, noise: cameraNoiseOptions(camera), frame: f }).sources) all.push({ ...x, id: all.length + 1 });
    }
    expect(all.length).toBeGreaterThan(100);
    const text = read('bytes.csv');
    expect(text).toBe(formatCatalogCsv(sourcesInPhotons(all, camera), { pixelSizeNm: 100 }));
    // A filter that keeps every row formats the catalogue after the last frame instead: same bytes.
    const kept = cpgd('detect', 'bytes.tif', '--psf', 'gaussian:1.1', '--pixel-size', '100', '--gain', '2', '--offset', '100', '--threads', '2', '--quiet', '--max-photons', '1e12');
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toBe(text);
  });

  it('filters on photons and uncertainty; the kept rows are renumbered and obey the bounds', () => {
    const all = rows(read('loc.csv'));
    const r = cpgd('detect', 'movie.tif', '--psf', 'gaussian:1.1', '--pixel-size', '100', '--gain', '2', '--offset', '100', '--frames', '2:5', '--min-photons', '1500', '--max-uncertainty', '12', '--threads', '2');
    expect(r.code, r.stderr).toBe(0);
    const kept = rows(r.stdout);
    const expected = all.filter((t) => t.flux >= 1500 && t.uncertainty_nm <= 12);
    expect(kept.length).toBe(expected.length);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(all.length);
    expect(kept.map((t) => t.x)).toEqual(expected.map((t) => t.x));
    expect(kept.map((t) => t.id)).toEqual(kept.map((_, i) => i + 1));
    expect(r.lines.at(-1)).toContain(`(${all.length - kept.length} filtered out)`);
  });

  it('takes the pixel size of an OME-TIFF from the file and says so', () => {
    const r = cpgd('detect', join(FIXTURES, 'ome_u16.ome.tif'), '--psf', 'gaussian:1.5', '--frames', '0:1', '--threads', '1', '--out', 'ome.csv');
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines[0]).toContain('pixel size 100 nm from the file');
    expect(read('ome.csv').split('\n')[0]).toMatch(/,x_nm,y_nm,uncertainty_nm$/);
    // ThunderSTORM export needs no --pixel-size then.
    const ts = cpgd('detect', join(FIXTURES, 'ome_u16.ome.tif'), '--psf', 'gaussian:1.5', '--frames', '0', '--threads', '1', '--format', 'thunderstorm', '--quiet');
    expect(ts.code, ts.stderr).toBe(0);
    expect(ts.stdout.split('\n')[0]).toContain('"x [nm]"');
  });

  it('takes the offset and an EMCCD\'s EM gain from OME-XML detector fields, anywhere in a long description', async () => {
    const src = await readTiff(new Uint8Array(readFileSync(at('movie.tif'))), { name: 'movie.tif' });
    const frames = [];
    for (let f = 0; f < 2; f++) frames.push((await src.frame(f)).data);
    const filler = '<StructuredAnnotations>' + '<CommentAnnotation ID="Annotation:0"><Value>' + 'x'.repeat(3000) + '</Value></CommentAnnotation></StructuredAnnotations>';
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">' + filler +
      '<Instrument ID="Instrument:0"><Detector ID="Detector:0" Type="EMCCD" AmplificationGain="50" Offset="100"/></Instrument>' +
      '<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="float" SizeX="32" SizeY="32" SizeZ="1" SizeC="1" SizeT="2" PhysicalSizeX="0.1" PhysicalSizeY="0.1"/></Image></OME>';
    writeFileSync(at('em.ome.tif'), writeTiff(frames, 32, 32, { description: xml }));
    // The movie has 2 ADU per photon; as an EMCCD at EM gain 50 that is 25 photoelectrons per ADU.
    const r = cpgd('detect', 'em.ome.tif', '--psf', 'gaussian:1.1', '--e-per-adu', '25', '--threads', '2', '--out', 'em.csv');
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines[0]).toBe('cpgd detect: pixel size 100 nm from the file; offset 100 ADU from the OME detector; EM gain 50 from the OME detector');
    // The same ADU per photon as --gain 2 --offset 100: the same sources, fluxes in the same photons
    // (the F² = 2 of the EM model changes the weights, not the unit).
    const em = parseCatalogCsv(read('em.csv'));
    const plain = cpgd('detect', 'em.ome.tif', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--threads', '2', '--quiet');
    const ref = parseCatalogCsv(plain.stdout);
    expect(em.length).toBeGreaterThan(0);
    const m = matchCatalogs(em, ref, 0.5);
    expect(m.tp).toBeGreaterThanOrEqual(Math.min(em.length, ref.length) - 2);
    const ratio = m.pairs.map((p) => em[p.detected].flux / ref[p.truth].flux).sort((a, b) => a - b);
    expect(ratio[ratio.length >> 1]).toBeGreaterThan(0.95);
    expect(ratio[ratio.length >> 1]).toBeLessThan(1.05);
  });

  it('--progress shows frames done, localisations, rate and time left on a non-terminal; none without it', () => {
    const r = cpgd('detect', 'movie.tif', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--threads', '2', '--progress', '--out', 'p.csv');
    expect(r.code, r.stderr).toBe(0);
    const progress = r.lines.filter((l) => l.startsWith('frames '));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toBe('frames 0/8 (0%) · 0 localisations · starting');
    expect(progress.at(-1)).toMatch(/^frames 8\/8 \(100%\) · \d+ localisations · [\d.]+ frames\/s · 0:00 left$/);
    const quiet = cpgd('detect', 'movie.tif', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--threads', '2', '--out', 'p2.csv');
    expect(quiet.code).toBe(0);
    expect(quiet.lines).toHaveLength(1); // the summary only
  });

  it('Ctrl-C during a stack: exit 1, nothing written, no temporary file', async () => {
    const s = cpgd('simulate', '--kind', 'smlm', '--size', '64', '--frames', '200', '--count', '35', '--psf', 'gaussian:1.1', '--seed', '9', '--out', 'long.tif', '--truth', 'long-truth.csv', '--quiet');
    expect(s.code, s.stderr).toBe(0);
    const child = spawn(process.execPath, [BIN, 'detect', 'long.tif', '--psf', 'gaussian:1.1', '--threads', '2', '--progress', '--out', 'long.csv'], { cwd: dir });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
      if (!sent && /frames [1-9]\d*\/200/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(sent).toBe(true);
    expect(code).toBe(1);
    expect(stderr).toMatch(/cancelled after \d+\/200 frames/);
    expect(existsSync(at('long.csv'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--drift: recovers a simulated linear stage drift and corrects the catalogue by it', () => {
    // 300 binding sites blinking over 60 frames, drifting 0.02 px (2 nm) and −0.01 px per frame.
    const s = cpgd('simulate', '--kind', 'smlm', '--size', '64', '--frames', '60', '--count', '20', '--sites', '300', '--drift-rate', '0.02,-0.01', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--seed', '3', '--out', 'drift.tif', '--truth', 'drift-truth.csv', '--quiet');
    expect(s.code, s.stderr).toBe(0);
    const r = cpgd('detect', 'drift.tif', '--psf', 'gaussian:1.1', '--gain', '2', '--offset', '100', '--pixel-size', '100', '--drift', '15', '--threads', '2', '--out', 'drift.csv');
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines.at(-1)).toMatch(/drift [-\d.]+, [-\d.]+ nm at frame 59 \(4 segments\) → drift\.drift\.csv$/);
    const curve = rows(read('drift.drift.csv'));
    expect(curve).toHaveLength(60);
    expect(curve[0]).toEqual({ frame: 0, dx_nm: 0, dy_nm: 0 });
    for (const c of curve) {
      expect(Math.abs(c.dx_nm - 2 * c.frame), `frame ${c.frame}`).toBeLessThan(10);
      expect(Math.abs(c.dy_nm + 1 * c.frame), `frame ${c.frame}`).toBeLessThan(10);
    }
    // Corrected positions sit on the sites: the truth moved back by the simulated drift.
    const found = parseCatalogCsv(read('drift.csv'));
    const truth = parseCatalogCsv(read('drift-truth.csv')).map((t) => ({ ...t, x: t.x - 0.02 * t.frame, y: t.y + 0.01 * t.frame }));
    const m = matchCatalogs(found, truth, 1);
    expect(m.recall).toBeGreaterThan(0.85);
    expect(Math.hypot(m.bias.x, m.bias.y) * 100).toBeLessThan(5); // nm
    expect(m.rmse * 100).toBeLessThan(25); // nm, close to the localisation precision
  });

  it('bad input: exit 2 with one line naming the option or file, no output file', () => {
    const cases: { args: string[]; mention: string }[] = [
      { args: ['--em-gain', '100'], mention: '--em-gain' },
      { args: ['--e-per-adu', '0.5', '--gain', '2'], mention: '--gain' },
      { args: ['--e-per-adu', '0'], mention: '--e-per-adu' },
      { args: ['--em-gain', '0.5', '--e-per-adu', '3'], mention: '--em-gain' },
      { args: ['--max-uncertainty', '20'], mention: '--max-uncertainty' },
      { args: ['--min-photons', '500', '--max-photons', '100'], mention: '--max-photons' },
      { args: ['--frames', '3:9'], mention: '--frames' },
      { args: ['--frames', '8:'], mention: '--frames' },
      { args: ['--frames', '5:3'], mention: '--frames' },
      { args: ['--frames', '1:2:3'], mention: '--frames' },
      { args: ['--drift', '4'], mention: '--drift' }, // no pixel size
      { args: ['--drift', '8', '--pixel-size', '100'], mention: '--drift' }, // one segment of 8 frames
      { args: ['--drift', '0', '--pixel-size', '100'], mention: '--drift' },
      { args: ['--drift-out', 'd.csv'], mention: '--drift-out' },
      { args: ['--tolerance', '0'], mention: '--tolerance' },
      { args: ['--tolerance', '1'], mention: '--tolerance' },
    ];
    for (const c of cases) {
      const r = cpgd('detect', 'movie.tif', '--psf', 'gaussian:1.1', ...c.args, '--out', 'bad.csv');
      expect(r.code, c.args.join(' ')).toBe(2);
      expect(r.lines, c.args.join(' ')).toHaveLength(1);
      expect(r.lines[0], c.args.join(' ')).toContain(c.mention);
      expect(existsSync(at('bad.csv'))).toBe(false);
    }
    const missing = cpgd('detect', 'nope.tif', '--psf', 'gaussian:1.1', '--pixel-size', '100', '--out', 'bad.csv');
    expect(missing.code).toBe(2);
    expect(missing.lines).toEqual([expect.stringContaining('nope.tif')]);
  });
});
