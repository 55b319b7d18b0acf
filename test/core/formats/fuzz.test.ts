/**
 * Fuzzing of the FITS and TIFF readers: every .fits / .fits.gz / .tif fixture is a seed, mutated
 * deterministically (bit flips, header byte overwrites, truncation, FITS card edits, TIFF IFD entry
 * edits, duplicated / shuffled / deleted blocks, sometimes two of these in turn). For each mutated
 * file the reader must, within a wall-clock limit, either give a valid image (positive integer
 * sizes, frames 0 and last decoding to width × height values) or reject with a CpgdError whose
 * message is non-empty and that names the file.
 *
 * The cases are reproducible: a failure prints the case number, seed file and mutations.
 * CPGD_FUZZ_CASES=n (default 10 000, spread over the seeds) runs more or fewer, CPGD_FUZZ_SEED=n
 * other cases, CPGD_FUZZ_STATS=1 prints how many cases per seed gave a valid image.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CpgdError } from '../../../src-main/core/errors.js';
import type { ImageSource } from '../../../src-main/core/image.js';
import { readFits } from '../../../src-main/core/formats/fits.js';
import { readTiff } from '../../../src-main/core/formats/tiff.js';
import { FIXTURES } from '../../paths.js';

const TOTAL_CASES = Number(process.env.CPGD_FUZZ_CASES ?? 10_000);
const BASE_SEED = Number(process.env.CPGD_FUZZ_SEED ?? 0x5eed);
/** Wall-clock limit for one case: open + decode of frame 0 and of the last frame. */
const CASE_LIMIT_MS = 2000;
const BLOCK = 2880;
const CARD = 80;

const seeds = readdirSync(FIXTURES)
  .filter((n) => /\.(fits|fits\.gz|tif)$/.test(n))
  .sort();
const perSeed = Math.ceil(TOTAL_CASES / seeds.length);

// ---------------------------------------------------------------------------------------------
// Deterministic random numbers (mulberry32), seeded per fixture so cases do not depend on order.

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Generic mutations.

type Mutation = (b: Uint8Array, rng: Rng, log: string[]) => Uint8Array;

/** A region of interest for targeted mutations: [start, end) byte ranges. */
type Ranges = [number, number][];

function pickIn(ranges: Ranges, len: number, rng: Rng): number {
  const usable = ranges.map(([a, z]) => [a, Math.min(z, len)] as [number, number]).filter(([a, z]) => z > a);
  if (usable.length === 0) return rng.int(0, Math.max(0, len - 1));
  const [a, z] = rng.pick(usable);
  return rng.int(a, z - 1);
}

function bitFlips(regions: (b: Uint8Array) => Ranges): Mutation {
  return (b, rng, log) => {
    if (b.length === 0) return b;
    const out = b.slice();
    const n = rng.int(1, 20);
    const targeted = rng.chance(0.5);
    const ranges = targeted ? regions(out) : [[0, out.length] as [number, number]];
    for (let k = 0; k < n; k++) {
      const p = pickIn(ranges, out.length, rng);
      out[p] = out[p]! ^ (1 << rng.int(0, 7));
    }
    log.push(`${n} bit flips${targeted ? ' in the header region' : ''}`);
    return out;
  };
}

function headerOverwrite(regions: (b: Uint8Array) => Ranges, alphabet: readonly number[]): Mutation {
  return (b, rng, log) => {
    if (b.length === 0) return b;
    const out = b.slice();
    const n = rng.int(1, 12);
    const ranges = regions(out);
    for (let k = 0; k < n; k++) {
      const p = pickIn(ranges, out.length, rng);
      out[p] = rng.chance(0.5) ? rng.pick(alphabet) : rng.int(0, 255);
    }
    log.push(`${n} byte overwrites in the header region`);
    return out;
  };
}

function truncation(boundaries: (b: Uint8Array) => number[]): Mutation {
  return (b, rng, log) => {
    let n: number;
    const marks = boundaries(b).filter((m) => m >= 0 && m < b.length);
    if (marks.length > 0 && rng.chance(0.4)) n = Math.max(0, Math.min(b.length - 1, rng.pick(marks) + rng.pick([-81, -80, -1, 0, 0, 1, 2, 80])));
    else n = rng.int(0, Math.max(0, b.length - 1));
    log.push(`truncated to ${n} of ${b.length} bytes`);
    return b.slice(0, n);
  };
}

