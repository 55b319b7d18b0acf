#!/usr/bin/env node
/**
 * `npm run bench:peers`: cpgd side by side with Source Extractor, SEP and photutils on the same
 * simulated images, scored the same way, printed as one table and written to
 * bench/results/peers.md and bench/results/peers.csv.
 *
 *   node bench/peers.mjs [--quick] [--only CASE[,CASE]] [--no-install] [--keep]
 *
 *   --quick       skip the 2048² field
 *   --only        run only these cases (names below)
 *   --no-install  do not try apt-get for missing peers (they are skipped and the table says so)
 *   --keep        keep the work directory (images, kernels, catalogues) and print its path
 *
 * Environment: CPGD_BENCH_PYTHON, the Python interpreter for SEP and photutils (default
 * /usr/bin/python3, where Debian's python3-sep and python3-photutils go).
 *
 * Cases (simulated with `cpgd simulate`, fixed seeds): sparse, crowded, moffat-file (a Moffat
 * PSF handed to every tool as a FITS stamp), smlm (a high-density 64×64 stack, issue 5's
 * parameters) and 2048 (a 2048² field, skipped by --quick).
 *
 * Fairness:
 * - Every tool reads the same FITS file and is given the same PSF: cpgd its --psf; Source
 *   Extractor and SEP the PSF stamp as detection filter (matched filter); photutils its FWHM and,
 *   for PSF photometry, the PSF itself. Peers estimate and subtract the background themselves.
 * - Each peer runs at every threshold of its SWEEP below and is reported at the one with the best F1
 *   against the truth (an oracle choice a user does not have); cpgd runs once at its defaults
 *   (λ auto), never tuned on the truth.
 * - Fluxes are total fluxes. The aperture peers measure a circle of radius 1 FWHM and divide by
 *   the PSF's encircled energy in that circle (the exact aperture correction for an isolated star,
 *   computed from the known PSF); photutils-psf fits the PSF, which needs no correction.
 * - Matching: one-to-one within TOLERANCE px, per frame (core matchCatalogs, Hungarian).
 * - Wall time: cpgd is timed as a whole `node bin/cpgd.mjs detect` process (start-up, reading,
 *   worker pool on all cores, writing); Source Extractor as whole processes (one per frame for a
 *   stack); SEP and photutils inside Python from after the imports and file reading
 *   (background + detection + photometry), so the peers are not charged the interpreter start-up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCatalogCsv } from '../out/node/core/catalog/csv.js';
import { matchCatalogs } from '../out/node/core/catalog/match.js';
import { writeFitsImage } from '../out/node/core/formats/fits.js';
import { MoffatPsf } from '../out/node/core/psf/moffat.js';
import { allocStamp } from '../out/node/core/psf/types.js';
import { loadPsf } from '../out/node/cli/values.js';
import { openImage } from '../out/node/cli/io.js';
import { convFile, csvTable, encircledEnergy, fmt, kernelFromStamp, markdownTable, parsePeerJson, parseSextractorCatalog, pickBestThreshold, sextractorSources } from './lib/peers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'cpgd.mjs');
const PEERS_DIR = join(ROOT, 'bench', 'peers');
const RESULTS = join(ROOT, 'bench', 'results');

/** Matching radius, pixels (100 nm for the SMLM stack's 100 nm pixels). */
const TOLERANCE = 1;
/**
 * Threshold sweeps, in units of the background noise σ. Source Extractor DETECT_THRESH
 * (= ANALYSIS_THRESH, on the filtered image) and SEP `thresh` (matched filter): their best F1 on
 * these fields lies at 0.5–1 σ or below (deblending, not noise, limits them), hence the low end.
 * photutils DAOStarFinder `threshold` / background RMS: below ~2 it returns thousands of noise
 * peaks (F1 < 0.4 on every case tried), above 8 it loses most stars.
 */
