/**
 * The structure of a FITS file: its HDUs (header + data units), each header parsed eagerly, data
 * sizes computed from BITPIX, NAXISn, PCOUNT and GCOUNT (FITS standard 4.0, sections 3-4, 7).
 * Every loop is bounded by the input size; every inconsistency is a FormatError naming the file.
 */

import { FormatError } from '../errors.js';
import type { ByteSource } from './bytes.js';
import type { HeaderCard } from '../image.js';
import { BITPIX_VALUES } from './fits-data.js';
import { BLOCK, CARD, joinCards, Keywords, latin1, parseFitsCard, type ParsedCard } from './fits-header.js';

export interface FitsContext {
  readonly name?: string | undefined;
}

export function formatError(ctx: FitsContext, reason: string, offset?: number): FormatError {
  return new FormatError('FITS', reason, ctx.name, offset);
}

export type FitsHduKind = 'empty' | 'image' | 'compressed-image' | 'bintable' | 'table' | 'random-groups' | 'other';

/** One HDU as laid out in the file. */
export interface HduLayout {
  readonly index: number;
  readonly headerOffset: number;
  readonly dataOffset: number;
  /** Bytes of the data (main array or table plus heap), without the padding to 2880. */
  readonly dataBytes: number;
  /** Offset of the next HDU. */
  readonly end: number;
  readonly cards: HeaderCard[];
  readonly kw: Keywords;
  /** XTENSION value (upper-case, trimmed), null for the primary HDU. */
  readonly xtension: string | null;
  readonly kind: FitsHduKind;
  readonly bitpix: number;
  readonly naxis: readonly number[];
  readonly pcount: number;
  readonly gcount: number;
}

const MAX_AXES = 999;

