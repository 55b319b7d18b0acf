/** `cpgd detect`: the sources of an image or a stack, as CSV, DS9 regions, a FITS table or ThunderSTORM CSV. */

import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import { formatCatalogCsv } from '../core/catalog/csv.js';
import { formatDs9Regions } from '../core/catalog/ds9.js';
import { formatThunderstormCsv } from '../core/catalog/thunderstorm.js';
import { celestialWcs, type Wcs } from '../core/wcs.js';
import type { Source } from '../core/catalog/types.js';
import { InvalidOptionError } from '../core/errors.js';
import { writeFitsTable } from '../core/formats/fits.js';
import { formatPsfSpec, parsePsfSpec } from '../core/psf/spec.js';
import type { BackgroundKind } from '../core/solver/background.js';
import { validateNoiseOptions, type NoiseOptions } from '../core/solver/noise.js';
import { VERSION } from '../core/version.js';
import { DetectPool } from '../jobs/pool.js';
import { detectFramesParallel, type ParallelDetectOptions } from '../jobs/parallel.js';
import { parseArgs, formatHelp, UsageError, type CommandSpec } from './args.js';
import { EXIT_OK, EXIT_RUNTIME, type CliContext } from './context.js';
import { checkOutputPath, openImage, outputExtension, parseHdu, writeAtomic } from './io.js';
import { Reporter, seconds, short } from './report.js';
import { loadPsf, parseFrames, parseLambda, parseNumber, resolveFrames } from './values.js';

export type CatalogFormat = 'csv' | 'ds9' | 'fits' | 'thunderstorm';

const FORMATS: readonly CatalogFormat[] = ['csv', 'ds9', 'fits', 'thunderstorm'];

const FORMAT_OF_EXTENSION: Record<string, CatalogFormat> = {
  '.csv': 'csv', // or thunderstorm, given explicitly
  '.reg': 'ds9',
  '.fits': 'fits',
  '.fit': 'fits',
  '.fts': 'fits',
};

const BACKGROUNDS = ['none', 'constant', 'plane', 'surface', 'auto'] as const;

