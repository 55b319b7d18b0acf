/** `cpgd render`: a super-resolution image (32-bit float TIFF) of a localisation table. */

import { readLocalisationsCsv } from '../core/catalog/localisations.js';
import { resolve } from 'node:path';
import { correctDrift, estimateDrift, formatDriftCsv } from '../core/drift.js';
import { InvalidOptionError } from '../core/errors.js';
import { renderLocalisations, renderingToTiff, type Localisation, type RenderMode, type RenderOptions } from '../core/render.js';
import { formatHelp, parseArgs, type CommandSpec } from './args.js';
import { EXIT_OK, type CliContext } from './context.js';
import { checkOutputPath, outputExtension, readInputFile, writeAtomicAll } from './io.js';
import { Reporter, short } from './report.js';
import { parseFrames, parseNumber, type FrameSelection } from './values.js';

export const RENDER: CommandSpec = {
  name: 'render',
  usage: 'cpgd render CATALOG.csv --pixel-size NM --out IMAGE.tif [options]',
  summary:
    'Render localisations as a super-resolution image: a 2-D histogram (localisations per pixel) or a Gaussian rendering (each localisation a unit-mass Gaussian whose σ is its position uncertainty, integrated over the pixels). Writes a single-page 32-bit float TIFF calibrated for ImageJ/Fiji (µm per pixel). Positions are nm from the corner of the first camera pixel, as in ThunderSTORM.',
  positionals: [
    {
      name: 'CATALOG.csv',
      help: 'A localisation table: the CSV of cpgd detect (with the x_nm,y_nm,uncertainty_nm columns it writes when the pixel size is known, or with --camera-pixel-size) or a ThunderSTORM CSV (x [nm], y [nm], uncertainty [nm], frame).',
    },
  ],
  options: [
    { name: 'pixel-size', value: 'NM', required: true, help: 'Pixel size of the rendering, nm (> 0), e.g. 10.' },
    { name: 'out', value: 'IMAGE.tif', required: true, help: 'The image (.tif or .tiff), written atomically.' },
    { name: 'mode', value: 'histogram|gaussian', default: 'gaussian', help: 'histogram: each localisation adds 1 to its pixel; gaussian: each adds a unit-mass Gaussian of σ = its uncertainty.' },
    { name: 'camera-pixel-size', value: 'NM', default: 'none (needed only for a cpgd CSV without nm columns)', help: 'Camera pixel size, nm (> 0), to convert pixel positions and errors to nm.' },
    { name: 'sigma', value: 'NM', default: 'each localisation\'s uncertainty', help: 'gaussian: draw every localisation with this σ, nm (> 0).' },
    { name: 'min-sigma', value: 'NM', default: '0', help: 'gaussian: smallest σ, nm (≥ 0); also the σ of localisations without an uncertainty.' },
    { name: 'size', value: 'W,H', default: 'just large enough for every localisation', help: 'Image width and height, render pixels (from the corner of the first camera pixel).' },
    { name: 'frames', value: 'all|N|A-B|A:B', default: 'all', help: 'Render only the localisations of these 0-based frames (inclusive; A- or A: to the end).' },
    { name: 'min-photons', value: 'N', default: 'none', help: 'Leave out localisations with fewer photons than N.' },
    { name: 'max-uncertainty', value: 'NM', default: 'none', help: 'Leave out localisations whose uncertainty exceeds NM nanometres, or is unknown.' },
    {
      name: 'drift',
      value: 'SEGMENT_FRAMES',
      default: 'no drift correction',
      help: 'Correct stage drift before rendering, as cpgd detect --drift does (segments of SEGMENT_FRAMES frames cross-correlated), e.g. for a ThunderSTORM table.',
    },
    { name: 'drift-out', value: 'CSV', default: 'the image name with .drift.csv', help: 'Where the drift curve goes (frame,dx_nm,dy_nm).' },
    { name: 'quiet', short: 'q', help: 'No summary on standard error.' },
  ],
  notes: ['TIFF tags: XResolution = YResolution = 1000 / pixel size (pixels per µm), ResolutionUnit 1, ImageDescription "ImageJ=1.11a unit=micron min=0 max=…" (ImageJ reads the scale from it). Exit status: 0 success, 1 failure at run time, 2 bad input.'],
};

function inFrames(sel: FrameSelection, frame: number): boolean {
  if (sel.kind === 'all') return true;
  if (sel.kind === 'from') return frame >= sel.first;
  return frame >= sel.first && frame <= sel.last;
}