function blocks(blockSize: (b: Uint8Array, rng: Rng) => number): Mutation {
  return (b, rng, log) => {
    const size = blockSize(b, rng);
    const count = Math.floor(b.length / size);
    if (count < 2) return b;
    const i = rng.int(0, count - 1);
    let j = rng.int(0, count - 2);
    if (j >= i) j++;
    const block = (k: number) => b.subarray(k * size, (k + 1) * size);
    const op = rng.int(0, 3);
    if (op === 0) {
      // swap blocks i and j
      const out = b.slice();
      out.set(block(j), i * size);
      out.set(block(i), j * size);
      log.push(`swapped blocks ${i} and ${j} of ${size} bytes`);
      return out;
    }
    if (op === 1) {
      // duplicate block i (inserted before block j)
      const out = new Uint8Array(b.length + size);
      out.set(b.subarray(0, j * size), 0);
      out.set(block(i), j * size);
      out.set(b.subarray(j * size), (j + 1) * size);
      log.push(`block ${i} of ${size} bytes duplicated before block ${j}`);
      return out;
    }
    if (op === 2) {
      // delete block i
      const out = new Uint8Array(b.length - size);
      out.set(b.subarray(0, i * size), 0);
      out.set(b.subarray((i + 1) * size), i * size);
      log.push(`deleted block ${i} of ${size} bytes`);
      return out;
    }
    // overwrite block j with a copy of block i
    const out = b.slice();
    out.set(block(i), j * size);
    log.push(`block ${j} of ${size} bytes overwritten by block ${i}`);
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// FITS: header layout and card edits.

interface FitsHeader {
  start: number;
  /** Offset just past the END card (or the end of the scanned region when there is none). */
  endCard: number;
  /** Start of the data: endCard rounded up to a block. */
  dataStart: number;
}

function ascii(b: Uint8Array, p: number, n: number): string {
  let s = '';
  for (let i = p; i < p + n && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** The headers of a FITS file: every block starting with SIMPLE or XTENSION, up to its END card. */
function fitsHeaders(b: Uint8Array): FitsHeader[] {
  const out: FitsHeader[] = [];
  for (let p = 0; p + CARD <= b.length; p += BLOCK) {
    const head = ascii(b, p, 9);
    if (head !== 'SIMPLE  =' && head !== 'XTENSION=') continue;
    let endCard = -1;
    for (let q = p; q + CARD <= b.length; q += CARD) {
      if (ascii(b, q, CARD).trimEnd() === 'END') {
        endCard = q + CARD;
        break;
      }
    }
    if (endCard < 0) endCard = Math.min(b.length, p + BLOCK);
    out.push({ start: p, endCard, dataStart: Math.min(b.length, Math.ceil(endCard / BLOCK) * BLOCK) });
    p = Math.ceil(endCard / BLOCK) * BLOCK - BLOCK;
  }
  return out;
}

const fitsRegions = (b: Uint8Array): Ranges => fitsHeaders(b).map((h) => [h.start, h.endCard]);

const FITS_ALPHABET = [...' 0123456789-+.=\'ETFDX/'].map((c) => c.charCodeAt(0));

const INTERESTING_KEY = /^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|BZERO|BSCALE|BLANK|PCOUNT|GCOUNT|GROUPS|EXTEND|THEAP|TFIELDS|T(FORM|TYPE|SCAL|ZERO|NULL)\d+|Z[A-Z0-9]+)$/;

const NUMBERS = [
  '0', '-1', '1', '2', '3', '4', '7', '8', '16', '32', '64', '-8', '-32', '-64', '999', '1000', '65535', '65536',
  '2147483647', '2147483648', '-2147483648', '4294967295', '4294967296', '9007199254740991', '9007199254740993',
  '99999999999999999999999', '1E300', '-1E300', '1E-300', '1.5', '0.0', '-0.5', '1D10', '32768', '-32768',
];
const OTHERS = [
  "'RICE_1  '", "'RICE_ONE'", "'GZIP_1  '", "'GZIP_2  '", "'PLIO_1  '", "'HCOMPRESS_1'", "'NOCOMPRESS'", "'BOGUS   '",
  "''", "'1PB(2880)'", "'1QJ     '", "'1PJ(99999999)'", "'100000000J'", "'2147483647E'", "'8X      '", "'1PE     '",
  "'SUBTRACTIVE_DITHER_2'", "'IMAGE   '", "'BINTABLE'", "'TABLE   '", 'T', 'F', '', "'unterminated", 'NaN', 'Infinity', '-',
];

function cardValue(rng: Rng, original: string): string {
  const r = rng.next();
  if (r < 0.45) return rng.pick(NUMBERS);
  if (r < 0.65) {
    const n = Number(original.split('/')[0]!.trim());
    if (Number.isFinite(n)) return String(Math.trunc(n) + rng.pick([-2, -1, 1, 2, 10, -10, 1000]));
    return String(rng.int(-100000, 100000));
  }
  if (r < 0.75) return String(rng.int(-(2 ** 31), 2 ** 31));
  if (r < 0.8) return (rng.next() * 10 ** rng.int(-10, 20)).toExponential(6).toUpperCase();
  return rng.pick(OTHERS);
}

function pad80(s: string): string {
  return s.length >= CARD ? s.slice(0, CARD) : s + ' '.repeat(CARD - s.length);
}

/** Edits the cards of one header (values, END, deleted / duplicated / swapped cards). */
const fitsCardEdit: Mutation = (b, rng, log) => {
  const headers = fitsHeaders(b);
  if (headers.length === 0) return b;
  const h = rng.pick(headers);
  const cards: string[] = [];
  for (let p = h.start; p + CARD <= h.dataStart; p += CARD) cards.push(ascii(b, p, CARD));
  const edits = rng.int(1, 3);
  for (let e = 0; e < edits; e++) {
    const endIndex = cards.findIndex((c) => c.trimEnd() === 'END');
    const valued = cards.map((c, i) => i).filter((i) => cards[i]!.slice(8, 10) === '= ');
    const interesting = valued.filter((i) => INTERESTING_KEY.test(cards[i]!.slice(0, 8).trim()));
    const op = rng.next();
    if (op < 0.65 && valued.length > 0) {
      const i = interesting.length > 0 && rng.chance(0.85) ? rng.pick(interesting) : rng.pick(valued);
      const key = cards[i]!.slice(0, 8);
      const v = cardValue(rng, cards[i]!.slice(10));
      cards[i] = pad80(`${key}= ${v.startsWith("'") ? v : v.padStart(20)}`);
      log.push(`HDU at ${h.start}: ${key.trim()} = ${v}`);
    } else if (op < 0.75 && endIndex >= 0) {
      const repl = rng.pick(['', 'ENDX', 'END     = 1', 'END  x', 'COMMENT END']);
      cards[endIndex] = pad80(repl);
      log.push(`HDU at ${h.start}: END replaced by '${repl}'`);
    } else if (op < 0.85 && cards.length > 1) {
      const i = rng.int(0, cards.length - 1);
      cards.splice(i, 1);
      log.push(`HDU at ${h.start}: card ${i} deleted`);
    } else if (op < 0.93) {
      const i = rng.int(0, cards.length - 1);
      const j = rng.int(0, cards.length);
      cards.splice(j, 0, cards[i]!);
      log.push(`HDU at ${h.start}: card ${i} duplicated at ${j}`);
    } else if (cards.length > 1) {
      const i = rng.int(0, cards.length - 1);
      const j = rng.int(0, cards.length - 1);
      [cards[i], cards[j]] = [cards[j]!, cards[i]!];
      log.push(`HDU at ${h.start}: cards ${i} and ${j} swapped`);
    }
  }
  let text = cards.join('');
  text += ' '.repeat((BLOCK - (text.length % BLOCK)) % BLOCK);
  const out = new Uint8Array(b.length - (h.dataStart - h.start) + text.length);
  out.set(b.subarray(0, h.start), 0);
  for (let i = 0; i < text.length; i++) out[h.start + i] = text.charCodeAt(i) & 0xff;
  out.set(b.subarray(h.dataStart), h.start + text.length);
  return out;
};

const FITS_MUTATIONS: [weight: number, m: Mutation][] = [
  [3, bitFlips(fitsRegions)],
  [2, headerOverwrite(fitsRegions, FITS_ALPHABET)],
  [2, truncation((b) => fitsHeaders(b).flatMap((h) => [h.start, h.endCard, h.dataStart]).concat(Array.from({ length: Math.floor(b.length / BLOCK) }, (_, k) => k * BLOCK)))],
  [5, fitsCardEdit],
  [2, blocks((b, rng) => (rng.chance(0.8) ? BLOCK : rng.pick([80, 160, 1440, 5760])))],
];

// ---------------------------------------------------------------------------------------------
// TIFF: IFD layout and entry edits.

interface Ifd {
  offset: number;
  entries: number;
  /** Position of the first entry. */
  first: number;
  /** Position of the next-IFD offset. */
  next: number;
}

interface TiffLayout {
  le: boolean;
  big: boolean;
  ifds: Ifd[];
}

function tiffLayout(b: Uint8Array): TiffLayout | null {
  if (b.length < 8) return null;
  const le = b[0] === 0x49;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint16(2, le);
  const big = magic === 43;
  if (magic !== 42 && !big) return null;
  if (big && b.length < 16) return null;
  const u64 = (p: number) => Number(dv.getBigUint64(p, le));
  const ifds: Ifd[] = [];
  const seen = new Set<number>();
  let off = big ? u64(8) : dv.getUint32(4, le);
  while (off !== 0 && !seen.has(off) && ifds.length < 1000) {
    seen.add(off);
    const countSize = big ? 8 : 2;
    if (off + countSize > b.length) break;
    const n = big ? u64(off) : dv.getUint16(off, le);
    const next = off + countSize + n * (big ? 20 : 12);
    if (next + (big ? 8 : 4) > b.length) break;
    ifds.push({ offset: off, entries: n, first: off + countSize, next });
    off = big ? u64(next) : dv.getUint32(next, le);
  }
  return { le, big, ifds };
}

const tiffRegions = (b: Uint8Array): Ranges => {
  const t = tiffLayout(b);
  const r: Ranges = [[0, 8]];
  for (const ifd of t?.ifds ?? []) r.push([ifd.offset, ifd.next + (t!.big ? 8 : 4)]);
  return r;
};

const TAGS = [254, 256, 257, 258, 259, 262, 270, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 339, 330, 65535, 0];

function value32(rng: Rng, len: number, ifds: Ifd[]): number {
  return rng.pick([
    0, 1, 2, 8, 0x7fffffff, 0x80000000, 0xffffffff, len, len - 1, len + 1, rng.int(0, len), rng.int(0, 0xffffffff),
    ifds.length > 0 ? rng.pick(ifds).offset : 8, 65535, 65536,
  ]) >>> 0;
}

/** Edits IFD entries (tag, type, count, value / offset), entry counts, next-IFD offsets and array values. */
const tiffIfdEdit: Mutation = (b, rng, log) => {
  const t = tiffLayout(b);
  if (!t || t.ifds.length === 0) return b;
  const out = b.slice();
  const dv = new DataView(out.buffer);
  const { le, big } = t;
  const entrySize = big ? 20 : 12;
  const edits = rng.int(1, 3);
  for (let e = 0; e < edits; e++) {
    const ifd = rng.pick(t.ifds);
    const op = rng.next();
    if (op < 0.08) {
      const n = rng.pick([0, 1, ifd.entries - 1, ifd.entries + 1, 0xffff, rng.int(0, 0xffff)]) & 0xffff;
      if (big) dv.setBigUint64(ifd.offset, BigInt(n), le);
      else dv.setUint16(ifd.offset, n, le);
      log.push(`IFD at ${ifd.offset}: entry count ${n}`);
      continue;
    }
    if (op < 0.16) {
      const v = rng.pick([0, ifd.offset, t.ifds[0]!.offset, 8, out.length - 1, out.length, 0xffffffff, rng.int(0, out.length)]);
      if (big) dv.setBigUint64(ifd.next, BigInt(v), le);
      else dv.setUint32(ifd.next, v >>> 0, le);
      log.push(`IFD at ${ifd.offset}: next IFD ${v}`);
      continue;
    }
    if (ifd.entries === 0) continue;
    const k = rng.int(0, ifd.entries - 1);
    const q = ifd.first + k * entrySize;
    const tag = dv.getUint16(q, le);
    const type = dv.getUint16(q + 2, le);
    const count = big ? Number(dv.getBigUint64(q + 4, le)) : dv.getUint32(q + 4, le);
    const valuePos = q + (big ? 12 : 8);
    const field = rng.next();
    if (field < 0.12) {
      const v = rng.chance(0.7) ? rng.pick(TAGS) : rng.int(0, 0xffff);
      dv.setUint16(q, v, le);
      log.push(`IFD at ${ifd.offset}, entry ${k}: tag ${tag} -> ${v}`);
    } else if (field < 0.27) {
      const v = rng.pick([0, 1, 2, 3, 4, 5, 7, 11, 12, 13, 14, 16, 17, 18, 19, 0xffff, rng.int(0, 0xffff)]);
      dv.setUint16(q + 2, v, le);
      log.push(`IFD at ${ifd.offset}, entry ${k} (tag ${tag}): type ${type} -> ${v}`);
    } else if (field < 0.47) {
      const v = rng.pick([0, 1, 2, count - 1, count + 1, count * 2, 0x7fffffff, 0xffffffff, rng.int(0, 0xffffffff), rng.int(0, 100)]) >>> 0;
      if (big) dv.setBigUint64(q + 4, BigInt(v), le);
      else dv.setUint32(q + 4, v, le);
      log.push(`IFD at ${ifd.offset}, entry ${k} (tag ${tag}): count ${count} -> ${v}`);
    } else {
      // The value (inline) or the offset of the values; arrays out of line get an element edited.
      const size = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8][type] ?? 0;
      const inline = size * count <= (big ? 8 : 4);
      const v = value32(rng, out.length, t.ifds);
      if (!inline && size > 0 && rng.chance(0.5)) {
        const at = big ? Number(dv.getBigUint64(valuePos, le)) : dv.getUint32(valuePos, le);
        const i = rng.int(0, Math.max(0, Math.min(count, 4096) - 1));
        const p = at + i * size;
        if (p + size <= out.length) {
          if (size === 1) out[p] = v & 0xff;
          else if (size === 2) dv.setUint16(p, v & 0xffff, le);
          else if (size === 4) dv.setUint32(p, v, le);
          else dv.setBigUint64(p, BigInt(v), le);
          log.push(`IFD at ${ifd.offset}, entry ${k} (tag ${tag}): value ${i} -> ${v}`);
        }
      } else if (inline && type === 3) {
        dv.setUint16(valuePos, v & 0xffff, le);
        log.push(`IFD at ${ifd.offset}, entry ${k} (tag ${tag}): short value -> ${v & 0xffff}`);
      } else if (inline && type === 1) {
        out[valuePos] = v & 0xff;
        log.push(`IFD at ${ifd.offset}, entry ${k} (tag ${tag}): byte value -> ${v & 0xff}`);
      } else {
        if (big) dv.setBigUint64(valuePos, BigInt(v), le);
        else dv.setUint32(valuePos, v, le);
        log.push(`IFD at ${ifd.offset}, entry ${k} (tag ${tag}): value/offset -> ${v}`);
      }
    }
  }
  return out;
};

const TIFF_MUTATIONS: [weight: number, m: Mutation][] = [
  [3, bitFlips(tiffRegions)],
  [2, headerOverwrite(tiffRegions, [0, 0xff, 1, 2, 3, 0x2a, 0x49, 0x4d, 0x80, 0x7f])],
  [2, truncation((b) => (tiffLayout(b)?.ifds ?? []).flatMap((i) => [i.offset, i.first, i.next]))],
  [5, tiffIfdEdit],
  [2, blocks((b, rng) => rng.pick([16, 64, 256, 1024, 4096].filter((s) => s * 2 <= b.length).concat([8])))],
];

function pickWeighted(list: [number, Mutation][], rng: Rng): Mutation {
  let total = 0;
  for (const [w] of list) total += w;
  let r = rng.next() * total;
  for (const [w, m] of list) {
    r -= w;
    if (r < 0) return m;
  }
  return list[list.length - 1]![1];
}

// ---------------------------------------------------------------------------------------------
// One case.

interface Seed {
  name: string;
  kind: 'fits' | 'fits.gz' | 'tiff';
  bytes: Uint8Array;
  /** The inflated FITS of a .fits.gz seed. */
  inflated?: Uint8Array;
}

function loadSeed(name: string): Seed {
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, name)));
  if (name.endsWith('.fits.gz')) return { name, kind: 'fits.gz', bytes, inflated: gunzipSync(bytes) };
  return { name, kind: name.endsWith('.tif') ? 'tiff' : 'fits', bytes };
}

