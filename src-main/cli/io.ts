/**
 * File input and output of the CLI: images read by their magic bytes (FITS, gzip-compressed FITS,
 * TIFF), output paths checked before any work, and atomic writes (a temporary file in the same
 * directory renamed over the target, so the target is either untouched or complete).
 */

import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, openSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CpgdError, FormatError, InvalidOptionError } from '../core/errors.js';
import { memorySource, type ByteSource } from '../core/formats/bytes.js';
import { openFits } from '../core/formats/fits.js';
import { readTiff } from '../core/formats/tiff.js';
import type { ImageSource } from '../core/image.js';

/** A file cannot be read or written (missing, a directory, no permission...). */
export class FileError extends CpgdError {
  constructor(file: string, reason: string) {
    super('io-error', reason, file);
    this.name = 'FileError';
  }
}

/** Writing the result failed after the work was done (disk full...): a runtime failure, exit 1. */
export class OutputError extends CpgdError {
  constructor(file: string, reason: string) {
    super('io-error', reason, file);
    this.name = 'OutputError';
  }
}

function reasonOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
}

/** The size of a regular, non-empty file; FileError otherwise. */
function regularFileSize(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new FileError(path, reasonOf(e));
  }
  if (st.isDirectory()) throw new FileError(path, 'is a directory, not a file');
  if (!st.isFile()) throw new FileError(path, 'is not a regular file');
  if (st.size === 0) throw new FileError(path, 'the file is empty');
  return st.size;
}

/** Fill `out` from `position` of the file; the number of bytes read (fewer at the end of the file). */
function readAt(fd: number, out: Uint8Array, position: number): number {
  let at = 0;
  while (at < out.length) {
    const n = readSync(fd, out, at, out.length - at, position + at);
    if (n === 0) break;
    at += n;
  }
  return at;
}

/** The bytes of a regular, non-empty file; FileError otherwise. */
export function readInputFile(path: string): Uint8Array {
  return readWholeFile(path, regularFileSize(path));
}

function readWholeFile(path: string, size: number): Uint8Array {
  // Read into a Uint8Array of its own (offset 0 in its ArrayBuffer): readFileSync may return a
  // Buffer that is a view into a shared pool, which readers handing `.buffer` on would misread.
  const bytes = new Uint8Array(size);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const at = readAt(fd, bytes, 0);
    if (at === 0) throw new FileError(path, 'the file is empty');
    return at === bytes.length ? bytes : bytes.slice(0, at);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(path, reasonOf(e));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Files from this size up are read by range (headers now, each frame when asked for) instead of
 * whole, so a 2 GB stack opens in milliseconds and memory stays bounded.
 */
export const LAZY_MIN_BYTES = 64 * 2 ** 20;

/**
 * A file read by range through an open descriptor. The descriptor stays open until `close()`;
 * reads that come back short (the file shrank since it was opened) return fewer bytes, which the
 * readers report as a truncated file. Reads are synchronous underneath: a TIFF stack's structure
 * is one small read per page, and a thread-pool round trip per read would cost more than the read
 * (the event loop waits a few microseconds per read, at most the time of one frame's bytes).
 */
export async function openFileSource(path: string): Promise<ByteSource> {
  return fileSource(path, regularFileSize(path));
}

function fileSource(path: string, size: number): ByteSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new FileError(path, reasonOf(e));
  }
  let closed = false;
  return {
    size,
    async read(offset, length) {
      if (closed) throw new FileError(path, 'the file was closed');
      const start = Math.max(0, Math.min(offset, size));
      const out = new Uint8Array(Math.max(0, Math.min(size, offset + length) - start));
      let at: number;
      try {
        at = readAt(fd, out, start);
      } catch (e) {
        throw new FileError(path, reasonOf(e));
      }
      return at === out.length ? out : out.slice(0, at);
    },
    async close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

export type ImageKind = 'fits' | 'tiff';

/** What the first bytes say: FITS (plain or gzip), TIFF (classic or BigTIFF, either byte order), or null. */
export function sniffImage(bytes: Uint8Array): ImageKind | null {
  const b = bytes;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'fits';
  if (b.length >= 9 && new TextDecoder('latin1').decode(b.subarray(0, 9)) === 'SIMPLE  =') return 'fits';
  if (b.length >= 4) {
    const ii = b[0] === 0x49 && b[1] === 0x49 && (b[2] === 42 || b[2] === 43) && b[3] === 0;
    const mm = b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && (b[3] === 42 || b[3] === 43);
    if (ii || mm) return 'tiff';
  }
  return null;
}

export interface OpenImageOptions {
  /** FITS HDU (0-based index or EXTNAME); an error for TIFF files. */
  hdu?: number | string;
  /**
   * Read the file by range (true), whole (false), or by range from LAZY_MIN_BYTES up ('auto',
   * the default). A source read by range keeps the file open until its `close()`.
   */
  lazy?: boolean | 'auto';
}

/**
 * Open an image file of either format (by content, not by extension). Large files are read by
 * range (see `lazy`): call the source's `close()` when done with it.
 */
export async function openImage(path: string, options: OpenImageOptions = {}): Promise<ImageSource> {
  const lazy = options.lazy ?? 'auto';
  const size = regularFileSize(path);
  const byRange = lazy === true || (lazy === 'auto' && size >= LAZY_MIN_BYTES);
  const source = byRange ? fileSource(path, size) : memorySource(readWholeFile(path, size));
  try {
    return await openSource(path, source, options);
  } catch (e) {
    await source.close?.();
    throw e;
  }
}

async function openSource(path: string, source: ByteSource, options: OpenImageOptions): Promise<ImageSource> {
  const kind = sniffImage(source.bytes ?? (await source.read(0, 16)));
  if (kind === null) throw new FormatError('FITS or TIFF', 'the first bytes are neither a FITS header (SIMPLE =), gzip, nor a TIFF header', path);
  if (kind === 'tiff') {
    if (options.hdu !== undefined) {
      const e = new InvalidOptionError('--hdu', options.hdu, 'only FITS files have HDUs; this is a TIFF file');
      e.file = path;
      throw e;
    }
    return readTiff(source, { name: path });
  }
  try {
    return await openFits(source, options.hdu === undefined ? { name: path } : { name: path, hdu: options.hdu });
  } catch (e) {
    // readFits calls the option 'hdu'; the CLI's is '--hdu'.
    if (e instanceof InvalidOptionError && e.option === 'hdu') {
      const f = new InvalidOptionError('--hdu', e.value, e.message.replace(/^hdu: /, '').replace(/ \(got [^)]*\)$/, ''));
      f.file = path;
      throw f;
    }
    throw e;
  }
}

