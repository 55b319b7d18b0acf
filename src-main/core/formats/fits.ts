/**
 * FITS reader and writers.
 *
 * `readFits` parses every header up to the image it reads eagerly and decodes pixels lazily, one
 * frame at a time: plain images (BITPIX 8/16/32/64/-32/-64, big-endian, BSCALE/BZERO, BLANK) and
 * tile-compressed images (see fits-tiled.ts). gzip-compressed files are inflated first. Every problem
 * is a typed error naming the file: FormatError for bytes that are not valid FITS,
 * UnsupportedFormatError for valid FITS this reader does not decode.
 */

import { gunzipSync } from 'fflate';
import { CpgdError, InvalidOptionError, UnsupportedFormatError } from '../errors.js';
import { makeImage, type HeaderCard, type Image, type ImageSource } from '../image.js';
import { readAll, type ByteSource } from './bytes.js';
import { bytesPerPixel, decodeBigEndian } from './fits-data.js';
import {
  extname,
  formatError,
  imageAxes,
  looksLikeFits,
  walkHdus,
  walkHdusFrom,
  type FitsContext,
  type FitsHduKind,
  type HduLayout,
} from './fits-hdu.js';
import { HeapReader, tableColumns } from './fits-table.js';
import { openCompressedImage } from './fits-tiled.js';

export { parseFitsCard, formatFitsCard } from './fits-header.js';
export { writeFitsImage, writeFitsTable } from './fits-write.js';
export type { FitsTableColumn, FitsColumnType, WriteFitsImageOptions, WriteFitsTableOptions } from './fits-write.js';
export type { FitsHduKind } from './fits-hdu.js';

export interface ReadFitsOptions {
  /** The file name, for error messages. */
  name?: string;
  /** The HDU to read: 0-based index or EXTNAME (case-insensitive). Default: the first image of 2+ axes. */
  hdu?: number | string;
}

/** One HDU of a file, as `cpgd info` lists them. */
export interface FitsHduSummary {
  readonly index: number;
  readonly kind: FitsHduKind;
  /** XTENSION ('IMAGE', 'BINTABLE', ...), null for the primary HDU. */
  readonly xtension: string | null;
  readonly extname: string | null;
  /** BITPIX of the image (ZBITPIX for a tile-compressed one; 8 for tables). */
  readonly bitpix: number;
  /** Images: NAXIS1..n (ZNAXISn when tile-compressed); tables: [bytes per row, rows]. */
  readonly shape: readonly number[];
  /** readFits can read this HDU as an image. */
  readonly isImage: boolean;
  /** ZCMPTYPE of a tile-compressed image. */
  readonly compression: string | null;
  /** Tables: number of rows and columns. */
  readonly rows: number | null;
  readonly columns: number | null;
  readonly headerOffset: number;
  readonly dataOffset: number;
  readonly dataBytes: number;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** Runs fn, turning any error that is not one of ours into a FormatError (garbage input must never surface as a TypeError). */
function guard<T>(ctx: FitsContext, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw guardError(ctx, e);
  }
}

function guardError(ctx: FitsContext, e: unknown): CpgdError {
  if (e instanceof CpgdError) {
    if (e.file === undefined && ctx.name !== undefined) e.file = ctx.name;
    return e;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError && /allocat|array length|buffer/i.test(message)) {
    return formatError(ctx, `the image is too large to decode (${message})`);
  }
  return formatError(ctx, `decoding failed (${message})`);
}

function optionError(ctx: FitsContext, option: string, value: unknown, reason: string): InvalidOptionError {
  const e = new InvalidOptionError(option, value, reason);
  e.file = ctx.name;
  return e;
}

function checkBytes(bytes: unknown, ctx: FitsContext): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw optionError(ctx, 'bytes', typeof bytes, 'must be a Uint8Array');
  return bytes;
}

/** The FITS bytes of a file: inflated first when gzip-compressed. */
function fitsBytes(bytes: Uint8Array, ctx: FitsContext): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1) {
    let out: Uint8Array;
    try {
      out = gunzipSync(bytes);
    } catch (e) {
      throw formatError(ctx, `the gzip data is corrupt or truncated (${(e as Error).message})`, 0);
    }
    if (!looksLikeFits(out)) {
      throw formatError(ctx, out.length === 0 ? 'the gzip data is empty' : 'the gzip data does not hold a FITS file (no SIMPLE = T)', 0);
    }
    return out;
  }
  return bytes;
}

