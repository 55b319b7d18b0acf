/**
 * PLIO_1 tile decompression: IRAF pixel-list "line lists" (tiled image compression convention,
 * section 4.3), 16-bit words, each an opcode in its top 4 bits and 12 bits of data:
 * 0 zero run, 4 run of the current value, 5 zeros then one pixel of the current value,
 * 1 set the value (data + next word << 12), 2/3 add/subtract data, 6/7 add/subtract then emit one
 * pixel. The list starts with a header giving its length and first word.
 */

/**
 * Decodes `nWords` 16-bit big-endian words of src into `npix` pixels of out. Returns an error
 * message where the list is broken, null on success.
 */
export function plioDecode(src: Uint8Array, nWords: number, npix: number, out: Float64Array): string | null {
  const word = (i: number): number => {
    const v = (src[2 * i]! << 8) | src[2 * i + 1]!;
    return (v << 16) >> 16; // signed, as the list's shorts are
  };
  if (nWords < 3) return 'PLIO line list shorter than its header';
  let length: number;
  let first: number;
  if (word(2) > 0) {
    length = word(2);
    first = 3;
  } else {
    if (nWords < 5) return 'PLIO line list shorter than its header';
    length = (word(4) << 15) + word(3);
    first = word(1);
  }
  if (length > nWords) return `PLIO line list claims ${length} words but has ${nWords}`;
  out.fill(0, 0, npix);
  if (length <= 0 || npix <= 0) return null;
  if (first < 0) return 'PLIO line list has a bad header';

  let x = 0; // next pixel (0-based) along the line
  let value = 1;
  for (let ip = first; ip < length && x < npix; ip++) {
    const w = word(ip);
    const opcode = Math.trunc(w / 4096);
    const data = w & 4095;
    switch (opcode) {
      case 0:
      case 4:
      case 5: {
        const stop = Math.min(x + data, npix);
        if (opcode === 4) out.fill(value, x, stop);
        else if (opcode === 5 && x + data <= npix && data > 0) out[x + data - 1] = value;
        x += data;
        break;
      }
      case 1:
        if (ip + 1 >= length) return 'PLIO line list ends inside a set-value instruction';
        value = (word(ip + 1) << 12) + data;
        ip++;
        break;
      case 2:
        value += data;
        break;
      case 3:
        value -= data;
        break;
      case 6:
      case 7:
        value += opcode === 6 ? data : -data;
        if (x < npix) out[x] = value;
        x++;
        break;
      default:
        break; // unknown opcodes are skipped, as IRAF does
    }
  }
  return null;
}
