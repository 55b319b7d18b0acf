/**
 * FITS writers: a float image as a primary HDU, and columns as a binary table extension.
 */

import { InvalidOptionError } from '../errors.js';
import type { HeaderCard } from '../image.js';
import { BLOCK, formatFitsCard, headerBytes } from './fits-header.js';

/** Keywords the writers set themselves; user cards with these keys are ignored. */
const RESERVED = new Set([
  'SIMPLE', 'XTENSION', 'BITPIX', 'NAXIS', 'EXTEND', 'PCOUNT', 'GCOUNT', 'GROUPS', 'TFIELDS', 'THEAP', 'END',
  'BSCALE', 'BZERO', 'BLANK', 'CHECKSUM', 'DATASUM', 'ZIMAGE', 'CONTINUE',
]);
const RESERVED_RE = /^(NAXIS\d+|T(TYPE|FORM|UNIT|NULL|SCAL|ZERO|DIM)\d+)$/;

function userCards(cards: readonly HeaderCard[] | undefined, extra: ReadonlySet<string> = new Set()): string[] {
  if (cards === undefined) return [];
  if (!Array.isArray(cards)) throw new InvalidOptionError('cards', cards, 'must be an array of header cards');
  const out: string[] = [];
  for (const c of cards) {
    if (c === null || typeof c !== 'object' || typeof c.key !== 'string') {
      throw new InvalidOptionError('cards', c, 'each card needs a string key');
    }
    const key = c.key.trim().toUpperCase();
    if (RESERVED.has(key) || RESERVED_RE.test(key) || extra.has(key)) continue;
    out.push(...formatFitsCard(c));
  }
  return out;
}

function padded(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += Math.ceil(p.length / BLOCK) * BLOCK;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += Math.ceil(p.length / BLOCK) * BLOCK;
  }
  return out;
}

export interface WriteFitsImageOptions {
  /** -32 (float32, the default) or -64 (float64). */
  bitpix?: -32 | -64;
  /** Extra header cards (structural keywords such as BITPIX or NAXISn are set by the writer). */
  cards?: readonly HeaderCard[];
}

/**
 * A FITS file with one primary HDU holding the frames as a width × height (× frames) float image.
 * Row 0 of each frame is the first row written (FITS NAXIS2 = 1).
 */
