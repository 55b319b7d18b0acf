import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { CpgdError, FormatError, InvalidOptionError, UnsupportedFormatError } from '../../../src-main/core/errors.js';
import type { HeaderCard, ImageSource } from '../../../src-main/core/image.js';
import { formatFitsCard, headerBytes } from '../../../src-main/core/formats/fits-header.js';
import {
  listFitsHdus,
  parseFitsCard,
  readFits,
  readFitsHeader,
  readFitsTable,
  writeFitsImage,
  writeFitsTable,
} from '../../../src-main/core/formats/fits.js';
import { FIXTURES } from '../../paths.js';

// ---------------------------------------------------------------------------------------------
// Helpers

interface Expected {
  hdu: number | null;
  frames: number;
  height: number;
  width: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  nan_count: number;
  pixels: [number, number, number, number | null][];
}

const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, Expected>;
const fitsFixtures = Object.keys(expected).filter((n) => /\.fits(\.gz)?$/.test(n));

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

function close(got: number, want: number): boolean {
  if (want === 0) return Math.abs(got) <= 1e-12;
  return Math.abs(got - want) <= 1e-6 * Math.abs(want);
}

async function allFrames(src: ImageSource): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (let f = 0; f < src.frames; f++) out.push((await src.frame(f)).data);
  return out;
}

/** Cards as HeaderCards, or raw 80-column lines (for malformed or hand-made cards). */
type CardSpec = HeaderCard | string;

function header(cards: readonly CardSpec[]): Uint8Array {
  return headerBytes(cards.flatMap((c) => (typeof c === 'string' ? [c.padEnd(80).slice(0, 80)] : formatFitsCard(c))));
}

function card(key: string, value: HeaderCard['value'], comment?: string): HeaderCard {
  return comment === undefined ? { key, value } : { key, value, comment };
}

function padData(data: Uint8Array, fill = 0): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 2880) * 2880).fill(fill);
  out.set(data);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Big-endian bytes of values of a BITPIX type. */
function beBytes(values: readonly number[], bitpix: number): Uint8Array {
  const bpp = Math.abs(bitpix) / 8;
  const out = new Uint8Array(values.length * bpp);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const p = i * bpp;
    if (bitpix === 8) dv.setUint8(p, v);
    else if (bitpix === 16) dv.setInt16(p, v);
    else if (bitpix === 32) dv.setInt32(p, v);
    else if (bitpix === 64) dv.setBigInt64(p, BigInt(v));
    else if (bitpix === -32) dv.setFloat32(p, v);
    else dv.setFloat64(p, v);
  });
  return out;
}

const primaryEmpty = (): Uint8Array => header([card('SIMPLE', true), card('BITPIX', 8), card('NAXIS', 0), card('EXTEND', true)]);

/** A primary image HDU of the given BITPIX and axes holding `values`. */
function imageFile(bitpix: number, axes: number[], values: readonly number[], extra: CardSpec[] = []): Uint8Array {
  return concat(
    header([
      card('SIMPLE', true),
      card('BITPIX', bitpix),
      card('NAXIS', axes.length),
      ...axes.map((n, i) => card(`NAXIS${i + 1}`, n)),
      ...extra,
    ]),
    padData(beBytes(values, bitpix)),
  );
}

function imageExtension(bitpix: number, axes: number[], values: readonly number[], extra: CardSpec[] = []): Uint8Array {
  return concat(
    header([
      card('XTENSION', 'IMAGE'),
      card('BITPIX', bitpix),
      card('NAXIS', axes.length),
      ...axes.map((n, i) => card(`NAXIS${i + 1}`, n)),
      card('PCOUNT', 0),
      card('GCOUNT', 1),
      ...extra,
    ]),
    padData(beBytes(values, bitpix)),
  );
}

async function expectRejects(p: () => unknown | Promise<unknown>, type: new (...a: never[]) => CpgdError, text?: RegExp): Promise<CpgdError> {
  let err: unknown;
  try {
    await p();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(type);
  if (text) expect((err as Error).message).toMatch(text);
  return err as CpgdError;
}

/** Deterministic pseudo-random numbers for test data (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Tile-compressed HDUs built in the tests

type ColumnSpec =
  | { name: string; kind: 'array'; elem: 'B' | 'I' | 'J' | 'E' | 'D'; q?: boolean; arrays: (Uint8Array | null)[] }
  | { name: string; kind: 'scalar'; type: 'D' | 'J'; values: number[] };

const ELEM_BYTES = { B: 1, I: 2, J: 4, E: 4, D: 8 } as const;

/** A BINTABLE with ZIMAGE = T: one row per tile, arrays in the heap. */
function compressedHdu(zcards: CardSpec[], columns: ColumnSpec[], rows: number): Uint8Array {
  const widths = columns.map((c) => (c.kind === 'array' ? (c.q ? 16 : 8) : 8));
  const rowBytes = widths.reduce((a, b) => a + b, 0);
  const heapParts: Uint8Array[] = [];
  let heapSize = 0;
  const table = new Uint8Array(rowBytes * rows);
  const dv = new DataView(table.buffer);
  for (let r = 0; r < rows; r++) {
    let p = r * rowBytes;
    columns.forEach((c, i) => {
      if (c.kind === 'array') {
        const a = c.arrays[r] ?? new Uint8Array(0);
        const count = a.length / ELEM_BYTES[c.elem];
        if (c.q) {
          dv.setBigInt64(p, BigInt(count));
          dv.setBigInt64(p + 8, BigInt(heapSize));
        } else {
          dv.setInt32(p, count);
          dv.setInt32(p + 4, heapSize);
        }
        heapParts.push(a);
        heapSize += a.length;
      } else if (c.type === 'D') dv.setFloat64(p, c.values[r]!);
      else dv.setInt32(p, c.values[r]!);
      p += widths[i]!;
    });
  }
  const cards: CardSpec[] = [
    card('XTENSION', 'BINTABLE'),
    card('BITPIX', 8),
    card('NAXIS', 2),
    card('NAXIS1', rowBytes),
    card('NAXIS2', rows),
    card('PCOUNT', heapSize),
    card('GCOUNT', 1),
    card('TFIELDS', columns.length),
    ...columns.flatMap((c, i) => [
      card(`TTYPE${i + 1}`, c.name),
      card(`TFORM${i + 1}`, c.kind === 'array' ? `1${c.q ? 'Q' : 'P'}${c.elem}` : `1${c.type}`),
    ]),
    card('ZIMAGE', true),
    ...zcards,
  ];
  return concat(header(cards), padData(concat(table, ...heapParts)));
}

function compressedFile(zcards: CardSpec[], columns: ColumnSpec[], rows: number): Uint8Array {
  return concat(primaryEmpty(), compressedHdu(zcards, columns, rows));
}

/** Tiles of an image (axes, tile shape) in row order, each as the list of its pixel indices. */
function tilesOf(axes: number[], tile: number[]): number[][] {
  const counts = axes.map((n, i) => Math.ceil(n / tile[i]!));
  const nTiles = counts.reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  for (let t = 0; t < nTiles; t++) {
    const start: number[] = [];
    const size: number[] = [];
    let rest = t;
    for (let k = 0; k < axes.length; k++) {
      const c = rest % counts[k]!;
      rest = Math.floor(rest / counts[k]!);
      start.push(c * tile[k]!);
      size.push(Math.min(tile[k]!, axes[k]! - c * tile[k]!));
    }
    const n = size.reduce((a, b) => a * b, 1);
    const idx: number[] = [];
    for (let i = 0; i < n; i++) {
      let r = i;
      let flat = 0;
      let stride = 1;
      for (let k = 0; k < axes.length; k++) {
        const c = r % size[k]!;
        r = Math.floor(r / size[k]!);
        flat += (start[k]! + c) * stride;
        stride *= axes[k]!;
      }
      idx.push(flat);
    }
    out.push(idx);
  }
  return out;
}

/** A Rice encoder (the inverse of the convention's decoder), exercising all three block kinds. */
function riceEncode(values: readonly number[], bytePix: 1 | 2 | 4, blockSize: number): Uint8Array {
  const bBits = bytePix * 8;
  const fsBits = bytePix === 1 ? 3 : bytePix === 2 ? 4 : 5;
  const fsMax = bytePix === 1 ? 6 : bytePix === 2 ? 14 : 25;
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push(Math.floor(v / 2 ** i) % 2);
  };
  const wrap = (d: number) => (bytePix === 4 ? d | 0 : bytePix === 2 ? (d << 16) >> 16 : (d << 24) >> 24);
  put(values[0]! < 0 ? values[0]! + 2 ** bBits : values[0]!, bBits);
  let last = values[0]!;
  for (let start = 0, block = 0; start < values.length; start += blockSize, block++) {
    const mapped: number[] = [];
    for (let i = start; i < Math.min(start + blockSize, values.length); i++) {
      const d = wrap(values[i]! - last);
      last = values[i]!;
      mapped.push(d < 0 ? -2 * d - 1 : 2 * d);
    }
    if (mapped.every((v) => v === 0)) {
      put(0, fsBits);
      continue;
    }
    if (block % 4 === 3) {
      put(fsMax + 1, fsBits);
      for (const v of mapped) put(v, bBits);
      continue;
    }
    let best = 0;
    let bestCost = Infinity;
    for (let fs = 0; fs < fsMax; fs++) {
      const cost = mapped.reduce((s, v) => s + Math.floor(v / 2 ** fs) + 1 + fs, 0);
      if (cost < bestCost) [best, bestCost] = [fs, cost];
    }
    put(best + 1, fsBits);
    for (const v of mapped) {
      for (let z = Math.floor(v / 2 ** best); z > 0; z--) bits.push(0);
      bits.push(1);
      put(v % 2 ** best, best);
    }
  }
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}

