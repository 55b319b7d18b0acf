/**
 * Tile-compressed images (FITS standard 4.0 section 10, the tiled image compression convention of
 * Pence et al.): a BINTABLE with ZIMAGE = T whose rows are tiles of the image.
 *
 * Supported: ZCMPTYPE RICE_1 (RICE_ONE), GZIP_1, GZIP_2, NOCOMPRESS, PLIO_1; quantized floating-point
 * images (ZSCALE/ZZERO columns or keywords, ZQUANTIZ NO_DITHER, SUBTRACTIVE_DITHER_1/2 with
 * ZDITHER0); ZBLANK (column or keyword) and BLANK; the GZIP_COMPRESSED_DATA / UNCOMPRESSED_DATA
 * fallback columns. HCOMPRESS_1 is not supported (UnsupportedFormatError).
 */

import { decompressSync } from 'fflate';
import { UnsupportedFormatError } from '../errors.js';
import type { HeaderCard } from '../image.js';
import { BITPIX_VALUES, decodeBigEndian } from './fits-data.js';
import { formatError, type FitsContext, type HduLayout } from './fits-hdu.js';
import { plioDecode } from './fits-plio.js';
import { riceDecode, type RiceBytePix } from './fits-rice.js';
import { HeapReader, tableColumns, type ColumnLayout } from './fits-table.js';

const N_RANDOM = 10000;
let randoms: Float32Array | null = null;

/**
 * The 10000 uniform deviates of the convention (Park & Miller's minimal standard generator,
 * a = 16807, m = 2^31 - 1, seed 1), rounded to float32 as the reference implementation keeps them.
 * The seed after the 10000th step is 1043618065.
 */
export function ditherRandoms(): Float32Array {
  if (randoms) return randoms;
  const r = new Float32Array(N_RANDOM);
  const a = 16807;
  const m = 2147483647;
  let seed = 1;
  for (let i = 0; i < N_RANDOM; i++) {
    const t = a * seed; // < 2^46: exact in a double
    seed = t - m * Math.trunc(t / m);
    r[i] = seed / m;
  }
  randoms = r;
  return r;
}

const NULL_ZERO_VALUE = -2147483646; // SUBTRACTIVE_DITHER_2: a pixel that was exactly 0.0

type Quantize = 'none' | 'no-dither' | 'dither1' | 'dither2';

const Z_RENAMES: Record<string, string> = {
  ZSIMPLE: 'SIMPLE',
  ZTENSION: 'XTENSION',
  ZBITPIX: 'BITPIX',
  ZNAXIS: 'NAXIS',
  ZEXTEND: 'EXTEND',
  ZBLOCKED: 'BLOCKED',
  ZPCOUNT: 'PCOUNT',
  ZGCOUNT: 'GCOUNT',
  ZHECKSUM: 'CHECKSUM',
  ZDATASUM: 'DATASUM',
};

const TABLE_ONLY = new Set([
  'XTENSION', 'BITPIX', 'NAXIS', 'PCOUNT', 'GCOUNT', 'TFIELDS', 'THEAP', 'ZIMAGE', 'ZCMPTYPE', 'ZQUANTIZ',
  'ZDITHER0', 'ZMASKCMP', 'ZBLANK', 'ZSCALE', 'ZZERO', 'CHECKSUM', 'DATASUM', 'EXTEND', 'SIMPLE',
]);
const TABLE_ONLY_RE = /^(NAXIS\d+|T(TYPE|FORM|UNIT|NULL|SCAL|ZERO|DIM|DISP)\d+|ZTILE\d+|ZNAME\d+|ZVAL\d+)$/;

/**
 * The header of the image a compressed HDU holds, as users expect it: ZSIMPLE/ZTENSION, ZBITPIX,
 * ZNAXIS, ZNAXISn, ZPCOUNT... become SIMPLE/XTENSION, BITPIX, NAXIS, NAXISn, PCOUNT...; the table's
 * own structure keywords and the compression keywords are dropped.
 */