export async function runRender(argv: readonly string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(RENDER, argv);
  if (args.help) {
    ctx.stdout.write(formatHelp(RENDER));
    return EXIT_OK;
  }
  const v = args.values;
  const num = (name: string, rule: Parameters<typeof parseNumber>[2]) => (v.has(name) ? parseNumber(`--${name}`, v.get(name)!, rule) : undefined);
  const catalog = args.positionals[0];
  const out = v.get('out')!;
  const ext = outputExtension(out);
  if (ext !== '.tif' && ext !== '.tiff') throw new InvalidOptionError('--out', out, 'the image name must end in .tif or .tiff (a 32-bit float TIFF)');
  const mode = (v.get('mode') ?? 'gaussian').trim().toLowerCase();
  if (mode !== 'histogram' && mode !== 'gaussian') throw new InvalidOptionError('--mode', v.get('mode'), 'must be histogram or gaussian');
  const options: RenderOptions = { pixelSizeNm: num('pixel-size', { above: 0, unit: 'nm' })!, mode: mode as RenderMode };
  const sigma = num('sigma', { above: 0, unit: 'nm' });
  if (sigma !== undefined) options.sigmaNm = sigma;
  const minSigma = num('min-sigma', { min: 0, unit: 'nm' });
  if (minSigma !== undefined) options.minSigmaNm = minSigma;
  if (v.has('size')) {
    const parts = v.get('size')!.split(',');
    if (parts.length !== 2) throw new InvalidOptionError('--size', v.get('size'), 'must be W,H (render pixels)');
    options.width = parseNumber('--size', parts[0], { integer: true, min: 1, unit: 'pixels' });
    options.height = parseNumber('--size', parts[1], { integer: true, min: 1, unit: 'pixels' });
  }
  const frames = parseFrames(v.get('frames') ?? 'all');
  const minPhotons = num('min-photons', {});
  const maxUncertainty = num('max-uncertainty', { above: 0, unit: 'nm' });
  const cameraPixelSizeNm = num('camera-pixel-size', { above: 0, unit: 'nm' });
  checkOutputPath(out, '--out', [catalog]);
  const drift = num('drift', { integer: true, min: 1, unit: 'frames' });
  if (drift === undefined && v.has('drift-out')) throw new InvalidOptionError('--drift-out', v.get('drift-out'), 'only with --drift SEGMENT_FRAMES');
  const driftOut = drift === undefined ? undefined : (v.get('drift-out') ?? out.replace(/\.[^./\\]*$/, '') + '.drift.csv');
  if (driftOut !== undefined) {
    checkOutputPath(driftOut, '--drift-out', [catalog]);
    if (resolve(driftOut) === resolve(out)) throw new InvalidOptionError('--drift-out', driftOut, 'is the same file as --out');
  }

  const text = new TextDecoder('utf-8').decode(readInputFile(catalog));
  const table = readLocalisationsCsv(text, { name: catalog, ...(cameraPixelSizeNm !== undefined ? { cameraPixelSizeNm } : {}) });
  const all = table.localisations;
  const kept: Localisation[] = all.filter(
    (l) =>
      inFrames(frames, l.frame) &&
      (minPhotons === undefined || l.photons >= minPhotons) &&
      (maxUncertainty === undefined || l.uncertaintyNm <= maxUncertainty),
  );
  let drawn = kept;
  let driftText = '';
  const files: { path: string; data: string | Uint8Array }[] = [];
  if (drift !== undefined) {
    const curve = estimateDrift(kept, { segmentFrames: drift });
    drawn = correctDrift(kept, curve);
    files.push({ path: driftOut!, data: formatDriftCsv(curve) });
    const last = curve.frames.length - 1;
    driftText = `, drift ${short(curve.dxNm[last])}, ${short(curve.dyNm[last])} nm at frame ${curve.frames[last]} → ${driftOut}`;
  }
  const image = renderLocalisations(drawn, options);
  writeAtomicAll([{ path: out, data: renderingToTiff(image) }, ...files]);
  const report = new Reporter(ctx.stderr, v.has('quiet'));
  const left = all.length - kept.length;
  report.line(
    `cpgd render: ${image.drawn} localisation${image.drawn === 1 ? '' : 's'} drawn${left ? ` (${left} filtered out)` : ''}${image.outside ? ` (${image.outside} outside the image)` : ''}, ` +
      `${image.mode}, ${image.width}×${image.height} pixels of ${short(image.pixelSizeNm)} nm → ${out}${driftText}`,
  );
  return EXIT_OK;
}