/** The convention's dither sequence, computed here independently of the reader. */
function ditherSequence(): { values: Float32Array; finalSeed: number } {
  const values = new Float32Array(10000);
  let seed = 1;
  for (let i = 0; i < 10000; i++) {
    const t = 16807 * seed;
    seed = t - 2147483647 * Math.floor(t / 2147483647);
    values[i] = seed / 2147483647;
  }
  return { values, finalSeed: seed };
}

/** Subtractive-dither quantization of one tile, as a compressor writes it. */
function quantizeTile(x: readonly number[], row: number, dither0: number, scale: number, zero: number, method: 1 | 2, blank: number): number[] {
  const r = ditherSequence().values;
  let iseed = (row + dither0 - 1) % 10000;
  let next = Math.floor(r[iseed]! * 500);
  return x.map((v) => {
    let q: number;
    if (Number.isNaN(v)) q = blank;
    else if (method === 2 && v === 0) q = -2147483646;
    else q = Math.round((v - zero) / scale + r[next]! - 0.5);
    next++;
    if (next === 10000) {
      iseed = (iseed + 1) % 10000;
      next = Math.floor(r[iseed]! * 500);
    }
    return q;
  });
}

function shuffle(bytes: Uint8Array, size: number): Uint8Array {
  const n = bytes.length / size;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < size; k++) out[k * n + i] = bytes[i * size + k]!;
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('readFits on the reference files (astropy agrees)', () => {
  it('covers every FITS fixture', () => {
    expect(fitsFixtures.length).toBeGreaterThanOrEqual(15);
    expect(fitsFixtures).toContain('comp.fits');
    expect(fitsFixtures).toContain('fermi_counts.fits.gz');
  });

  for (const name of fitsFixtures) {
    it(name, async () => {
      const e = expected[name]!;
      const src = readFits(fixture(name), { name });
      expect(src.format).toBe('fits');
      expect(src.hdu).toBe(e.hdu);
      expect([src.frames, src.height, src.width]).toEqual([e.frames, e.height, e.width]);
      const frames = await allFrames(src);
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      let n = 0;
      let nan = 0;
      for (const f of frames) {
        expect(f.length).toBe(e.width * e.height);
        for (const v of f) {
          if (Number.isNaN(v)) nan++;
          else {
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
            n++;
          }
        }
      }
      expect(nan).toBe(e.nan_count);
      if (e.min === null) {
        expect(n).toBe(0);
        expect(e.max).toBeNull();
        expect(e.mean).toBeNull();
      } else {
        expect(close(min, e.min), `min ${min} vs ${e.min}`).toBe(true);
        expect(close(max, e.max!), `max ${max} vs ${e.max}`).toBe(true);
        expect(close(sum / n, e.mean!), `mean ${sum / n} vs ${e.mean}`).toBe(true);
      }
      for (const [f, y, x, v] of e.pixels) {
        const got = frames[f]![y * e.width + x]!;
        if (v === null) expect(got, `pixel ${f},${y},${x}`).toBeNaN();
        else expect(close(got, v), `pixel ${f},${y},${x}: ${got} vs ${v}`).toBe(true);
      }
    });
  }

  it('presents the header of a tile-compressed image as the image header', () => {
    const src = readFits(fixture('comp.fits'));
    const get = (k: string) => src.header.find((c) => c.key === k);
    expect(src.header[0]).toMatchObject({ key: 'XTENSION', value: 'IMAGE' });
    expect(get('BITPIX')).toEqual({ key: 'BITPIX', value: 16, comment: 'My special comment' });
    expect(get('NAXIS')?.value).toBe(2);
    expect(get('NAXIS1')?.value).toBe(440);
    expect(get('NAXIS2')?.value).toBe(300);
    expect(get('PCOUNT')).toEqual({ key: 'PCOUNT', value: 0, comment: 'My special PCOUNT comment' });
    expect(get('EXTNAME')?.value).toBe('COMPRESSED_IMAGE');
    expect(get('TELESCOP')?.value).toBe('Optical');
    for (const k of ['ZIMAGE', 'ZBITPIX', 'ZNAXIS1', 'ZTILE1', 'ZCMPTYPE', 'TFORM1', 'TTYPE1', 'TFIELDS', 'ZNAME1', 'ZVAL2']) {
      expect(get(k), k).toBeUndefined();
    }
    expect(src.header.filter((c) => c.key === 'BITPIX')).toHaveLength(1);
  });

  it('keeps the header cards of a plain image, COMMENT and HISTORY included', () => {
    const src = readFits(fixture('o4sp040b0_raw.fits'));
    expect(src.header[0]).toMatchObject({ key: 'XTENSION', value: 'IMAGE' });
    expect(src.header.find((c) => c.key === 'EXTNAME')?.value).toBe('SCI');
    expect(src.header.find((c) => c.key === 'NAXIS1')?.value).toBe(62);
    const primary = readFitsHeader(fixture('o4sp040b0_raw.fits'));
    expect(primary[0]).toMatchObject({ key: 'SIMPLE', value: true });
    for (const c of primary.filter((x) => x.key === 'COMMENT' || x.key === 'HISTORY')) {
      expect(c.value).toBeNull();
      expect(typeof c.comment).toBe('string');
    }
  });

  it('lists the HDUs of a file', () => {
    const hdus = listFitsHdus(fixture('ext_after_table_wcs.fits'));
    expect(hdus.map((h) => [h.index, h.kind, h.isImage])).toEqual([
      [0, 'empty', false],
      [1, 'bintable', false],
      [2, 'image', true],
    ]);
    expect(hdus[2]).toMatchObject({ xtension: 'IMAGE', extname: 'SCI', shape: [100, 80], bitpix: hdus[2]!.bitpix });
    expect(hdus[1]!.rows).toBe(hdus[1]!.shape[1]);
    expect(hdus[1]!.dataOffset % 2880).toBe(0);
    const comp = listFitsHdus(fixture('comp.fits'));
    expect(comp[1]).toMatchObject({ kind: 'compressed-image', bitpix: 16, shape: [440, 300], compression: 'RICE_1', isImage: true, extname: 'COMPRESSED_IMAGE' });
    const gz = listFitsHdus(fixture('fermi_counts.fits.gz'));
    expect(gz.map((h) => h.kind)).toEqual(['empty', 'image']);
    expect(gz[1]!.shape).toEqual([401, 201]);
  });
});

