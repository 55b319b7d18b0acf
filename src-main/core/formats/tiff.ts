/**
 * TIFF reading (through geotiff) and writing (a small baseline writer of our own).
 *
 * Reading model: every page (IFD) of the main chain is a frame, in file order. A page with several
 * samples per pixel (RGB, multi-channel, planar or interleaved) gives one frame per sample, page by
 * page (page p, sample s is frame p * samples + s): that is how tifffile presents a planar
 * (3, height, width) array, and it keeps every channel of a microscope image. OME-TIFF planes are
 * pages, so they are frames too. Values are the stored numbers, unscaled: no photometric
 * inversion (WhiteIsZero), no palette lookup, no Orientation flip (the first row of a frame is the
 * first row in the file).
 *
 * Supported: 8/16/32-bit unsigned and signed integers, 16/32/64-bit floats, either byte order,
 * classic TIFF and BigTIFF, strips and tiles, compression none/LZW/Deflate/PackBits, predictors 2
 * (horizontal) and 3 (floating point).
 *
 * Safety: the bytes are checked by our own scan before geotiff sees them (header, IFD chain
 * without loops, every tag value, strip and tile inside the file), because geotiff assumes sane
 * input: on broken offsets it throws RangeError, allocates arrays the size of a garbage count, or
 * loops forever on an IFD cycle. Anything geotiff still throws is wrapped in a FormatError.
 */

import { fromArrayBuffer, GeoTIFF as GeoTIFFReader, getDecoder, type BaseDecoder, type GeoTIFF, type ImageFileDirectory } from 'geotiff';
import { isByteSource, memorySource, type ByteSource } from './bytes.js';
import { CpgdError, FormatError, InvalidImageError, InvalidOptionError, UnsupportedFormatError } from '../errors.js';
import type { HeaderCard, Image, ImageSource } from '../image.js';
import { cameraFromOmeXml } from '../camera.js';
import { VERSION } from '../version.js';

const FORMAT = 'TIFF';

/** Largest frame decoded, in pixels (2^28 pixels is a 2 GiB Float64Array). */
const MAX_FRAME_PIXELS = 2 ** 28;
/** ImageDescription longer than this is cut in the header card (the OME-XML of a big file can be megabytes). */
const MAX_DESCRIPTION_CHARS = 1024;

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface ReadTiffOptions {
  /** The file name, for error messages. */
  name?: string;
}

export interface WriteTiffOptions {
  /** Sample type: 'float32' (default, SampleFormat 3) or 'uint16' (values rounded and clamped to 0..65535, NaN to 0). */
  type?: 'float32' | 'uint16';
  /** ImageDescription of the first page (UTF-8). */
  description?: string;
  /**
   * XResolution, YResolution (pixels per unit, written as the closest 32-bit rationals) and
   * ResolutionUnit (1 none, 2 inch, 3 centimetre). Default 1 pixel per (no) unit.
   */
  resolution?: { x: number; y: number; unit: 1 | 2 | 3 };
}

// ---------------------------------------------------------------------------------------------
// Structure scan (our own, before geotiff).

/** Bytes per value of each TIFF field type (0 = not a TIFF type). geotiff knows the same set. */
const TYPE_SIZE: readonly number[] = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8];

const TAG_NAMES: Record<number, string> = {
  254: 'NewSubfileType',
  256: 'ImageWidth',
  257: 'ImageLength',
  258: 'BitsPerSample',
  259: 'Compression',
  262: 'PhotometricInterpretation',
  266: 'FillOrder',
  269: 'DocumentName',
  270: 'ImageDescription',
  271: 'Make',
  272: 'Model',
  273: 'StripOffsets',
  274: 'Orientation',
  277: 'SamplesPerPixel',
  278: 'RowsPerStrip',
  279: 'StripByteCounts',
  282: 'XResolution',
  283: 'YResolution',
  284: 'PlanarConfiguration',
  285: 'PageName',
  296: 'ResolutionUnit',
  305: 'Software',
  306: 'DateTime',
  315: 'Artist',
  316: 'HostComputer',
  317: 'Predictor',
  322: 'TileWidth',
  323: 'TileLength',
  324: 'TileOffsets',
  325: 'TileByteCounts',
  339: 'SampleFormat',
  33432: 'Copyright',
};

function tagName(tag: number): string {
  return TAG_NAMES[tag] ?? `tag ${tag}`;
}

interface Entry {
  type: number;
  count: number;
  /** Byte position of the first value (inside the entry when it fits there). */
  pos: number;
}

interface Scan {
  le: boolean;
  big: boolean;
  /** Byte offset of each page's IFD, in chain order. */
  ifds: number[];
  width: number;
  height: number;
  samples: number;
}

/** A window of the file that has been read. */
interface Window {
  start: number;
  bytes: Uint8Array;
  view: DataView;
}

/** Windows of the file kept while scanning its structure (each at least MIN_WINDOW bytes). */
const MIN_WINDOW = 1024;
const MAX_WINDOWS = 256;

/**
 * Typed reads at absolute file offsets. In memory the whole file is one window; from a file,
 * `load` reads the ranges the structure scan needs before it reads them synchronously.
 */