export const DETECT: CommandSpec = {
  name: 'detect',
  usage: 'cpgd detect IMAGE --psf SPEC [options]',
  summary:
    'Detect point sources (stars, fluorophores) in IMAGE by sparse deconvolution (conic particle gradient descent) and write a catalogue: CSV with the columns id,frame,x,y,flux,x_err,y_err,flux_err,snr, DS9 regions, a FITS table or a ThunderSTORM CSV. Positions are 0-based pixels with the centre of the first pixel at (0, 0); fluxes are photons when --gain is given, ADU above the offset otherwise.',
  positionals: [{ name: 'IMAGE', help: 'FITS (.fits/.fit/.fts, optionally gzip-compressed) or TIFF image or stack; the format is read from the first bytes, not the extension.' }],
  options: [
    {
      name: 'psf',
      value: 'SPEC',
      required: true,
      help: 'Point spread function, sizes in image pixels: gaussian:SIGMA, gaussian:SX,SY (σ > 0), moffat:FWHM,BETA (FWHM > 0, β > 1), file:PATH[@OVERSAMPLE] (a FITS or TIFF stamp centred on the array, first frame, sampled OVERSAMPLE times finer than the image, default 1) or dirichlet:K. There is no safe default.',
    },
    {
      name: 'lambda',
      value: 'auto|auto:FACTOR|VALUE',
      default: 'auto',
      help: 'Regularisation λ ≥ 0, in units of the noise-weighted data term. auto picks the expected maximum of the PSF-matched filter on pure noise (sources above matched-filter SNR ≈ 5); auto:FACTOR scales it (below 1 finds fainter sources and more false ones).',
    },
    {
      name: 'background',
      value: 'none|constant|plane|surface|auto',
      default: 'auto',
      help: 'Background model fitted with the sources: none, a constant, a plane, a cubic surface, or auto (chosen by BIC).',
    },
    { name: 'gain', value: 'G', default: 'estimated from the sky noise', help: 'Camera gain, ADU per photon (> 0). With it, fluxes are in photons.' },
    { name: 'offset', value: 'O', default: '0', help: 'Camera offset (bias), ADU.' },
    { name: 'read-noise', value: 'R', default: 'folded into the measured sky noise', help: 'Read noise, ADU rms (≥ 0).' },
    {
      name: 'frames',
      value: 'all|N|A-B',
      default: 'all',
      help: 'Frames of a stack to process: all, frame N, or frames A to B inclusive; 0-based, as in the frame column.',
    },
    { name: 'hdu', value: 'N|NAME', default: 'the first HDU holding an image of 2 or more axes', help: 'FITS HDU to read: 0-based index or EXTNAME.' },
    { name: 'max-iter', value: 'N', default: '2000', help: 'Iteration cap of the solver per tile (whole number ≥ 1).' },
    { name: 'threads', value: 'N', default: `the number of CPU cores (${availableParallelism()} here)`, help: 'Worker threads (whole number ≥ 1).' },
    { name: 'out', value: 'FILE', default: 'standard output', help: 'Catalogue file, written atomically (an existing file is replaced only once the catalogue is complete).' },
    {
      name: 'format',
      value: 'csv|ds9|fits|thunderstorm',
      default: 'from the --out extension (.reg: ds9, .fits/.fit/.fts: fits), else csv',
      help:
        'Catalogue format: CSV; DS9 region file (circles in fk5 RA/Dec with radii in arcsec when the image has a celestial WCS, else in image coordinates); FITS binary table; or thunderstorm, a ThunderSTORM results CSV (needs --pixel-size; may go to a .csv file): frame 1-based, x [nm] = (x + 0.5) · pixel size as ThunderSTORM counts from the corner of the first pixel, sigma [nm] the PSF σ, uncertainty [nm] = √((x_err² + y_err²)/2) · pixel size, intensity/offset/bkgstd (√offset) in photons with --gain, ADU otherwise.',
    },
    {
      name: 'pixel-size',
      value: 'NM',
      default: 'none (required by --format thunderstorm, refused with the other formats)',
      help: 'Camera pixel size in the sample plane, nanometres (> 0): the scale of the ThunderSTORM nm columns.',
    },
    { name: 'min-snr', value: 'S', default: '0 (keep every source)', help: 'Drop sources whose signal-to-noise ratio flux/flux_err is below S (≥ 0).' },
    { name: 'quiet', short: 'q', help: 'No progress and no summary on standard error (errors are still reported).' },
  ],
  notes: [
    'Progress and a summary (frames, sources, λ, solver status, relative duality gap, time) go to standard error. Ctrl-C stops the solver within one iteration; nothing is written then.',
    'Exit status: 0 success, 1 cancelled or failed at run time, 2 bad input (options, files).',
  ],
};

interface DetectPlan {
  image: string;
  psfText: string;
  lambda: ReturnType<typeof parseLambda>;
  background: BackgroundKind | 'auto';
  noise: NoiseOptions;
  frames: ReturnType<typeof parseFrames>;
  framesText: string;
  hdu: number | string | undefined;
  maxIter: number | undefined;
  threads: number | undefined;
  out: string | undefined;
  format: CatalogFormat;
  pixelSizeNm: number | undefined;
  minSnr: number;
  quiet: boolean;
}

