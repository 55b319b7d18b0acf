/**
 * Random access to the bytes of a file without holding the whole file, so that readers can open a
 * 2 GB stack and decode its first frame after reading only its structure and that frame. The core
 * stays pure: the command line and the app give a source backed by a file handle (cli/io.ts), tests
 * and in-memory callers give `memorySource`.
 */

/** The bytes of a file, read by range. */
export interface ByteSource {
  /** Size of the file in bytes. */
  readonly size: number;
  /**
   * The bytes [offset, offset + length), cut at the end of the file (so possibly shorter). The
   * result may be a view of memory the source shares: callers must not modify it.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** The whole content, when the source holds it in memory already (readers then skip the reads). */
  readonly bytes?: Uint8Array;
  /** Release the file; reads fail afterwards. */
  close?(): Promise<void>;
}

/** A source over bytes in memory. */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    bytes,
    read: async (offset, length) => bytes.subarray(Math.max(0, offset), Math.max(0, Math.min(bytes.length, offset + length))),
  };
}

/** Everything a source holds, as one array (its own memory when the source is in memory already). */
export async function readAll(source: ByteSource): Promise<Uint8Array> {
  if (source.bytes) return source.bytes;
  const out = await source.read(0, source.size);
  if (out.length !== source.size) throw new RangeError(`read ${out.length} of ${source.size} bytes`);
  return out;
}

/** True for a ByteSource (as opposed to a Uint8Array). */
export function isByteSource(v: unknown): v is ByteSource {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && typeof (v as ByteSource).read === 'function' && typeof (v as ByteSource).size === 'number';
}