export function imageHeaderOfCompressed(cards: readonly HeaderCard[]): HeaderCard[] {
  const structural: HeaderCard[] = [];
  const rest: HeaderCard[] = [];
  const find = (k: string) => cards.find((c) => c.key === k);
  const first: HeaderCard = find('ZSIMPLE') ?? find('ZTENSION') ?? { key: 'ZTENSION', value: 'IMAGE', comment: 'IMAGE extension' };
  const add = (key: string, c: HeaderCard | undefined, fallback?: HeaderCard['value']) => {
    if (!c && fallback === undefined) return;
    const value = c ? c.value : fallback!;
    structural.push(c?.comment !== undefined ? { key, value, comment: c.comment } : { key, value });
  };
  add(Z_RENAMES[first.key]!, first);
  add('BITPIX', find('ZBITPIX'));
  add('NAXIS', find('ZNAXIS'));
  const n = find('ZNAXIS')?.value;
  if (typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 999) {
    for (let i = 1; i <= n; i++) add(`NAXIS${i}`, find(`ZNAXIS${i}`));
  }
  if (first.key === 'ZTENSION') {
    add('PCOUNT', find('ZPCOUNT'), 0);
    add('GCOUNT', find('ZGCOUNT'), 1);
  } else {
    add('EXTEND', find('ZEXTEND'));
  }
  const done = new Set(['ZSIMPLE', 'ZTENSION', 'ZBITPIX', 'ZNAXIS', 'ZPCOUNT', 'ZGCOUNT', 'ZEXTEND']);
  for (const c of cards) {
    if (done.has(c.key) || /^ZNAXIS\d+$/.test(c.key)) continue;
    if (TABLE_ONLY.has(c.key) || TABLE_ONLY_RE.test(c.key)) continue;
    const renamed = Z_RENAMES[c.key];
    if (renamed) rest.push(c.comment !== undefined ? { key: renamed, value: c.value, comment: c.comment } : { key: renamed, value: c.value });
    else rest.push(c);
  }
  return [...structural, ...rest];
}

export interface CompressedImage {
  readonly bitpix: number;
  readonly axes: readonly number[];
  readonly header: HeaderCard[];
  /** Decodes one frame (a plane over axes 1-2 at frame index f of axes 3..n). */
  frame(f: number, out: Float64Array): void;
}

function setting(h: HduLayout, name: string): number | undefined {
  for (let i = 1; i <= 999; i++) {
    const zname = h.kw.str(`ZNAME${i}`);
    if (zname === undefined) return undefined;
    if (zname.trim().toUpperCase() === name) {
      const v = h.kw.num(`ZVAL${i}`);
      return v;
    }
  }
  return undefined;
}