describe('header cards', () => {
  it('parses strings, numbers, logicals, commentary and undefined values', () => {
    expect(parseFitsCard("OBSERVER= 'O''Hara  '           / who").card).toEqual({ key: 'OBSERVER', value: "O'Hara", comment: 'who' });
    expect(parseFitsCard("EMPTY   = ''").card).toEqual({ key: 'EMPTY', value: '' });
    expect(parseFitsCard("SLASH   = 'a/b' / c/d").card).toEqual({ key: 'SLASH', value: 'a/b', comment: 'c/d' });
    expect(parseFitsCard("LEAD    = '  x'").card.value).toBe('  x');
    expect(parseFitsCard('EXPTIME =               1.5D+03 / seconds').card).toEqual({ key: 'EXPTIME', value: 1500, comment: 'seconds' });
    expect(parseFitsCard('SMALL   =            -2.5e-07').card.value).toBe(-2.5e-7);
    expect(parseFitsCard('DOT     =                  12.').card.value).toBe(12);
    expect(parseFitsCard('NAXIS1  =                 -440').card.value).toBe(-440);
    expect(parseFitsCard('FLAG    =                    T').card.value).toBe(true);
    expect(parseFitsCard('FLAG2   =                    F / no').card).toEqual({ key: 'FLAG2', value: false, comment: 'no' });
    expect(parseFitsCard('UNDEF   =                      / nothing').card).toEqual({ key: 'UNDEF', value: null, comment: 'nothing' });
    expect(parseFitsCard('CPLX    = (1.0, 2.0)').card.value).toBe('(1.0, 2.0)');
    expect(parseFitsCard('COMMENT   This is a comment / with a slash').card).toEqual({
      key: 'COMMENT',
      value: null,
      comment: '  This is a comment / with a slash',
    });
    expect(parseFitsCard('HISTORY reduced').card).toEqual({ key: 'HISTORY', value: null, comment: 'reduced' });
    expect(parseFitsCard("HIERARCH ESO DET CHIP NAME = 'CCD-42' / the chip").card).toEqual({
      key: 'ESO DET CHIP NAME',
      value: 'CCD-42',
      comment: 'the chip',
    });
    expect(parseFitsCard('HIERARCH ESO TEL AIRM START = 1.234').card).toEqual({ key: 'ESO TEL AIRM START', value: 1.234 });
  });

  it('joins CONTINUE long strings and reads HIERARCH cards in a file', () => {
    const file = imageFile(16, [2, 1], [1, 2], [
      "LONGSTR = 'This is the first part of a string that is too long for one card &'",
      "CONTINUE  'and this is the second, with a quote '' in it&'  / first comment",
      "CONTINUE  ' and the end.' / second comment",
      "NOTLONG = 'ends with &'",
      "ORPHAN  = 'x'",
      "CONTINUE  'continues nothing'",
      "HIERARCH ESO DET CHIP = 'CCD-1   ' / chip",
      'COMMENT first comment',
      'HISTORY step 1',
    ]);
    const h = readFits(file).header;
    const get = (k: string) => h.find((c) => c.key === k);
    expect(get('LONGSTR')).toEqual({
      key: 'LONGSTR',
      value: "This is the first part of a string that is too long for one card and this is the second, with a quote ' in it and the end.",
      comment: 'first comment second comment',
    });
    expect(get('NOTLONG')?.value).toBe('ends with &');
    expect(get('ORPHAN')?.value).toBe('x');
    expect(h.find((c) => c.key === 'CONTINUE')).toEqual({ key: 'CONTINUE', value: null, comment: 'continues nothing' });
    expect(get('ESO DET CHIP')).toEqual({ key: 'ESO DET CHIP', value: 'CCD-1', comment: 'chip' });
    expect(get('COMMENT')).toEqual({ key: 'COMMENT', value: null, comment: 'first comment' });
    expect(get('HISTORY')).toEqual({ key: 'HISTORY', value: null, comment: 'step 1' });
  });
});