const SWEEP = {
  sextractor: [0.25, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 8],
  sep: [0.25, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 8],
  photutils: [1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8],
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const noInstall = args.includes('--no-install');
const keep = args.includes('--keep');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;

/** @type {{ name: string, label: string, sim: string[], psf: string | null, moffat?: { fwhm: number, beta: number }, fwhm: number, gaussianSigma: number, gain: number, detect: string[], backSize: number, psfFit: boolean }[]} */
const CASES = [
  {
    name: 'sparse',
    label: 'sparse 256², 40 stars, Gaussian σ 1.5',
    sim: ['--kind', 'stars', '--size', '256', '--count', '40', '--seed', '11', '--psf', 'gaussian:1.5'],
    psf: 'gaussian:1.5', fwhm: 1.5 * 2.3548, gaussianSigma: 1.5, gain: 1, detect: [], backSize: 64, psfFit: true,
  },
  {
    name: 'crowded',
    label: 'crowded 200², 150 stars, Gaussian σ 1.5',
    sim: ['--kind', 'stars', '--size', '200', '--count', '150', '--seed', '1', '--psf', 'gaussian:1.5'],
    psf: 'gaussian:1.5', fwhm: 1.5 * 2.3548, gaussianSigma: 1.5, gain: 1, detect: [], backSize: 64, psfFit: true,
  },
  {
    name: 'moffat-file',
    label: 'Moffat PSF file (FWHM 3.5, β 2.5), 256², 120 stars',
    sim: ['--kind', 'stars', '--size', '256', '--count', '120', '--seed', '3'],
    psf: null, moffat: { fwhm: 3.5, beta: 2.5 }, fwhm: 3.5, gaussianSigma: 0, gain: 1, detect: [], backSize: 64, psfFit: true,
  },
  {
    // Issue 5: 64×64 px of 100 nm, σ 1.1 px, ~35 emitters/frame, 800–4000 photons, 40 photons/px,
    // gain 2 ADU/photon, offset 100 ADU (read noise: the simulator's default 1.5 ADU).
    name: 'smlm',
    label: 'SMLM stack 64²×50 frames, ~35 emitters/frame, σ 1.1',
    sim: ['--kind', 'smlm', '--size', '64', '--count', '35', '--frames', '50', '--seed', '5', '--psf', 'gaussian:1.1', '--background', '40', '--gain', '2', '--offset', '100'],
    psf: 'gaussian:1.1', fwhm: 1.1 * 2.3548, gaussianSigma: 1.1, gain: 2, detect: ['--gain', '2', '--offset', '100', '--read-noise', '1.5'], backSize: 32, psfFit: true,
  },
  {
    // 25 stars per 10⁴ px (as `npm run bench`'s scale case), the simulator's default 400–40000.
    // photutils' PSF photometry is not run here: grouped astropy fits of ~10⁴ stars take far longer
    // than everything else together; photutils is scored with its finder + aperture fluxes.
    name: '2048',
    label: '2048², 10486 stars, Gaussian σ 1.5',
    sim: ['--kind', 'stars', '--size', '2048', '--count', '10486', '--seed', '7', '--psf', 'gaussian:1.5'],
    psf: 'gaussian:1.5', fwhm: 1.5 * 2.3548, gaussianSigma: 1.5, gain: 1, detect: [], backSize: 64, psfFit: false,
  },
].filter((c) => (!quick || c.name !== '2048') && (!only || only.includes(c.name)));

function run(cmd, argv, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}
const which = (name) => {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** apt-get install, once, for the packages still missing; returns a reason when it cannot. */
function aptInstall(packages) {
  if (noInstall) return 'not installing: --no-install given';
  if (!which('apt-get')) return 'no apt-get on this machine';
  if (!isRoot) return `not root: run  apt-get install -y ${packages.join(' ')}  as root`;
  console.error(`bench:peers: apt-get install -y ${packages.join(' ')}`);
  const r = run('apt-get', ['install', '-y', ...packages], { stdio: ['ignore', 'ignore', 'pipe'] });
  return r.status === 0 ? null : `apt-get install ${packages.join(' ')} failed (exit ${r.status}): ${String(r.stderr).trim().split('\n').pop()}`;
}

// Debian's python3-* packages go to the system interpreter, which may not be the first python3
// on the PATH (pyenv); prefer it, unless CPGD_BENCH_PYTHON names another (e.g. a virtualenv's).
const PYTHON = process.env.CPGD_BENCH_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const pyHas = (mod) => run(PYTHON, ['-c', `import ${mod}`]).status === 0;

/** The peers available, each with a version or the reason it is skipped. */
function setUpPeers() {
  const missing = [];
  if (!which('source-extractor') && !which('sex')) missing.push('source-extractor');
  if (!pyHas('astropy')) missing.push('python3-astropy');
  if (!pyHas('sep')) missing.push('python3-sep');
  if (!pyHas('photutils')) missing.push('python3-photutils');
  let aptError = null;
  if (missing.length > 0) aptError = aptInstall(missing);
  const peers = {};
  const sexBin = which('source-extractor') ?? which('sex');
  if (sexBin) {
    const v = run(sexBin, ['-v']);
    peers.sextractor = { bin: sexBin, version: (v.stdout + v.stderr).match(/version\s+([\d.]+)/i)?.[1] ?? '?' };
  } else peers.sextractor = { skipped: `Source Extractor not installed (${aptError ?? 'apt-get did not provide it'})` };
  const astropy = pyHas('astropy');
  for (const [key, mod] of [['sep', 'sep'], ['photutils', 'photutils']]) {
    if (astropy && pyHas(mod)) peers[key] = { version: run(PYTHON, ['-c', `import ${mod}; print(${mod}.__version__)`]).stdout.trim() };
    else peers[key] = { skipped: `python3-${mod}${astropy ? '' : ' / python3-astropy'} not installed (${aptError ?? 'apt-get did not provide it'})` };
  }
  return peers;
}

/** Score a catalogue against the truth. */
function score(sources, truth) {
  const m = matchCatalogs(sources, truth, TOLERANCE);
  return { found: sources.length, bias: m.bias, tp: m.tp, fp: m.fp, fn: m.fn, precision: m.precision, recall: m.recall, f1: m.f1, jaccard: m.jaccard, rmse: m.rmse, fluxError: m.medianFluxError };
}

const work = mkdtempSync(join(tmpdir(), 'cpgd-peers-'));
const peers = setUpPeers();
const threads = availableParallelism();
const machine = `${cpus()[0]?.model?.trim() ?? 'CPU'}, ${threads} cores, Node ${process.version}`;
const date = new Date().toISOString().slice(0, 10);
const load0 = loadavg()[0];
console.log(`cpgd vs peers — ${date}, ${machine}, load average ${load0.toFixed(2)} at start`);
for (const [k, p] of Object.entries(peers)) console.log(`  ${k}: ${p.skipped ? 'SKIPPED — ' + p.skipped : (p.bin ? p.bin + ' ' : '') + p.version}`);

/** @type {(string|number)[][]} */
const rows = [];
const notes = [];

for (const c of CASES) {
  console.error(`bench:peers: case ${c.name}`);
  const img = join(work, `${c.name}.fits`);
  const truthPath = join(work, `${c.name}-truth.csv`);
  let psfSpec = c.psf;
  if (c.moffat) {
    // The PSF as a file: a Moffat stamp over its whole support (written in float64).
    const m = new MoffatPsf(c.moffat.fwhm, c.moffat.beta);
    const st = allocStamp(m);
    m.stamp(0, 0, st);
    const half = Math.max(-st.x0, -st.y0, st.x0 + st.nx - 1, st.y0 + st.ny - 1);
    const k = kernelFromStamp(st, half);
    const path = join(work, `${c.name}-psf.fits`);
    writeFileSync(path, writeFitsImage([k], 2 * half + 1, 2 * half + 1, { bitpix: -64 }));
    psfSpec = `file:${path}`;
  }
  const sim = run(process.execPath, [CLI, 'simulate', ...c.sim, ...(c.moffat ? ['--psf', psfSpec] : []), '--out', img, '--truth', truthPath, '--quiet']);
  if (sim.status !== 0) throw new Error(`cpgd simulate failed for ${c.name}: ${sim.stderr}`);
  const truth = parseCatalogCsv(readFileSync(truthPath, 'utf8'), truthPath);
  const image = await openImage(img);
  const { width, height, frames } = image;

  // The PSF as every peer gets it: a kernel (filter) of half-size ⌈FWHM⌉, the whole stamp for
  // PSF fitting and the encircled energy of the flux aperture.
  const { psf } = await loadPsf(psfSpec, width, height);
  const st = allocStamp(psf);
  psf.stamp(0, 0, st);
  const fullHalf = Math.max(-st.x0, -st.y0, st.x0 + st.nx - 1, st.y0 + st.ny - 1);
  const half = Math.min(fullHalf, Math.ceil(c.fwhm));
  const n = 2 * half + 1;
  const kernel = kernelFromStamp(st, half);
  const kernelPath = join(work, `${c.name}-kernel.fits`);
  writeFileSync(kernelPath, writeFitsImage([kernel], n, n, { bitpix: -64 }));
  const modelPath = join(work, `${c.name}-model.fits`);
  writeFileSync(modelPath, writeFitsImage([kernelFromStamp(st, fullHalf)], 2 * fullHalf + 1, 2 * fullHalf + 1, { bitpix: -64 }));
  const convPath = join(work, `${c.name}.conv`);
  writeFileSync(convPath, convFile(kernel, n, `${psf.label} ${n}x${n}, written by bench/peers.mjs`));
  const aperture = c.fwhm;
  const ee = encircledEnergy(st, aperture);

  // cpgd, at its defaults.
  const oursOut = join(work, `${c.name}-cpgd.csv`);
  const ours = run(process.execPath, [CLI, 'detect', img, '--psf', psfSpec, ...c.detect, '--out', oursOut, '--quiet']);
  if (ours.status !== 0) throw new Error(`cpgd detect failed for ${c.name}: ${ours.stderr}`);
  const oursScore = score(parseCatalogCsv(readFileSync(oursOut, 'utf8'), oursOut), truth);
  const caseRows = [{ tool: 'cpgd', threshold: 'λ auto', ...oursScore, seconds: ours.seconds }];

  // Source Extractor: one process per frame and threshold.
  if (peers.sextractor.bin) {
    const params = join(work, 'sex.param');
    writeFileSync(params, ['XWIN_IMAGE', 'YWIN_IMAGE', 'X_IMAGE', 'Y_IMAGE', 'FLUX_APER', 'FLUX_AUTO', 'FLAGS'].join('\n') + '\n');
    const framePaths = [];
    for (let f = 0; f < frames; f++) {
      if (frames === 1) {
        framePaths.push(img);
        continue;
      }
      const fr = await image.frame(f);
      const p = join(work, `${c.name}-frame${f}.fits`);
      writeFileSync(p, writeFitsImage([Float32Array.from(fr.data)], width, height));
      framePaths.push(p);
    }
    const scored = [];
    for (const t of SWEEP.sextractor) {
      let seconds = 0;
      const sources = [];
      let failed = null;
      for (let f = 0; f < frames && !failed; f++) {
        const cat = join(work, `${c.name}-sex-${t}-${f}.cat`);
        const r = run(peers.sextractor.bin, [framePaths[f], '-c', '/dev/null', '-CATALOG_NAME', cat, '-CATALOG_TYPE', 'ASCII_HEAD', '-PARAMETERS_NAME', params,
          '-DETECT_TYPE', 'CCD', '-DETECT_MINAREA', '3', '-DETECT_THRESH', String(t), '-ANALYSIS_THRESH', String(t), '-FILTER', 'Y', '-FILTER_NAME', convPath,
          '-DEBLEND_NTHRESH', '32', '-DEBLEND_MINCONT', '0.005', '-CLEAN', 'Y', '-CLEAN_PARAM', '1.0', '-MASK_TYPE', 'CORRECT',
          '-PHOT_APERTURES', String(2 * aperture), '-PHOT_AUTOPARAMS', '2.5,3.5', '-SATUR_LEVEL', '1e10', '-MAG_ZEROPOINT', '0', '-GAIN', String(c.gain), '-PIXEL_SCALE', '0',
          '-SEEING_FWHM', String(c.fwhm), '-STARNNW_NAME', '/usr/share/source-extractor/default.nnw', '-BACK_TYPE', 'AUTO', '-BACK_SIZE', String(c.backSize), '-BACK_FILTERSIZE', '3',
          '-BACKPHOTO_TYPE', 'LOCAL', '-MEMORY_OBJSTACK', '60000', '-MEMORY_PIXSTACK', String(Math.max(300000, 2 * width * height)), '-MEMORY_BUFSIZE', String(Math.min(height, 4096)),
          '-CHECKIMAGE_TYPE', 'NONE', '-VERBOSE_TYPE', 'QUIET', '-NTHREADS', '1']);
        seconds += r.seconds;
        if (r.status !== 0) {
          failed = `exit ${r.status}: ${String(r.stderr).trim().split('\n').pop()}`;
          break;
        }
        sources.push(...sextractorSources(parseSextractorCatalog(readFileSync(cat, 'utf8'), cat), { frame: f, ee, gain: c.gain }));
      }
      if (failed) notes.push(`${c.name}: Source Extractor at DETECT_THRESH ${t} failed (${failed})`);
      else scored.push({ threshold: t, ...score(sources, truth), seconds });
    }
    addBest('Source Extractor', scored);
  } else caseRows.push({ tool: 'Source Extractor', skipped: peers.sextractor.skipped });

  const pyArgs = ['--image', img, '--kernel', kernelPath, '--fwhm', String(c.fwhm), '--aperture', String(aperture), '--ee', String(ee), '--back-size', String(c.backSize)];
  const py = (script, extra) => {
    const r = run(PYTHON, [join(PEERS_DIR, script), ...pyArgs, ...extra], { cwd: PEERS_DIR });
    if (r.status !== 0) throw new Error(`${script} failed on ${c.name} (exit ${r.status}): ${String(r.stderr).trim().split('\n').slice(-3).join(' / ')}`);
    return parsePeerJson(r.stdout, script, c.gain);
  };
  const sweepPeer = (label, script, sweep, extra) => {
    try {
      const out = py(script, ['--thresholds', sweep.join(','), ...extra]);
      for (const note of out.notes) notes.push(`${c.name}: ${label}: ${note}`);
      return addBest(label, out.runs.map((r) => ({ threshold: r.threshold, ...score(r.sources, truth), seconds: r.seconds })));
    } catch (e) {
      notes.push(`${c.name}: ${label} failed: ${e instanceof Error ? e.message : e}`);
      caseRows.push({ tool: label, skipped: 'failed (see notes)' });
      return null;
    }
  };

  if (peers.sep.version) sweepPeer('SEP', 'sep_detect.py', SWEEP.sep, []);
  else caseRows.push({ tool: 'SEP', skipped: peers.sep.skipped });

  if (peers.photutils.version) {
    const best = sweepPeer('photutils DAOStarFinder + aperture', 'photutils_detect.py', SWEEP.photutils, []);
    if (best && c.psfFit) {
      // PSF photometry at the finder's best threshold (one run: the fit is the expensive part).
      try {
        const out = py('photutils_detect.py', ['--thresholds', String(best.threshold), '--psf-fit', '--gaussian-sigma', String(c.gaussianSigma), '--psf-model', modelPath]);
        const r = out.runs[0];
        caseRows.push({ tool: 'photutils DAOStarFinder + PSF fit', threshold: r.threshold, ...score(r.sources, truth), seconds: r.seconds });
      } catch (e) {
        notes.push(`${c.name}: photutils PSF photometry failed: ${e instanceof Error ? e.message : e}`);
      }
    } else if (best) {
      notes.push(`${c.name}: photutils PSF photometry not run: grouped astropy fits of ~10⁴ stars take far longer than every other run together`);
      caseRows.push({ tool: 'photutils DAOStarFinder + PSF fit', skipped: 'not run (see notes)' });
    }
  } else caseRows.push({ tool: 'photutils', skipped: peers.photutils.skipped });

  function addBest(tool, scored) {
    if (scored.length === 0) {
      caseRows.push({ tool, skipped: 'no threshold ran (see notes)' });
      return null;
    }
    const { best, atEdge } = pickBestThreshold(scored);
    if (atEdge) notes.push(`${c.name}: ${tool}: best F1 at the edge of the sweep (threshold ${best.threshold})`);
    const sweep = [...scored].sort((a, b) => a.threshold - b.threshold).map((s) => `${s.threshold}:${s.f1.toFixed(3)}`).join(' ');
    notes.push(`${c.name}: ${tool} F1 by threshold — ${sweep}`);
    caseRows.push({ tool, ...best });
    return best;
  }

  // A convention error (1-based, pixel corners) shows as a mean offset of ~0.5–1 px.
  notes.push(`${c.name}: mean offset detected − true (x, y) px — ${caseRows.filter((r) => !r.skipped).map((r) => `${r.tool} ${fmt(r.bias.x)}, ${fmt(r.bias.y)}`).join('; ')}`);
  for (const r of caseRows) {
    if (r.skipped) rows.push([c.name, r.tool, `skipped: ${r.skipped}`, '', '', '', '', '', '', '', '', '', '', '', '']);
    else {
      const ratio = r.tool === 'cpgd' ? '1' : (ours.seconds / r.seconds).toFixed(2);
      rows.push([c.name, r.tool, String(r.threshold), r.found, r.tp, r.fp, r.fn, fmt(r.f1), fmt(r.jaccard), fmt(r.precision), fmt(r.recall), fmt(r.rmse), fmt(100 * r.fluxError, 1) + ' %', fmt(r.seconds, 2), ratio]);
    }
  }
}

const header = ['case', 'tool', 'threshold', 'found', 'TP', 'FP', 'FN', 'F1', 'Jaccard', 'precision', 'recall', 'RMSE px', 'median flux error', 'time s', 'cpgd time ÷ tool time'];
const load1 = loadavg()[0];
const title = `cpgd vs Source Extractor, SEP and photutils — ${date}, ${machine}; load average ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end (machine shared with other jobs: times are indicative)`;
const versions = Object.entries(peers).map(([k, p]) => `${k} ${p.skipped ? 'skipped' : p.version}`).join(', ');
const caseLines = CASES.map((c) => `- ${c.name}: ${c.label}; \`cpgd simulate ${c.sim.join(' ')}${c.moffat ? ' --psf file:PSF.fits' : ''}\``).join('\n');
const md = `${title}\n\nPeers: ${versions}. Matching one-to-one within ${TOLERANCE} px per frame. Peer thresholds (σ units) swept over: Source Extractor ${SWEEP.sextractor.join(', ')}; SEP ${SWEEP.sep.join(', ')}; photutils ${SWEEP.photutils.join(', ')}; best F1 kept (the F1 of every threshold is in the notes); cpgd once at its defaults.\n\nCases:\n${caseLines}\n\n${markdownTable(header, rows)}\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
console.log('\n' + markdownTable(header, rows));
console.log('Notes:\n' + notes.map((n) => `  ${n}`).join('\n'));
mkdirSync(RESULTS, { recursive: true });
const suffix = quick ? '-quick' : '';
if (!only) {
  writeFileSync(join(RESULTS, `peers${suffix}.md`), md);
  writeFileSync(join(RESULTS, `peers${suffix}.csv`), csvTable(['date', 'machine', ...header], rows.map((r) => [date, machine, ...r])));
  console.log(`\nwritten: bench/results/peers${suffix}.md, bench/results/peers${suffix}.csv`);
}
if (keep) console.log(`work directory kept: ${work}`);
else rmSync(work, { recursive: true, force: true });