function mutate(seed: Seed, rng: Rng, log: string[]): Uint8Array {
  const rounds = rng.chance(0.25) ? 2 : 1;
  if (seed.kind === 'fits.gz' && rng.chance(0.3)) {
    // The compressed bytes themselves.
    let b = seed.bytes;
    for (let r = 0; r < rounds; r++) {
      const generic: [number, Mutation][] = [
        [3, bitFlips(() => [[0, 64]])],
        [2, headerOverwrite(() => [[0, 32]], [0, 0xff, 0x1f, 0x8b, 8])],
        [2, truncation(() => [10, 18])],
        [1, blocks((x, g) => g.pick([64, 512, 4096]))],
      ];
      b = pickWeighted(generic, rng)(b, rng, log);
    }
    log.unshift('gzip bytes:');
    return b;
  }
  let b = seed.kind === 'fits.gz' ? seed.inflated! : seed.bytes;
  const list = seed.kind === 'tiff' ? TIFF_MUTATIONS : FITS_MUTATIONS;
  for (let r = 0; r < rounds; r++) b = pickWeighted(list, rng)(b, rng, log);
  if (seed.kind === 'fits.gz') {
    log.unshift('inflated, mutated, gzipped again:');
    return gzipSync(b, { level: 1 });
  }
  return b;
}