describe('data types and scaling', () => {
  it('reads every BITPIX big-endian, with BZERO/BSCALE and BLANK', async () => {
    const cases: [number, number[], CardSpec[], (number | null)[]][] = [
      [8, [0, 7, 255, 200], [], [0, 7, 255, 200]],
      [8, [0, 7, 255, 200], [card('BZERO', -128)], [-128, -121, 127, 72]],
      [8, [0, 7, 255, 200], [card('BLANK', 255)], [0, 7, null, 200]],
      [16, [-32768, -1, 0, 32767], [card('BZERO', 32768)], [0, 32767, 32768, 65535]],
      [16, [-5, 3, -32768, 100], [card('BSCALE', 0.5), card('BZERO', 10), card('BLANK', -32768)], [7.5, 11.5, null, 60]],
      [32, [-2147483648, -1, 0, 2147483647], [card('BZERO', 2147483648)], [0, 2147483647, 2147483648, 4294967295]],
      [32, [1, -99, 3, 4], [card('BLANK', -99), card('BSCALE', 2)], [2, null, 6, 8]],
      [64, [1, -2, 2 ** 40, -(2 ** 50)], [], [1, -2, 2 ** 40, -(2 ** 50)]],
      [64, [1, -1, 5, 6], [card('BLANK', -1)], [1, null, 5, 6]],
      [-32, [1.5, NaN, -0.25, 3e30], [card('BLANK', 1)], [1.5, null, -0.25, Math.fround(3e30)]],
      [-64, [1.1, NaN, -1e-300, Math.PI], [card('BSCALE', 2), card('BZERO', 1)], [3.2, null, 1 - 2e-300, 2 * Math.PI + 1]],
    ];
    for (const [bitpix, raw, cards, want] of cases) {
      const src = readFits(imageFile(bitpix, [2, 2], raw, cards));
      const got = Array.from((await src.frame(0)).data);
      want.forEach((w, i) => {
        if (w === null) expect(got[i], `BITPIX ${bitpix} #${i}`).toBeNaN();
        else expect(got[i], `BITPIX ${bitpix} #${i}`).toBeCloseTo(w, 9);
      });
    }
  });

  it('reads bytes that are a view into a larger, unaligned buffer', async () => {
    const file = imageFile(-64, [3, 1], [1.5, -2.5, 1e-200]);
    const big = new Uint8Array(file.length + 11);
    big.set(file, 3);
    const src = readFits(big.subarray(3, 3 + file.length));
    expect(Array.from((await src.frame(0)).data)).toEqual([1.5, -2.5, 1e-200]);
    const comp = fixture('comp.fits');
    const shifted = new Uint8Array(comp.length + 1);
    shifted.set(comp, 1);
    expect((await readFits(shifted.subarray(1)).frame(0)).data[0]).toBe(7);
  });

  it('turns axes beyond the second into frames, row 0 first', async () => {
    const values = Array.from({ length: 3 * 2 * 2 * 2 }, (_, i) => i);
    const src = readFits(imageFile(16, [3, 2, 2, 2], values));
    expect([src.width, src.height, src.frames]).toEqual([3, 2, 4]);
    const frames = await allFrames(src);
    expect(Array.from(frames[0]!)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(frames[3]!)).toEqual([18, 19, 20, 21, 22, 23]);
    await expectRejects(() => src.frame(4), InvalidOptionError);
    await expectRejects(() => src.frame(-1), InvalidOptionError);
    await expectRejects(() => src.frame(0.5), InvalidOptionError);
  });

  it('reads an explicitly requested one-axis image as one row', async () => {
    const file = concat(primaryEmpty(), imageExtension(16, [4], [1, 2, 3, 4]));
    await expectRejects(() => readFits(file), UnsupportedFormatError, /no HDU holds an image/);
    const src = readFits(file, { hdu: 1 });
    expect([src.width, src.height, src.frames]).toEqual([4, 1, 1]);
    expect(Array.from((await src.frame(0)).data)).toEqual([1, 2, 3, 4]);
  });
});

describe('HDU selection', () => {
  const file = concat(
    primaryEmpty(),
    imageExtension(16, [3, 2], [1, 2, 3, 4, 5, 6], [card('EXTNAME', 'FIRST')]),
    writeFitsTable([{ name: 'X', type: 'D', data: [1, 2] }], { extname: 'CATALOG' }).subarray(2880),
    imageExtension(-32, [2, 2], [0.5, 1.5, 2.5, 3.5], [card('EXTNAME', 'Second ')]),
    imageExtension(8, [], []),
  );

  it('reads the first image by default, others by index or EXTNAME (case-insensitive)', async () => {
    const first = readFits(file);
    expect(first.hdu).toBe(1);
    expect(Array.from((await first.frame(0)).data)).toEqual([1, 2, 3, 4, 5, 6]);
    const byIndex = readFits(file, { hdu: 3 });
    expect(byIndex.hdu).toBe(3);
    expect(Array.from((await byIndex.frame(0)).data)).toEqual([0.5, 1.5, 2.5, 3.5]);
    expect(readFits(file, { hdu: 'second' }).hdu).toBe(3);
    expect(readFits(file, { hdu: 'First' }).hdu).toBe(1);
    expect(listFitsHdus(file).map((h) => [h.kind, h.extname])).toEqual([
      ['empty', null],
      ['image', 'FIRST'],
      ['bintable', 'CATALOG'],
      ['image', 'Second'],
      ['empty', null],
    ]);
  });

  it('gives typed errors for HDUs that are not images or do not exist', async () => {
    const table = await expectRejects(() => readFits(file, { hdu: 2, name: 'm.fits' }), UnsupportedFormatError, /HDU 2 \(CATALOG\) is a binary table, not an image/);
    expect(table.file).toBe('m.fits');
    await expectRejects(() => readFits(file, { hdu: 'catalog' }), UnsupportedFormatError, /binary table/);
    await expectRejects(() => readFits(file, { hdu: 0 }), UnsupportedFormatError, /empty primary/);
    await expectRejects(() => readFits(file, { hdu: 4 }), UnsupportedFormatError, /empty image extension/);
    const missing = await expectRejects(() => readFits(file, { hdu: 9, name: 'm.fits' }), InvalidOptionError, /has 5 HDUs/);
    expect(missing.file).toBe('m.fits');
    await expectRejects(() => readFits(file, { hdu: 'NOPE' }), InvalidOptionError, /FIRST, CATALOG, Second/);
    await expectRejects(() => readFits(file, { hdu: -1 }), InvalidOptionError);
    await expectRejects(() => readFits(fixture('checksum.fits'), { hdu: 'RATE' }), UnsupportedFormatError, /not an image/);
    await expectRejects(() => readFits(writeFitsTable([{ name: 'A', type: 'J', data: [1] }])), UnsupportedFormatError, /no HDU holds an image/);
  });
});