/** `--hdu` as a number when it is one, else an EXTNAME. */
export function parseHdu(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim());
  if (/^[+-]?\d/.test(text.trim())) throw new InvalidOptionError('--hdu', text, 'must be a 0-based HDU index (integer ≥ 0) or an EXTNAME');
  return text;
}

/**
 * Check before any work that `path` can be written: not a directory, its directory exists and is
 * writable, and it is not one of `inputs`. Throws InvalidOptionError naming `option`.
 */
export function checkOutputPath(path: string, option: string, inputs: readonly string[] = []): void {
  const fail = (reason: string): never => {
    const e = new InvalidOptionError(option, path, reason);
    throw e;
  };
  const full = resolve(path);
  for (const i of inputs) if (resolve(i) === full) fail('would overwrite an input file');
  let st;
  try {
    st = statSync(full);
  } catch {
    st = null;
  }
  if (st?.isDirectory()) fail('is a directory; give a file name');
  if (st && !st.isFile()) fail('exists and is not a regular file');
  const dir = dirname(full);
  let ds;
  try {
    ds = statSync(dir);
  } catch {
    return fail(`the directory ${dir} does not exist`);
  }
  if (!ds.isDirectory()) fail(`${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    fail(`the directory ${dir} is not writable`);
  }
}

/** Lower-case extension of a file name (`.fits`, `.csv`...). */
export function outputExtension(path: string): string {
  return extname(path).toLowerCase();
}

function tempName(full: string): string {
  return join(dirname(full), `.${basename(full)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Never written, or already gone.
  }
}

/** Write `data` to `path` atomically: a temporary file in the same directory, then a rename. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  writeAtomicAll([{ path, data }]);
}

/**
 * Write several files atomically: every one is first written in full to a temporary file next to
 * its target, and only then are they renamed over their targets. A failure while writing leaves
 * every target untouched; throws OutputError naming the file.
 */
export function writeAtomicAll(files: readonly { path: string; data: string | Uint8Array }[]): void {
  const staged: { tmp: string; full: string; path: string }[] = [];
  for (const f of files) {
    const full = resolve(f.path);
    const tmp = tempName(full);
    try {
      writeFileSync(tmp, f.data, { flag: 'wx' });
    } catch (e) {
      removeQuietly(tmp);
      for (const s of staged) removeQuietly(s.tmp);
      throw new OutputError(f.path, `cannot write: ${reasonOf(e)}`);
    }
    staged.push({ tmp, full, path: f.path });
  }
  for (let i = 0; i < staged.length; i++) {
    try {
      renameSync(staged[i].tmp, staged[i].full);
    } catch (e) {
      for (const s of staged.slice(i)) removeQuietly(s.tmp);
      throw new OutputError(staged[i].path, `cannot write: ${reasonOf(e)}`);
    }
  }
}