class Reader {
  le = true;
  private readonly windows: Window[] = [];
  private last: Window | undefined;
  constructor(readonly source: ByteSource) {
    if (source.bytes) this.last = window(0, source.bytes);
  }
  get size(): number {
    return this.source.size;
  }
  /** Make [p, p + n) readable (the caller has checked it lies inside the file). */
  async load(p: number, n: number): Promise<void> {
    if (this.find(p, n)) return;
    const bytes = await this.source.read(p, Math.min(Math.max(n, MIN_WINDOW), this.size - p));
    if (bytes.length < n) throw new FormatError(FORMAT, `cannot read ${n} bytes at offset ${p}`, undefined, p);
    if (this.windows.length >= MAX_WINDOWS) this.windows.shift();
    const w = window(p, bytes);
    this.windows.push(w);
    this.last = w;
  }
  private find(p: number, n: number): Window | undefined {
    const inside = (w: Window | undefined) => w !== undefined && p >= w.start && p + n <= w.start + w.bytes.length;
    if (inside(this.last)) return this.last;
    for (let i = this.windows.length - 1; i >= 0; i--) {
      if (inside(this.windows[i])) return (this.last = this.windows[i]);
    }
    return undefined;
  }
  private at(p: number, n: number): Window {
    const w = this.find(p, n);
    // A bug of the scan (a read without load), not a property of the file.
    if (!w) throw new Error(`TIFF scan: bytes ${p}..${p + n} were not loaded`);
    return w;
  }
  u8(p: number): number {
    const w = this.at(p, 1);
    return w.bytes[p - w.start]!;
  }
  u16(p: number): number {
    const w = this.at(p, 2);
    return w.view.getUint16(p - w.start, this.le);
  }
  u32(p: number): number {
    const w = this.at(p, 4);
    return w.view.getUint32(p - w.start, this.le);
  }
  /** A 64-bit unsigned value, or Infinity when it exceeds 2^53 (then it is past any file end). */
  u64(p: number): number {
    const w = this.at(p, 8);
    const lo = w.view.getUint32(p - w.start + (this.le ? 0 : 4), this.le);
    const hi = w.view.getUint32(p - w.start + (this.le ? 4 : 0), this.le);
    return hi >= 2 ** 21 ? Infinity : hi * 2 ** 32 + lo;
  }
  /** Value i of an unsigned integer entry (BYTE, SHORT, LONG, LONG8, IFD, IFD8). */
  uint(e: Entry, i: number): number {
    const size = TYPE_SIZE[e.type]!;
    const p = e.pos + i * size;
    switch (e.type) {
      case 1:
        return this.u8(p);
      case 3:
        return this.u16(p);
      case 4:
      case 13:
        return this.u32(p);
      case 16:
      case 18:
        return this.u64(p);
      default:
        return NaN;
    }
  }
}