function describeHdu(h: HduLayout): string {
  const name = extname(h);
  const what =
    h.kind === 'empty'
      ? h.index === 0
        ? 'an empty primary HDU'
        : 'an empty image extension'
      : h.kind === 'bintable'
        ? 'a binary table'
        : h.kind === 'table'
          ? 'an ASCII table'
          : h.kind === 'random-groups'
            ? 'a random-groups array'
            : h.kind === 'other'
              ? `an extension of type '${h.xtension}'`
              : h.kind === 'compressed-image'
                ? 'a tile-compressed image'
                : `an image of ${h.naxis.length} axis${h.naxis.length === 1 ? '' : 'es'}`;
  return `HDU ${h.index}${name ? ` (${name})` : ''} is ${what}`;
}

function isDefaultImage(h: HduLayout): boolean {
  if (h.kind === 'image') return h.naxis.length >= 2;
  if (h.kind === 'compressed-image') return (imageAxes(h)?.length ?? 0) >= 2;
  return false;
}

/** Where the walk over the HDUs can stop for the HDU asked for. */
function hduStop(hdu: ReadFitsOptions['hdu'], ctx: FitsContext, want: 'image' | 'any'): (h: HduLayout) => boolean {
  if (hdu === undefined) return want === 'image' ? isDefaultImage : () => true;
  if (typeof hdu === 'number') {
    if (!Number.isInteger(hdu) || hdu < 0) throw optionError(ctx, 'hdu', hdu, 'must be a 0-based HDU index or an EXTNAME');
    return (h) => h.index === hdu;
  }
  if (typeof hdu === 'string') {
    const name = hdu.trim().toUpperCase();
    return (h) => extname(h)?.toUpperCase() === name;
  }
  throw optionError(ctx, 'hdu', hdu, 'must be a 0-based HDU index or an EXTNAME');
}

/** The HDU asked for, from the HDUs walked with `hduStop`; a typed error when it is not there. */
function selected(list: HduLayout[], hdu: ReadFitsOptions['hdu'], ctx: FitsContext, want: 'image' | 'any'): HduLayout {
  const last = list[list.length - 1]!;
  if (hdu === undefined) {
    if (want === 'any' || isDefaultImage(last)) return last;
    throw new UnsupportedFormatError('FITS', `no HDU holds an image of two or more axes (${list.map(describeHdu).join('; ')})`, ctx.name);
  }
  if (typeof hdu === 'number') {
    if (last.index !== hdu) {
      throw optionError(ctx, 'hdu', hdu, `the file has ${list.length} HDU${list.length === 1 ? '' : 's'} (0 to ${list.length - 1})`);
    }
    return last;
  }
  const name = String(hdu).trim().toUpperCase();
  if (extname(last)?.toUpperCase() !== name) {
    const names = list.map(extname).filter((n): n is string => n !== null);
    throw optionError(ctx, 'hdu', hdu, `no HDU has this EXTNAME (${names.length ? `names: ${names.join(', ')}` : 'no HDU has an EXTNAME'})`);
  }
  return last;
}

function selectHdu(data: Uint8Array, hdu: ReadFitsOptions['hdu'], ctx: FitsContext, want: 'image' | 'any'): HduLayout {
  return selected(walkHdus(data, ctx, hduStop(hdu, ctx, want)), hdu, ctx, want);
}

const MAX_FRAME_PIXELS = 2 ** 31;

function frameShape(h: HduLayout, axes: readonly number[], ctx: FitsContext): { width: number; height: number; frames: number } {
  axes.forEach((n, i) => {
    if (n <= 0) throw formatError(ctx, `HDU ${h.index}: NAXIS${i + 1} = ${n}, the image has no pixels`, h.headerOffset);
  });
  const width = axes[0]!;
  const height = axes.length >= 2 ? axes[1]! : 1;
  if (width * height > MAX_FRAME_PIXELS) {
    throw formatError(ctx, `HDU ${h.index}: a frame of ${width} x ${height} pixels is absurdly large`, h.headerOffset);
  }
  let frames = 1;
  for (const n of axes.slice(2)) frames *= n;
  if (frames > Number.MAX_SAFE_INTEGER) throw formatError(ctx, `HDU ${h.index}: absurd number of frames`, h.headerOffset);
  return { width, height, frames };
}

function numberKeyword(h: HduLayout, key: string, fallback: number, ctx: FitsContext): number {
  const v = h.kw.get(key);
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw formatError(ctx, `HDU ${h.index}: ${key} = ${JSON.stringify(v)} is not a number`, h.headerOffset);
  return v;
}

/**
 * Reads the image of a FITS file (plain or gzip-compressed): headers now, pixels when a frame is
 * asked for. Axes beyond the second are frames.
 */
