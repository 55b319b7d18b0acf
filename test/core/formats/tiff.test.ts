import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { zlibSync } from 'fflate';
import { fromArrayBuffer } from 'geotiff';
import { describe, expect, it } from 'vitest';
import { CpgdError, FormatError, InvalidOptionError, UnsupportedFormatError } from '../../../src-main/core/errors.js';
import type { ImageSource } from '../../../src-main/core/image.js';
import { readTiff, writeTiff } from '../../../src-main/core/formats/tiff.js';
import { FIXTURES } from '../../paths.js';

interface Expected {
  frames: number;
  height: number;
  width: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  nan_count: number;
  pixels: [number, number, number, number | null][];
}

const expected = JSON.parse(readFileSync(resolve(FIXTURES, 'expected.json'), 'utf8')) as Record<string, Expected>;
const tiffNames = Object.keys(expected).filter((n) => /\.tiff?$/i.test(n));
const fixture = (n: string): Uint8Array => new Uint8Array(readFileSync(resolve(FIXTURES, n)));

function close(actual: number, want: number, rel = 1e-6): void {
  expect(Math.abs(actual - want)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want)));
}

async function allFrames(src: ImageSource): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (let i = 0; i < src.frames; i++) out.push((await src.frame(i)).data);
  return out;
}

/** Resolves to the error readTiff or any frame read rejects with (undefined when all succeed). */
async function failure(bytes: Uint8Array, name = 'bad.tif'): Promise<unknown> {
  try {
    const src = await readTiff(bytes, { name });
    await allFrames(src);
    return undefined;
  } catch (e) {
    return e;
  }
}

// ---------------------------------------------------------------------------------------------
// A small TIFF builder for cases no fixture covers (byte orders, predictors, tiles, BigTIFF...).

type FieldValues = number[] | string;
interface Field {
  tag: number;
  type: number;
  values: FieldValues;
}
interface PageSpec {
  fields: Field[];
  blocks: Uint8Array[];
  tiled?: boolean;
}

const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 16: 8 };

function buildTiff(pages: PageSpec[], { le = true, big = false } = {}): Uint8Array {
  const out: number[] = [];
  const int = (v: number, n: number): number[] => {
    const b: number[] = [];
    for (let i = 0; i < n; i++) b.push(Math.floor(v / 2 ** (8 * i)) & 0xff);
    return le ? b : b.reverse();
  };
  const patch = (pos: number, v: number, n: number) => int(v, n).forEach((x, i) => (out[pos + i] = x));
  const pad = () => {
    while (out.length % 4) out.push(0);
  };
  const off = big ? 8 : 4;
  out.push(...(le ? [0x49, 0x49] : [0x4d, 0x4d]), ...int(big ? 43 : 42, 2));
  if (big) out.push(...int(8, 2), 0, 0);
  let nextPtr = out.length;
  out.push(...int(0, off));
  for (const page of pages) {
    const offsets: number[] = [];
    for (const b of page.blocks) {
      pad();
      offsets.push(out.length);
      for (const x of b) out.push(x);
    }
    const fields: Field[] = [
      ...page.fields,
      { tag: page.tiled ? 324 : 273, type: big ? 16 : 4, values: offsets },
      { tag: page.tiled ? 325 : 279, type: big ? 16 : 4, values: page.blocks.map((b) => b.length) },
    ].sort((a, b) => a.tag - b.tag);
    pad();
    patch(nextPtr, out.length, off);
    const ifd = out.length;
    const entry = big ? 20 : 12;
    out.push(...int(fields.length, big ? 8 : 2));
    const entriesAt = out.length;
    out.push(...new Array<number>(fields.length * entry + off).fill(0));
    nextPtr = entriesAt + fields.length * entry;
    fields.forEach((f, i) => {
      const bytes: number[] = [];
      if (typeof f.values === 'string') for (const c of Buffer.from(f.values + '\0', 'utf8')) bytes.push(c);
      else for (const v of f.values) bytes.push(...int(v, f.type === 5 ? 4 : TYPE_BYTES[f.type]!));
      const count = typeof f.values === 'string' ? bytes.length : f.type === 5 ? f.values.length / 2 : f.values.length;
      const e = entriesAt + i * entry;
      patch(e, f.tag, 2);
      patch(e + 2, f.type, 2);
      patch(e + 4, count, big ? 8 : 4);
      const at = e + (big ? 12 : 8);
      if (bytes.length <= off) {
        // left-justified in the value field
        bytes.forEach((x, k) => (out[at + k] = x));
      } else {
        pad();
        patch(at, out.length, off);
        out.push(...bytes);
      }
    });
    void ifd;
  }
  return Uint8Array.from(out);
}