describe('writeFitsImage', () => {
  const w = 5;
  const h = 3;
  const frame = (k: number) => Float64Array.from({ length: w * h }, (_, i) => Math.sin(i + k) * 1e3 + (i === 7 ? NaN : 0));

  it('round-trips float32 and float64 images, single and multi-frame', async () => {
    for (const bitpix of [-32, -64] as const) {
      for (const n of [1, 3]) {
        const frames = Array.from({ length: n }, (_, k) => frame(k));
        const bytes = writeFitsImage(frames, w, h, bitpix === -32 ? {} : { bitpix });
        expect(bytes.length % 2880).toBe(0);
        const src = readFits(bytes);
        expect([src.width, src.height, src.frames, src.hdu]).toEqual([w, h, n, 0]);
        const get = (k: string) => src.header.find((c) => c.key === k)?.value;
        expect(get('BITPIX')).toBe(bitpix);
        expect(get('NAXIS')).toBe(n > 1 ? 3 : 2);
        expect(get('NAXIS3')).toBe(n > 1 ? n : undefined);
        const got = await allFrames(src);
        for (let k = 0; k < n; k++) {
          for (let i = 0; i < w * h; i++) {
            const want = bitpix === -32 ? Math.fround(frames[k]![i]!) : frames[k]![i]!;
            if (Number.isNaN(want)) expect(got[k]![i]).toBeNaN();
            else expect(got[k]![i]).toBe(want);
          }
        }
      }
    }
  });

  it('writes big-endian floats after a 2880-byte header, row 0 first', () => {
    const bytes = writeFitsImage([Float32Array.from([1, 2, 3, 4, 5, 6])], 3, 2);
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    expect(String.fromCharCode(...bytes.subarray(0, 30))).toBe('SIMPLE  =                    T');
    expect(dv.getFloat32(2880)).toBe(1);
    expect(dv.getFloat32(2880 + 4 * 3)).toBe(4);
    expect(bytes.length).toBe(5760);
  });

  it('writes extra header cards that read back', () => {
    const long = 'a long value, '.repeat(8) + "with 'quotes'";
    const cards: HeaderCard[] = [
      { key: 'OBJECT', value: "M31 'core'", comment: 'target' },
      { key: 'EXPTIME', value: 1.5e-7 },
      { key: 'NCOMBINE', value: 12 },
      { key: 'FLAT', value: false },
      { key: 'LONGSTR', value: long, comment: 'continued' },
      { key: 'ESO DET CHIP NAME', value: 'CCD-1' },
      { key: 'COMMENT', value: null, comment: 'written by a test' },
      { key: 'HISTORY', value: null, comment: 'x'.repeat(100) },
      { key: 'BITPIX', value: 16 },
      { key: 'NAXIS1', value: 99 },
    ];
    const src = readFits(writeFitsImage([new Float64Array(4)], 2, 2, { cards }));
    const get = (k: string) => src.header.find((c) => c.key === k);
    expect(get('OBJECT')).toEqual({ key: 'OBJECT', value: "M31 'core'", comment: 'target' });
    expect(get('EXPTIME')?.value).toBe(1.5e-7);
    expect(get('NCOMBINE')?.value).toBe(12);
    expect(get('FLAT')?.value).toBe(false);
    expect(get('LONGSTR')).toEqual({ key: 'LONGSTR', value: long, comment: 'continued' });
    expect(get('ESO DET CHIP NAME')?.value).toBe('CCD-1');
    expect(get('COMMENT')?.comment).toBe('written by a test');
    expect(src.header.filter((c) => c.key === 'HISTORY').map((c) => c.comment).join('')).toBe('x'.repeat(100));
    // Structural keywords come from the writer, never from the cards.
    expect(get('BITPIX')?.value).toBe(-32);
    expect(get('NAXIS1')?.value).toBe(2);
  });

  it('rejects bad arguments with InvalidOptionError', () => {
    expect(() => writeFitsImage([], 2, 2)).toThrow(InvalidOptionError);
    expect(() => writeFitsImage([new Float64Array(3)], 2, 2)).toThrow(InvalidOptionError);
    expect(() => writeFitsImage([new Float64Array(4)], 0, 4)).toThrow(InvalidOptionError);
    expect(() => writeFitsImage([new Float64Array(4)], 2, 2, { bitpix: 16 as never })).toThrow(InvalidOptionError);
    expect(() => writeFitsImage([new Float64Array(4)], 2, 2, { cards: [{ key: 'X', value: NaN }] })).toThrow(InvalidOptionError);
  });
});

describe('writeFitsTable', () => {
  const columns = [
    { name: 'x', unit: 'pix', type: 'D' as const, data: Float64Array.from([1.25, -2.5, 1e-300]) },
    { name: 'flux', unit: 'adu', type: 'E' as const, data: [10.5, NaN, 3e6] },
    { name: 'id', type: 'J' as const, data: Int32Array.from([1, -2, 2147483647]) },
    { name: 'big', type: 'K' as const, data: [2 ** 40, -3, 0] },
  ];

  it('writes an empty primary and a BINTABLE with the standard keywords', () => {
    const bytes = writeFitsTable(columns, { extname: 'SOURCES', cards: [{ key: 'DETECTOR', value: 'cpgd' }] });
    expect(bytes.length % 2880).toBe(0);
    const hdus = listFitsHdus(bytes);
    expect(hdus.map((h) => h.kind)).toEqual(['empty', 'bintable']);
    expect(hdus[1]).toMatchObject({ xtension: 'BINTABLE', extname: 'SOURCES', shape: [24, 3], rows: 3, columns: 4 });
    const h = readFitsHeader(bytes, { hdu: 1 });
    const get = (k: string) => h.find((c) => c.key === k)?.value;
    expect(h.slice(0, 8).map((c) => [c.key, c.value])).toEqual([
      ['XTENSION', 'BINTABLE'],
      ['BITPIX', 8],
      ['NAXIS', 2],
      ['NAXIS1', 24],
      ['NAXIS2', 3],
      ['PCOUNT', 0],
      ['GCOUNT', 1],
      ['TFIELDS', 4],
    ]);
    expect([1, 2, 3, 4].map((i) => [get(`TTYPE${i}`), get(`TFORM${i}`), get(`TUNIT${i}`)])).toEqual([
      ['x', '1D', 'pix'],
      ['flux', '1E', 'adu'],
      ['id', '1J', undefined],
      ['big', '1K', undefined],
    ]);
    expect(get('DETECTOR')).toBe('cpgd');
    const primary = readFitsHeader(bytes);
    expect(primary.map((c) => [c.key, c.value])).toEqual([
      ['SIMPLE', true],
      ['BITPIX', 8],
      ['NAXIS', 0],
      ['EXTEND', true],
    ]);
  });

  it('lays rows out big-endian, column after column, and reads back', () => {
    const bytes = writeFitsTable(columns);
    const start = listFitsHdus(bytes)[1]!.dataOffset;
    const dv = new DataView(bytes.buffer, bytes.byteOffset + start);
    // Row 1 (second row): x at 24, flux at 32, id at 36, big at 40.
    expect(dv.getFloat64(24)).toBe(-2.5);
    expect(dv.getFloat32(32)).toBeNaN();
    expect(dv.getInt32(36)).toBe(-2);
    expect(dv.getBigInt64(40)).toBe(-3n);
    expect(dv.getInt32(24 * 2 + 12)).toBe(2147483647);
    expect(dv.getBigInt64(16)).toBe(2n ** 40n);
    const t = readFitsTable(bytes);
    expect(t.rows).toBe(3);
    expect(t.columns.map((c) => [c.name, c.unit, c.format])).toEqual([
      ['x', 'pix', '1D'],
      ['flux', 'adu', '1E'],
      ['id', null, '1J'],
      ['big', null, '1K'],
    ]);
    expect(Array.from(t.columns[0]!.data!)).toEqual([1.25, -2.5, 1e-300]);
    expect(Array.from(t.columns[1]!.data!)).toEqual([10.5, NaN, 3e6]);
    expect(Array.from(t.columns[2]!.data!)).toEqual([1, -2, 2147483647]);
    expect(Array.from(t.columns[3]!.data!)).toEqual([2 ** 40, -3, 0]);
  });

  it('writes a table of zero rows', () => {
    const bytes = writeFitsTable([{ name: 'x', type: 'D', data: [] }]);
    expect(listFitsHdus(bytes)[1]).toMatchObject({ shape: [8, 0], rows: 0 });
  });

  it('rejects bad columns with InvalidOptionError', () => {
    expect(() => writeFitsTable([])).toThrow(InvalidOptionError);
    expect(() => writeFitsTable([{ name: 'a', type: 'D', data: [1] }, { name: 'b', type: 'D', data: [1, 2] }])).toThrow(InvalidOptionError);
    expect(() => writeFitsTable([{ name: 'a', type: 'J', data: [1.5] }])).toThrow(InvalidOptionError);
    expect(() => writeFitsTable([{ name: 'a', type: 'J', data: [2 ** 31] }])).toThrow(InvalidOptionError);
    expect(() => writeFitsTable([{ name: 'a', type: 'X' as never, data: [1] }])).toThrow(InvalidOptionError);
    expect(() => writeFitsTable([{ name: '', type: 'D', data: [1] }])).toThrow(InvalidOptionError);
    expect(() => writeFitsTable([{ name: 'a', type: 'D', data: [1] }, { name: 'A', type: 'D', data: [1] }])).toThrow(InvalidOptionError);
  });
});

