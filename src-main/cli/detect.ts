/** `cpgd detect`: the sources of an image or a stack, as CSV, DS9 regions, a FITS table or ThunderSTORM CSV. */

import { basename, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { formatCatalogCsv, type CatalogCsvOptions } from '../core/catalog/csv.js';
import { formatDs9Regions } from '../core/catalog/ds9.js';
import { formatThunderstormCsv } from '../core/catalog/thunderstorm.js';
import { celestialWcs, type Wcs } from '../core/wcs.js';
import type { Source } from '../core/catalog/types.js';
import { InvalidOptionError } from '../core/errors.js';
import { writeFitsTable } from '../core/formats/fits.js';
import { formatPsfSpec, parsePsfSpec } from '../core/psf/spec.js';
import type { BackgroundKind } from '../core/solver/background.js';
import { validateNoiseOptions } from '../core/solver/noise.js';
import { cameraNoiseOptions, pixelToNm, positionUncertaintyPx, sourcesInPhotons, validateCamera, type Camera, type CameraSettings } from '../core/camera.js';
import { driftAt, estimateDrift, formatDriftCsv } from '../core/drift.js';
import { filterLocalisations, isActiveFilter, validateLocalisationFilter, type LocalisationFilter } from '../core/catalog/filter.js';
import type { ImageSource } from '../core/image.js';
import { VERSION } from '../core/version.js';
import { DetectPool } from '../jobs/pool.js';
import { detectFramesParallel, type ParallelDetectOptions } from '../jobs/parallel.js';
import { parseArgs, formatHelp, UsageError, type CommandSpec } from './args.js';
import { EXIT_OK, EXIT_RUNTIME, type CliContext } from './context.js';
import { checkOutputPath, openImage, outputExtension, parseHdu, writeAtomic, writeAtomicAll } from './io.js';
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
    { name: 'gain', value: 'G', default: 'estimated from the sky noise', help: 'Camera gain, ADU per photon (> 0). With it (or --e-per-adu), fluxes are in photons. Not with --e-per-adu/--em-gain.' },
    { name: 'offset', value: 'O', default: 'the OME-TIFF detector offset when the file gives one, else 0', help: 'Camera offset (bias), ADU: the base level of a pixel that sees no light.' },
    { name: 'read-noise', value: 'R', default: 'folded into the measured sky noise', help: 'Read noise, ADU rms (≥ 0).' },
    {
      name: 'e-per-adu',
      value: 'X',
      default: 'none (use --gain, or fluxes stay in ADU)',
      help: 'Camera conversion factor, photoelectrons per ADU (> 0), as on the camera sheet and in ThunderSTORM\'s camera setup: ADU per photon is then em-gain / X. With it, fluxes are in photons.',
    },
    {
      name: 'em-gain',
      value: 'G',
      default: 'the OME-TIFF AmplificationGain of an EMCCD detector when the file gives one, else 1 (no EM)',
      help: 'EM gain of an EMCCD (≥ 1; needs --e-per-adu). Above 1 the noise model doubles the shot-noise variance (excess noise factor F² = 2), so weights and uncertainties stay right.',
    },
    {
      name: 'frames',
      value: 'all|N|A-B|A:B',
      default: 'all',
      help: 'Frames of a stack to process: all, frame N, or frames A to B inclusive (A-B or A:B; A- or A: to the last frame); 0-based, as in the frame column.',
    },
    { name: 'hdu', value: 'N|NAME', default: 'the first HDU holding an image of 2 or more axes', help: 'FITS HDU to read: 0-based index or EXTNAME.' },
    { name: 'max-iter', value: 'N', default: '2000', help: 'Iteration cap of the solver per tile (whole number ≥ 1).' },
    {
      name: 'tolerance',
      value: 'G',
      default: '1e-5',
      help: 'The solver stops when the relative duality gap (F − F*)/F certified for each tile is at most G (> 0 and < 1). Larger values stop sooner (e.g. 1e-4 on SMLM frames); the gap reached is reported either way.',
    },
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
      default: 'the OME-TIFF PhysicalSizeX (or ImageJ calibration) when the file gives it, else none',
      help: 'Camera pixel size in the sample plane, nanometres (> 0). Required by --format thunderstorm. With it, the CSV gets the columns background,x_nm,y_nm,uncertainty_nm after the others (nm from the corner of the first pixel, x_nm = (x + 0.5) · NM as ThunderSTORM; uncertainty_nm = √((x_err² + y_err²)/2) · NM).',
    },
    { name: 'min-snr', value: 'S', default: '0 (keep every source)', help: 'Drop sources whose signal-to-noise ratio flux/flux_err is below S (≥ 0).' },
    { name: 'min-photons', value: 'N', default: 'none', help: 'Drop sources with a flux below N (photons with --gain or --e-per-adu, else ADU).' },
    { name: 'max-photons', value: 'N', default: 'none', help: 'Drop sources with a flux above N (e.g. molecules on top of each other).' },
    { name: 'max-uncertainty', value: 'NM', default: 'none', help: 'Drop sources whose position uncertainty √((x_err² + y_err²)/2) exceeds NM nanometres (> 0; needs the pixel size).' },
    {
      name: 'drift',
      value: 'SEGMENT_FRAMES',
      default: 'no drift correction',
      help: 'Correct stage drift: the frames are cut into segments of SEGMENT_FRAMES frames (whole number ≥ 1, at least two segments, each with enough localisations to image the sample), the drift of each is the sub-pixel peak of the cross-correlation of its rendering with the others, interpolated linearly between segments and 0 at the first frame; the catalogue positions are corrected by it. Needs the pixel size.',
    },
    { name: 'drift-out', value: 'CSV', default: 'OUT without its extension + .drift.csv (required without --out)', help: 'Where the drift curve goes: CSV frame,dx_nm,dy_nm (one line per frame; subtract it from positions to correct them).' },
    { name: 'progress', help: 'Show progress on standard error even when it is not a terminal (one line a second). On a terminal it is shown anyway.' },
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
  /** The camera as given on the command line (the file may fill in more once read). */
  camera: CameraSettings;
  frames: ReturnType<typeof parseFrames>;
  framesText: string;
  hdu: number | string | undefined;
  maxIter: number | undefined;
  tolerance: number | undefined;
  threads: number | undefined;
  out: string | undefined;
  format: CatalogFormat;
  minSnr: number;
  filter: LocalisationFilter;
  drift: number | undefined;
  driftOut: string | undefined;
  quiet: boolean;
  progress: boolean;
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
  const camera: CameraSettings = {};
  const setCamera = <K extends keyof CameraSettings>(key: K, value: CameraSettings[K] | undefined) => {
    if (value !== undefined) camera[key] = value;
  };
  setCamera('gain', num('gain', { above: 0, unit: 'ADU per photon' }));
  setCamera('offset', num('offset', { unit: 'ADU' }));
  setCamera('readNoise', num('read-noise', { min: 0, unit: 'ADU' }));
  setCamera('electronsPerAdu', num('e-per-adu', { above: 0, unit: 'photoelectrons per ADU' }));
  setCamera('emGain', num('em-gain', { min: 1 }));
  setCamera('pixelSizeNm', num('pixel-size', { above: 0, unit: 'nm' }));
  validateCamera(camera); // contradictions now, before the file is read

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
  const filter: LocalisationFilter = {};
  const setFilter = <K extends keyof LocalisationFilter>(key: K, value: LocalisationFilter[K] | undefined) => {
    if (value !== undefined) filter[key] = value;
  };
  setFilter('minPhotons', num('min-photons', {}));
  setFilter('maxPhotons', num('max-photons', {}));
  setFilter('maxUncertaintyNm', num('max-uncertainty', { above: 0, unit: 'nm' }));
  // The pixel size may still come from the file: checked against the filter once it is read.
  validateLocalisationFilter({ ...filter, pixelSizeNm: filter.maxUncertaintyNm !== undefined ? 1 : undefined });
  return {
    image: args.positionals[0],
    psfText,
    lambda: parseLambda(v.get('lambda') ?? 'auto'),
    background: background as BackgroundKind | 'auto',
    camera,
    frames: parseFrames(v.get('frames') ?? 'all'),
    framesText: v.get('frames') ?? 'all',
    hdu: parseHdu(v.get('hdu')),
    maxIter: num('max-iter', { integer: true, min: 1 }),
    tolerance: (() => {
      const t = num('tolerance', { above: 0 });
      if (t !== undefined && !(t < 1)) throw new InvalidOptionError('--tolerance', v.get('tolerance'), 'must be a relative gap > 0 and < 1');
      return t;
    })(),
    threads: num('threads', { integer: true, min: 1 }),
    out,
    format,
    minSnr: num('min-snr', { min: 0 }) ?? 0,
    filter,
    drift: num('drift', { integer: true, min: 1, unit: 'frames' }),
    driftOut: v.get('drift-out') ?? (out !== undefined && v.has('drift') ? out.replace(/\.[^./\\]*$/, '') + '.drift.csv' : undefined),
    quiet: v.has('quiet'),
    progress: v.has('progress'),
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

/**
 * The camera: the command line, completed by what the file says (pixel size from OME-TIFF
 * PhysicalSizeX/Y or an ImageJ calibration; offset and EMCCD EM gain from OME-XML detector
 * fields). Values given on the command line always win. Returns the notes to print.
 */
function completeCamera(given: CameraSettings, source: ImageSource): { settings: CameraSettings; notes: string[] } {
  const settings = { ...given };
  const notes: string[] = [];
  if (settings.pixelSizeNm === undefined && source.pixelSizeNm) {
    const { x, y } = source.pixelSizeNm;
    settings.pixelSizeNm = x;
    notes.push(`pixel size ${short(x)} nm from the file${Math.abs(x - y) > 1e-6 * x ? ` (x; the file says ${short(y)} nm along y, positions in nm use x)` : ''}`);
  }
  const ome = source.camera;
  if (ome) {
    if (settings.offset === undefined && ome.offset !== undefined) {
      settings.offset = ome.offset;
      notes.push(`offset ${short(ome.offset)} ADU from the OME detector`);
    }
    if (settings.emGain === undefined && ome.emGain !== undefined && settings.electronsPerAdu !== undefined) {
      settings.emGain = ome.emGain;
      notes.push(`EM gain ${short(ome.emGain)} from the OME detector`);
    }
  }
  return { settings, notes };
}

/** One progress line of a stack: frames done, localisations, rate and time left. */
export function stackProgressLine(done: number, total: number, localisations: number, elapsedMs: number): string {
  const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
  const head = `frames ${done}/${total} (${pct}%) · ${localisations} localisation${localisations === 1 ? '' : 's'}`;
  if (done === 0 || elapsedMs <= 0) return `${head} · starting`;
  const rate = (1000 * done) / elapsedMs;
  const left = ((total - done) / rate) * 1000;
  return `${head} · ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} frames/s · ${clock(left)} left`;
}

/**
 * The CSV catalogue of a stack built while it is solved: each frame's rows are formatted as soon as
 * it and every frame before it are done (frames finish nearly in order), so the calling thread,
 * idle while the workers solve, does the formatting then rather than after the last frame.
 * Byte-identical to formatCatalogCsv of the whole catalogue (ids in frame order, then in each
 * frame's order, as detectFramesParallel numbers them). Only for what needs no other frame: no
 * filter (it renumbers), no drift correction, no WCS.
 */
class CsvInFrameOrder {
  private readonly header: string;
  private readonly rows: string[] = [];
  private readonly waiting = new Map<number, readonly Source[]>();
  private next = 0;
  private count = 0;

  constructor(
    private readonly frames: readonly number[],
    private readonly camera: Camera,
    private readonly options: CatalogCsvOptions,
  ) {
    this.header = formatCatalogCsv([], options);
  }

  add(frame: number, sources: readonly Source[]): void {
    this.waiting.set(frame, sources);
    for (let f = this.frames[this.next]; this.waiting.has(f); f = this.frames[++this.next]) {
      const own = this.waiting.get(f)!;
      this.waiting.delete(f);
      const numbered = own.map((s) => ({ ...s, id: ++this.count }));
      this.rows.push(formatCatalogCsv(sourcesInPhotons(numbered, this.camera), this.options).slice(this.header.length));
    }
  }

  /** The whole CSV, or null when some frame was not added (or sources differ in number). */
  text(sources: number): string | null {
    return this.next === this.frames.length && this.count === sources ? this.header + this.rows.join('') : null;
  }
}

/** m:ss or h:mm:ss. */
function clock(ms: number): string {
  const t = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
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
  try {
    return await detectSource(p, source, ctx);
  } finally {
    // A file read by range stays open until closed.
    await source.close?.();
  }
}

async function detectSource(p: DetectPlan, source: ImageSource, ctx: CliContext): Promise<number> {
  // Catalogue rows get ra, dec (degrees) whenever the image has a celestial WCS (read before the
  // solve, so a broken WCS is reported at once).
  const wcs = celestialWcs(source.header, { name: p.image });
  const frames = resolveFrames(p.frames, source.frames, p.image, p.framesText);
  const { settings, notes } = completeCamera(p.camera, source);
  const camera = validateCamera(settings);
  const pixelSizeNm = camera.pixelSizeNm;
  if (p.format === 'thunderstorm' && pixelSizeNm === undefined) {
    throw new UsageError(`--pixel-size: missing, --pixel-size NM (camera pixel size in nm) is required by --format thunderstorm, and ${p.image} does not give it (see cpgd detect --help)`);
  }
  const filter = validateLocalisationFilter({ ...p.filter, pixelSizeNm });
  if (p.drift !== undefined) {
    if (pixelSizeNm === undefined) throw new UsageError(`--drift: needs the camera pixel size (--pixel-size NM), which ${p.image} does not give`);
    if (p.driftOut === undefined) throw new UsageError('--drift-out: missing, the drift curve needs a file (--drift-out CSV) when the catalogue goes to standard output');
    if (Math.ceil(frames.length / p.drift) < 2) {
      throw new InvalidOptionError('--drift', p.drift, `${frames.length} frame${frames.length === 1 ? '' : 's'} make${frames.length === 1 ? 's' : ''} a single segment; at least two are needed`);
    }
    checkOutputPath(p.driftOut, '--drift-out', [p.image]);
    if (p.out !== undefined && resolve(p.out) === resolve(p.driftOut)) throw new InvalidOptionError('--drift-out', p.driftOut, 'is the same file as --out');
  } else if (p.driftOut !== undefined) {
    throw new UsageError('--drift-out: only with --drift SEGMENT_FRAMES');
  }
  const psf = await loadPsf(p.psfText, source.width, source.height);
  if (p.out !== undefined) checkOutputPath(p.out, '--out', [p.image, ...(psf.spec.kind === 'file' ? [psf.spec.path] : [])]);

  const noise = validateNoiseOptions(cameraNoiseOptions(camera));
  const options: ParallelDetectOptions = {
    psfSpec: psf.spec,
    lambda: p.lambda,
    background: p.background,
    noise,
    minSnr: p.minSnr,
  };
  if (psf.image) options.psfImage = psf.image;
  if (p.maxIter !== undefined || p.tolerance !== undefined) {
    options.cpgd = {};
    if (p.maxIter !== undefined) options.cpgd.maxIter = p.maxIter;
    if (p.tolerance !== undefined) options.cpgd.tolerance = p.tolerance;
  }

  const showProgress = !p.quiet && (ctx.stderr.isTTY === true || p.progress);
  const report = new Reporter(ctx.stderr, !showProgress, 1000);
  const summary = new Reporter(ctx.stderr, p.quiet);
  if (notes.length > 0) summary.line(`cpgd detect: ${notes.join('; ')}`);
  const t0 = performance.now();
  let done = 0;
  let localisations = 0;
  const stack = frames.length > 1;
  const csvOptions: CatalogCsvOptions = { wcs: wcs !== null, ...(pixelSizeNm !== undefined ? { pixelSizeNm } : {}) };
  const csv = stack && p.format === 'csv' && !wcs && !isActiveFilter(filter) && p.drift === undefined ? new CsvInFrameOrder(frames, camera, csvOptions) : null;
  const pool = new DetectPool({ threads: p.threads ?? availableParallelism() });
  let result;
  try {
    if (stack) report.status(stackProgressLine(0, frames.length, 0, 0), true);
    result = await detectFramesParallel(source, frames, options, pool, {
      signal: ctx.signal,
      onProgress: stack
        ? undefined
        : (q) => {
            const gap = q.relativeGap === null ? '' : ` · gap ${short(q.relativeGap)}`;
            const tile = q.tiles > 1 ? ` · tile ${q.tile + 1}/${q.tiles}` : '';
            report.status(`frame ${q.frame}${tile} · iteration ${q.iteration}${gap} · ${q.particles} particles`);
          },
      onFrame: (f, r) => {
        if (r.status === 'cancelled') return;
        csv?.add(f, r.sources);
        done++;
        localisations += r.sources.length;
        if (stack) report.status(stackProgressLine(done, frames.length, localisations, performance.now() - t0), done === frames.length);
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
  report.clear();

  // Loops, not Math.min(...array): a movie of 10⁵ frames would overflow the argument stack.
  let lo = Infinity;
  let hi = -Infinity;
  let gap = 0;
  for (const f of result.frames) {
    lo = Math.min(lo, f.lambda);
    hi = Math.max(hi, f.lambda);
    gap = Math.max(gap, f.relativeGap);
  }
  const lambdaText = lo === hi ? short(lo) : `${short(lo)}–${short(hi)}`;
  const photons = camera.aduPerPhoton !== undefined;
  const streamed = csv?.text(result.sources.length) ?? null;
  // Not needed when the CSV was made frame by frame (nor is the copy in photons it would make).
  let sources = streamed === null ? sourcesInPhotons(result.sources, camera) : result.sources;
  const found = sources.length;
  if (isActiveFilter(filter)) sources = filterLocalisations(sources, filter);
  let driftFile: { path: string; data: string } | null = null;
  let driftText = '';
  if (p.drift !== undefined) {
    const px = pixelSizeNm!;
    const locs = sources.map((s) => ({ frame: s.frame, xNm: pixelToNm(s.x, px), yNm: pixelToNm(s.y, px), uncertaintyNm: positionUncertaintyPx(s) * px, photons: s.flux }));
    const curve = estimateDrift(locs, { segmentFrames: p.drift });
    for (const s of sources) {
      const d = driftAt(curve, s.frame);
      s.x -= d.dx / px;
      s.y -= d.dy / px;
    }
    driftFile = { path: p.driftOut!, data: formatDriftCsv(curve) };
    const last = curve.frames.length - 1;
    driftText = `, drift ${short(curve.dxNm[last])}, ${short(curve.dyNm[last])} nm at frame ${curve.frames[last]} (${curve.segments.length} segments) → ${p.driftOut}`;
  }
  let data: string | Uint8Array;
  if (wcs) {
    for (const s of sources) [s.ra, s.dec] = wcs.pixelToWorld(s.x, s.y);
  }
  if (streamed !== null) data = streamed;
  else if (p.format === 'csv') data = formatCatalogCsv(sources, csvOptions);
  else if (p.format === 'ds9') data = ds9Catalog(sources, wcs, summary);
  else if (p.format === 'thunderstorm') data = formatThunderstormCsv(sources, { pixelSizeNm: pixelSizeNm!, psfSigmaPx: psf.psf.sigma });
  else data = fitsCatalog(sources, photons, { image: basename(p.image), psf: formatPsfSpec(psf.spec), lambda: lambdaText });
  if (p.out !== undefined) writeAtomicAll([{ path: p.out, data }, ...(driftFile ? [driftFile] : [])]);
  else {
    if (driftFile) writeAtomic(driftFile.path, driftFile.data);
    ctx.stdout.write(data);
  }

  const backgrounds = [...new Set(result.frames.map((f) => f.background))].join('/');
  const n = result.frames.length;
  const kept = sources.length === found ? '' : ` (${found - sources.length} filtered out)`;
  const rate = n > 1 ? `, ${short((1000 * n) / ms)} frames/s` : '';
  summary.line(
    `cpgd detect: ${n} frame${n === 1 ? '' : 's'}, ${sources.length} source${sources.length === 1 ? '' : 's'}${kept}, ` +
      `λ ${lambdaText}${typeof p.lambda === 'number' ? '' : ' (auto)'}, background ${backgrounds}, status ${result.status}, ` +
      `relative gap ${short(gap)}, ${seconds(ms)}${rate}${p.out !== undefined ? ` → ${p.out}` : ''}${driftText}`,
  );
  return EXIT_OK;
}
