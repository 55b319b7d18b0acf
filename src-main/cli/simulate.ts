/** `cpgd simulate`: a synthetic star field or SMLM movie with its truth catalogue. */

import { resolve } from 'node:path';
import { formatTruthCsv } from '../core/catalog/csv.js';
import { InvalidOptionError } from '../core/errors.js';
import { writeFitsImage } from '../core/formats/fits.js';
import { writeTiff } from '../core/formats/tiff.js';
import { formatPsfSpec } from '../core/psf/spec.js';
import { simulate, type SimulateOptions, type SimulationKind } from '../core/simulate.js';
import { VERSION } from '../core/version.js';
import { formatHelp, parseArgs, type CommandSpec } from './args.js';
import { EXIT_OK, type CliContext } from './context.js';
import { checkOutputPath, outputExtension, writeAtomicAll } from './io.js';
import { Reporter } from './report.js';
import { loadPsf, parseNumber } from './values.js';

const DEFAULT_PSF = 'gaussian:1.5';
const DEFAULT_SIZE = 256;

export const SIMULATE: CommandSpec = {
  name: 'simulate',
  usage: 'cpgd simulate --kind stars|smlm --out IMAGE --truth CSV [options]',
  summary:
    'Simulate an image with known point sources and write it (float32) with its truth catalogue (CSV columns id,frame,x,y,flux; flux in photons). Pixels, in ADU: offset + gain · Poisson(background + sources) + Normal(0, read noise). The same options and seed give the same files.',
  positionals: [],
  options: [
    {
      name: 'kind',
      value: 'stars|smlm',
      required: true,
      help: 'stars: one frame of stars with log-uniform fluxes of 400 to 40000 photons on a sky with a 10% gradient; smlm: a movie of blinking single molecules (uniform fluxes of 800 to 4000 photons) on a camera offset. The kind sets the defaults below.',
    },
    { name: 'size', value: 'W[,H]', default: `${DEFAULT_SIZE} (H = W)`, help: 'Image width and height, pixels.' },
    { name: 'count', value: 'N', default: '100 for stars, 20 for smlm', help: 'stars: number of stars (whole number ≥ 0); smlm: mean number of emitters per frame (≥ 0, Poisson-distributed).' },
    { name: 'frames', value: 'N', default: '1 for stars, 100 for smlm', help: 'Number of frames (whole number ≥ 1).' },
    { name: 'psf', value: 'SPEC', default: DEFAULT_PSF, help: 'PSF of the sources, as for cpgd detect (gaussian:SIGMA, gaussian:SX,SY, moffat:FWHM,BETA, file:PATH[@OVERSAMPLE]); sizes in pixels.' },
    { name: 'background', value: 'B', default: '200 for stars, 40 for smlm', help: 'Mean background, photons per pixel (≥ 0).' },
    { name: 'gain', value: 'G', default: '1', help: 'Camera gain, ADU per photon (> 0).' },
    { name: 'offset', value: 'O', default: '0 for stars, 100 for smlm', help: 'Camera offset (bias), ADU.' },
    { name: 'read-noise', value: 'R', default: '5 for stars, 1.5 for smlm', help: 'Gaussian read noise, ADU rms (≥ 0).' },
    { name: 'seed', value: 'S', default: '1', help: 'Seed of the random numbers (whole number).' },
    {
      name: 'sites',
      value: 'N',
      default: 'none (each emitter at a new random place)',
      help: 'smlm: draw the emitters of every frame among N fixed binding sites (a sample with structure, as drift correction needs).',
    },
    { name: 'drift-rate', value: 'DX,DY', default: '0,0', help: 'Stage drift, pixels per frame: frame f is moved by f·(DX, DY); the truth has the moved positions.' },
    { name: 'out', value: 'IMAGE', required: true, help: 'Image file: FITS if it ends in .fits, .fit or .fts, TIFF if .tif or .tiff; float32, one page or plane per frame.' },
    { name: 'truth', value: 'CSV', required: true, help: 'Truth catalogue (CSV), 0-based pixel positions as in cpgd detect output.' },
    { name: 'quiet', short: 'q', help: 'No summary on standard error.' },
  ],
  notes: ['Both files are written atomically. Exit status: 0 success, 1 failure at run time, 2 bad input.'],
};

function parseSize(text: string): [number, number] {
  const parts = text.split(',');
  if (parts.length > 2) throw new InvalidOptionError('--size', text, 'must be W or W,H (pixels)');
  const w = parseNumber('--size', parts[0], { integer: true, min: 1, unit: 'pixels' });
  const h = parts.length > 1 ? parseNumber('--size', parts[1], { integer: true, min: 1, unit: 'pixels' }) : w;
  return [w, h];
}