function plan(argv: readonly string[]): DetectPlan | null {
  const args = parseArgs(DETECT, argv);
  if (args.help) return null;
  const v = args.values;
  const num = (name: string, rule: Parameters<typeof parseNumber>[2]) => (v.has(name) ? parseNumber(`--${name}`, v.get(name)!, rule) : undefined);

  const psfText = v.get('psf')!;
  parsePsfSpec(psfText); // syntax now; a file PSF is read once the image is known
  const background = (v.get('background') ?? 'auto').trim().toLowerCase();
  if (!(BACKGROUNDS as readonly string[]).includes(background)) {
    throw new InvalidOptionError('--background', v.get('background'), `must be one of ${BACKGROUNDS.join(', ')}`);
  }
  const noise = validateNoiseOptions({
    gain: num('gain', { above: 0, unit: 'ADU per photon' }),
    offset: num('offset', { unit: 'ADU' }),
    readNoise: num('read-noise', { min: 0, unit: 'ADU' }),
  });
  for (const k of Object.keys(noise) as (keyof NoiseOptions)[]) if (noise[k] === undefined) delete noise[k];

  const out = v.get('out');
  const given = v.get('format')?.trim().toLowerCase();
  if (given !== undefined && !(FORMATS as readonly string[]).includes(given)) {
    throw new InvalidOptionError('--format', v.get('format'), 'must be csv, ds9, fits or thunderstorm');
  }
  let format: CatalogFormat = (given as CatalogFormat | undefined) ?? 'csv';
  if (out !== undefined) {
    const ext = outputExtension(out);
    if (ext === '.gz') throw new InvalidOptionError('--out', out, 'compressed output is not supported; write a plain file');
    const implied = FORMAT_OF_EXTENSION[ext];
    const compatible = implied === given || (implied === 'csv' && given === 'thunderstorm');
    if (given !== undefined && implied !== undefined && !compatible) {
      throw new InvalidOptionError('--format', given, `contradicts --out ${out}, whose extension ${ext} means ${implied}`);
    }
    if (given === undefined && implied) format = implied;
  }
  const pixelSizeNm = num('pixel-size', { above: 0, unit: 'nm' });
  if (format === 'thunderstorm' && pixelSizeNm === undefined) {
    throw new UsageError('--pixel-size: missing, --pixel-size NM (camera pixel size in nm) is required by --format thunderstorm (see cpgd detect --help)');
  }
  if (format !== 'thunderstorm' && pixelSizeNm !== undefined) {
    throw new InvalidOptionError('--pixel-size', v.get('pixel-size'), `is only used by --format thunderstorm (the format here is ${format})`);
  }
  return {
    image: args.positionals[0],
    psfText,
    lambda: parseLambda(v.get('lambda') ?? 'auto'),
    background: background as BackgroundKind | 'auto',
    noise,
    frames: parseFrames(v.get('frames') ?? 'all'),
    framesText: v.get('frames') ?? 'all',
    hdu: parseHdu(v.get('hdu')),
    maxIter: num('max-iter', { integer: true, min: 1 }),
    threads: num('threads', { integer: true, min: 1 }),
    out,
    format,
    pixelSizeNm,
    minSnr: num('min-snr', { min: 0 }) ?? 0,
    quiet: v.has('quiet'),
  };
}

/** The catalogue as a FITS binary table (extension SOURCES), fluxes in photons or ADU; the app exports it too. */
export function fitsCatalog(sources: readonly Source[], photons: boolean, meta: { image: string; psf: string; lambda: string }): Uint8Array {
  const col = (pick: (s: Source) => number) => Float64Array.from(sources, pick);
  const fluxUnit = photons ? 'photon' : 'adu';
  return writeFitsTable(
    [
      { name: 'id', type: 'K', data: sources.map((s) => s.id) },
      { name: 'frame', type: 'J', data: sources.map((s) => s.frame) },
      { name: 'x', type: 'D', unit: 'pix', data: col((s) => s.x) },
      { name: 'y', type: 'D', unit: 'pix', data: col((s) => s.y) },
      { name: 'flux', type: 'D', unit: fluxUnit, data: col((s) => s.flux) },
      { name: 'x_err', type: 'D', unit: 'pix', data: col((s) => s.xErr) },
      { name: 'y_err', type: 'D', unit: 'pix', data: col((s) => s.yErr) },
      { name: 'flux_err', type: 'D', unit: fluxUnit, data: col((s) => s.fluxErr) },
      { name: 'snr', type: 'D', data: col((s) => s.snr) },
    ],
    {
      extname: 'SOURCES',
      cards: [
        { key: 'CREATOR', value: `cpgd-sources ${VERSION}`, comment: 'cpgd detect' },
        { key: 'IMAGE', value: meta.image.slice(0, 60), comment: 'input image' },
        { key: 'PSF', value: meta.psf.slice(0, 60), comment: 'PSF model' },
        { key: 'LAMBDA', value: meta.lambda, comment: 'regularisation (per frame)' },
      ],
    },
  );
}

/**
 * DS9 regions: fk5 (RA/Dec in degrees, radii in arcsec from the WCS pixel scale) when the image
 * has a celestial WCS and every source has finite ra/dec; otherwise image coordinates (a WCS that
 * leaves some source without ra/dec falls back to image coordinates, with a note on stderr).
 */
function ds9Catalog(sources: readonly Source[], wcs: Wcs | null, report: Reporter): string {
  if (wcs) {
    const pixelScale = wcs.pixelScale();
    const onSky = sources.every((s) => Number.isFinite(s.ra) && Number.isFinite(s.dec));
    if (onSky && Number.isFinite(pixelScale) && pixelScale > 0) return formatDs9Regions(sources, { system: 'fk5', pixelScale });
    report.line('cpgd detect: some sources have no RA/Dec from the WCS; DS9 regions written in image coordinates');
  }
  return formatDs9Regions(sources);
}

