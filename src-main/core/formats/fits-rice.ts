/**
 * Rice decompression of a tile (ZCMPTYPE = 'RICE_1'), as described in the tiled image compression
 * convention (Pence, White, Seaman; FITS standard 4.0 section 10.4.1): the first pixel is stored
 * raw in BYTEPIX bytes, then blocks of BLOCKSIZE pixel differences, each block starting with a
 * split level FS in 3/4/5 bits (BYTEPIX 1/2/4): FS+1 = 0 marks a block of zero differences, the
 * maximum marks differences stored raw, otherwise each difference (zigzag-mapped) is a unary
 * high part and FS low bits.
 */

export type RiceBytePix = 1 | 2 | 4;

/**
 * Decodes `count` pixels from `src` (the tile's compressed bytes, nothing after them) into out.
 * Values are the pixel integers: unsigned for BYTEPIX 1, signed for 2 and 4. Returns an error
 * message where the stream is broken, null on success.
 */
export function riceDecode(
  src: Uint8Array,
  count: number,
  blockSize: number,
  bytePix: RiceBytePix,
  out: Float64Array,
): string | null {
  const fsBits = bytePix === 1 ? 3 : bytePix === 2 ? 4 : 5;
  const fsMax = bytePix === 1 ? 6 : bytePix === 2 ? 14 : 25;
  const bBits = bytePix * 8;
  const end = src.length;
  if (count <= 0) return null;
  if (end < bytePix + 1) return 'the compressed tile is shorter than its first pixel';

  let p = 0;
  let last = 0;
  for (let i = 0; i < bytePix; i++) last = last * 256 + src[p++]!;
  // `last` is kept wrapped to the pixel type: unsigned 8-bit, signed 16/32-bit.
  if (bytePix === 2) last = (last << 16) >> 16;
  else if (bytePix === 4) last = last | 0;

  let b = src[p++]!; // bit buffer, holding `nBits` unread bits
  let nBits = 8;
  let i = 0;
  while (i < count) {
    // Split level of the block.
    nBits -= fsBits;
    while (nBits < 0) {
      if (p >= end) return 'the compressed tile ends early';
      b = (b << 8) | src[p++]!;
      nBits += 8;
    }
    const fs = (b >>> nBits) - 1;
    b &= (1 << nBits) - 1;
    const iMax = Math.min(i + blockSize, count);
    if (fs < 0) {
      for (; i < iMax; i++) out[i] = last;
    } else if (fs === fsMax) {
      // Differences stored raw, bBits bits each.
      for (; i < iMax; i++) {
        if (p + bytePix > end) return 'the compressed tile ends early';
        let k = bBits - nBits;
        let diff = k >= 32 ? 0 : b << k;
        for (k -= 8; k >= 0; k -= 8) {
          b = src[p++]!;
          diff |= b << k;
        }
        if (nBits > 0) {
          b = src[p++]!;
          diff |= b >>> -k;
          b &= (1 << nBits) - 1;
        } else {
          b = 0;
        }
        if (bBits < 32) diff &= (1 << bBits) - 1;
        const d = (diff & 1) === 0 ? diff >>> 1 : ~(diff >>> 1);
        last = wrap(last + d, bytePix);
        out[i] = last;
      }
    } else if (fs > fsMax) {
      return `bad split level ${fs} in the compressed tile`;
    } else {
      for (; i < iMax; i++) {
        // Unary part: count the zero bits before the next 1.
        while (b === 0) {
          if (p >= end) return 'the compressed tile ends early';
          nBits += 8;
          b = src[p++]!;
        }
        const nZero = nBits - (32 - Math.clz32(b));
        nBits -= nZero + 1;
        b ^= 1 << nBits;
        // fs low bits.
        nBits -= fs;
        while (nBits < 0) {
          if (p >= end) return 'the compressed tile ends early';
          b = (b << 8) | src[p++]!;
          nBits += 8;
        }
        const diff = (nZero << fs) | (b >>> nBits);
        b &= (1 << nBits) - 1;
        const d = (diff & 1) === 0 ? diff >>> 1 : ~(diff >>> 1);
        last = wrap(last + d, bytePix);
        out[i] = last;
      }
    }
  }
  return null;
}

function wrap(v: number, bytePix: RiceBytePix): number {
  if (bytePix === 4) return v | 0;
  if (bytePix === 2) return (v << 16) >> 16;
  return v & 0xff;
}