describe('tile-compressed images', () => {
  const r = rng(7);

  it('decodes Rice tiles of 1, 2 and 4 bytes per pixel, with edge tiles', async () => {
    const axes = [13, 7];
    const tile = [5, 3];
    for (const [zbitpix, bytePix, blockSize, gen] of [
      [8, 1, 16, () => Math.floor(r() * 256)],
      [16, 2, 32, () => Math.floor(r() * 65536) - 32768],
      [16, 2, 32, () => 1000 + Math.floor(r() * 5)],
      [32, 4, 16, () => Math.floor(r() * 2 ** 32) - 2 ** 31],
      [32, 4, 32, () => Math.floor(r() * 300)],
    ] as const) {
      const values = Array.from({ length: axes[0]! * axes[1]! }, gen);
      // A flat stretch gives all-zero blocks.
      for (let i = 20; i < 60; i++) values[i] = values[20]!;
      const tiles = tilesOf(axes, tile);
      const file = compressedFile(
        [
          card('ZBITPIX', zbitpix),
          card('ZNAXIS', 2),
          card('ZNAXIS1', axes[0]!),
          card('ZNAXIS2', axes[1]!),
          card('ZTILE1', tile[0]!),
          card('ZTILE2', tile[1]!),
          card('ZCMPTYPE', 'RICE_1'),
          card('ZNAME1', 'BLOCKSIZE'),
          card('ZVAL1', blockSize),
          card('ZNAME2', 'BYTEPIX'),
          card('ZVAL2', bytePix),
        ],
        [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'B', arrays: tiles.map((idx) => riceEncode(idx.map((i) => values[i]!), bytePix, blockSize)) }],
        tiles.length,
      );
      const src = readFits(file);
      expect([src.width, src.height, src.frames]).toEqual([13, 7, 1]);
      expect(Array.from((await src.frame(0)).data), `ZBITPIX ${zbitpix} block ${blockSize}`).toEqual(values);
    }
  });

  it('decodes a cube whose tiles span several frames', async () => {
    const axes = [9, 7, 5];
    const tile = [4, 7, 2];
    const values = Array.from({ length: 9 * 7 * 5 }, (_, i) => (i * 37) % 1000);
    const tiles = tilesOf(axes, tile);
    const file = compressedFile(
      [
        card('ZBITPIX', 16),
        card('ZNAXIS', 3),
        ...axes.map((n, i) => card(`ZNAXIS${i + 1}`, n)),
        ...tile.map((n, i) => card(`ZTILE${i + 1}`, n)),
        card('ZCMPTYPE', 'RICE_1'),
        card('ZNAME1', 'BYTEPIX'),
        card('ZVAL1', 2),
      ],
      [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'B', arrays: tiles.map((idx) => riceEncode(idx.map((i) => values[i]!), 2, 32)) }],
      tiles.length,
    );
    const src = readFits(file);
    expect([src.width, src.height, src.frames]).toEqual([9, 7, 5]);
    for (const f of [4, 0, 3, 1, 2]) {
      expect(Array.from((await src.frame(f)).data), `frame ${f}`).toEqual(values.slice(f * 63, (f + 1) * 63));
    }
  });

  it('decodes GZIP_1 integer tiles with BZERO and BLANK, from P or Q descriptors', async () => {
    const axes = [11, 6];
    const tile = [11, 4];
    const raw = Array.from({ length: 66 }, (_, i) => (i * 997) % 65536 - 32768);
    raw[5] = -32768;
    const tiles = tilesOf(axes, tile);
    for (const q of [false, true]) {
      const file = compressedFile(
        [
          card('ZBITPIX', 16),
          card('ZNAXIS', 2),
          card('ZNAXIS1', 11),
          card('ZNAXIS2', 6),
          card('ZTILE1', 11),
          card('ZTILE2', 4),
          card('ZCMPTYPE', 'GZIP_1'),
          card('BZERO', 32768),
          card('BLANK', -32768),
        ],
        [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'B', q, arrays: tiles.map((idx) => gzipSync(beBytes(idx.map((i) => raw[i]!), 16))) }],
        tiles.length,
      );
      const got = (await readFits(file).frame(0)).data;
      raw.forEach((v, i) => {
        if (v === -32768) expect(got[i]).toBeNaN();
        else expect(got[i]).toBe(v + 32768);
      });
    }
  });

  it('decodes GZIP_2 (byte-shuffled) lossless float tiles', async () => {
    const values = Array.from({ length: 8 * 5 }, () => Math.fround((r() - 0.5) * 1e4));
    values[3] = NaN;
    const tiles = tilesOf([8, 5], [8, 1]);
    const file = compressedFile(
      [card('ZBITPIX', -32), card('ZNAXIS', 2), card('ZNAXIS1', 8), card('ZNAXIS2', 5), card('ZCMPTYPE', 'GZIP_2'), card('ZQUANTIZ', 'NONE')],
      [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'B', arrays: tiles.map((idx) => gzipSync(shuffle(beBytes(idx.map((i) => values[i]!), -32), 4))) }],
      tiles.length,
    );
    const got = Array.from((await readFits(file).frame(0)).data);
    expect(got).toEqual(values);
  });

  it('uses the standard dither sequence (its 10000th seed is 1043618065)', () => {
    expect(ditherSequence().finalSeed).toBe(1043618065);
  });

  for (const method of [1, 2] as const) {
    it(`unquantizes SUBTRACTIVE_DITHER_${method} floats within half a quantization step, with ZBLANK`, async () => {
      const w = 40;
      const h = 30;
      const values = Array.from({ length: w * h }, () => 100 + 20 * (r() - 0.5));
      values[17] = NaN;
      values[45] = 0;
      const tiles = tilesOf([w, h], [w, 1]);
      const scale = 0.01;
      const dither0 = 9990; // tiles walk past the end of the sequence and wrap around
      const zeros = tiles.map((_, t) => 100 + t);
      const quantized = tiles.map((idx, t) => quantizeTile(idx.map((i) => values[i]!), t, dither0, scale, zeros[t]!, method, -2147483647));
      const file = compressedFile(
        [
          card('ZBITPIX', -32),
          card('ZNAXIS', 2),
          card('ZNAXIS1', w),
          card('ZNAXIS2', h),
          card('ZTILE1', w),
          card('ZTILE2', 1),
          card('ZCMPTYPE', 'GZIP_1'),
          card('ZQUANTIZ', `SUBTRACTIVE_DITHER_${method}`),
          card('ZDITHER0', dither0),
          card('ZBLANK', -2147483647),
        ],
        [
          { name: 'COMPRESSED_DATA', kind: 'array', elem: 'B', arrays: quantized.map((q) => gzipSync(beBytes(q, 32))) },
          { name: 'ZSCALE', kind: 'scalar', type: 'D', values: tiles.map(() => scale) },
          { name: 'ZZERO', kind: 'scalar', type: 'D', values: zeros },
        ],
        tiles.length,
      );
      const got = (await readFits(file).frame(0)).data;
      expect(got[17]).toBeNaN();
      if (method === 2) expect(got[45]).toBe(0);
      let worst = 0;
      values.forEach((v, i) => {
        if (!Number.isNaN(v) && !(method === 2 && v === 0)) worst = Math.max(worst, Math.abs(got[i]! - v));
      });
      expect(worst).toBeLessThanOrEqual(scale / 2 + 1e-4);
      expect(worst).toBeGreaterThan(scale / 4); // really quantized
    });
  }

  it('reads NO_DITHER quantized tiles with a ZBLANK column, and the fallback columns', async () => {
    const w = 6;
    const values = [
      [1, 2, 3, 4, 5, 6],
      [0.5, 0.25, NaN, 1e30, -1e30, 7],
      [9, 8, 7, 6, 5, 4],
      [1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
    ];
    const file = compressedFile(
      [card('ZBITPIX', -32), card('ZNAXIS', 2), card('ZNAXIS1', w), card('ZNAXIS2', 4), card('ZTILE1', w), card('ZTILE2', 1), card('ZCMPTYPE', 'RICE_1'), card('ZQUANTIZ', 'NO_DITHER')],
      [
        {
          name: 'COMPRESSED_DATA',
          kind: 'array',
          elem: 'B',
          arrays: [riceEncode([10, 20, 30, 40, 50, 60], 4, 32), null, null, riceEncode([15, 25, -7, 45, 55, 65], 4, 32)],
        },
        { name: 'GZIP_COMPRESSED_DATA', kind: 'array', elem: 'B', arrays: [null, gzipSync(beBytes(values[1]!, -32)), null, null] },
        { name: 'UNCOMPRESSED_DATA', kind: 'array', elem: 'E', arrays: [null, null, beBytes(values[2]!, -32), null] },
        { name: 'ZSCALE', kind: 'scalar', type: 'D', values: [0.1, 0, 0, 0.1] },
        { name: 'ZZERO', kind: 'scalar', type: 'D', values: [0, 0, 0, 0] },
        { name: 'ZBLANK', kind: 'scalar', type: 'J', values: [0, 0, 0, -7] },
      ],
      4,
    );
    const got = Array.from((await readFits(file).frame(0)).data);
    const want = [...values[0]!, ...values[1]!.map(Math.fround), ...values[2]!, 1.5, 2.5, NaN, 4.5, 5.5, 6.5];
    want.forEach((v, i) => {
      if (Number.isNaN(v)) expect(got[i], `#${i}`).toBeNaN();
      else expect(got[i]! / v, `#${i}: ${got[i]} vs ${v}`).toBeCloseTo(1, 6);
    });
  });

  it('reads NOCOMPRESS tiles and PLIO_1 line lists', async () => {
    const values = [0, 0, 5, 5, 5, 0, 0, 9, 70000, 1];
    const nocompress = compressedFile(
      [card('ZBITPIX', 32), card('ZNAXIS', 2), card('ZNAXIS1', 5), card('ZNAXIS2', 2), card('ZCMPTYPE', 'NOCOMPRESS')],
      [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'J', arrays: [beBytes(values.slice(0, 5), 32), beBytes(values.slice(5), 32)] }],
      2,
    );
    expect(Array.from((await readFits(nocompress).frame(0)).data)).toEqual(values);

    // Line 1: zero run of 2, set value 5, run of 3 at the value; old-style 3-word header.
    // Line 2: new-style 7-word header; set 9, zeros then the value (opcode 5), set 70000 and emit it,
    // set 2, subtract 1 and emit.
    const line1 = [0, 0, 8, 0x0002, 0x1005, 0x0000, 0x4003, 0x0000];
    const set70000 = [0x1000 | (70000 & 4095), 70000 >> 12];
    const body2 = [0x1009, 0x0000, 0x5003, ...set70000, 0x6000, 0x1002, 0x0000, 0x7001];
    const line2 = [0, 7, -100, 7 + body2.length, 0, 0, 0, ...body2];
    const plio = compressedFile(
      [card('ZBITPIX', 32), card('ZNAXIS', 2), card('ZNAXIS1', 5), card('ZNAXIS2', 2), card('ZCMPTYPE', 'PLIO_1')],
      [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'I', arrays: [beBytes(line1, 16), beBytes(line2, 16)] }],
      2,
    );
    expect(Array.from((await readFits(plio).frame(0)).data)).toEqual(values);
  });

  it('reports HCOMPRESS_1 and unknown compressions as unsupported', async () => {
    for (const cmp of ['HCOMPRESS_1', 'LZW_9']) {
      const file = compressedFile(
        [card('ZBITPIX', 16), card('ZNAXIS', 2), card('ZNAXIS1', 2), card('ZNAXIS2', 2), card('ZCMPTYPE', cmp)],
        [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'B', arrays: [new Uint8Array([1, 2, 3])] }],
        1,
      );
      const e = await expectRejects(() => readFits(file, { name: 'h.fits' }), UnsupportedFormatError, new RegExp(cmp));
      expect(e.file).toBe('h.fits');
    }
  });

  it('rejects broken tiles with FormatError', async () => {
    const base = (arrays: (Uint8Array | null)[], extra: CardSpec[] = []) =>
      compressedFile(
        [card('ZBITPIX', 16), card('ZNAXIS', 2), card('ZNAXIS1', 4), card('ZNAXIS2', 2), card('ZTILE2', 2), card('ZCMPTYPE', 'RICE_1'), ...extra],
        [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'B', arrays }],
        arrays.length,
      );
    const good = riceEncode([1, 2, 3, 4, 5, 6, 7, 8], 4, 32);
    expect(Array.from((await readFits(base([good])).frame(0)).data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await expectRejects(async () => readFits(base([good.subarray(0, 5)])).frame(0), FormatError, /ends early/);
    await expectRejects(async () => readFits(base([null])).frame(0), FormatError, /no data/);
    await expectRejects(() => readFits(base([good], [card('ZTILE1', 2)])), FormatError, /rows for 2 tiles/);
    const gz = compressedFile(
      [card('ZBITPIX', 16), card('ZNAXIS', 2), card('ZNAXIS1', 4), card('ZNAXIS2', 2), card('ZTILE2', 2), card('ZCMPTYPE', 'GZIP_1')],
      [{ name: 'COMPRESSED_DATA', kind: 'array', elem: 'B', arrays: [new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2])] }],
      1,
    );
    await expectRejects(async () => readFits(gz).frame(0), FormatError, /gzip/);
  });
});

