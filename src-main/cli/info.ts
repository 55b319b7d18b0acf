/** `cpgd info`: size, frames and pixel statistics of an image file, and its header. */

import { listFitsHdusFrom } from '../core/formats/fits.js';
import { celestialWcs } from '../core/wcs.js';
import type { HeaderCard, ImageSource } from '../core/image.js';
import { formatHelp, parseArgs, UsageError, type CommandSpec, type ParsedArgs } from './args.js';
import { EXIT_OK, type CliContext } from './context.js';
import { openFileSource, openImage, parseHdu } from './io.js';

export const INFO: CommandSpec = {
  name: 'info',
  usage: 'cpgd info FILE [--hdu N|NAME] [--json]',
  summary:
    'Describe an image file: format, HDU (FITS), width, height, frames, and pixel statistics over all frames (min, max and mean of the finite pixels, number of NaN pixels), then the header cards (FITS) or main tags (TIFF).',
  positionals: [{ name: 'FILE', help: 'FITS (optionally gzip-compressed) or TIFF file; the format is read from the first bytes.' }],
  options: [
    { name: 'hdu', value: 'N|NAME', default: 'the first HDU holding an image of 2 or more axes', help: 'FITS HDU to describe: 0-based index or EXTNAME.' },
    {
      name: 'pixel',
      value: 'X,Y',
      repeatable: true,
      default: 'none',
      help: 'A pixel position (0-based, centre of the first pixel at 0,0, x along columns) to convert to right ascension and declination (degrees) with the celestial WCS of the header (TAN, SIN, TAN-SIP). Repeat the option, or separate positions with ";".',
    },
    {
      name: 'json',
      help: 'Print one JSON object instead: {"hdu" (FITS only), "frames", "height", "width", "min", "max", "mean", "nan_count"}; min, max and mean are null when no pixel is finite. With --pixel and a celestial WCS, also "wcs": [[x, y, ra, dec], ...].',
    },
  ],
};

export interface PixelStats {
  min: number | null;
  max: number | null;
  mean: number | null;
  nanCount: number;
}

/** Statistics over every frame, read one frame at a time (±Infinity pixels are not finite: skipped). */
export async function pixelStats(src: ImageSource): Promise<PixelStats> {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let nanCount = 0;
  for (let f = 0; f < src.frames; f++) {
    const d = (await src.frame(f)).data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (Number.isNaN(v)) nanCount++;
      else if (Number.isFinite(v)) {
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
        n++;
      }
    }
  }
  return n > 0 ? { min, max, mean: sum / n, nanCount } : { min: null, max: null, mean: null, nanCount };
}

/** `X,Y` positions, from repeated options and/or `;`-separated lists. */
function parsePixels(values: readonly string[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of values) {
    for (const part of v.split(';')) {
      const m = /^\s*(-?[\d.]+(?:e[-+]?\d+)?)\s*,\s*(-?[\d.]+(?:e[-+]?\d+)?)\s*$/i.exec(part);
      const x = m ? Number(m[1]) : NaN;
      const y = m ? Number(m[2]) : NaN;
      if (!Number.isFinite(x) || !Number.isFinite(y)) throw new UsageError(`--pixel: expected X,Y in pixels (got ${JSON.stringify(part)})`);
      out.push([x, y]);
    }
  }
  return out;
}

function cardText(c: HeaderCard, width: number): string {
  const value = c.value === null ? '' : typeof c.value === 'string' ? `'${c.value}'` : typeof c.value === 'boolean' ? (c.value ? 'T' : 'F') : String(c.value);
  const key = c.key.padEnd(width);
  if (c.key === 'COMMENT' || c.key === 'HISTORY' || c.key === '') return `${key} ${c.value ?? ''}`.trimEnd();
  return `${key}= ${value}${c.comment ? ` / ${c.comment}` : ''}`;
}

export async function runInfo(argv: readonly string[], ctx: CliContext): Promise<number> {
  const args = parseArgs(INFO, argv);
  if (args.help) {
    ctx.stdout.write(formatHelp(INFO));
    return EXIT_OK;
  }
  const file = args.positionals[0];
  const src = await openImage(file, { hdu: parseHdu(args.values.get('hdu')) });
  try {
    return await report(ctx, args, file, src);
  } finally {
    await src.close?.();
  }
}

async function report(ctx: CliContext, args: ParsedArgs, file: string, src: ImageSource): Promise<number> {
  const pixels = parsePixels(args.lists.get('pixel') ?? []);
  const wcs = celestialWcs(src.header, { name: file });
  const stats = await pixelStats(src);
  const world = wcs ? pixels.map(([x, y]) => [x, y, ...wcs.pixelToWorld(x, y)]) : [];

  if (args.values.has('json')) {
    const info: Record<string, unknown> = {};
    if (src.format === 'fits') info.hdu = src.hdu ?? null;
    info.frames = src.frames;
    info.height = src.height;
    info.width = src.width;
    info.min = stats.min;
    info.max = stats.max;
    info.mean = stats.mean;
    info.nan_count = stats.nanCount;
    if (wcs && pixels.length > 0) info.wcs = world;
    ctx.stdout.write(JSON.stringify(info) + '\n');
    return EXIT_OK;
  }

  const fmt = (v: number | null) => (v === null ? 'n/a' : String(Number(v.toPrecision(7))));
  const lines = [
    `file     ${file}`,
    `format   ${src.format === 'fits' ? `FITS, HDU ${src.hdu}` : 'TIFF'}`,
    `size     ${src.width} × ${src.height} pixels, ${src.frames} frame${src.frames === 1 ? '' : 's'}`,
    `pixels   min ${fmt(stats.min)}, max ${fmt(stats.max)}, mean ${fmt(stats.mean)} (finite pixels), ${stats.nanCount} NaN`,
  ];
  if (src.pixelSizeNm) lines.push(`pixel    ${src.pixelSizeNm.x} × ${src.pixelSizeNm.y} nm`);
  if (wcs) {
    lines.push(`wcs      ${wcs.describe()}`);
    for (const [x, y, ra, dec] of world) lines.push(`         pixel (${x}, ${y}) → RA ${ra.toFixed(8)}°, Dec ${dec.toFixed(8)}°`);
  } else if (pixels.length > 0) lines.push('wcs      none (no celestial TAN, SIN or TAN-SIP projection in the header)');
  if (src.format === 'fits') {
    lines.push('', 'HDUs:');
    const source = await openFileSource(file);
    let hdus;
    try {
      hdus = await listFitsHdusFrom(source, { name: file });
    } finally {
      await source.close!();
    }
    for (const h of hdus) {
      const shape = h.shape.length ? h.shape.join(' × ') : 'no data';
      lines.push(`  ${String(h.index).padStart(3)}  ${(h.extname ?? (h.index === 0 ? 'PRIMARY' : '')).padEnd(12)} ${h.kind.padEnd(16)} ${shape}${h.index === src.hdu ? '   ← read' : ''}`);
    }
  }
  lines.push('', src.format === 'fits' ? `Header of HDU ${src.hdu}:` : 'Tags of the first page:');
  const width = Math.max(8, ...src.header.map((c) => c.key.length));
  for (const c of src.header) lines.push(`  ${cardText(c, width)}`);
  ctx.stdout.write(lines.join('\n') + '\n');
  return EXIT_OK;
}