type Kind = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f16' | 'f32' | 'f64';
const KIND: Record<Kind, [bits: number, format: number]> = {
  u8: [8, 1], i8: [8, 2], u16: [16, 1], i16: [16, 2], u32: [32, 1], i32: [32, 2], f16: [16, 3], f32: [32, 3], f64: [64, 3],
};

function encode(kind: Kind, values: ArrayLike<number>, le: boolean): Uint8Array {
  const size = KIND[kind][0] / 8;
  const dv = new DataView(new ArrayBuffer(values.length * size));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const p = i * size;
    switch (kind) {
      case 'u8': dv.setUint8(p, v); break;
      case 'i8': dv.setInt8(p, v); break;
      case 'u16': dv.setUint16(p, v, le); break;
      case 'i16': dv.setInt16(p, v, le); break;
      case 'u32': dv.setUint32(p, v, le); break;
      case 'i32': dv.setInt32(p, v, le); break;
      case 'f16': dv.setUint16(p, v, le); break; // v is the half-float bit pattern
      case 'f32': dv.setFloat32(p, v, le); break;
      case 'f64': dv.setFloat64(p, v, le); break;
    }
  }
  return new Uint8Array(dv.buffer);
}

function baseFields(width: number, height: number, kind: Kind, extra: Field[] = [], samples = 1): Field[] {
  const [bits, format] = KIND[kind];
  return [
    { tag: 256, type: 4, values: [width] },
    { tag: 257, type: 3, values: [height] },
    { tag: 258, type: 3, values: new Array<number>(samples).fill(bits) },
    { tag: 262, type: 3, values: [samples === 3 ? 2 : 1] },
    { tag: 277, type: 3, values: [samples] },
    { tag: 339, type: 3, values: new Array<number>(samples).fill(format) },
    ...extra,
  ];
}

/** Deterministic pseudo-random numbers (mulberry32). */
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

