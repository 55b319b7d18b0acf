// The browser mode's encoding of IPC values: what goes in comes out (typed arrays as typed arrays,
// NaN as NaN), and malformed frames from the network are refused with WireError.
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, WireError, type Utf8 } from '../../src-main/shared/wire.js';

const utf8: Utf8 = { encode: (s) => new TextEncoder().encode(s), decode: (b) => new TextDecoder('utf-8', { fatal: true }).decode(b) };
const roundTrip = (v: unknown) => decodeFrame(encodeFrame(v, utf8), utf8);

describe('wire frames', () => {
  it('carries plain data, non-finite numbers and undefined results', () => {
    const v = { a: 1, b: 'é ✓', c: [true, null, { d: -2.5 }], stats: { min: NaN, max: Infinity, low: -Infinity } };
    expect(roundTrip(v)).toEqual(v);
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip(null)).toBeNull();
    // An omitted optional argument stays undefined (JSON alone would send null, which validation refuses).
    const args = roundTrip(['csv', undefined]) as unknown[];
    expect(args).toHaveLength(2);
    expect(args[1]).toBeUndefined();
    const o = roundTrip({ a: undefined, v: undefined }) as Record<string, unknown>;
    expect(Object.keys(o).sort()).toEqual(['a', 'v']);
  });

  it('carries typed arrays as raw bytes: a frame of pixels costs 4 bytes a pixel', () => {
    const pixels = Float32Array.from({ length: 10_000 }, (_, i) => Math.sin(i) * 1e3);
    pixels[7] = NaN;
    const frame = { imageId: 1, width: 100, height: 100, pixels, mask: new Uint8Array([1, 2, 3]), weights: new Float64Array([0.1, 1e-300]) };
    const bytes = encodeFrame(frame, utf8);
    expect(bytes.length).toBeLessThan(40_000 + 300);
    const back = decodeFrame(bytes, utf8) as typeof frame;
    expect(back.pixels).toBeInstanceOf(Float32Array);
    expect(Array.from(back.pixels)).toEqual(Array.from(pixels));
    expect(back.mask).toBeInstanceOf(Uint8Array);
    expect(Array.from(back.mask)).toEqual([1, 2, 3]);
    expect(Array.from(back.weights)).toEqual([0.1, 1e-300]);
  });

  it('decodes a frame at any byte offset (Node buffers are often unaligned)', () => {
    const bytes = encodeFrame({ p: new Float32Array([1.5, -2, 3.25]) }, utf8);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const back = decodeFrame(shifted.subarray(1), utf8) as { p: Float32Array };
    expect(Array.from(back.p)).toEqual([1.5, -2, 3.25]);
  });

  it('keeps views of part of a buffer to their own bytes', () => {
    const big = new Float32Array([9, 9, 1, 2, 9]);
    const back = roundTrip({ part: big.subarray(2, 4) }) as { part: Float32Array };
    expect(Array.from(back.part)).toEqual([1, 2]);
  });

  it('refuses malformed frames', () => {
    const good = encodeFrame({ p: new Float32Array(8) }, utf8);
    expect(() => decodeFrame(new Uint8Array(2), utf8)).toThrow(WireError);
    expect(() => decodeFrame(good.subarray(0, good.length - 8), utf8)).toThrow(/truncated/);
    const text = utf8.encode('{"v":{"$bin":3,"type":"Float32Array","length":1}}');
    const lying = new Uint8Array(4 + text.length);
    new DataView(lying.buffer).setUint32(0, text.length, true);
    lying.set(text, 4);
    expect(() => decodeFrame(lying, utf8)).toThrow(WireError);
    const notJson = new Uint8Array([3, 0, 0, 0, 0x7b, 0x7b, 0x7b]);
    expect(() => decodeFrame(notJson, utf8)).toThrow(/not valid JSON/);
    const badType = utf8.encode('{"v":{"$bin":0,"type":"Function","length":1}}');
    const f = new Uint8Array(8 + badType.length + 8);
    new DataView(f.buffer).setUint32(0, badType.length, true);
    f.set(badType, 4);
    expect(() => decodeFrame(f, utf8)).toThrow(/bad binary marker/);
  });

  it('does not let a __proto__ key change the prototype of a decoded object', () => {
    const text = utf8.encode('{"v":{"__proto__":{"polluted":true},"a":1}}');
    const f = new Uint8Array(4 + text.length);
    new DataView(f.buffer).setUint32(0, text.length, true);
    f.set(text, 4);
    const v = decodeFrame(f, utf8) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(v.polluted).toBeUndefined();
    expect(v.a).toBe(1);
  });
});