export async function runSimulate(argv: readonly string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(SIMULATE, argv);
  if (args.help) {
    ctx.stdout.write(formatHelp(SIMULATE));
    return EXIT_OK;
  }
  const v = args.values;
  const num = (name: string, rule: Parameters<typeof parseNumber>[2]) => (v.has(name) ? parseNumber(`--${name}`, v.get(name)!, rule) : undefined);

  const kind = v.get('kind')!.trim().toLowerCase();
  if (kind !== 'stars' && kind !== 'smlm') throw new InvalidOptionError('--kind', v.get('kind'), 'must be stars or smlm');
  const [width, height] = parseSize(v.get('size') ?? String(DEFAULT_SIZE));
  const out = v.get('out')!;
  const truthPath = v.get('truth')!;
  const ext = outputExtension(out);
  const format = ext === '.fits' || ext === '.fit' || ext === '.fts' ? 'fits' : ext === '.tif' || ext === '.tiff' ? 'tiff' : null;
  if (!format) throw new InvalidOptionError('--out', out, 'the image name must end in .fits, .fit, .fts (FITS) or .tif, .tiff (TIFF)');

  const o: SimulateOptions = { kind: kind as SimulationKind, width, height, psf: undefined as never };
  const set = <K extends keyof SimulateOptions>(key: K, value: SimulateOptions[K] | undefined) => {
    if (value !== undefined) o[key] = value;
  };
  set('count', num('count', { integer: kind === 'stars', min: 0 }));
  set('frames', num('frames', { integer: true, min: 1 }));
  set('background', num('background', { min: 0, unit: 'photons per pixel' }));
  set('gain', num('gain', { above: 0, unit: 'ADU per photon' }));
  set('offset', num('offset', { unit: 'ADU' }));
  set('readNoise', num('read-noise', { min: 0, unit: 'ADU' }));
  set('seed', num('seed', { integer: true }));
  set('sites', num('sites', { integer: true, min: 1 }));
  if (v.has('drift-rate')) {
    const parts = v.get('drift-rate')!.split(',');
    if (parts.length !== 2) throw new InvalidOptionError('--drift-rate', v.get('drift-rate'), 'must be DX,DY (pixels per frame)');
    o.drift = { x: parseNumber('--drift-rate', parts[0], { unit: 'pixels per frame' }), y: parseNumber('--drift-rate', parts[1], { unit: 'pixels per frame' }) };
  }

  checkOutputPath(out, '--out');
  checkOutputPath(truthPath, '--truth');
  if (resolve(truthPath) === resolve(out)) throw new InvalidOptionError('--truth', truthPath, 'is the same file as --out');
  const psf = await loadPsf(v.get('psf') ?? DEFAULT_PSF, width, height);
  if (psf.spec.kind === 'file') {
    checkOutputPath(out, '--out', [psf.spec.path]);
    checkOutputPath(truthPath, '--truth', [psf.spec.path]);
  }
  o.psf = psf.psf;

  const sim = simulate(o);
  const c = sim.config;
  const description = `cpgd simulate --kind ${c.kind} --size ${width},${height} --count ${c.count} --frames ${c.frames} --psf ${formatPsfSpec(psf.spec)} --background ${c.background} --gain ${c.gain} --offset ${c.offset} --read-noise ${c.readNoise} --seed ${c.seed}${c.sites !== null ? ` --sites ${c.sites}` : ''}${c.drift.x || c.drift.y ? ` --drift-rate ${c.drift.x},${c.drift.y}` : ''}`;
  const frames32 = sim.frames.map((f) => Float32Array.from(f));
  const image =
    format === 'fits'
      ? writeFitsImage(frames32, width, height, {
          cards: [
            { key: 'CREATOR', value: `cpgd-sources ${VERSION}`, comment: 'cpgd simulate' },
            { key: 'SIMKIND', value: c.kind, comment: 'simulated scene' },
            { key: 'SIMSEED', value: c.seed, comment: 'random seed' },
            { key: 'GAIN', value: c.gain, comment: 'ADU per photon' },
            { key: 'OFFSET', value: c.offset, comment: 'ADU' },
            { key: 'RDNOISE', value: c.readNoise, comment: 'read noise, ADU rms' },
          ],
        })
      : writeTiff(frames32, width, height, { type: 'float32', description });
  writeAtomicAll([
    { path: out, data: image },
    { path: truthPath, data: formatTruthCsv(sim.truth) },
  ]);
  if (!v.has('quiet')) {
    ctx.stderr.write(
      `cpgd simulate: ${c.frames} frame${c.frames === 1 ? '' : 's'} of ${width}×${height}, ${sim.truth.length} source${sim.truth.length === 1 ? '' : 's'} → ${out}, ${truthPath}\n`,
    );
  }
  return EXIT_OK;
}