interface Outcome {
  ok: boolean;
  problem?: string;
  ms: number;
}

function checkError(e: unknown, name: string): string | undefined {
  if (!(e instanceof CpgdError)) {
    const what = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n')}` : String(e);
    return `untyped error ${what}`;
  }
  if (!e.message) return `${e.name} with an empty message`;
  if (e.file !== name && !e.message.includes(name)) return `${e.name} does not name the file (file ${String(e.file)}): ${e.message}`;
  return undefined;
}

async function runCase(seed: Seed, bytes: Uint8Array, name: string): Promise<Outcome> {
  const t0 = performance.now();
  let src: ImageSource;
  try {
    src = seed.kind === 'tiff' ? await readTiff(bytes, { name }) : readFits(bytes, { name });
  } catch (e) {
    const problem = checkError(e, name);
    return { ok: false, ms: performance.now() - t0, ...(problem ? { problem } : {}) };
  }
  const { width, height, frames } = src;
  for (const [what, v] of [['width', width], ['height', height], ['frames', frames]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) return { ok: false, ms: performance.now() - t0, problem: `valid image with ${what} = ${v}` };
  }
  const wanted = frames > 1 ? [0, frames - 1] : [0];
  for (const i of wanted) {
    try {
      const img = await src.frame(i);
      if (!(img.data instanceof Float64Array) || img.data.length !== width * height || img.width !== width || img.height !== height) {
        return { ok: false, ms: performance.now() - t0, problem: `frame ${i} of ${img.width}×${img.height} with ${img.data.length} values for ${width}×${height}` };
      }
    } catch (e) {
      const problem = checkError(e, name);
      return { ok: false, ms: performance.now() - t0, ...(problem ? { problem: `frame ${i}: ${problem}` } : {}) };
    }
  }
  return { ok: true, ms: performance.now() - t0 };
}