function ramp(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

// ---------------------------------------------------------------------------------------------

describe('readTiff on the reference fixtures', () => {
  it('covers every TIFF fixture', () => {
    expect(tiffNames.length).toBeGreaterThanOrEqual(15);
  });

  for (const name of tiffNames) {
    it(`reads ${name} as tifffile/Pillow do`, async () => {
      const want = expected[name]!;
      const src = await readTiff(fixture(name), { name });
      expect(src.format).toBe('tiff');
      expect([src.frames, src.height, src.width]).toEqual([want.frames, want.height, want.width]);
      const frames = await allFrames(src);
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      let n = 0;
      let nan = 0;
      for (const f of frames) {
        expect(f.length).toBe(want.width * want.height);
        for (const v of f) {
          if (Number.isNaN(v)) {
            nan++;
            continue;
          }
          min = Math.min(min, v);
          max = Math.max(max, v);
          sum += v;
          n++;
        }
      }
      expect(nan).toBe(want.nan_count);
      if (want.min === null) {
        expect(n).toBe(0);
      } else {
        close(min, want.min);
        close(max, want.max!);
        close(sum / n, want.mean!);
      }
      for (const [f, y, x, v] of want.pixels) {
        const got = frames[f]![y * want.width + x]!;
        if (v === null) expect(got).toBeNaN();
        else close(got, v);
      }
    });
  }

  it('gives the OME-TIFF pixel size in nm from PhysicalSizeX/Y (0.1 µm)', async () => {
    const bytes = fixture('ome_u16.ome.tif');
    expect(Buffer.from(bytes).toString('utf8')).toContain('PhysicalSizeX="0.1" PhysicalSizeXUnit="µm"');
    const src = await readTiff(bytes, { name: 'ome_u16.ome.tif' });
    expect(src.pixelSizeNm!.x).toBeCloseTo(100, 9);
    expect(src.pixelSizeNm!.y).toBeCloseTo(100, 9);
    expect((await readTiff(fixture('u16_stack.tif'))).pixelSizeNm).toBeUndefined();
  });

  it('lists the main tags of the first page in the header', async () => {
    const src = await readTiff(fixture('u16_tiled.tif'));
    const card = (k: string) => src.header.find((c) => c.key === k);
    expect(card('ImageWidth')?.value).toBe(80);
    expect(card('ImageLength')?.value).toBe(64);
    expect(card('BitsPerSample')?.value).toBe(16);
    expect(card('Compression')).toMatchObject({ value: 1, comment: 'none' });
    expect(card('TileWidth')?.value).toBe(32);
    expect(card('ImageDescription')?.value).toBe('{"shape": [64, 80]}');
    expect(card('Software')?.value).toBe('tifffile.py');
    const deflate = await readTiff(fixture('u16_deflate.tif'));
    expect(deflate.header.find((c) => c.key === 'Compression')).toMatchObject({ value: 8, comment: 'Deflate' });
    const f32 = await readTiff(fixture('f32.tif'));
    expect(f32.header.find((c) => c.key === 'SampleFormat')?.value).toBe('3 3 3');
    expect(f32.header.find((c) => c.key === 'SamplesPerPixel')?.value).toBe(3);
  });

  it('reads a file held in a view into a larger buffer, at an odd offset', async () => {
    for (const name of ['u16_stack.tif', 'f64.tif', 'u16_bigendian.tif']) {
      const bytes = fixture(name);
      const big = new Uint8Array(bytes.length + 10).fill(0xee);
      big.set(bytes, 3);
      const view = big.subarray(3, 3 + bytes.length);
      const want = await allFrames(await readTiff(bytes));
      expect(await allFrames(await readTiff(view))).toEqual(want);
      expect(Array.from(view)).toEqual(Array.from(bytes)); // the caller's bytes are left alone
    }
  });

  it('truncates a long ImageDescription in the header', async () => {
    const long = 'x'.repeat(5000);
    const src = await readTiff(writeTiff([new Float32Array(4)], 2, 2, { description: long }));
    const card = src.header.find((c) => c.key === 'ImageDescription')!;
    expect(typeof card.value).toBe('string');
    expect((card.value as string).length).toBeLessThan(1100);
    expect(card.comment).toContain('5000');
  });
});

describe('readTiff decodes lazily', () => {
  it('reads frame 0 of a stack whose page 2 is corrupt; frame 2 gives a FormatError', async () => {
    const bytes = fixture('u16_deflate.tif');
    const tiff = await fromArrayBuffer(bytes.slice().buffer);
    const page2 = (await tiff.getImage(2)).fileDirectory;
    const offset = Number((page2.getValue('StripOffsets') as ArrayLike<number>)[0]);
    const count = Number((page2.getValue('StripByteCounts') as ArrayLike<number>)[0]);
    const broken = bytes.slice();
    broken.fill(0xff, offset, offset + count);

    const good = await readTiff(bytes, { name: 'u16_deflate.tif' });
    const src = await readTiff(broken, { name: 'broken.tif' });
    expect(src.frames).toBe(5);
    expect(Array.from((await src.frame(0)).data)).toEqual(Array.from((await good.frame(0)).data));
    expect(Array.from((await src.frame(4)).data)).toEqual(Array.from((await good.frame(4)).data));
    const err = await src.frame(2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).file).toBe('broken.tif');
    expect((err as FormatError).message).toMatch(/page 2/);
  });

  it('rejects a frame index out of range with InvalidOptionError', async () => {
    const src = await readTiff(fixture('u16_stack.tif'));
    await expect(src.frame(5)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(src.frame(-1)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(src.frame(0.5)).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('writeTiff', () => {
  const W = 300;
  const H = 250; // 1200-byte float rows: several strips per page
  const r = rng(7);
  const frames = [0, 1, 2].map((k) => Float64Array.from({ length: W * H }, (_, i) => (r() - 0.3) * 1e4 + k + (i % 17 === 0 ? NaN : 0)));

  it('round-trips float32 multi-page stacks through readTiff', async () => {
    const bytes = writeTiff(frames, W, H, { description: 'made by a test, 0.1 µm' });
    const src = await readTiff(bytes, { name: 'round.tif' });
    expect([src.frames, src.height, src.width]).toEqual([3, H, W]);
    const back = await allFrames(src);
    for (let k = 0; k < 3; k++) {
      const want = Float32Array.from(frames[k]!);
      let nan = 0;
      let mismatches = 0;
      for (let i = 0; i < W * H; i++) {
        if (Number.isNaN(want[i]!)) nan += Number.isNaN(back[k]![i]!) ? 1 : 0;
        else if (back[k]![i] !== want[i]) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect(nan).toBe(Math.ceil((W * H) / 17));
    }
    expect(src.header.find((c) => c.key === 'ImageDescription')?.value).toBe('made by a test, 0.1 µm');
    expect(src.header.find((c) => c.key === 'SampleFormat')?.value).toBe(3);
  });

  it('writes files geotiff reads back identically', async () => {
    const bytes = writeTiff(frames, W, H);
    const tiff = await fromArrayBuffer(bytes.slice().buffer);
    expect(await tiff.getImageCount()).toBe(3);
    for (let k = 0; k < 3; k++) {
      const img = await tiff.getImage(k);
      expect([img.getWidth(), img.getHeight()]).toEqual([W, H]);
      const [data] = (await img.readRasters()) as unknown as Float32Array[];
      expect(data).toBeInstanceOf(Float32Array);
      expect(Array.from(data!)).toEqual(Array.from(Float32Array.from(frames[k]!)));
    }
  });

  it('round-trips uint16 with rounding and clamping (NaN to 0)', async () => {
    const values = [-5, 0, 0.4, 0.5, 1.6, 1234.49, 65534.6, 70000, NaN, Infinity, -Infinity, 42];
    const f = Float32Array.from(values);
    const bytes = writeTiff([f, f.map((v) => v * 2)], 4, 3, { type: 'uint16' });
    const src = await readTiff(bytes);
    expect(src.header.find((c) => c.key === 'BitsPerSample')?.value).toBe(16);
    expect(Array.from((await src.frame(0)).data)).toEqual([0, 0, 0, 1, 2, 1234, 65535, 65535, 0, 65535, 0, 42]);
    expect(Array.from((await src.frame(1)).data)).toEqual([0, 0, 1, 1, 3, 2469, 65535, 65535, 0, 65535, 0, 84]);
    const img = await (await fromArrayBuffer(bytes.slice().buffer)).getImage(1);
    const [data] = (await img.readRasters()) as unknown as Uint16Array[];
    expect(data).toBeInstanceOf(Uint16Array);
    expect(Array.from(data!)).toEqual([0, 0, 1, 1, 3, 2469, 65535, 65535, 0, 65535, 0, 84]);
  });

  it('rejects bad arguments with typed errors', () => {
    expect(() => writeTiff([], 2, 2)).toThrow(InvalidOptionError);
    expect(() => writeTiff([new Float32Array(4)], 0, 2)).toThrow(InvalidOptionError);
    expect(() => writeTiff([new Float32Array(3)], 2, 2)).toThrow(CpgdError);
    expect(() => writeTiff([new Float32Array(4)], 2, 2, { type: 'int8' as 'uint16' })).toThrow(InvalidOptionError);
  });

  it('writes an OME description whose pixel size reads back, units converted', async () => {
    const ome = (attrs: string) =>
      `<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">` +
      `<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="float" SizeX="2" SizeY="2" SizeC="1" SizeZ="1" SizeT="1" ${attrs}>` +
      `<TiffData/></Pixels></Image></OME>`;
    const size = async (attrs: string) => (await readTiff(writeTiff([new Float32Array(4)], 2, 2, { description: ome(attrs) }))).pixelSizeNm;
    expect(await size('PhysicalSizeX="65" PhysicalSizeXUnit="nm" PhysicalSizeY="0.13" PhysicalSizeYUnit="µm"')).toEqual({ x: 65, y: 130 });
    expect(await size('PhysicalSizeX="0.16" PhysicalSizeY="0.16"')).toEqual({ x: 160, y: 160 }); // default µm
    const angstrom = await size("PhysicalSizeY='1.5' PhysicalSizeYUnit='Å'"); // only Y given: square pixels
    expect(angstrom!.x).toBeCloseTo(0.15, 12);
    expect(angstrom!.y).toBeCloseTo(0.15, 12);
    expect(await size('PhysicalSizeX="1" PhysicalSizeXUnit="pixel"')).toBeUndefined();
    expect(await size('')).toBeUndefined();
  });
});

describe('readTiff on constructed files', () => {
  const W = 23;
  const H = 17;
  const r = rng(3);

  it('reads every sample type, in both byte orders, several strips', async () => {
    const cases: [Kind, number[]][] = [
      ['u8', ramp(W * H, () => Math.floor(r() * 256))],
      ['i8', ramp(W * H, () => Math.floor(r() * 256) - 128)],
      ['u16', ramp(W * H, () => Math.floor(r() * 65536))],
      ['i16', ramp(W * H, () => Math.floor(r() * 65536) - 32768)],
      ['u32', ramp(W * H, () => Math.floor(r() * 2 ** 32))],
      ['i32', ramp(W * H, () => Math.floor(r() * 2 ** 32) - 2 ** 31)],
      ['f32', ramp(W * H, (i) => (i === 5 ? NaN : Math.fround((r() - 0.5) * 1e6)))],
      ['f64', ramp(W * H, () => (r() - 0.5) * 1e300)],
    ];
    for (const le of [true, false]) {
      for (const [kind, values] of cases) {
        const size = KIND[kind][0] / 8;
        const rows = 5; // strips of 5, 5, 5, 2 rows
        const blocks = [0, 1, 2, 3].map((s) => encode(kind, values.slice(s * rows * W, Math.min(H, (s + 1) * rows) * W), le));
        const bytes = buildTiff([{ fields: baseFields(W, H, kind, [{ tag: 278, type: 3, values: [rows] }]), blocks }], { le });
        const data = (await (await readTiff(bytes, { name: `${kind}-${le}` })).frame(0)).data;
        expect(Array.from(data), `${kind} ${le ? 'LE' : 'BE'} (${size} bytes)`).toEqual(values);
      }
    }
  });

  it('reads 16-bit floats', async () => {
    // bit patterns: 1, -2, 0.5, 65504, smallest subnormal, +inf, NaN, 0
    const bits = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00, 0x7e00, 0x0000];
    const bytes = buildTiff([{ fields: baseFields(8, 1, 'f16'), blocks: [encode('f16', bits, false)] }], { le: false });
    const data = (await (await readTiff(bytes)).frame(0)).data;
    expect(Array.from(data)).toEqual([1, -2, 0.5, 65504, 2 ** -24, Infinity, NaN, 0]);
  });

  it('undoes the horizontal predictor (Deflate, big-endian 16-bit)', async () => {
    const values = ramp(W * H, (i) => (1000 + 37 * (i % W) + 11 * Math.floor(i / W) + Math.floor(r() * 50)) % 65536);
    for (const le of [true, false]) {
      const blocks = [0, 1].map((s) => {
        const rows = values.slice(s * 9 * W, Math.min(H, (s + 1) * 9) * W);
        const diff = rows.map((v, i) => (i % W === 0 ? v : (v - rows[i - 1]! + 65536) % 65536));
        return zlibSync(encode('u16', diff, le));
      });
      const fields = baseFields(W, H, 'u16', [
        { tag: 259, type: 3, values: [8] },
        { tag: 278, type: 3, values: [9] },
        { tag: 317, type: 3, values: [2] },
      ]);
      const data = (await (await readTiff(buildTiff([{ fields, blocks }], { le }))).frame(0)).data;
      expect(Array.from(data)).toEqual(values);
    }
  });

  it('undoes the floating-point predictor (Deflate, float32 and float64, both byte orders)', async () => {
    for (const kind of ['f32', 'f64'] as const) {
      const size = KIND[kind][0] / 8;
      const values = ramp(W * H, () => (kind === 'f32' ? Math.fround((r() - 0.5) * 1000) : (r() - 0.5) * 1000));
      for (const le of [true, false]) {
        const encoded = new Uint8Array(W * H * size);
        for (let y = 0; y < H; y++) {
          const be = encode(kind, values.slice(y * W, (y + 1) * W), false); // most significant byte first
          const row = encoded.subarray(y * W * size, (y + 1) * W * size);
          for (let i = 0; i < W; i++) for (let b = 0; b < size; b++) row[b * W + i] = be[i * size + b]!;
          for (let i = row.length - 1; i >= 1; i--) row[i] = (row[i]! - row[i - 1]! + 256) & 0xff;
        }
        const fields = baseFields(W, H, kind, [
          { tag: 259, type: 3, values: [8] },
          { tag: 317, type: 3, values: [3] },
        ]);
        const data = (await (await readTiff(buildTiff([{ fields, blocks: [zlibSync(encoded)] }], { le }))).frame(0)).data;
        expect(Array.from(data), `${kind} ${le}`).toEqual(values);
      }
    }
  });

  it('reads tiles with partial edge tiles', async () => {
    const w = 50;
    const h = 40;
    const t = 16;
    const values = ramp(w * h, (i) => (i * 7919) % 32768 - 16384);
    const blocks: Uint8Array[] = [];
    for (let ty = 0; ty < h; ty += t) {
      for (let tx = 0; tx < w; tx += t) {
        const tile = new Array<number>(t * t).fill(-1);
        for (let y = 0; y < t; y++) for (let x = 0; x < t; x++) if (ty + y < h && tx + x < w) tile[y * t + x] = values[(ty + y) * w + tx + x]!;
        blocks.push(encode('i16', tile, false));
      }
    }
    const fields = baseFields(w, h, 'i16', [
      { tag: 322, type: 3, values: [t] },
      { tag: 323, type: 3, values: [t] },
    ]);
    const src = await readTiff(buildTiff([{ fields, blocks, tiled: true }], { le: false }));
    expect(Array.from((await src.frame(0)).data)).toEqual(values);
  });

  it('gives each sample of an interleaved RGB page its own frame', async () => {
    const px = ramp(W * H * 3, () => Math.floor(r() * 256));
    const fields = baseFields(W, H, 'u8', [], 3);
    const src = await readTiff(buildTiff([{ fields, blocks: [Uint8Array.from(px)] }, { fields, blocks: [Uint8Array.from(px.map((v) => 255 - v))] }]));
    expect(src.frames).toBe(6);
    for (let f = 0; f < 6; f++) {
      const page = Math.floor(f / 3);
      const s = f % 3;
      const want = ramp(W * H, (i) => (page ? 255 - px[i * 3 + s]! : px[i * 3 + s]!));
      expect(Array.from((await src.frame(f)).data)).toEqual(want);
    }
  });

  it('reads BigTIFF', async () => {
    const values = ramp(W * H, (i) => i * 3);
    const bytes = buildTiff([{ fields: baseFields(W, H, 'u32'), blocks: [encode('u32', values, true)] }, { fields: baseFields(W, H, 'u32'), blocks: [encode('u32', values.map((v) => v + 1), true)] }], { big: true });
    expect(bytes[2]).toBe(43);
    const src = await readTiff(bytes);
    expect(src.frames).toBe(2);
    expect(Array.from((await src.frame(1)).data)).toEqual(values.map((v) => v + 1));
  });

  it('reads a big-endian file with hundreds of strips (offsets beyond the IFD block)', async () => {
    const w = 4;
    const h = 600;
    const values = ramp(w * h, (i) => (i * 31) % 65536);
    const blocks = ramp(h, (y) => y).map((y) => encode('u16', values.slice(y * w, (y + 1) * w), false));
    const fields = baseFields(w, h, 'u16', [{ tag: 278, type: 3, values: [1] }]);
    const src = await readTiff(buildTiff([{ fields, blocks }], { le: false }));
    expect(Array.from((await src.frame(0)).data)).toEqual(values);
  });

  it('takes the pixel size from an ImageJ description and XResolution/YResolution', async () => {
    const fields = baseFields(2, 1, 'u8', [
      { tag: 270, type: 2, values: 'ImageJ=1.54f\nimages=1\nunit=micron\n' },
      { tag: 282, type: 5, values: [10, 1] }, // 10 pixels per micron
      { tag: 283, type: 5, values: [25, 2] },
    ]);
    const src = await readTiff(buildTiff([{ fields, blocks: [Uint8Array.from([1, 2])] }]));
    expect(src.pixelSizeNm!.x).toBeCloseTo(100, 9);
    expect(src.pixelSizeNm!.y).toBeCloseTo(80, 9);
  });
});

/** Packs LZW codes at the widths a TIFF LZW decoder reads them (9 to 12 bits, early change). */
function packLzw(codes: number[]): Uint8Array {
  const bits: number[] = [];
  let width = 9;
  let size = 258;
  let previous = false;
  for (const c of codes) {
    for (let i = width - 1; i >= 0; i--) bits.push((c >> i) & 1);
    if (c === 256) {
      width = 9;
      size = 258;
      previous = false;
      continue;
    }
    if (previous) size++;
    previous = true;
    if (size + 1 >= 2 ** width) {
      if (width === 12) previous = false;
      else width++;
    }
  }
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => (out[i >> 3]! |= b << (7 - (i & 7))));
  return out;
}

/** A conforming TIFF LZW encoder (table cleared when it reaches 4094 entries, as libtiff does). */
function lzwEncode(data: Uint8Array): Uint8Array {
  const codes = [256];
  let table = new Map<number, number>();
  let next = 258;
  let prefix = data[0]!;
  for (let i = 1; i < data.length; i++) {
    const key = prefix * 256 + data[i]!;
    const hit = table.get(key);
    if (hit !== undefined) {
      prefix = hit;
      continue;
    }
    codes.push(prefix);
    table.set(key, next++);
    if (next === 4094) {
      codes.push(256);
      table = new Map();
      next = 258;
    }
    prefix = data[i]!;
  }
  codes.push(prefix, 257);
  return packLzw(codes);
}

function lzwTiff(strip: Uint8Array, width: number, height: number): Uint8Array {
  return buildTiff([{ fields: baseFields(width, height, 'u8', [{ tag: 259, type: 3, values: [5] }]), blocks: [strip] }]);
}

describe('readTiff errors', () => {
  it('rejects empty input and garbage with FormatError naming the file', async () => {
    for (const bytes of [
      new Uint8Array(0),
      Uint8Array.from([0x49, 0x49, 42]),
      new TextEncoder().encode('SIMPLE  =                    T / this is FITS, not TIFF'),
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      Uint8Array.from(ramp(4096, (i) => (i * 2654435761) >>> 24)),
      Uint8Array.from([0x49, 0x49, 42, 0, 0, 0, 0, 0]), // no IFD
      Uint8Array.from([0x4d, 0x4d, 0, 42, 0xff, 0xff, 0xff, 0xf0]), // IFD past the end
    ]) {
      const err = await failure(bytes, 'junk.bin');
      expect(err).toBeInstanceOf(FormatError);
      expect((err as FormatError).file).toBe('junk.bin');
      expect((err as FormatError).describe()).toMatch(/^junk\.bin: not a valid TIFF file: /);
    }
  });

  it('rejects truncated files with FormatError', async () => {
    const bytes = fixture('u16_stack.tif');
    // 8..256 first IFD, 256..5926 pixel data, then the IFDs of pages 1-4 (the last ends at 6574)
    expect(bytes.length).toBe(6590);
    for (const cut of [4, 9, 100, 300, 1000, 3000, 5925, 6000, 6573]) {
      const err = await failure(bytes.subarray(0, cut), 'cut.tif');
      expect(err, `cut at ${cut}`).toBeInstanceOf(FormatError);
    }
    // data of a compressed strip cut short
    const deflate = fixture('u16_deflate.tif');
    expect(await failure(deflate.subarray(0, deflate.length - 10))).toBeInstanceOf(FormatError);
  });

  it('rejects a strip offset past the end of the file', async () => {
    const bytes = fixture('u8.tif').slice(); // one strip, StripOffsets LONG inline
    const ifd = new DataView(bytes.buffer).getUint32(4, true);
    const n = new DataView(bytes.buffer).getUint16(ifd, true);
    let patched = false;
    for (let k = 0; k < n; k++) {
      const e = ifd + 2 + 12 * k;
      if (new DataView(bytes.buffer).getUint16(e, true) === 273) {
        new DataView(bytes.buffer).setUint32(e + 8, bytes.length + 1000, true);
        patched = true;
      }
    }
    expect(patched).toBe(true);
    const err = await failure(bytes, 'offset.tif');
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).message).toMatch(/strip 0 .* past the end/);
    expect((err as FormatError).file).toBe('offset.tif');
  });

  it('rejects an IFD chain that loops, a zero width and pages of different sizes', async () => {
    const page = (w: number) => ({ fields: baseFields(w, 2, 'u8'), blocks: [new Uint8Array(w * 2)] });
    const loop = buildTiff([page(3), page(3)]);
    // point the second IFD's next-IFD offset back at the first IFD
    const dv = new DataView(loop.buffer);
    const first = dv.getUint32(4, true);
    const second = dv.getUint32(first + 2 + 12 * dv.getUint16(first, true), true);
    dv.setUint32(second + 2 + 12 * dv.getUint16(second, true), first, true);
    expect(String(await failure(loop))).toMatch(/loops/);
    expect(await failure(loop)).toBeInstanceOf(FormatError);

    expect(await failure(buildTiff([page(0)]))).toBeInstanceOf(FormatError);
    expect(await failure(buildTiff([page(3), page(4)]))).toBeInstanceOf(UnsupportedFormatError);
  });

  it('rejects valid but unsupported features with UnsupportedFormatError', async () => {
    const one = (extra: Field[], kind: Kind = 'u8') => buildTiff([{ fields: baseFields(4, 2, kind, extra), blocks: [new Uint8Array(64)] }]);
    for (const bytes of [
      one([{ tag: 259, type: 3, values: [7] }]), // JPEG
      one([{ tag: 259, type: 3, values: [50000] }]), // Zstandard
      buildTiff([{ fields: baseFields(4, 2, 'u8').map((f) => (f.tag === 258 ? { ...f, values: [1] } : f)), blocks: [new Uint8Array(1)] }]), // 1-bit
      buildTiff([{ fields: baseFields(4, 2, 'u8').map((f) => (f.tag === 258 ? { ...f, values: [12] } : f)), blocks: [new Uint8Array(12)] }]), // 12-bit
    ]) {
      const err = await failure(bytes, 'odd.tif');
      expect(err).toBeInstanceOf(UnsupportedFormatError);
      expect((err as UnsupportedFormatError).file).toBe('odd.tif');
    }
  });

  it('decodes long LZW strips whose table fills and is cleared', async () => {
    const r = rng(5);
    const w = 640;
    const h = 480;
    const data = Uint8Array.from({ length: w * h }, (_, i) => ((i % w) / 8 + Math.floor(i / w) / 5 + r() * 24) & 255);
    const strip = lzwEncode(data);
    expect(strip.length).toBeGreaterThan(50_000); // many table resets
    const got = (await (await readTiff(lzwTiff(strip, w, h))).frame(0)).data;
    expect(Array.from(got)).toEqual(Array.from(data));
  });

  it('rejects LZW codes that would send the decoder into an endless loop', async () => {
    // a code past the end of the table
    expect(await failure(lzwTiff(packLzw([256, 65, 300, 66, 257]), 8, 8))).toBeInstanceOf(FormatError);
    // a full table (no clear) followed by code 4094, beyond geotiff's 4093-entry table
    const full = [256, ...new Array<number>(3900).fill(65), 4094, 65, 257];
    const err = await failure(lzwTiff(packLzw(full), 64, 64));
    expect(err).toBeInstanceOf(FormatError);
    expect(String(err)).toMatch(/LZW/);
  });

  it('turns mutated files into typed errors or images, never anything else', async () => {
    const r = rng(11);
    const sources = ['u16_stack.tif', 'u8_lzw_pages.tif', 'u8_packbits_pages.tif', 'u16_deflate.tif', 'u16_tiled.tif', 'ome_u16.ome.tif', 'u16_bigendian.tif'].map(fixture);
    for (let trial = 0; trial < 300; trial++) {
      const bytes = sources[trial % sources.length]!.slice();
      const edits = 1 + Math.floor(r() * 8);
      for (let k = 0; k < edits; k++) {
        const p = r() < 0.6 ? Math.floor(r() * Math.min(400, bytes.length)) : Math.floor(r() * bytes.length);
        bytes[p] = r() < 0.5 ? Math.floor(r() * 256) : bytes[p]! ^ (1 << Math.floor(r() * 8));
      }
      const err = await failure(bytes, `fuzz-${trial}.tif`);
      if (err !== undefined) {
        expect(err, `trial ${trial}: ${String(err)}`).toBeInstanceOf(CpgdError);
        expect(['bad-format', 'unsupported-format']).toContain((err as CpgdError).code);
      }
    }
  });
});

describe('readTiff input views', () => {
  it('reads a TIFF held in a view into a larger buffer, as Node pooled Buffers are', async () => {
    const { writeTiff: write, readTiff: read } = await import('../../../src-main/core/formats/tiff.js');
    const tif = write([Float32Array.from([1, 2, 3, 4, 5, 6])], 3, 2);
    const pool = new Uint8Array(tif.length + 100);
    pool.fill(0x4d, 0, 37); // garbage before, as another Buffer in the pool
    pool.set(tif, 37);
    const view = Buffer.from(pool.buffer, 37, tif.length);
    const img = await read(view, { name: 'pooled.tif' });
    expect(Array.from((await img.frame(0)).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