export function readFits(bytes: Uint8Array, options: ReadFitsOptions = {}): ImageSource {
  const ctx: FitsContext = { name: options.name };
  return guard(ctx, () => {
    const data = fitsBytes(checkBytes(bytes, ctx), ctx);
    const h = selectHdu(data, options.hdu, ctx, 'image');
    if (h.kind !== 'image' && h.kind !== 'compressed-image') {
      throw new UnsupportedFormatError('FITS', `${describeHdu(h)}, not an image`, ctx.name);
    }
    if (h.kind === 'compressed-image') {
      const img = openCompressedImage(data, h, ctx);
      const { width, height, frames } = frameShape(h, img.axes, ctx);
      return {
        format: 'fits',
        width,
        height,
        frames,
        hdu: h.index,
        header: img.header,
        frame: async (i: number): Promise<Image> =>
          guard(ctx, () => {
            checkFrameIndex(ctx, i, frames);
            const out = new Float64Array(width * height);
            img.frame(i, out);
            return makeImage(width, height, out);
          }),
      } satisfies ImageSource;
    }

    return plainImage(h, ctx, async (offset, length) => data.subarray(offset, offset + length));
  });
}

/**
 * An uncompressed image HDU whose frames come from `read` (absolute file offsets): views of the
 * bytes in memory, or reads of a file.
 */
function plainImage(h: HduLayout, ctx: FitsContext, read: (offset: number, length: number) => Promise<Uint8Array>, close?: () => Promise<void>): ImageSource {
  const { width, height, frames } = frameShape(h, h.naxis, ctx);
  const bitpix = h.bitpix;
  const bscale = numberKeyword(h, 'BSCALE', 1, ctx);
  const bzero = numberKeyword(h, 'BZERO', 0, ctx);
  const blankValue = h.kw.get('BLANK');
  const blank = bitpix > 0 && typeof blankValue === 'number' && Number.isInteger(blankValue) ? blankValue : null;
  const framePixels = width * height;
  const frameBytes = framePixels * bytesPerPixel(bitpix);
  return {
    format: 'fits',
    width,
    height,
    frames,
    hdu: h.index,
    header: h.cards,
    ...(close ? { close } : {}),
    async frame(i: number): Promise<Image> {
      guard(ctx, () => checkFrameIndex(ctx, i, frames));
      const start = h.dataOffset + i * frameBytes;
      const bytes = await read(start, frameBytes);
      return guard(ctx, () => {
        if (bytes.length !== frameBytes) throw formatError(ctx, `frame ${i}: read ${bytes.length} of ${frameBytes} bytes at offset ${start}`, start);
        const out = new Float64Array(framePixels);
        decodeBigEndian(bytes, 0, framePixels, bitpix, bscale, bzero, blank, out);
        return makeImage(width, height, out);
      });
    },
  } satisfies ImageSource;
}

function checkFrameIndex(ctx: FitsContext, i: number, frames: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= frames) throw optionError(ctx, 'frame', i, `must be an integer from 0 to ${frames - 1}`);
}

/**
 * Opens the image of a FITS file read by range: only the headers up to the image are read now, and
 * each frame when it is asked for, so the first frame of a large cube shows without reading the
 * rest. gzip-compressed files and tile-compressed images are read whole (gzip cannot be read from
 * the middle; tiles are small next to memory), then as `readFits`.
 */
export async function openFits(source: ByteSource, options: ReadFitsOptions = {}): Promise<ImageSource> {
  const ctx: FitsContext = { name: options.name };
  if (source.bytes) return readFits(source.bytes, options);
  const head = source.size >= 2 ? await source.read(0, 2) : new Uint8Array(0);
  if (head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1) return readWhole(source, options, ctx);
  let h: HduLayout;
  try {
    const stop = hduStop(options.hdu, ctx, 'image');
    h = selected(await walkHdusFrom(source, ctx, stop), options.hdu, ctx, 'image');
  } catch (e) {
    throw guardError(ctx, e);
  }
  if (h.kind === 'compressed-image') return readWhole(source, options, ctx);
  if (h.kind !== 'image') throw new UnsupportedFormatError('FITS', `${describeHdu(h)}, not an image`, ctx.name);
  return guard(ctx, () => plainImage(h, ctx, (offset, length) => source.read(offset, length), source.close ? () => source.close!() : undefined));
}

async function readWhole(source: ByteSource, options: ReadFitsOptions, ctx: FitsContext): Promise<ImageSource> {
  let bytes: Uint8Array;
  try {
    bytes = await readAll(source);
  } finally {
    await source.close?.();
  }
  return guard(ctx, () => readFits(bytes, options));
}