// ---------------------------------------------------------------------------------------------

describe(`reader fuzzing (${perSeed * seeds.length} mutated fixtures, ${seeds.length} seeds)`, () => {
  // geotiff's LZW decoder warns on every truncated block; keep the output readable.
  const warn = console.warn.bind(console);
  beforeAll(() => {
    vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('ran off the end of the buffer before finding EOI_CODE')) return;
      warn(...args);
    });
  });
  afterAll(() => vi.restoreAllMocks());

  it('has seeds', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(30);
    expect(perSeed * seeds.length).toBeGreaterThanOrEqual(Math.min(TOTAL_CASES, 10_000));
  });

  for (const seedName of seeds) {
    it(`${seedName}: ${perSeed} mutations give a valid image or a typed error naming the file, each within ${CASE_LIMIT_MS} ms`, async () => {
      const seed = loadSeed(seedName);
      const rng = new Rng(hash(seedName) ^ BASE_SEED);
      const failures: string[] = [];
      let valid = 0;
      let slowest = 0;
      for (let k = 0; k < perSeed; k++) {
        const log: string[] = [];
        const bytes = mutate(seed, rng, log);
        const name = `fuzz-${k}-${seedName}`;
        const r = await runCase(seed, bytes, name);
        slowest = Math.max(slowest, r.ms);
        if (r.ok) valid++;
        const problem = r.problem ?? (r.ms > CASE_LIMIT_MS ? `took ${r.ms.toFixed(0)} ms` : undefined);
        if (problem) failures.push(`case ${k} (${log.join('; ')}): ${problem}`);
      }
      if (process.env.CPGD_FUZZ_STATS) console.log(`${seedName}: ${valid} valid of ${perSeed}, slowest ${slowest.toFixed(0)} ms`);
      expect(failures.slice(0, 20), `${failures.length} failures; ${valid} valid; slowest ${slowest.toFixed(0)} ms`).toEqual([]);
    });
  }
});