export function writeFitsImage(
  frames: readonly Float64Array[] | readonly Float32Array[],
  width: number,
  height: number,
  options: WriteFitsImageOptions = {},
): Uint8Array {
  if (!Number.isInteger(width) || width <= 0) throw new InvalidOptionError('width', width, 'must be a positive integer');
  if (!Number.isInteger(height) || height <= 0) throw new InvalidOptionError('height', height, 'must be a positive integer');
  if (!Array.isArray(frames) || frames.length === 0) throw new InvalidOptionError('frames', frames, 'must be a non-empty array');
  const bitpix = options.bitpix ?? -32;
  if (bitpix !== -32 && bitpix !== -64) throw new InvalidOptionError('bitpix', bitpix, 'must be -32 or -64');
  const n = width * height;
  frames.forEach((f, i) => {
    if (!(f instanceof Float64Array || f instanceof Float32Array) || f.length !== n) {
      throw new InvalidOptionError(`frames[${i}]`, f?.length, `must be a Float64Array or Float32Array of ${width}×${height} = ${n} values`);
    }
  });
  const cards: string[] = [
    ...formatFitsCard({ key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' }),
    ...formatFitsCard({ key: 'BITPIX', value: bitpix, comment: bitpix === -32 ? 'IEEE float32' : 'IEEE float64' }),
    ...formatFitsCard({ key: 'NAXIS', value: frames.length > 1 ? 3 : 2 }),
    ...formatFitsCard({ key: 'NAXIS1', value: width, comment: 'width (x)' }),
    ...formatFitsCard({ key: 'NAXIS2', value: height, comment: 'height (y)' }),
    ...(frames.length > 1 ? formatFitsCard({ key: 'NAXIS3', value: frames.length, comment: 'frames' }) : []),
    ...formatFitsCard({ key: 'EXTEND', value: true }),
    ...userCards(options.cards),
  ];
  const bpp = bitpix === -32 ? 4 : 8;
  const data = new Uint8Array(frames.length * n * bpp);
  const dv = new DataView(data.buffer);
  let p = 0;
  for (const f of frames) {
    if (bpp === 4) for (let i = 0; i < n; i++, p += 4) dv.setFloat32(p, f[i]!);
    else for (let i = 0; i < n; i++, p += 8) dv.setFloat64(p, f[i]!);
  }
  return padded([headerBytes(cards), data]);
}

export type FitsColumnType = 'D' | 'E' | 'J' | 'K';

export interface FitsTableColumn {
  name: string;
  unit?: string;
  data: Float64Array | Int32Array | Float32Array | readonly number[];
  type: FitsColumnType;
}

export interface WriteFitsTableOptions {
  extname?: string;
  cards?: readonly HeaderCard[];
}

const COLUMN_BYTES: Record<FitsColumnType, number> = { D: 8, E: 4, J: 4, K: 8 };

/**
 * A FITS file with an empty primary HDU and one BINTABLE extension of scalar columns
 * (D float64, E float32, J int32, K int64), as astropy and TOPCAT read them.
 */
export function writeFitsTable(input: readonly FitsTableColumn[], options: WriteFitsTableOptions = {}): Uint8Array {
  const columns: readonly FitsTableColumn[] = input;
  if (!Array.isArray(input) || columns.length === 0) throw new InvalidOptionError('columns', input, 'must be a non-empty array');
  if (columns.length > 999) throw new InvalidOptionError('columns', columns.length, 'a FITS table has at most 999 columns');
  const rows = columns[0]!.data?.length;
  let rowBytes = 0;
  const names = new Set<string>();
  columns.forEach((c, i) => {
    if (!c || typeof c.name !== 'string' || c.name.trim() === '') throw new InvalidOptionError(`columns[${i}].name`, c?.name, 'must be a non-empty string');
    const upper = c.name.trim().toUpperCase();
    if (names.has(upper)) throw new InvalidOptionError(`columns[${i}].name`, c.name, 'column names must be unique (case-insensitive)');
    names.add(upper);
    if (!(c.type in COLUMN_BYTES)) throw new InvalidOptionError(`columns[${i}].type`, c.type, "must be 'D', 'E', 'J' or 'K'");
    if (!c.data || typeof c.data.length !== 'number' || c.data.length !== rows) {
      throw new InvalidOptionError(`columns[${i}].data`, c.data?.length, `every column needs the same number of rows (${rows})`);
    }
    if (c.type === 'J' || c.type === 'K') {
      const lim = c.type === 'J' ? 2 ** 31 : 2 ** 53;
      for (let r = 0; r < rows; r++) {
        const v = c.data[r]!;
        if (!Number.isInteger(v) || v < -lim || v >= lim) {
          throw new InvalidOptionError(`columns[${i}].data[${r}]`, v, `type '${c.type}' holds ${c.type === 'J' ? '32-bit' : 'safe 64-bit'} integers`);
        }
      }
    }
    rowBytes += COLUMN_BYTES[c.type];
  });

  const extname = options.extname;
  if (extname !== undefined && typeof extname !== 'string') throw new InvalidOptionError('extname', extname, 'must be a string');
  const primary = headerBytes([
    ...formatFitsCard({ key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' }),
    ...formatFitsCard({ key: 'BITPIX', value: 8 }),
    ...formatFitsCard({ key: 'NAXIS', value: 0 }),
    ...formatFitsCard({ key: 'EXTEND', value: true }),
  ]);
  const cards: string[] = [
    ...formatFitsCard({ key: 'XTENSION', value: 'BINTABLE', comment: 'binary table extension' }),
    ...formatFitsCard({ key: 'BITPIX', value: 8 }),
    ...formatFitsCard({ key: 'NAXIS', value: 2 }),
    ...formatFitsCard({ key: 'NAXIS1', value: rowBytes, comment: 'bytes per row' }),
    ...formatFitsCard({ key: 'NAXIS2', value: rows, comment: 'rows' }),
    ...formatFitsCard({ key: 'PCOUNT', value: 0 }),
    ...formatFitsCard({ key: 'GCOUNT', value: 1 }),
    ...formatFitsCard({ key: 'TFIELDS', value: columns.length }),
  ];
  columns.forEach((c, i) => {
    cards.push(...formatFitsCard({ key: `TTYPE${i + 1}`, value: c.name.trim() }));
    cards.push(...formatFitsCard({ key: `TFORM${i + 1}`, value: `1${c.type}` }));
    if (c.unit !== undefined && c.unit !== '') cards.push(...formatFitsCard({ key: `TUNIT${i + 1}`, value: String(c.unit) }));
  });
  if (extname) cards.push(...formatFitsCard({ key: 'EXTNAME', value: extname }));
  cards.push(...userCards(options.cards, extname ? new Set(['EXTNAME']) : new Set()));

  const data = new Uint8Array(rowBytes * rows);
  const dv = new DataView(data.buffer);
  let offset = 0;
  for (const c of columns) {
    const d = c.data;
    for (let r = 0, p = offset; r < rows; r++, p += rowBytes) {
      const v = d[r]!;
      switch (c.type) {
        case 'D':
          dv.setFloat64(p, v);
          break;
        case 'E':
          dv.setFloat32(p, v);
          break;
        case 'J':
          dv.setInt32(p, v);
          break;
        case 'K':
          dv.setBigInt64(p, BigInt(v));
          break;
      }
    }
    offset += COLUMN_BYTES[c.type];
  }
  return padded([primary, headerBytes(cards), data]);
}
