/**
 * How the values of the IPC map (ipc.ts) travel over HTTP in the browser mode (src-main/web and
 * src-renderer/lib/web-api.ts), where Electron's structured clone is not available. One frame is
 *
 *   u32 little-endian: byte length of the JSON text │ JSON text (UTF-8) │ zero padding to 8 │
 *   blob 0 │ padding to 8 │ blob 1 │ …
 *
 * Every typed array (or ArrayBuffer) inside the value goes out as raw bytes in a blob and is
 * replaced in the JSON by `{"$bin": index, "type": "Float32Array", "length": n}`, so a frame's
 * Float32 pixels cost 4 bytes each instead of a decimal number, and the receiver gets a typed array
 * again without parsing. Non-finite numbers (NaN statistics of a blank frame) become
 * `{"$num": "NaN"}` and come back as numbers; undefined (an omitted optional argument) stays
 * undefined, as in Electron's structured clone, instead of becoming null. Typed arrays are sent in
 * the machine's byte order (little-endian on every platform the app runs on). The codec is generic: any channel added to
 * the map travels without changes, as long as its values are plain data (objects, arrays,
 * strings, numbers, booleans, null, typed arrays).
 *
 * Frames from the network are untrusted: decoding checks every length and index and throws
 * WireError on anything malformed. No DOM or Node here: the caller supplies UTF-8 coding.
 */

/** UTF-8 coding (TextEncoder/TextDecoder in both the browser and Node). */
export interface Utf8 {
  encode(text: string): Uint8Array;
  decode(bytes: Uint8Array): string;
}

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

type TypedArrayName =
  | 'Int8Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'ArrayBuffer';

const CONSTRUCTORS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
} as const;

const ALIGN = 8;
const pad = (n: number) => (ALIGN - (n % ALIGN)) % ALIGN;

function typeName(v: ArrayBufferView): TypedArrayName {
  const name = v.constructor.name;
  if (name in CONSTRUCTORS) return name as TypedArrayName;
  throw new WireError(`cannot send a ${name}`);
}

/** The frame of `value`. */
export function encodeFrame(value: unknown, utf8: Utf8): Uint8Array {
  const blobs: Uint8Array[] = [];
  const root = { v: value };
  const json = JSON.stringify(root, function (this: unknown, _key: string, v: unknown) {
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    // As in a structured clone, an undefined element or field stays (JSON would drop it or make it null).
    if (v === undefined && this !== root) return { $undef: 1 };
    if (v instanceof ArrayBuffer) {
      blobs.push(new Uint8Array(v));
      return { $bin: blobs.length - 1, type: 'ArrayBuffer', length: v.byteLength };
    }
    if (ArrayBuffer.isView(v)) {
      if (v instanceof DataView) throw new WireError('cannot send a DataView');
      const type = typeName(v);
      blobs.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return { $bin: blobs.length - 1, type, length: (v as unknown as { length: number }).length };
    }
    return v;
  });
  const text = utf8.encode(json);
  let size = 4 + text.length + pad(4 + text.length);
  for (const b of blobs) size += b.length + pad(b.length);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 4);
  let at = 4 + text.length + pad(4 + text.length);
  for (const b of blobs) {
    out.set(b, at);
    at += b.length + pad(b.length);
  }
  return out;
}

function isMarker(o: Record<string, unknown>, key: string, n: number): boolean {
  const keys = Object.keys(o);
  return keys.length === n && key in o;
}

/** The value of a frame; throws WireError when the frame is malformed. */
export function decodeFrame(frame: Uint8Array, utf8: Utf8): unknown {
  if (frame.length < 4) throw new WireError('truncated frame');
  const textLength = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (4 + textLength > frame.length) throw new WireError('truncated frame');
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(frame.subarray(4, 4 + textLength)));
  } catch {
    throw new WireError('the frame is not valid JSON');
  }
  // Blob offsets, in order (each blob's length comes from its marker, so markers are read first).
  const markers: { index: number; type: TypedArrayName; length: number }[] = [];
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(collect);
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    if (isMarker(o, '$bin', 3)) {
      const { $bin: index, type, length } = o;
      if (!Number.isInteger(index) || typeof type !== 'string' || !(type === 'ArrayBuffer' || type in CONSTRUCTORS) || !Number.isInteger(length) || (length as number) < 0)
        throw new WireError('bad binary marker');
      markers[index as number] = { index: index as number, type: type as TypedArrayName, length: length as number };
      return;
    }
    for (const k of Object.keys(o)) collect(o[k]);
  };
  collect(parsed);
  const views: unknown[] = [];
  let at = 4 + textLength + pad(4 + textLength);
  for (let i = 0; i < markers.length; i++) {
    const m = markers[i];
    if (!m) throw new WireError(`binary part ${i} is missing`);
    const bytesPer = m.type === 'ArrayBuffer' ? 1 : CONSTRUCTORS[m.type].BYTES_PER_ELEMENT;
    const byteLength = m.length * bytesPer;
    if (at + byteLength > frame.length) throw new WireError('truncated binary part');
    const start = frame.byteOffset + at;
    if (m.type === 'ArrayBuffer') views.push(frame.slice(at, at + byteLength).buffer);
    else if (start % bytesPer === 0) views.push(new CONSTRUCTORS[m.type](frame.buffer as ArrayBuffer, start, m.length));
    else views.push(new CONSTRUCTORS[m.type](frame.slice(at, at + byteLength).buffer));
    at += byteLength + pad(byteLength);
  }
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(revive);
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    if (isMarker(o, '$bin', 3)) return views[o.$bin as number];
    if (isMarker(o, '$undef', 1)) return undefined;
    if (isMarker(o, '$num', 1)) {
      if (o.$num === 'NaN') return NaN;
      if (o.$num === 'Infinity') return Infinity;
      if (o.$num === '-Infinity') return -Infinity;
      throw new WireError('bad number marker');
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) {
      // JSON.parse makes own "__proto__" keys; copying them with [] would set the prototype.
      if (k === '__proto__') continue;
      out[k] = revive(o[k]);
    }
    return out;
  };
  const root = revive(parsed);
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new WireError('the frame holds no value');
  return (root as { v?: unknown }).v;
}