export async function runDetect(argv: readonly string[], ctx: CliContext): Promise<number> {
  const p = plan(argv);
  if (!p) {
    ctx.stdout.write(formatHelp(DETECT));
    return EXIT_OK;
  }
  if (p.out !== undefined) checkOutputPath(p.out, '--out', [p.image]);
  else if (p.format === 'fits' && ctx.stdout.isTTY) {
    throw new InvalidOptionError('--format', 'fits', 'a FITS table is binary: give --out FILE or redirect standard output');
  }
  const source = await openImage(p.image, { hdu: p.hdu });
  // Catalogue rows get ra, dec (degrees) whenever the image has a celestial WCS (read before the
  // solve, so a broken WCS is reported at once).
  const wcs = celestialWcs(source.header, { name: p.image });
  const frames = resolveFrames(p.frames, source.frames, p.image, p.framesText);
  const psf = await loadPsf(p.psfText, source.width, source.height);
  if (p.out !== undefined) checkOutputPath(p.out, '--out', [p.image, ...(psf.spec.kind === 'file' ? [psf.spec.path] : [])]);

  const options: ParallelDetectOptions = {
    psfSpec: psf.spec,
    lambda: p.lambda,
    background: p.background,
    noise: p.noise,
    minSnr: p.minSnr,
  };
  if (psf.image) options.psfImage = psf.image;
  if (p.maxIter !== undefined) options.cpgd = { maxIter: p.maxIter };

  const report = new Reporter(ctx.stderr, p.quiet);
  const t0 = performance.now();
  let done = 0;
  const pool = new DetectPool({ threads: p.threads ?? availableParallelism() });
  let result;
  try {
    result = await detectFramesParallel(source, frames, options, pool, {
      signal: ctx.signal,
      onProgress: (q) => {
        const gap = q.relativeGap === null ? '' : ` · gap ${short(q.relativeGap)}`;
        const tile = q.tiles > 1 ? ` · tile ${q.tile + 1}/${q.tiles}` : '';
        report.status(`frame ${q.frame} (${done}/${frames.length} done)${tile} · iteration ${q.iteration}${gap} · ${q.particles} particles`);
      },
      onFrame: (_, r) => {
        if (r.status !== 'cancelled') done++;
        report.status(`${done}/${frames.length} frame${frames.length === 1 ? '' : 's'} done`);
      },
    });
  } finally {
    await pool.close();
  }
  const ms = performance.now() - t0;
  if (result.status === 'cancelled') {
    report.clear();
    ctx.stderr.write(`cpgd detect: cancelled after ${done}/${frames.length} frames (${seconds(ms)}); nothing written\n`);
    return EXIT_RUNTIME;
  }

  const lambdas = result.frames.map((f) => f.lambda);
  const lo = Math.min(...lambdas);
  const hi = Math.max(...lambdas);
  const lambdaText = lo === hi ? short(lo) : `${short(lo)}–${short(hi)}`;
  const photons = p.noise.gain !== undefined;
  let data: string | Uint8Array;
  if (wcs) {
    for (const s of result.sources) [s.ra, s.dec] = wcs.pixelToWorld(s.x, s.y);
  }
  if (p.format === 'csv') data = formatCatalogCsv(result.sources, { wcs: wcs !== null });
  else if (p.format === 'ds9') data = ds9Catalog(result.sources, wcs, report);
  else if (p.format === 'thunderstorm') data = formatThunderstormCsv(result.sources, { pixelSizeNm: p.pixelSizeNm!, psfSigmaPx: psf.psf.sigma });
  else data = fitsCatalog(result.sources, photons, { image: basename(p.image), psf: formatPsfSpec(psf.spec), lambda: lambdaText });
  if (p.out !== undefined) writeAtomic(p.out, data);
  else ctx.stdout.write(data);

  const gap = Math.max(0, ...result.frames.map((f) => f.relativeGap));
  const backgrounds = [...new Set(result.frames.map((f) => f.background))].join('/');
  const n = result.frames.length;
  report.line(
    `cpgd detect: ${n} frame${n === 1 ? '' : 's'}, ${result.sources.length} source${result.sources.length === 1 ? '' : 's'}, ` +
      `λ ${lambdaText}${typeof p.lambda === 'number' ? '' : ' (auto)'}, background ${backgrounds}, status ${result.status}, ` +
      `relative gap ${short(gap)}, ${seconds(ms)}${p.out !== undefined ? ` → ${p.out}` : ''}`,
  );
  return EXIT_OK;
}