/** The HDUs of a FITS file (plain or gzip-compressed), for listings such as `cpgd info`. */
export function listFitsHdus(bytes: Uint8Array, options: { name?: string } = {}): FitsHduSummary[] {
  const ctx: FitsContext = { name: options.name };
  return guard(ctx, () => {
    const data = fitsBytes(checkBytes(bytes, ctx), ctx);
    return walkHdus(data, ctx).map(summary);
  });
}

/** `listFitsHdus` of a file read by range (gzip-compressed files are read whole). */
export async function listFitsHdusFrom(source: ByteSource, options: { name?: string } = {}): Promise<FitsHduSummary[]> {
  const ctx: FitsContext = { name: options.name };
  const head = source.bytes ?? (await source.read(0, 2));
  if (source.bytes || (head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1)) return listFitsHdus(await readAll(source), options);
  try {
    return (await walkHdusFrom(source, ctx)).map(summary);
  } catch (e) {
    throw guardError(ctx, e);
  }
}

function summary(h: HduLayout): FitsHduSummary {
  const axes = imageAxes(h);
  const table = h.kind === 'bintable' || h.kind === 'table';
  const tfields = h.kw.num('TFIELDS');
  const zbitpix = h.kw.num('ZBITPIX');
  return {
    index: h.index,
    kind: h.kind,
    xtension: h.xtension,
    extname: extname(h),
    bitpix: h.kind === 'compressed-image' && zbitpix !== undefined ? zbitpix : h.bitpix,
    shape: axes ?? [...h.naxis],
    isImage: axes !== null && axes.length >= 1 && axes.every((n) => n > 0),
    compression: h.kind === 'compressed-image' ? (h.kw.str('ZCMPTYPE') ?? '').trim() : null,
    rows: table ? (h.naxis[1] ?? 0) : null,
    columns: table && tfields !== undefined ? tfields : null,
    headerOffset: h.headerOffset,
    dataOffset: h.dataOffset,
    dataBytes: h.dataBytes,
  };
}

/** The header cards of one HDU as written in the file (default: the primary HDU). */
export function readFitsHeader(bytes: Uint8Array, options: ReadFitsOptions = {}): HeaderCard[] {
  const ctx: FitsContext = { name: options.name };
  return guard(ctx, () => {
    const data = fitsBytes(checkBytes(bytes, ctx), ctx);
    return selectHdu(data, options.hdu ?? 0, ctx, 'any').cards;
  });
}

export interface FitsTable {
  readonly hdu: number;
  readonly rows: number;
  readonly header: readonly HeaderCard[];
  /**
   * Every column; `data` holds scalar numeric columns (TFORM 1B/1I/1J/1K/1E/1D) after TSCALn/TZEROn,
   * TNULLn as NaN; other columns (strings, vectors, variable-length arrays) have data null.
   */
  readonly columns: readonly { name: string; unit: string | null; format: string; data: Float64Array | null }[];
}

/** Reads a binary table (default: the first BINTABLE that is not a compressed image). */
export function readFitsTable(bytes: Uint8Array, options: ReadFitsOptions = {}): FitsTable {
  const ctx: FitsContext = { name: options.name };
  return guard(ctx, () => {
    const data = fitsBytes(checkBytes(bytes, ctx), ctx);
    let h: HduLayout;
    if (options.hdu === undefined) {
      const list = walkHdus(data, ctx, (x) => x.kind === 'bintable');
      h = list[list.length - 1]!;
      if (h.kind !== 'bintable') throw new UnsupportedFormatError('FITS', 'the file holds no binary table', ctx.name);
    } else {
      h = selectHdu(data, options.hdu, ctx, 'any');
      if (h.kind !== 'bintable') throw new UnsupportedFormatError('FITS', `${describeHdu(h)}, not a binary table`, ctx.name);
    }
    const cols = tableColumns(h, ctx);
    const heap = new HeapReader(data, h, ctx);
    const rows = heap.rows;
    const columns = cols.map((c) => {
      let values: Float64Array | null = null;
      if (c.repeat === 1 && 'BIJKED'.includes(c.type)) {
        values = new Float64Array(rows);
        const scale = h.kw.num(`TSCAL${c.number}`) ?? 1;
        const zero = h.kw.num(`TZERO${c.number}`) ?? 0;
        const tnull = 'BIJK'.includes(c.type) ? h.kw.num(`TNULL${c.number}`) : undefined;
        for (let r = 0; r < rows; r++) {
          const v = heap.scalar(c, r);
          values[r] = v === tnull ? NaN : v * scale + zero;
        }
      }
      return { name: c.name, unit: c.unit, format: c.form, data: values };
    });
    return { hdu: h.index, rows, header: h.cards, columns };
  });
}