describe('typed errors for bad files', () => {
  const valid = () => imageFile(16, [4, 3], Array.from({ length: 12 }, (_, i) => i));

  it('rejects empty input and garbage', async () => {
    const e = await expectRejects(() => readFits(new Uint8Array(0), { name: 'empty.fits' }), FormatError, /empty/);
    expect(e.file).toBe('empty.fits');
    expect(e.describe()).toMatch(/^empty\.fits: not a valid FITS file/);
    const garbage = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) & 255);
    await expectRejects(() => readFits(garbage, { name: 'g.fits' }), FormatError, /SIMPLE/);
    await expectRejects(() => readFits(new TextEncoder().encode('hello world')), FormatError);
    await expectRejects(() => listFitsHdus(garbage), FormatError);
    await expectRejects(() => readFits(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]), { name: 'x.fits.gz' }), FormatError, /gzip/);
    await expectRejects(() => readFits(gzipSync(new TextEncoder().encode('not fits at all'))), FormatError, /gzip data does not hold a FITS file/);
  });

  it('reads gzip-compressed input like the plain file', async () => {
    const plain = valid();
    const src = readFits(gzipSync(plain));
    expect(Array.from((await src.frame(0)).data)).toEqual(Array.from((await readFits(plain).frame(0)).data));
  });

  it('rejects truncated data and headers', async () => {
    const file = valid();
    const e = await expectRejects(() => readFits(file.subarray(0, 2880 + 10), { name: 't.fits' }), FormatError, /truncated/);
    expect(e.file).toBe('t.fits');
    await expectRejects(() => readFits(file.subarray(0, 1000)), FormatError, /truncated/);
    // The padding of the last block may be missing: the data itself is complete.
    expect(readFits(file.subarray(0, 2880 + 24)).width).toBe(4);
  });

  it('rejects NAXISn of zero, negative, non-integer or absurd size', async () => {
    await expectRejects(() => readFits(imageFile(16, [0, 3], [])), FormatError, /NAXIS1 = 0/);
    await expectRejects(() => readFits(imageFile(16, [4, 0], [])), FormatError, /NAXIS2 = 0/);
    await expectRejects(() => readFits(imageFile(16, [-4, 3], [])), FormatError, /NAXIS1 = -4 is negative/);
    await expectRejects(() => readFits(imageFile(16, [2.5, 3], [])), FormatError, /NAXIS1/);
    await expectRejects(() => readFits(imageFile(16, [100000, 100000], [])), FormatError, /truncated|absurd/);
    await expectRejects(() => readFits(imageFile(8, [2 ** 40, 2 ** 30], [])), FormatError);
  });

  it('rejects a bad BITPIX and a missing END', async () => {
    const bad = imageFile(16, [2, 2], [1, 2, 3, 4]);
    bad.set(new TextEncoder().encode('BITPIX  =                   12'), 80);
    await expectRejects(() => readFits(bad), FormatError, /bad BITPIX 12/);
    const noEnd = imageFile(16, [2, 2], [1, 2, 3, 4]);
    const endAt = String.fromCharCode(...noEnd.subarray(0, 2880)).indexOf('END     ');
    noEnd.set(new TextEncoder().encode('   '), endAt);
    await expectRejects(() => readFits(noEnd, { name: 'n.fits' }), FormatError, /END/);
  });

  it('rejects an extension header that is not an extension, and non-Uint8Array input', async () => {
    const file = concat(primaryEmpty(), imageExtension(16, [2, 2], [1, 2, 3, 4]));
    file.set(new TextEncoder().encode('SIMPLE  '), 2880); // XTENSION replaced
    // Not starting with XTENSION: the walk stops there, so there is no image.
    await expectRejects(() => readFits(file), UnsupportedFormatError);
    await expectRejects(() => readFits('SIMPLE' as never), InvalidOptionError);
  });

  it('never throws anything but typed errors on mutated files', async () => {
    const r = rng(2024);
    const sources = ['comp.fits', 'scaled_blank.fits', 'test0.fits', 'arange.fits', 'fermi_counts.fits.gz'].map(fixture);
    for (let iter = 0; iter < 200; iter++) {
      const orig = sources[iter % sources.length]!;
      const b = orig.slice();
      if (iter % 3 === 0) for (let k = 0; k < 4; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      else if (iter % 3 === 1) for (let k = 0; k < 3; k++) b[Math.floor(r() * Math.min(b.length, 11520))] = 48 + Math.floor(r() * 10);
      const m = iter % 3 === 2 ? b.subarray(0, Math.floor(r() * b.length)) : b;
      try {
        const src = readFits(m, { name: 'fuzz.fits' });
        for (let f = 0; f < Math.min(2, src.frames); f++) await src.frame(f);
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(CpgdError);
        expect((e as CpgdError).file).toBe('fuzz.fits');
      }
    }
  });
});
