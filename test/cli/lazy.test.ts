// Files read by range (cli/io.ts openImage with `lazy`): the same images as reading the whole
// file, for every reader fixture; only the structure and the frames asked for are read; and files
// that break while open end in typed errors.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileSource, openImage } from '../../src-main/cli/io.js';
import type { ByteSource } from '../../src-main/core/formats/bytes.js';
import { openFits, writeFitsImage } from '../../src-main/core/formats/fits.js';
import { readTiff, writeTiff } from '../../src-main/core/formats/tiff.js';
import { CpgdError } from '../../src-main/core/errors.js';
import type { ImageSource } from '../../src-main/core/image.js';
import { Rng } from '../../src-main/core/rng.js';
import { FIXTURES } from '../paths.js';

const names = Object.keys(JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, unknown>);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-lazy-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function frames(src: ImageSource): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (let i = 0; i < src.frames; i++) out.push((await src.frame(i)).data);
  return out;
}

/** A file source that counts the bytes it reads. */
async function counted(path: string): Promise<{ source: ByteSource; read: () => number }> {
  const inner = await openFileSource(path);
  let total = 0;
  return {
    source: {
      size: inner.size,
      read: async (o, n) => {
        const b = await inner.read(o, n);
        total += b.length;
        return b;
      },
      close: () => inner.close!(),
    },
    read: () => total,
  };
}

describe('reading by range', () => {
  it('covers the reader fixtures', () => expect(names.length).toBeGreaterThanOrEqual(30));

  for (const name of names) {
    it(`${name}: the same header and pixels as reading the whole file`, async () => {
      const path = join(FIXTURES, name);
      const whole = await openImage(path, { lazy: false });
      const lazy = await openImage(path, { lazy: true });
      try {
        expect([lazy.format, lazy.width, lazy.height, lazy.frames, lazy.hdu]).toEqual([whole.format, whole.width, whole.height, whole.frames, whole.hdu]);
        expect(lazy.header).toEqual(whole.header);
        expect(lazy.pixelSizeNm).toEqual(whole.pixelSizeNm);
        const a = await frames(whole);
        const b = await frames(lazy);
        for (let f = 0; f < a.length; f++) expect(b[f]).toEqual(a[f]);
      } finally {
        await lazy.close?.();
      }
    });
  }

  it('opens a TIFF stack and decodes its first frame reading little more than that frame', async () => {
    const w = 256;
    const h = 128;
    const n = 200;
    const stack = Array.from({ length: n }, (_, k) => Float64Array.from({ length: w * h }, (_, i) => (i * 7 + k) % 4096));
    const path = join(dir, 'stack.tif');
    writeFileSync(path, writeTiff(stack, w, h, { type: 'uint16' }));
    const { source, read } = await counted(path);
    const src = await readTiff(source, { name: path });
    const first = await src.frame(0);
    expect(first.data).toEqual(stack[0]);
    const frameBytes = w * h * 2;
    // The structure of every page (one IFD each) plus one frame: under 4 % of this 13 MB file.
    expect(read()).toBeLessThan(frameBytes + n * 2048);
    expect(read() / source.size).toBeLessThan(0.04);
    expect((await src.frame(n - 1)).data).toEqual(stack[n - 1]);
    await src.close?.();
  });

  it('opens a FITS cube reading its header and the frames asked for only', async () => {
    const w = 200;
    const h = 150;
    const n = 60;
    const cube = Array.from({ length: n }, (_, k) => Float64Array.from({ length: w * h }, (_, i) => Math.fround(Math.sin(i + k))));
    const path = join(dir, 'cube.fits');
    writeFileSync(path, writeFitsImage(cube, w, h));
    const { source, read } = await counted(path);
    const src = await openFits(source, { name: path });
    expect([src.width, src.height, src.frames]).toEqual([w, h, n]);
    const frameBytes = w * h * 4;
    expect((await src.frame(37)).data).toEqual(cube[37]);
    // 16 header blocks at most, the frame, and the first bytes that tell the format.
    expect(read()).toBeLessThanOrEqual(16 * 2880 + frameBytes + 16);
    await src.close?.();
  });

  it('reports a file that shrinks while open as a typed error naming it', async () => {
    const w = 64;
    const frames3 = Array.from({ length: 3 }, () => new Float64Array(w * w).fill(5));
    for (const [name, bytes] of [
      ['shrink.fits', writeFitsImage(frames3, w, w)],
      ['shrink.tif', writeTiff(frames3, w, w)],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const src = await openImage(path, { lazy: true });
      truncateSync(path, Math.floor(bytes.length * 0.6));
      const e = await src.frame(2).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e, name).toBeInstanceOf(CpgdError);
      expect((e as CpgdError).file).toBe(path);
      await src.close?.();
    }
  });

  it('turns mutated files into a valid image or a typed error, as the whole-file readers do', async () => {
    const r = new Rng(2026);
    const rng = () => r.uniform();
    const pool = names.filter((n) => !n.endsWith('.gz'));
    let cases = 0;
    for (let k = 0; k < 240; k++) {
      const name = pool[k % pool.length]!;
      const original = new Uint8Array(readFileSync(join(FIXTURES, name)));
      const bytes = original.slice();
      const mode = k % 3;
      let data: Uint8Array = bytes;
      if (mode === 0) data = bytes.subarray(0, Math.max(1, Math.floor(rng() * bytes.length)));
      else for (let j = 0; j < 4; j++) bytes[Math.floor(rng() * Math.min(bytes.length, 8192))]! ^= 1 << Math.floor(rng() * 8);
      const path = join(dir, `m${k}-${name}`);
      writeFileSync(path, data);
      let src: ImageSource | null = null;
      try {
        src = await openImage(path, { lazy: true });
        for (let i = 0; i < Math.min(src.frames, 3); i++) {
          const img = await src.frame(i);
          expect(img.data.length).toBe(src.width * src.height);
        }
      } catch (e) {
        expect(e, `${name} mutation ${k}: ${String(e)}`).toBeInstanceOf(CpgdError);
        expect((e as CpgdError).file).toBe(path);
      } finally {
        await src?.close?.();
        rmSync(path);
      }
      cases++;
    }
    expect(cases).toBe(240);
  });
});