function window(start: number, bytes: Uint8Array): Window {
  return { start, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

async function scanTiff(source: ByteSource, name: string | undefined): Promise<Scan> {
  const len = source.size;
  const bad = (reason: string, offset?: number) => new FormatError(FORMAT, reason, name, offset);
  if (len === 0) throw bad('the file is empty');
  if (len < 8) throw bad(`${len} bytes is too short for a TIFF header`, 0);
  const r = new Reader(source);
  await r.load(0, Math.min(len, 16));
  const bom = (r.u8(0) << 8) | r.u8(1);
  if (bom !== 0x4949 && bom !== 0x4d4d) throw bad('no TIFF byte-order mark (II or MM) at the start', 0);
  const le = bom === 0x4949;
  r.le = le;
  const magic = r.u16(2);
  let big: boolean;
  let first: number;
  if (magic === 42) {
    big = false;
    first = r.u32(4);
  } else if (magic === 43) {
    big = true;
    if (len < 16) throw bad(`${len} bytes is too short for a BigTIFF header`, 0);
    if (r.u16(4) !== 8 || r.u16(6) !== 0) throw bad('BigTIFF header with an offset size other than 8', 4);
    first = r.u64(8);
  } else {
    throw bad(`bad magic number ${magic} (expected 42, or 43 for BigTIFF)`, 2);
  }
  const headerSize = big ? 16 : 8;
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const inline = big ? 8 : 4;

  const ifds: number[] = [];
  const seen = new Set<number>();
  let width = 0;
  let height = 0;
  let samples = 0;
  for (let off = first; off !== 0; ) {
    const p = ifds.length;
    if (off < headerSize || off + countSize > len) {
      throw bad(`IFD of page ${p} at offset ${off} is outside the file (${len} bytes): truncated or broken offset`, off);
    }
    if (seen.has(off)) throw bad(`the IFD chain loops back to offset ${off} at page ${p}`, off);
    seen.add(off);
    await r.load(off, countSize);
    const n = big ? r.u64(off) : r.u16(off);
    if (n === 0) throw bad(`IFD of page ${p} at offset ${off} has no entries`, off);
    const end = off + countSize + n * entrySize + inline;
    if (end > len) throw bad(`IFD of page ${p} (${n} entries at offset ${off}) runs past the end of the file: truncated`, off);
    await r.load(off, end - off);
    const entries = new Map<number, Entry>();
    for (let k = 0; k < n; k++) {
      const q = off + countSize + k * entrySize;
      const tag = r.u16(q);
      const type = r.u16(q + 2);
      const count = big ? r.u64(q + 4) : r.u32(q + 4);
      const size = TYPE_SIZE[type] ?? 0;
      if (size === 0) throw bad(`page ${p}: ${tagName(tag)} has an invalid field type ${type}`, q);
      const bytesLen = size * count;
      let pos = q + (big ? 12 : 8);
      if (bytesLen > inline) {
        pos = big ? r.u64(pos) : r.u32(pos);
        if (pos + bytesLen > len) {
          throw bad(`page ${p}: the value of ${tagName(tag)} (${bytesLen} bytes at offset ${pos}) runs past the end of the file`, q);
        }
      }
      entries.set(tag, { type, count, pos });
    }
    for (const tag of [256, 257, 277]) {
      const e = entries.get(tag);
      if (e && e.count >= 1) await r.load(e.pos, TYPE_SIZE[e.type]!);
    }
    const scalar = (tag: number): number | undefined => {
      const e = entries.get(tag);
      if (!e || e.count < 1) return undefined;
      const v = r.uint(e, 0);
      if (!Number.isFinite(v)) throw bad(`page ${p}: ${tagName(tag)} has a non-integer type ${e.type}`, off);
      return v;
    };
    const w = scalar(256);
    const h = scalar(257);
    const s = scalar(277) ?? 1;
    if (w === undefined || h === undefined) throw bad(`page ${p} has no ${w === undefined ? 'ImageWidth' : 'ImageLength'}`, off);
    if (w === 0 || h === 0 || s === 0) throw bad(`page ${p} has a zero size (${w}×${h}, ${s} samples per pixel)`, off);
    if (p === 0) {
      width = w;
      height = h;
      samples = s;
    } else if (w !== width || h !== height || s !== samples) {
      throw new UnsupportedFormatError(
        FORMAT,
        `page ${p} is ${w}×${h} with ${s} samples per pixel but page 0 is ${width}×${height} with ${samples}; all pages must match`,
        name,
      );
    }
    await checkBlocks(r, entries, p, len, bad);
    ifds.push(off);
    off = big ? r.u64(end - inline) : r.u32(end - inline);
  }
  if (ifds.length === 0) throw bad('the file has no image (first IFD offset is 0)', headerSize - inline);
  return { le, big, ifds, width, height, samples };
}

/** Every strip or tile must lie inside the file (checked for all pages when the file opens). */
async function checkBlocks(
  r: Reader,
  entries: Map<number, Entry>,
  page: number,
  len: number,
  bad: (reason: string, offset?: number) => FormatError,
): Promise<void> {
  const tiled = entries.has(324);
  const offsets = entries.get(tiled ? 324 : 273);
  const counts = entries.get(tiled ? 325 : 279);
  const what = tiled ? 'tile' : 'strip';
  if (!offsets || offsets.count === 0) throw bad(`page ${page} has no StripOffsets or TileOffsets`);
  for (const e of counts ? [offsets, counts] : [offsets]) {
    if (![1, 3, 4, 13, 16, 18].includes(e.type)) throw bad(`page ${page}: ${what} offsets or byte counts of non-integer type ${e.type}`);
  }
  if (!counts) return; // decoding decides whether it can do without (uncompressed only)
  const n = Math.min(offsets.count, counts.count);
  if (n === 0) return;
  await r.load(offsets.pos, n * TYPE_SIZE[offsets.type]!);
  await r.load(counts.pos, n * TYPE_SIZE[counts.type]!);
  for (let k = 0; k < n; k++) {
    const o = r.uint(offsets, k);
    const c = r.uint(counts, k);
    if (o + c > len) {
      throw bad(`page ${page}: ${what} ${k} (${c} bytes at offset ${o}) runs past the end of the file (${len} bytes)`, o);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Page layout (from geotiff's parsed IFD).

type Kind = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f16' | 'f32' | 'f64';

interface Layout {
  page: number;
  width: number;
  height: number;
  samples: number;
  kind: Kind;
  bytesPerSample: number;
  compression: number;
  predictor: number;
  planar: 1 | 2;
  tiled: boolean;
  blockW: number;
  blockH: number;
  across: number;
  down: number;
  offsets: ArrayLike<number>;
  counts: ArrayLike<number> | undefined;
}

const COMPRESSION_NAMES: Record<number, string> = {
  1: 'none',
  2: 'CCITT RLE',
  3: 'CCITT Group 3',
  4: 'CCITT Group 4',
  5: 'LZW',
  6: 'old-style JPEG',
  7: 'JPEG',
  8: 'Deflate',
  32946: 'Deflate',
  32773: 'PackBits',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'Zstandard',
  50001: 'WebP',
  50002: 'JPEG XL',
};
const SUPPORTED_COMPRESSION = new Set([1, 5, 8, 32946, 32773]);
/**
 * Largest decompressed/compressed size ratio each codec can reach (Deflate ~1032, LZW < 4096 with
 * 9- to 12-bit codes, PackBits 64): a block whose expected size exceeds count × ratio is corrupt.
 */
const MAX_RATIO: Record<number, number> = { 1: 1, 5: 4096, 8: 1100, 32946: 1100, 32773: 65 };
const SAMPLE_FORMAT_NAMES: Record<number, string> = { 1: 'unsigned integer', 2: 'signed integer', 3: 'floating point', 4: 'undefined' };
const PHOTOMETRIC_NAMES: Record<number, string> = {
  0: 'WhiteIsZero',
  1: 'BlackIsZero',
  2: 'RGB',
  3: 'Palette',
  4: 'TransparencyMask',
  5: 'Separated (CMYK)',
  6: 'YCbCr',
  8: 'CIELab',
};

/** A tag value as an array of numbers (geotiff gives a number, a typed array or an array). */
function numbers(v: unknown): ArrayLike<number> | undefined {
  if (typeof v === 'number') return [v];
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as unknown as ArrayLike<number>;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  return undefined;
}

function kindOf(format: number, bits: number): Kind | undefined {
  if (format === 1 || format === 4) return bits === 8 ? 'u8' : bits === 16 ? 'u16' : bits === 32 ? 'u32' : undefined;
  if (format === 2) return bits === 8 ? 'i8' : bits === 16 ? 'i16' : bits === 32 ? 'i32' : undefined;
  if (format === 3) return bits === 16 ? 'f16' : bits === 32 ? 'f32' : bits === 64 ? 'f64' : undefined;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading.

/**
 * Opens a TIFF (or OME-TIFF, BigTIFF) file held in memory. Opening scans the structure of every
 * page (cheap: no pixel data is read) and parses the first page's tags; `frame(i)` decodes page
 * i only. Rejects with FormatError for bytes that are not a valid TIFF (truncated, broken offsets,
 * zero sizes), UnsupportedFormatError for a valid file using a feature not read here.
 */
export async function readTiff(input: Uint8Array | ByteSource, options: ReadTiffOptions = {}): Promise<ImageSource> {
  const name = options.name;
  let source: ByteSource;
  const inMemory = input instanceof Uint8Array ? input : isByteSource(input) ? input.bytes : undefined;
  if (inMemory instanceof Uint8Array) {
    // geotiff reads the whole ArrayBuffer and typed views need aligned offsets: work on exactly
    // these bytes in a buffer of their own. (A Node Buffer may be a view into a larger shared pool,
    // and Buffer's own slice() is a view too, hence Uint8Array's slice.)
    let bytes = inMemory;
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = Uint8Array.prototype.slice.call(bytes);
    source = memorySource(bytes);
  } else if (isByteSource(input)) {
    source = input;
  } else {
    throw new InvalidOptionError('bytes', input, 'must be a Uint8Array or a ByteSource');
  }
  const scan = await scanTiff(source, name);
  const { width, height, samples } = scan;
  if (width * height > MAX_FRAME_PIXELS) {
    throw new UnsupportedFormatError(FORMAT, `a frame of ${width}×${height} pixels is too large (at most ${MAX_FRAME_PIXELS})`, name);
  }

  let tiff: GeoTIFF;
  try {
    tiff = source.bytes ? await fromArrayBuffer(source.bytes.buffer as ArrayBuffer) : await GeoTIFFReader.fromSource(geotiffSource(source) as never);
  } catch (e) {
    throw wrap(e, name, 'header');
  }
  // Eager tag loading: geotiff's lazily loaded arrays are read little-endian whatever the file's
  // byte order (geotiff 3.0.4), which breaks big-endian files with many strips.
  tiff.parser.eager = true;

  const ifdCache = new Map<number, Promise<ImageFileDirectory>>();
  const ifd = (page: number): Promise<ImageFileDirectory> => {
    let pending = ifdCache.get(page);
    if (!pending) {
      // Parsed by offset (known from the scan): geotiff's getImage(i) parses the i pages before
      // it, recursively (a stack of 30 000 pages overflows the call stack in geotiff 3.0.4).
      pending = tiff.parser.parseFileDirectoryAt(scan.ifds[page]!).catch((e: unknown) => {
        throw wrap(e, name, `page ${page}`);
      });
      if (ifdCache.size >= 16) {
        // keep page 0 (the header's) and the most recent pages
        for (const key of ifdCache.keys()) {
          if (key !== 0) {
            ifdCache.delete(key);
            break;
          }
        }
      }
      ifdCache.set(page, pending);
    }
    return pending;
  };

  const first = await ifd(0);
  const layout0 = await pageLayout(first, 0, scan, name);
  const header = await headerCards(first, name);
  const description = await stringTag(first, 270, name);
  const pixelSizeNm =
    description !== undefined
      ? pixelSizeFrom(description, await tagValue(first, 282, name), await tagValue(first, 283, name))
      : undefined;
  // OME-XML detector fields (offset, EMCCD EM gain), read from the whole description.
  const camera = description !== undefined ? cameraFromOmeXml(description) : {};

  const decoders = new Map<number, Promise<BaseDecoder>>();
  const frames = scan.ifds.length * samples;
  const ctx: DecodeContext = { source, le: scan.le, name, decoders };

  const image: ImageSource = {
    format: 'tiff',
    width,
    height,
    frames,
    header,
    ...(pixelSizeNm ? { pixelSizeNm } : {}),
    ...(Object.keys(camera).length > 0 ? { camera } : {}),
    ...(source.close ? { close: () => source.close!() } : {}),
    async frame(index: number): Promise<Image> {
      if (!Number.isInteger(index) || index < 0 || index >= frames) {
        throw new InvalidOptionError('frame', index, `must be an integer from 0 to ${frames - 1}`);
      }
      const page = Math.floor(index / samples);
      const sample = index % samples;
      try {
        const layout = page === 0 ? layout0 : await pageLayout(await ifd(page), page, scan, name);
        const data = await decodeFrame(layout, sample, ctx);
        return { width, height, data };
      } catch (e) {
        throw wrap(e, name, `page ${page}`);
      }
    },
  };
  return image;
}

/**
 * geotiff's source interface over a ByteSource: slices cut at the end of the file (geotiff asks
 * for 1 KiB past a small IFD), each in an ArrayBuffer of its own.
 */
function geotiffSource(source: ByteSource) {
  return {
    fileSize: source.size,
    async fetch(slices: { offset: number; length: number }[]): Promise<ArrayBuffer[]> {
      return Promise.all(
        slices.map(async ({ offset, length }) => {
          const b = await source.read(offset, length);
          return (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer) as ArrayBuffer;
        }),
      );
    },
    async close() {},
  };
}

function wrap(e: unknown, name: string | undefined, where: string): CpgdError {
  if (e instanceof CpgdError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new FormatError(FORMAT, `${where}: ${message || 'unreadable data'}`, name);
}

async function tagValue(ifd: ImageFileDirectory, tag: number, name: string | undefined): Promise<unknown> {
  try {
    return await ifd.loadValue(tag);
  } catch (e) {
    throw wrap(e, name, tagName(tag));
  }
}

async function stringTag(ifd: ImageFileDirectory, tag: number, name: string | undefined): Promise<string | undefined> {
  const v = await tagValue(ifd, tag, name);
  if (typeof v !== 'string') return undefined;
  // NUL-terminated; several strings may be packed in one value.
  return v.replace(/\0+$/, '').replace(/\0/g, '\n');
}

async function pageLayout(ifd: ImageFileDirectory, page: number, scan: Scan, name: string | undefined): Promise<Layout> {
  const unsupported = (reason: string) => new UnsupportedFormatError(FORMAT, `page ${page}: ${reason}`, name);
  const bad = (reason: string) => new FormatError(FORMAT, `page ${page}: ${reason}`, name);
  const get = async (tag: number): Promise<ArrayLike<number> | undefined> => {
    const v = await tagValue(ifd, tag, name);
    if (v === undefined) return undefined;
    const a = numbers(v);
    if (!a || a.length === 0) throw bad(`${tagName(tag)} is not a list of numbers`);
    return a;
  };
  const one = async (tag: number, fallback: number): Promise<number> => (await get(tag))?.[0] ?? fallback;

  const { width, height, samples } = scan;
  const bits = (await get(258)) ?? [1];
  const formats = (await get(339)) ?? [1];
  for (let i = 1; i < Math.min(samples, bits.length); i++) {
    if (bits[i] !== bits[0]) throw unsupported(`samples of different sizes (BitsPerSample ${Array.from(bits).join(', ')})`);
  }
  for (let i = 1; i < Math.min(samples, formats.length); i++) {
    if (formats[i] !== formats[0]) throw unsupported(`samples of different types (SampleFormat ${Array.from(formats).join(', ')})`);
  }
  const kind = kindOf(formats[0]!, bits[0]!);
  if (!kind) {
    throw unsupported(`${bits[0]}-bit ${SAMPLE_FORMAT_NAMES[formats[0]!] ?? `SampleFormat ${formats[0]}`} samples (8/16/32-bit integers and 16/32/64-bit floats are read)`);
  }
  const bytesPerSample = bits[0]! / 8;

  const compression = await one(259, 1);
  if (!SUPPORTED_COMPRESSION.has(compression)) {
    throw unsupported(`compression ${COMPRESSION_NAMES[compression] ?? 'unknown'} (${compression}); none, LZW, Deflate and PackBits are read`);
  }
  const predictor = compression === 1 ? 1 : await one(317, 1);
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) throw unsupported(`Predictor ${predictor}`);
  if (predictor === 2 && bytesPerSample === 8) throw unsupported('horizontal predictor on 64-bit samples');
  if (predictor === 3 && kind[0] !== 'f') throw unsupported('floating-point predictor on integer samples');
  const photometric = await one(262, 1);
  if (photometric === 6) throw unsupported('YCbCr colour');
  if ((await one(266, 1)) === 2) throw unsupported('FillOrder 2 (reversed bit order)');
  const planarTag = await one(284, 1);
  if (planarTag !== 1 && planarTag !== 2) throw bad(`invalid PlanarConfiguration ${planarTag}`);
  const planar: 1 | 2 = samples === 1 ? 1 : planarTag;

  const tiled = ifd.hasTag(324);
  let blockW: number;
  let blockH: number;
  if (tiled) {
    blockW = await one(322, 0);
    blockH = await one(323, 0);
    if (!(blockW > 0 && blockH > 0)) throw bad(`tiles of ${blockW}×${blockH} pixels`);
  } else {
    const rows = await one(278, height);
    if (!(rows > 0)) throw bad('RowsPerStrip is 0');
    blockW = width;
    blockH = Math.min(rows, height);
  }
  const across = Math.ceil(width / blockW);
  const down = Math.ceil(height / blockH);
  const expected = across * down * (planar === 2 ? samples : 1);
  const what = tiled ? 'tile' : 'strip';
  const offsets = await get(tiled ? 324 : 273);
  const counts = await get(tiled ? 325 : 279);
  if (!offsets) throw bad(`no ${what} offsets`);
  if (offsets.length < expected) throw bad(`${offsets.length} ${what} offsets for ${expected} ${what}s`);
  if (counts && counts.length < expected) throw bad(`${counts.length} ${what} byte counts for ${expected} ${what}s`);
  if (!counts && compression !== 1) throw bad(`compressed ${what}s without byte counts`);
  return {
    page,
    width,
    height,
    samples,
    kind,
    bytesPerSample,
    compression,
    predictor,
    planar,
    tiled,
    blockW,
    blockH,
    across,
    down,
    offsets,
    counts,
  };
}

interface DecodeContext {
  source: ByteSource;
  le: boolean;
  name: string | undefined;
  decoders: Map<number, Promise<BaseDecoder>>;
}

/**
 * The bytes of a frame's blocks. From memory, views of the file; from a file, one read of the span
 * they cover when they lie close together (the usual layout, a page's strips in a row), else one
 * read per block.
 */
async function blockReader(ranges: { offset: number; length: number }[], source: ByteSource): Promise<(offset: number, length: number) => Promise<Uint8Array>> {
  if (source.bytes) {
    const b = source.bytes;
    return async (offset, length) => b.subarray(offset, offset + length);
  }
  let lo = Infinity;
  let hi = 0;
  let total = 0;
  for (const r of ranges) {
    if (r.length === 0) continue;
    lo = Math.min(lo, r.offset);
    hi = Math.max(hi, r.offset + r.length);
    total += r.length;
  }
  if (total > 0 && hi - lo <= 2 * total + (1 << 20)) {
    const span = await source.read(lo, hi - lo);
    return async (offset, length) => span.subarray(offset - lo, offset - lo + length);
  }
  return (offset, length) => source.read(offset, length);
}

async function decodeFrame(L: Layout, sample: number, ctx: DecodeContext): Promise<Float64Array> {
  const out = new Float64Array(L.width * L.height);
  const chunky = L.planar === 1 ? L.samples : 1; // samples interleaved in a block
  const pixelBytes = L.bytesPerSample * chunky;
  const rowBytes = L.blockW * pixelBytes;
  const first = L.planar === 2 ? sample * L.across * L.down : 0;
  const what = L.tiled ? 'tile' : 'strip';
  const len = ctx.source.size;
  // Where each block is and how many bytes it takes (checked against the file below).
  const ranges: { offset: number; length: number }[] = [];
  for (let by = 0; by < L.down; by++) {
    const rows = Math.min(L.blockH, L.height - by * L.blockH);
    for (let bx = 0; bx < L.across; bx++) {
      const k = first + by * L.across + bx;
      const offset = L.offsets[k]!;
      const count = L.counts ? L.counts[k]! : rows * rowBytes;
      const length = count === 0 ? 0 : L.compression === 1 ? rows * rowBytes : count;
      ranges.push({ offset, length: offset + length <= len ? length : 0 });
    }
  }
  const read = await blockReader(ranges, ctx.source);
  for (let by = 0; by < L.down; by++) {
    const y0 = by * L.blockH;
    const rows = Math.min(L.blockH, L.height - y0);
    for (let bx = 0; bx < L.across; bx++) {
      const x0 = bx * L.blockW;
      const cols = Math.min(L.blockW, L.width - x0);
      const k = first + by * L.across + bx;
      const offset = L.offsets[k]!;
      const count = L.counts ? L.counts[k]! : rows * rowBytes;
      const need = rows * rowBytes;
      const bad = (reason: string) => new FormatError(FORMAT, `page ${L.page}: ${what} ${k}: ${reason}`, ctx.name, offset);
      if (count === 0) continue; // sparse block (GDAL): zeros
      if (!(offset + count <= len)) throw bad(`${count} bytes at offset ${offset} run past the end of the file`);
      let data: Uint8Array;
      let owned: boolean;
      if (L.compression === 1) {
        // Uncompressed: read what the block needs, even when the byte count says less (as tifffile).
        if (offset + need > len) throw bad(`needs ${need} bytes at offset ${offset}, past the end of the file`);
        data = await read(offset, need);
        owned = false;
      } else {
        if (need > count * MAX_RATIO[L.compression]!) throw bad(`${count} compressed bytes cannot hold ${need} bytes`);
        const raw = (await read(offset, count)).slice();
        if (L.compression === 5) checkLzw(raw, bad);
        let decoded: ArrayBufferLike;
        try {
          decoded = await (await decoder(L, ctx)).decode(raw.buffer);
        } catch (e) {
          throw bad(`cannot decompress ${COMPRESSION_NAMES[L.compression]} data (${e instanceof Error ? e.message : String(e)})`);
        }
        if (!decoded || !(decoded.byteLength >= need)) {
          throw bad(`decompresses to ${decoded?.byteLength ?? 0} bytes, ${need} expected`);
        }
        data = new Uint8Array(decoded, 0, need);
        owned = true;
      }
      let hostOrder = ctx.le === HOST_LE || L.bytesPerSample === 1;
      if (L.predictor === 3) {
        undoFloatPredictor(data, rows, L.blockW * chunky, L.bytesPerSample, chunky);
        hostOrder = true;
      }
      const values = hostView(L.kind, data, hostOrder, owned);
      if (L.predictor === 2) undoHorizontalPredictor(values, rows, L.blockW * chunky, chunky, L.bytesPerSample);
      place(values, L.kind === 'f16', rows, cols, L.blockW * chunky, chunky, L.planar === 1 ? sample : 0, out, y0 * L.width + x0, L.width);
    }
  }
  return out;
}

function decoder(L: Layout, ctx: DecodeContext): Promise<BaseDecoder> {
  let d = ctx.decoders.get(L.compression);
  if (!d) {
    // predictor 1: predictors are undone here, in the file's byte order (geotiff assumes little-endian).
    d = getDecoder(L.compression, {
      tileWidth: L.blockW,
      tileHeight: L.blockH,
      predictor: 1,
      bitsPerSample: L.bytesPerSample * 8,
      planarConfiguration: L.planar,
    });
    d.catch(() => ctx.decoders.delete(L.compression));
    ctx.decoders.set(L.compression, d);
  }
  return d;
}

type Values = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** The samples of a block as a typed array in host byte order (a view when possible, else a copy). */
function hostView(kind: Kind, data: Uint8Array, hostOrder: boolean, owned: boolean): Values {
  const size = kind === 'u8' || kind === 'i8' ? 1 : kind === 'u16' || kind === 'i16' || kind === 'f16' ? 2 : kind === 'f64' ? 8 : 4;
  let src = data;
  if (size > 1 && (!hostOrder || src.byteOffset % size !== 0)) {
    if (!owned || src.byteOffset % size !== 0) src = src.slice();
    if (!hostOrder) swapBytes(src, size);
  }
  const n = Math.floor(src.byteLength / size);
  const { buffer, byteOffset } = src;
  switch (kind) {
    case 'u8':
      return src;
    case 'i8':
      return new Int8Array(buffer, byteOffset, n);
    case 'u16':
    case 'f16':
      return new Uint16Array(buffer, byteOffset, n);
    case 'i16':
      return new Int16Array(buffer, byteOffset, n);
    case 'u32':
      return new Uint32Array(buffer, byteOffset, n);
    case 'i32':
      return new Int32Array(buffer, byteOffset, n);
    case 'f32':
      return new Float32Array(buffer, byteOffset, n);
    case 'f64':
      return new Float64Array(buffer, byteOffset, n);
  }
}

function swapBytes(b: Uint8Array, size: number): void {
  const n = b.length - (b.length % size);
  if (size === 2) {
    for (let i = 0; i < n; i += 2) {
      const t = b[i]!;
      b[i] = b[i + 1]!;
      b[i + 1] = t;
    }
  } else {
    for (let i = 0; i < n; i += size) {
      for (let a = i, z = i + size - 1; a < z; a++, z--) {
        const t = b[a]!;
        b[a] = b[z]!;
        b[z] = t;
      }
    }
  }
}

/** Horizontal differencing (Predictor 2), undone on the integer bit patterns, in host order. */
function undoHorizontalPredictor(values: Values, rows: number, rowLen: number, stride: number, bytesPerSample: number): void {
  const v =
    bytesPerSample === 1
      ? new Uint8Array(values.buffer, values.byteOffset, values.length)
      : bytesPerSample === 2
        ? new Uint16Array(values.buffer, values.byteOffset, values.length)
        : new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let r = 0; r < rows; r++) {
    const end = (r + 1) * rowLen;
    for (let i = r * rowLen + stride; i < end; i++) v[i] = v[i]! + v[i - stride]!;
  }
}

/**
 * Floating-point predictor (Predictor 3): per row, bytes were differenced with the sample stride,
 * after the bytes of each value were split into planes, most significant first. Undone in place,
 * leaving the values in host byte order.
 */
function undoFloatPredictor(data: Uint8Array, rows: number, rowLen: number, size: number, stride: number): void {
  const rowBytes = rowLen * size;
  const tmp = new Uint8Array(rowBytes);
  for (let r = 0; r < rows; r++) {
    const base = r * rowBytes;
    for (let i = base + stride; i < base + rowBytes; i++) data[i] = (data[i]! + data[i - stride]!) & 0xff;
    tmp.set(data.subarray(base, base + rowBytes));
    for (let i = 0; i < rowLen; i++) {
      for (let b = 0; b < size; b++) {
        // plane b holds byte b of each value counted from the most significant
        data[base + i * size + (HOST_LE ? size - 1 - b : b)] = tmp[b * rowLen + i]!;
      }
    }
  }
}

/** Copies one sample of a block (rows × cols, rowLen values per row) into the frame. */
function place(
  values: Values,
  half: boolean,
  rows: number,
  cols: number,
  rowLen: number,
  step: number,
  sample: number,
  out: Float64Array,
  start: number,
  width: number,
): void {
  if (step === 1 && !half) {
    if (cols === width && rowLen === width) {
      out.set(values.subarray(0, rows * width), start);
      return;
    }
    for (let r = 0; r < rows; r++) out.set(values.subarray(r * rowLen, r * rowLen + cols), start + r * width);
    return;
  }
  for (let r = 0; r < rows; r++) {
    let s = r * rowLen + sample;
    const d = start + r * width;
    if (half) {
      for (let c = 0; c < cols; c++, s += step) out[d + c] = halfToNumber(values[s]!);
    } else {
      for (let c = 0; c < cols; c++, s += step) out[d + c] = values[s]!;
    }
  }
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * Walks the codes of an LZW block the way geotiff's decoder does and rejects the codes it cannot
 * survive, which no conforming encoder writes: a code past the end of the table (geotiff links it
 * to stale entries, and a cycle among them makes its decoder loop until the process dies), or a
 * code of 4093 or more (geotiff's table holds 4093 entries; the encoder clears it before).
 */
function checkLzw(data: Uint8Array, bad: (reason: string) => FormatError): void {
  const nbits = data.length * 8;
  let position = 0;
  let width = 9;
  let size = 258;
  let previous = false;
  const next = (): number => {
    if (position >= nbits) return 257; // geotiff ends at the end of the data
    let code = 0;
    for (let i = 0; i < width; i++, position++) {
      const bit = position < nbits ? (data[position >> 3]! >> (7 - (position & 7))) & 1 : 0;
      code = (code << 1) | bit;
    }
    return code;
  };
  let code = next();
  while (code !== 257) {
    if (code === 256) {
      width = 9;
      size = 258;
      do code = next();
      while (code === 256);
      if (code === 257) break;
      if (code > 256) return; // geotiff throws on this: no hang
      previous = true;
    } else {
      if (code >= 4093) throw bad(`corrupt LZW data (code ${code})`);
      if (code < size) {
        if (previous) size++;
      } else if (code === size) {
        if (!previous) return; // geotiff throws
        size++;
      } else {
        // a code past the table: geotiff would link entries to stale ones, possibly in a cycle
        throw bad(`corrupt LZW data (code ${code} with ${size} table entries)`);
      }
      previous = true;
    }
    if (size + 1 >= 2 ** width) {
      if (width === 12) previous = false;
      else width++;
    }
    code = next();
  }
}

// ---------------------------------------------------------------------------------------------
// Header and pixel size.

const HEADER_TAGS = [
  256, 257, 258, 339, 277, 259, 317, 262, 284, 278, 322, 323, 254, 274, 282, 283, 296, 269, 285, 270, 271, 272, 305, 306, 315, 316,
  33432,
];

async function headerCards(ifd: ImageFileDirectory, name: string | undefined): Promise<HeaderCard[]> {
  const cards: HeaderCard[] = [];
  for (const tag of HEADER_TAGS) {
    const key = tagName(tag);
    const v = await tagValue(ifd, tag, name);
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') {
      const s = (await stringTag(ifd, tag, name)) ?? '';
      if (s.length > MAX_DESCRIPTION_CHARS) {
        cards.push({ key, value: s.slice(0, MAX_DESCRIPTION_CHARS) + '…', comment: `truncated from ${s.length} characters` });
      } else {
        cards.push({ key, value: s });
      }
      continue;
    }
    const a = numbers(v);
    if (!a || a.length === 0) continue;
    if (tag === 282 || tag === 283) {
      // RATIONAL: numerator, denominator
      cards.push({ key, value: a.length >= 2 && a[1] !== 0 ? a[0]! / a[1]! : null });
      continue;
    }
    const shown = Array.from(a).slice(0, 16).join(' ') + (a.length > 16 ? ' …' : '');
    const value = a.length === 1 ? a[0]! : shown;
    const comment =
      tag === 259
        ? COMPRESSION_NAMES[a[0]!]
        : tag === 339
          ? SAMPLE_FORMAT_NAMES[a[0]!]
          : tag === 262
            ? PHOTOMETRIC_NAMES[a[0]!]
            : tag === 284
              ? a[0] === 2 ? 'planar (separate sample planes)' : 'chunky (interleaved samples)'
              : undefined;
    cards.push(comment ? { key, value, comment } : { key, value });
  }
  return cards;
}

/** Length units of OME-XML (UnitsLength) and ImageJ, in nanometres. */
const NM_PER_UNIT: Record<string, number> = {
  Ym: 1e33, Zm: 1e30, Em: 1e27, Pm: 1e24, Tm: 1e21, Gm: 1e18, Mm: 1e15, km: 1e12, hm: 1e11, dam: 1e10,
  m: 1e9, dm: 1e8, cm: 1e7, mm: 1e6, '\u00b5m': 1e3, '\u03bcm': 1e3, um: 1e3, micron: 1e3, microns: 1e3, nm: 1,
  pm: 1e-3, fm: 1e-6, am: 1e-9, zm: 1e-12, ym: 1e-15, '\u00c5': 0.1, '\u212b': 0.1,
  thou: 25400, li: 2.54e7 / 12, in: 2.54e7, inch: 2.54e7, ft: 3.048e8, yd: 9.144e8, mi: 1.609344e12, pt: 2.54e7 / 72,
};

/**
 * Pixel size from the ImageDescription: OME-XML PhysicalSizeX/PhysicalSizeY with their units
 * (default µm), else an ImageJ description's unit with the XResolution/YResolution tags (pixels
 * per unit). When only one axis is given the pixels are taken as square.
 */
function pixelSizeFrom(description: string, xResolution: unknown, yResolution: unknown): { x: number; y: number } | undefined {
  let x: number | undefined;
  let y: number | undefined;
  if (/<(?:[\w.-]+:)?OME[\s>]/.test(description)) {
    const pixels = /<(?:[\w.-]+:)?Pixels\b([^>]*)>/.exec(description);
    if (!pixels) return undefined;
    const attrs = new Map<string, string>();
    for (const m of pixels[1]!.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs.set(m[1]!, m[2] ?? m[3] ?? '');
    const size = (axis: 'X' | 'Y'): number | undefined => {
      const v = Number(attrs.get(`PhysicalSize${axis}`));
      const unit = NM_PER_UNIT[decodeXmlUnit(attrs.get(`PhysicalSize${axis}Unit`) ?? '\u00b5m')];
      return v > 0 && Number.isFinite(v) && unit !== undefined ? v * unit : undefined;
    };
    x = size('X');
    y = size('Y');
  } else if (description.startsWith('ImageJ=')) {
    const unitLine = /^unit=(.*)$/m.exec(description)?.[1]?.trim();
    const unit = unitLine === undefined ? undefined : NM_PER_UNIT[unitLine.replace(/\\u00B5/gi, '\u00b5')];
    if (unit === undefined) return undefined;
    const size = (resolution: unknown): number | undefined => {
      const a = numbers(resolution);
      const perUnit = a && a.length >= 2 && a[1]! > 0 ? a[0]! / a[1]! : 0;
      return perUnit > 0 ? unit / perUnit : undefined;
    };
    x = size(xResolution);
    y = size(yResolution);
  }
  if (x === undefined && y === undefined) return undefined;
  return { x: (x ?? y)!, y: (y ?? x)! };
}

function decodeXmlUnit(s: string): string {
  return s
    .trim()
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&');
}

// ---------------------------------------------------------------------------------------------
// Writing.

/**
 * Writes frames as a little-endian, uncompressed, multi-page TIFF: one page per frame, in strips of
 * about 64 KiB, greyscale (BlackIsZero). 'float32' (the default) stores values as 32-bit floats
 * (rounded to float precision); 'uint16' rounds to the nearest integer (halves up) and clamps to
 * 0..65535, NaN becoming 0. `description` is the first page's ImageDescription (UTF-8).
 */
export function writeTiff(
  frames: (Float32Array | Float64Array)[],
  width: number,
  height: number,
  options: WriteTiffOptions = {},
): Uint8Array {
  if (!Number.isInteger(width) || width <= 0) throw new InvalidOptionError('width', width, 'must be a positive integer');
  if (!Number.isInteger(height) || height <= 0) throw new InvalidOptionError('height', height, 'must be a positive integer');
  if (!Array.isArray(frames) || frames.length === 0) throw new InvalidOptionError('frames', frames, 'must be a non-empty array of frames');
  const type = options.type ?? 'float32';
  if (type !== 'float32' && type !== 'uint16') throw new InvalidOptionError('type', type, "must be 'float32' or 'uint16'");
  if (options.description !== undefined && typeof options.description !== 'string') {
    throw new InvalidOptionError('description', options.description, 'must be a string');
  }
  const pixels = width * height;
  frames.forEach((f, i) => {
    if (!(f instanceof Float32Array || f instanceof Float64Array)) {
      throw new InvalidImageError(`frame ${i} is not a Float32Array or Float64Array`);
    }
    if (f.length !== pixels) throw new InvalidImageError(`frame ${i} has ${f.length} pixels, expected ${width}×${height}`);
  });

  const res = options.resolution;
  if (res !== undefined) {
    const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
    if (!ok(res.x) || !ok(res.y) || ![1, 2, 3].includes(res.unit)) throw new InvalidOptionError('resolution', res, 'must be { x > 0, y > 0 pixels per unit, unit 1, 2 or 3 }');
  }
  const xResolution = res ? rational(res.x) : [1, 1];
  const yResolution = res ? rational(res.y) : [1, 1];
  const resolutionUnit = res ? res.unit : 1;
  const sampleBytes = type === 'float32' ? 4 : 2;
  const rowBytes = width * sampleBytes;
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(65536 / rowBytes)));
  const strips = Math.ceil(height / rowsPerStrip);
  const frameBytes = pixels * sampleBytes;
  const description = options.description !== undefined ? utf8(options.description + '\0') : undefined;
  const software = utf8(`cpgd-sources ${VERSION}\0`);

  // Page layout: IFD, out-of-line tag values, padding, pixel data (16-byte aligned).
  type Tag = [tag: number, type: number, values: number[] | Uint8Array];
  const tagsFor = (page: number, offsets: number[], counts: number[]): Tag[] => {
    const tags: Tag[] = [
      [256, 4, [width]],
      [257, 4, [height]],
      [258, 3, [sampleBytes * 8]],
      [259, 3, [1]],
      [262, 3, [1]],
    ];
    if (page === 0 && description) tags.push([270, 2, description]);
    tags.push(
      [273, 4, offsets],
      [277, 3, [1]],
      [278, 4, [rowsPerStrip]],
      [279, 4, counts],
      [282, 5, xResolution],
      [283, 5, yResolution],
      [284, 3, [1]],
      [296, 3, [resolutionUnit]],
    );
    if (page === 0) tags.push([305, 2, software]);
    tags.push([339, 3, [type === 'float32' ? 3 : 1]]);
    return tags;
  };
  const valueBytes = (t: Tag) => (t[1] === 2 ? t[2].length : t[1] === 3 ? 2 * t[2].length : t[1] === 5 ? 4 * t[2].length : 4 * t[2].length);
  const align = (n: number, a: number) => Math.ceil(n / a) * a;
  const dummy = new Array<number>(strips).fill(0);
  const pageStarts: number[] = [];
  const dataStarts: number[] = [];
  let pos = 8;
  for (let p = 0; p < frames.length; p++) {
    pageStarts.push(pos);
    const tags = tagsFor(p, dummy, dummy);
    let end = pos + 2 + 12 * tags.length + 4;
    for (const t of tags) {
      const n = valueBytes(t);
      if (n > 4) end = align(end, 2) + n;
    }
    const dataStart = align(end, 16);
    dataStarts.push(dataStart);
    pos = align(dataStart + frameBytes, 16);
  }
  if (pos > 2 ** 32 - 1) {
    throw new InvalidImageError(`${frames.length} frames of ${width}×${height} need ${pos} bytes, beyond the 4 GiB of a classic TIFF`);
  }

  const out = new Uint8Array(pos);
  const view = new DataView(out.buffer);
  out[0] = 0x49;
  out[1] = 0x49;
  view.setUint16(2, 42, true);
  view.setUint32(4, pageStarts[0]!, true);
  for (let p = 0; p < frames.length; p++) {
    const offsets: number[] = [];
    const counts: number[] = [];
    for (let s = 0; s < strips; s++) {
      const rows = Math.min(rowsPerStrip, height - s * rowsPerStrip);
      offsets.push(dataStarts[p]! + s * rowsPerStrip * rowBytes);
      counts.push(rows * rowBytes);
    }
    const tags = tagsFor(p, offsets, counts);
    const ifd = pageStarts[p]!;
    view.setUint16(ifd, tags.length, true);
    let extra = ifd + 2 + 12 * tags.length + 4;
    tags.forEach(([tag, fieldType, values], i) => {
      const e = ifd + 2 + 12 * i;
      view.setUint16(e, tag, true);
      view.setUint16(e + 2, fieldType, true);
      view.setUint32(e + 4, fieldType === 5 ? values.length / 2 : values.length, true);
      const n = valueBytes([tag, fieldType, values]);
      let at = e + 8;
      if (n > 4) {
        extra = align(extra, 2);
        view.setUint32(e + 8, extra, true);
        at = extra;
        extra += n;
      }
      for (let k = 0; k < values.length; k++) {
        if (fieldType === 2) out[at + k] = values[k]!;
        else if (fieldType === 3) view.setUint16(at + 2 * k, values[k]!, true);
        else view.setUint32(at + 4 * k, values[k]!, true);
      }
    });
    view.setUint32(ifd + 2 + 12 * tags.length, p + 1 < frames.length ? pageStarts[p + 1]! : 0, true);

    const frame = frames[p]!;
    const start = dataStarts[p]!;
    if (type === 'float32') {
      new Float32Array(out.buffer, start, pixels).set(frame);
    } else {
      const dst = new Uint16Array(out.buffer, start, pixels);
      for (let i = 0; i < pixels; i++) {
        const v = frame[i]!;
        dst[i] = v > 0 ? (v < 65535 ? Math.round(v) : 65535) : 0; // NaN fails v > 0
      }
    }
    if (!HOST_LE) swapBytes(out.subarray(start, start + frameBytes), sampleBytes);
  }
  return out;
}

/** The closest fraction p/q to v > 0 with p, q < 2³² (continued fractions), as a TIFF RATIONAL. */
function rational(v: number): [number, number] {
  const MAX = 0xffffffff;
  let [p0, q0, p1, q1] = [0, 1, 1, 0];
  let x = v;
  for (let k = 0; k < 64; k++) {
    const a = Math.floor(x);
    const p2 = a * p1 + p0;
    const q2 = a * q1 + q0;
    if (p2 > MAX || q2 > MAX) break;
    [p0, q0, p1, q1] = [p1, q1, p2, q2];
    const frac = x - a;
    if (frac < 1e-15 || Math.abs(p1 / q1 - v) <= 1e-15 * v) break;
    x = 1 / frac;
  }
  if (q1 === 0 || p1 === 0) return v >= 1 ? [Math.min(MAX, Math.round(v)), 1] : [1, Math.min(MAX, Math.round(1 / v))];
  return [p1, q1];
}

/** UTF-8 bytes of a string (no TextEncoder in the pure core's library). */
function utf8(s: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) bytes.push(c);
    else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(bytes);
}