/** Opens a tile-compressed image HDU: checks its keywords and columns; tiles decode on demand. */
export function openCompressedImage(bytes: Uint8Array, h: HduLayout, ctx: FitsContext): CompressedImage {
  const at = h.headerOffset;
  const fail = (reason: string, offset = at) => formatError(ctx, `HDU ${h.index} (tile-compressed image): ${reason}`, offset);
  const kw = h.kw;

  const zbitpix = kw.get('ZBITPIX');
  if (typeof zbitpix !== 'number' || !BITPIX_VALUES.includes(zbitpix)) throw fail(`bad ZBITPIX ${JSON.stringify(zbitpix ?? null)}`);
  const zn = kw.get('ZNAXIS');
  if (typeof zn !== 'number' || !Number.isInteger(zn) || zn < 1 || zn > 999) throw fail(`bad ZNAXIS ${JSON.stringify(zn ?? null)}`);
  const axes: number[] = [];
  const tile: number[] = [];
  const counts: number[] = [];
  let tiles = 1;
  for (let i = 1; i <= zn; i++) {
    const n = kw.get(`ZNAXIS${i}`);
    if (typeof n !== 'number' || !Number.isInteger(n)) throw fail(`ZNAXIS${i} = ${JSON.stringify(n ?? null)} is not an integer`);
    if (n <= 0) throw fail(`ZNAXIS${i} = ${n}: the image has no pixels`);
    if (n > 2 ** 31) throw fail(`ZNAXIS${i} = ${n} is absurdly large`);
    const t = kw.get(`ZTILE${i}`) ?? (i === 1 ? n : 1);
    if (typeof t !== 'number' || !Number.isInteger(t) || t <= 0) throw fail(`bad ZTILE${i} ${JSON.stringify(t)}`);
    axes.push(n);
    tile.push(Math.min(t, n));
    counts.push(Math.ceil(n / Math.min(t, n)));
    tiles *= counts[i - 1]!;
    if (tiles > Number.MAX_SAFE_INTEGER) throw fail('absurd number of tiles');
  }

  const cmp = (kw.str('ZCMPTYPE') ?? '').trim().toUpperCase();
  if (cmp === 'HCOMPRESS_1') {
    throw new UnsupportedFormatError('FITS', `HDU ${h.index} is compressed with HCOMPRESS_1, which this reader does not decode`, ctx.name);
  }
  if (!['RICE_1', 'RICE_ONE', 'GZIP_1', 'GZIP_2', 'NOCOMPRESS', 'PLIO_1'].includes(cmp)) {
    throw new UnsupportedFormatError('FITS', `HDU ${h.index}: unknown tile compression ZCMPTYPE = '${cmp}'`, ctx.name);
  }

  const columns = tableColumns(h, ctx);
  const column = (name: string) => columns.find((c) => c.name.toUpperCase() === name);
  const compressed = column('COMPRESSED_DATA');
  const gzipData = column('GZIP_COMPRESSED_DATA');
  const uncompressed = column('UNCOMPRESSED_DATA');
  for (const c of [compressed, gzipData, uncompressed]) {
    if (c && c.type !== 'P' && c.type !== 'Q') throw fail(`column ${c.name} is not a variable-length array (TFORM${c.number} = '${c.form}')`);
  }
  if (!compressed && !gzipData && !uncompressed) throw fail('no COMPRESSED_DATA column');
  const zscaleCol = column('ZSCALE');
  const zzeroCol = column('ZZERO');
  const zblankCol = column('ZBLANK');
  for (const c of [zscaleCol, zzeroCol, zblankCol]) {
    if (c && (!['B', 'I', 'J', 'K', 'E', 'D'].includes(c.type) || c.repeat < 1)) {
      throw fail(`column ${c.name} has an unexpected format '${c.form}'`);
    }
  }

  const heap = new HeapReader(bytes, h, ctx);
  if (heap.rows < tiles) throw fail(`the table has ${heap.rows} rows for ${tiles} tiles`);

  // Quantization of floating-point images.
  const zscaleKw = kw.num('ZSCALE');
  const zzeroKw = kw.num('ZZERO');
  const quantizedImage = zbitpix < 0 && (zscaleCol !== undefined || zscaleKw !== undefined);
  let quantize: Quantize = 'none';
  if (quantizedImage) {
    const q = (kw.str('ZQUANTIZ') ?? 'NO_DITHER').trim().toUpperCase();
    if (q === 'NO_DITHER' || q === 'NONE') quantize = 'no-dither';
    else if (q === 'SUBTRACTIVE_DITHER_1') quantize = 'dither1';
    else if (q === 'SUBTRACTIVE_DITHER_2') quantize = 'dither2';
    else throw new UnsupportedFormatError('FITS', `HDU ${h.index}: unknown quantization ZQUANTIZ = '${q}'`, ctx.name);
  }
  const dither0Raw = kw.get('ZDITHER0') ?? 1;
  if (typeof dither0Raw !== 'number' || !Number.isInteger(dither0Raw)) throw fail(`bad ZDITHER0 ${JSON.stringify(dither0Raw)}`);
  const dither0 = dither0Raw;

  const zblankKw = kw.num('ZBLANK');
  const blankKw = kw.num('BLANK');
  const bscale = kw.get('BSCALE') ?? 1;
  const bzero = kw.get('BZERO') ?? 0;
  if (typeof bscale !== 'number' || typeof bzero !== 'number') throw fail('BSCALE or BZERO is not a number');

  // Compression parameters.
  let riceBlock = 32;
  let ricePix: RiceBytePix = 4;
  if (cmp === 'RICE_1' || cmp === 'RICE_ONE') {
    const bs = setting(h, 'BLOCKSIZE') ?? 32;
    const bp = setting(h, 'BYTEPIX') ?? 4;
    if (!Number.isInteger(bs) || bs <= 0 || bs > 1 << 20) throw fail(`bad Rice BLOCKSIZE ${bs}`);
    if (bp === 8) throw new UnsupportedFormatError('FITS', `HDU ${h.index}: Rice compression with BYTEPIX = 8`, ctx.name);
    if (bp !== 1 && bp !== 2 && bp !== 4) throw fail(`bad Rice BYTEPIX ${bp}`);
    riceBlock = bs;
    ricePix = bp;
  }

  const inflate = (data: Uint8Array, row: number): Uint8Array => {
    try {
      return decompressSync(data);
    } catch (e) {
      throw fail(`tile ${row + 1}: gzip data is corrupt (${(e as Error).message})`);
    }
  };

  /** Decodes typed big-endian elements of a variable-length array type into out. */
  const typedElements = (data: Uint8Array, type: string, count: number, out: Float64Array): boolean => {
    const bitpix = { B: 8, I: 16, J: 32, K: 64, E: -32, D: -64 }[type];
    if (bitpix === undefined) return false;
    decodeBigEndian(data, 0, count, bitpix, 1, 0, null, out);
    return true;
  };

  /**
   * Raw values of one tile into out: 'int' for the integers as compressed (to unquantize or scale),
   * 'float' for floating-point values, 'fallback' for final values from the fallback columns.
   */
  const rawTile = (row: number, npix: number, out: Float64Array): 'int' | 'float' | 'fallback' => {
    const cd = compressed ? heap.array(compressed, row) : null;
    if (cd && cd.count > 0) {
      switch (cmp) {
        case 'RICE_1':
        case 'RICE_ONE': {
          const err = riceDecode(cd.bytes, npix, riceBlock, ricePix, out);
          if (err) throw fail(`tile ${row + 1}: ${err}`);
          return 'int';
        }
        case 'PLIO_1': {
          if (!(cd.bytes.length >= 2 * cd.count)) throw fail(`tile ${row + 1}: PLIO data is truncated`);
          const err = plioDecode(cd.bytes, cd.count, npix, out);
          if (err) throw fail(`tile ${row + 1}: ${err}`);
          return 'int';
        }
        case 'GZIP_1':
        case 'GZIP_2': {
          let data = inflate(cd.bytes, row);
          const size = data.length / npix;
          if (![1, 2, 4, 8].includes(size)) {
            throw fail(`tile ${row + 1}: ${data.length} bytes once inflated for ${npix} pixels`);
          }
          if (cmp === 'GZIP_2' && size > 1) {
            // Bytes were shuffled: all most significant bytes first, then the next ones...
            const s = new Uint8Array(data.length);
            for (let k = 0; k < size; k++) {
              const base = k * npix;
              for (let i = 0; i < npix; i++) s[i * size + k] = data[base + i]!;
            }
            data = s;
          }
          const isFloat = zbitpix < 0 && !quantizedImage && size >= 4;
          const bitpix = isFloat ? -size * 8 : size * 8;
          decodeBigEndian(data, 0, npix, bitpix, 1, 0, null, out);
          return isFloat ? 'float' : 'int';
        }
        case 'NOCOMPRESS': {
          if (cd.count !== npix || !typedElements(cd.bytes, compressed!.elementType!, npix, out)) {
            throw fail(`tile ${row + 1}: uncompressed tile of ${cd.count} '${compressed!.elementType}' elements for ${npix} pixels`);
          }
          return compressed!.elementType === 'E' || compressed!.elementType === 'D' ? 'float' : 'int';
        }
      }
    }
    // Tiles that could not be compressed normally (e.g. floats that would not quantize).
    const gz = gzipData ? heap.array(gzipData, row) : null;
    if (gz && gz.count > 0) {
      const data = inflate(gz.bytes, row);
      const size = Math.abs(zbitpix) / 8;
      if (data.length !== npix * size) throw fail(`tile ${row + 1}: ${data.length} bytes of GZIP_COMPRESSED_DATA for ${npix} pixels`);
      decodeBigEndian(data, 0, npix, zbitpix, 1, 0, null, out);
      return zbitpix < 0 ? 'fallback' : 'int';
    }
    const un = uncompressed ? heap.array(uncompressed, row) : null;
    if (un && un.count > 0) {
      if (un.count !== npix || !typedElements(un.bytes, uncompressed!.elementType!, npix, out)) {
        throw fail(`tile ${row + 1}: ${un.count} UNCOMPRESSED_DATA elements for ${npix} pixels`);
      }
      return zbitpix < 0 ? 'fallback' : 'int';
    }
    throw fail(`tile ${row + 1} holds no data`);
  };

  const perTile = (col: ColumnLayout | undefined, fallback: number | undefined, row: number): number | undefined =>
    col ? heap.scalar(col, row) : fallback;

  /** Decodes tile `row` (0-based) to final pixel values. */
  const decodeTile = (row: number, dims: number[]): Float64Array => {
    let npix = 1;
    for (const d of dims) npix *= d;
    if (npix > 2 ** 31) throw fail(`tile ${row + 1} of ${dims.join(' x ')} pixels is absurdly large`);
    const out = new Float64Array(npix);
    const kind = rawTile(row, npix, out);
    if (kind === 'fallback') return out;
    if (kind === 'float') {
      if (bscale !== 1 || bzero !== 0) for (let i = 0; i < npix; i++) out[i] = out[i]! * bscale + bzero;
      return out;
    }
    const zblank = perTile(zblankCol, zblankKw, row);
    if (quantize !== 'none') {
      const scale = perTile(zscaleCol, zscaleKw, row) ?? 1;
      const zero = perTile(zzeroCol, zzeroKw, row) ?? 0;
      const blank = zblank ?? NaN;
      const f32 = zbitpix === -32;
      if (quantize === 'no-dither') {
        for (let i = 0; i < npix; i++) {
          const v = out[i]!;
          const x = v === blank ? NaN : v * scale + zero;
          out[i] = f32 ? Math.fround(x) : x;
        }
      } else {
        const r = ditherRandoms();
        let iseed = (((row + dither0 - 1) % N_RANDOM) + N_RANDOM) % N_RANDOM;
        let next = Math.trunc(r[iseed]! * 500);
        const zeroCode = quantize === 'dither2' ? NULL_ZERO_VALUE : NaN;
        for (let i = 0; i < npix; i++) {
          const v = out[i]!;
          let x: number;
          if (v === blank) x = NaN;
          else if (v === zeroCode) x = 0;
          else x = (v - r[next]! + 0.5) * scale + zero;
          out[i] = f32 ? Math.fround(x) : x;
          next++;
          if (next === N_RANDOM) {
            iseed++;
            if (iseed === N_RANDOM) iseed = 0;
            next = Math.trunc(r[iseed]! * 500);
          }
        }
      }
      if (bscale !== 1 || bzero !== 0) for (let i = 0; i < npix; i++) out[i] = out[i]! * bscale + bzero;
      return out;
    }
    // Integer image: blanks, then BSCALE/BZERO.
    const b1 = zblank ?? NaN;
    const b2 = blankKw ?? NaN;
    for (let i = 0; i < npix; i++) {
      const v = out[i]!;
      out[i] = v === b1 || v === b2 ? NaN : v * bscale + bzero;
    }
    return out;
  };

  // A small cache for tiles deeper than one plane, so reading frames in turn decodes each tile once.
  const deep = tile.slice(2).some((t) => t > 1);
  const perPlane = (counts[0] ?? 1) * (counts[1] ?? 1);
  const cache = new Map<number, Float64Array>();

  const frame = (f: number, out: Float64Array): void => {
    const width = axes[0]!;
    const height = axes[1] ?? 1;
    // Coordinates of the frame along axes 3..n, and its tile there.
    let rowBase = 0;
    let stride = perPlane;
    let planeOffsetInTile = 0;
    let planeStride = 1;
    let rest = f;
    const outerDims: number[] = [];
    for (let k = 2; k < zn; k++) {
      const c = rest % axes[k]!;
      rest = Math.floor(rest / axes[k]!);
      const t = Math.floor(c / tile[k]!);
      const dim = Math.min(tile[k]!, axes[k]! - t * tile[k]!);
      rowBase += t * stride;
      stride *= counts[k]!;
      outerDims.push(dim);
      planeOffsetInTile += (c - t * tile[k]!) * planeStride;
      planeStride *= dim;
    }
    for (let ty = 0; ty < (counts[1] ?? 1); ty++) {
      const y0 = ty * (tile[1] ?? 1);
      const th = Math.min(tile[1] ?? 1, height - y0);
      for (let tx = 0; tx < counts[0]!; tx++) {
        const x0 = tx * tile[0]!;
        const tw = Math.min(tile[0]!, width - x0);
        const row = rowBase + tx + counts[0]! * ty;
        const dims = zn === 1 ? [tw] : [tw, th, ...outerDims];
        let data = deep ? cache.get(row) : undefined;
        if (!data) {
          data = decodeTile(row, dims);
          if (deep) {
            if (cache.size >= perPlane) cache.delete(cache.keys().next().value!);
            cache.set(row, data);
          }
        }
        const base = planeOffsetInTile * tw * th;
        for (let y = 0; y < th; y++) {
          out.set(data.subarray(base + y * tw, base + (y + 1) * tw), (y0 + y) * width + x0);
        }
      }
    }
  };

  return { bitpix: zbitpix, axes, header: imageHeaderOfCompressed(h.cards), frame };
}