function startsWithAscii(bytes: Uint8Array, offset: number, text: string): boolean {
  if (offset + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** True where the bytes could be a FITS file (plain, not gzip): they start with `SIMPLE  =`. */
export function looksLikeFits(bytes: Uint8Array): boolean {
  return startsWithAscii(bytes, 0, 'SIMPLE  =');
}

/** Offset just past the END card of the header starting at `offset`, or -1. */
function findEnd(bytes: Uint8Array, offset: number): number {
  for (let p = offset; p + CARD <= bytes.length; p += CARD) {
    if (bytes[p] !== 69 || bytes[p + 1] !== 78 || bytes[p + 2] !== 68) continue; // 'END'
    let blank = true;
    for (let i = 3; i < CARD; i++) {
      if (bytes[p + i] !== 32) {
        blank = false;
        break;
      }
    }
    if (blank) return p + CARD;
  }
  return -1;
}

function intKeyword(
  ctx: FitsContext,
  kw: Keywords,
  key: string,
  index: number,
  offset: number,
  fallback?: number,
): number {
  const v = kw.get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw formatError(ctx, `HDU ${index} has no ${key} keyword`, offset);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw formatError(ctx, `HDU ${index}: ${key} = ${JSON.stringify(v)} is not an integer`, offset);
  }
  return v;
}

/**
 * Parses the header at `offset` and lays out its HDU. `bytes` holds the file from offset `base`
 * (the whole file by default; a lazy reader passes just the header's blocks) and `fileSize` is the
 * size of the whole file, against which the data size is checked.
 */
export function readHdu(bytes: Uint8Array, offset: number, index: number, ctx: FitsContext, fileSize = bytes.length, base = 0): HduLayout {
  const found = findEnd(bytes, offset - base);
  const endAt = found < 0 ? -1 : found + base;
  if (endAt < 0) {
    if ((fileSize - offset) % BLOCK !== 0 || fileSize - offset < BLOCK) {
      throw formatError(ctx, `the header of HDU ${index} is truncated (the file ends before its END card)`, fileSize);
    }
    throw formatError(ctx, `the header of HDU ${index} has no END card`, offset);
  }
  const parsed: ParsedCard[] = [];
  for (let p = offset; p + CARD < endAt; p += CARD) parsed.push(parseFitsCard(latin1(bytes, p - base, p - base + CARD)));
  const cards = joinCards(parsed);
  const kw = new Keywords(cards);
  const dataOffset = offset + Math.ceil((endAt - offset) / BLOCK) * BLOCK;

  let xtension: string | null = null;
  if (index === 0) {
    if (parsed[0]?.card.key !== 'SIMPLE') throw formatError(ctx, 'it does not start with SIMPLE = T', offset);
  } else {
    const first = parsed[0]?.card;
    if (first?.key !== 'XTENSION' || typeof first.value !== 'string') {
      throw formatError(ctx, `HDU ${index} does not start with an XTENSION card`, offset);
    }
    xtension = first.value.trim().toUpperCase();
  }

  const bitpixValue = kw.get('BITPIX');
  if (bitpixValue === undefined) throw formatError(ctx, `HDU ${index} has no BITPIX keyword`, offset);
  if (typeof bitpixValue !== 'number' || !BITPIX_VALUES.includes(bitpixValue)) {
    throw formatError(ctx, `HDU ${index}: bad BITPIX ${JSON.stringify(bitpixValue)} (expected 8, 16, 32, 64, -32 or -64)`, offset);
  }
  const bitpix = bitpixValue;
  const nAxes = intKeyword(ctx, kw, 'NAXIS', index, offset);
  if (nAxes < 0 || nAxes > MAX_AXES) throw formatError(ctx, `HDU ${index}: NAXIS = ${nAxes} is out of range 0-999`, offset);
  const naxis: number[] = [];
  for (let i = 1; i <= nAxes; i++) {
    const n = intKeyword(ctx, kw, `NAXIS${i}`, index, offset);
    if (n < 0) throw formatError(ctx, `HDU ${index}: NAXIS${i} = ${n} is negative`, offset);
    if (!Number.isSafeInteger(n)) throw formatError(ctx, `HDU ${index}: NAXIS${i} = ${n} is absurdly large`, offset);
    naxis.push(n);
  }

  let pcount = 0;
  let gcount = 1;
  const groups = index === 0 && kw.bool('GROUPS') === true && nAxes >= 1 && naxis[0] === 0;
  if (xtension !== null || groups) {
    pcount = intKeyword(ctx, kw, 'PCOUNT', index, offset, 0);
    gcount = intKeyword(ctx, kw, 'GCOUNT', index, offset, 1);
    if (pcount < 0) throw formatError(ctx, `HDU ${index}: PCOUNT = ${pcount} is negative`, offset);
    if (gcount < 0) throw formatError(ctx, `HDU ${index}: GCOUNT = ${gcount} is negative`, offset);
  }

  // Data size: |BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1 * ... * NAXISn), in doubles with overflow
  // to Infinity (a size that cannot fit the file fails below anyway).
  let product = 0;
  if (nAxes > 0) {
    const counted = naxis.slice(groups ? 1 : 0);
    if (!counted.includes(0)) {
      product = 1;
      for (const n of counted) {
        product *= n;
        if (product > Number.MAX_SAFE_INTEGER) product = Infinity;
      }
    }
  }
  const dataBytes = (Math.abs(bitpix) / 8) * gcount * (pcount + product);
  if (!(dataOffset + dataBytes <= fileSize)) {
    const have = Math.max(0, fileSize - dataOffset);
    throw formatError(
      ctx,
      Number.isFinite(dataBytes) && dataBytes <= Number.MAX_SAFE_INTEGER
        ? `the data of HDU ${index} is truncated: the header gives ${dataBytes} bytes, the file holds ${have}`
        : `the data of HDU ${index} has an absurd size (NAXISn = ${naxis.join(' x ')})`,
      dataOffset,
    );
  }
  const end = dataOffset + Math.ceil(dataBytes / BLOCK) * BLOCK;

  let kind: FitsHduKind;
  if (groups) kind = 'random-groups';
  else if (xtension === null || xtension === 'IMAGE' || xtension === 'IUEIMAGE') kind = nAxes === 0 ? 'empty' : 'image';
  else if (xtension === 'BINTABLE' || xtension === 'A3DTABLE') kind = kw.bool('ZIMAGE') === true ? 'compressed-image' : 'bintable';
  else if (xtension === 'TABLE') kind = 'table';
  else kind = 'other';

  return { index, headerOffset: offset, dataOffset, dataBytes, end, cards, kw, xtension, kind, bitpix, naxis, pcount, gcount };
}

/**
 * Walks the HDUs from the start, calling `stop` after each; returns those read. Bytes after the last
 * HDU that do not start another (zero padding, junk) end the walk, as in other FITS readers.
 */
export function walkHdus(bytes: Uint8Array, ctx: FitsContext, stop?: (h: HduLayout) => boolean): HduLayout[] {
  if (bytes.length === 0) throw formatError(ctx, 'the file is empty', 0);
  if (!looksLikeFits(bytes)) throw formatError(ctx, 'it does not start with SIMPLE = T', 0);
  const out: HduLayout[] = [];
  let offset = 0;
  // Each HDU takes at least one 2880-byte block, so this runs at most bytes.length / 2880 times.
  while (offset < bytes.length) {
    const h = readHdu(bytes, offset, out.length, ctx);
    out.push(h);
    if (stop?.(h)) break;
    offset = h.end;
    if (!startsWithAscii(bytes, offset, 'XTENSION')) break;
  }
  return out;
}

/** Header bytes read at a time by `walkHdusFrom` (16 blocks: most headers in one read). */
const HEADER_READ = 16 * BLOCK;

/**
 * `walkHdus` over a file read by range: only the headers are read (block by block until each END
 * card), the data units are skipped by their computed size.
 */
export async function walkHdusFrom(source: ByteSource, ctx: FitsContext, stop?: (h: HduLayout) => boolean): Promise<HduLayout[]> {
  const size = source.size;
  if (size === 0) throw formatError(ctx, 'the file is empty', 0);
  if (!looksLikeFits(await source.read(0, 9))) throw formatError(ctx, 'it does not start with SIMPLE = T', 0);
  const out: HduLayout[] = [];
  let offset = 0;
  while (offset < size) {
    // Read header blocks until they hold the END card or the file ends (the buffer doubles, so a
    // file without END costs one pass).
    let header: Uint8Array = new Uint8Array(Math.min(HEADER_READ, size - offset));
    let have = 0;
    for (;;) {
      const chunk = await source.read(offset + have, Math.min(HEADER_READ, header.length - have) || HEADER_READ);
      if (have + chunk.length > header.length) {
        const grown = new Uint8Array(Math.min(size - offset, Math.max(2 * header.length, have + chunk.length)));
        grown.set(header.subarray(0, have));
        header = grown;
      }
      header.set(chunk, have);
      const searched = Math.max(0, have - CARD + 1);
      have += chunk.length;
      if (chunk.length === 0 || offset + have >= size || findEnd(header.subarray(0, have), searched - (searched % CARD)) >= 0) break;
      if (have === header.length) {
        const grown = new Uint8Array(Math.min(size - offset, 2 * header.length));
        grown.set(header);
        header = grown;
      }
    }
    header = header.subarray(0, have);
    const h = readHdu(header, offset, out.length, ctx, size, offset);
    out.push(h);
    if (stop?.(h)) break;
    offset = h.end;
    if (offset >= size || !startsWithAscii(await source.read(offset, 8), 0, 'XTENSION')) break;
  }
  return out;
}

/** EXTNAME of an HDU, trimmed, or null. */
export function extname(h: HduLayout): string | null {
  const v = h.kw.str('EXTNAME');
  return v === undefined ? null : v.trim();
}

/** The axes of the image an HDU holds (ZNAXISn for a tile-compressed one), or null. */
export function imageAxes(h: HduLayout): number[] | null {
  if (h.kind === 'image') return [...h.naxis];
  if (h.kind === 'compressed-image') {
    const n = h.kw.num('ZNAXIS');
    if (n === undefined || !Number.isInteger(n) || n < 0 || n > MAX_AXES) return null;
    const axes: number[] = [];
    for (let i = 1; i <= n; i++) {
      const v = h.kw.num(`ZNAXIS${i}`);
      if (v === undefined || !Number.isInteger(v)) return null;
      axes.push(v);
    }
    return axes;
  }
  return null;
}
