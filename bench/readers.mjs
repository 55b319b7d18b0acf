#!/usr/bin/env node
/**
 * `npm run bench:readers`: speed of the FITS and TIFF readers on large uncompressed files, printed
 * as a table (figures only, no pass/fail). The files are written with the project's own writers
 * into a temporary directory, which is deleted afterwards:
 *
 *   - a 512×512×1000 uint16 TIFF stack (one page per frame, ~500 MiB);
 *   - a 4096×4096 float32 FITS image (64 MiB);
 *   - a 512×512×4000 uint16 TIFF stack (2.1 GB) and a 512×512×2000 float32 FITS cube (2.1 GB),
 *     opened from the file as the command line and the app do (read by range): the time to the
 *     first frame and the bytes read for it.
 *
 * Targets: decoding uncompressed data at ≥ 300 MB/s; opening the stack and decoding its first
 * frame in < 100 ms.
 *
 *   node --expose-gc bench/readers.mjs
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFits, writeFitsImage } from '../out/node/core/formats/fits.js';
import { readTiff, writeTiff } from '../out/node/core/formats/tiff.js';
import { openFileSource, openImage } from '../out/node/cli/io.js';
import { openFits } from '../out/node/core/formats/fits.js';
import { printTable } from './lib/table.mjs';

const MB = 1e6;


/** A pattern frame (values 0..4095 for uint16, smooth floats otherwise). */
function pattern(width, height, seed) {
  const f = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) f[y * width + x] = ((x * 7 + y * 13 + seed * 101) % 4096) + 0.25;
  }
  return f;
}

/** Reads a file as a Uint8Array over exactly its bytes (a Buffer may be a view into a larger pool). */
function readBytes(path) {
  const t = performance.now();
  const buf = readFileSync(path);
  const ms = performance.now() - t;
  return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), ms };
}

async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fmtMs = (ms) => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));

console.log(
  `cpgd reader benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}, ` +
    `load average ${loadavg()[0].toFixed(2)} (other work on the machine slows these figures)`,
);

const dir = mkdtempSync(join(tmpdir(), 'cpgd-bench-readers-'));
try {
  // ---- write the files
  const tiffPath = join(dir, 'stack-512x512x1000-u16.tif');
  const fitsPath = join(dir, 'image-4096x4096-f32.fits');
  let t = performance.now();
  {
    // 1000 pages; 16 distinct frames, cycled (the writer copies each into its own page).
    const distinct = Array.from({ length: 16 }, (_, i) => pattern(512, 512, i));
    const frames = Array.from({ length: 1000 }, (_, i) => distinct[i % distinct.length]);
    writeFileSync(tiffPath, writeTiff(frames, 512, 512, { type: 'uint16' }));
  }
  {
    writeFileSync(fitsPath, writeFitsImage([pattern(4096, 4096, 0)], 4096, 4096, { bitpix: -32 }));
  }
  console.log(`\nwrote the test files in ${((performance.now() - t) / 1000).toFixed(1)} s to ${dir}`);

  const rows = [];

  // ---- TIFF stack
  {
    const size = statSync(tiffPath).size;
    const { bytes, ms: readMs } = readBytes(tiffPath);
    const firstFrame = [];
    for (let k = 0; k < 4; k++) {
      firstFrame.push(
        await time(async () => {
          const src = await readTiff(bytes, { name: tiffPath });
          await src.frame(0);
        }),
      );
    }
    let frames = 0;
    let width = 0;
    let height = 0;
    let allMs = Infinity;
    for (let k = 0; k < 2; k++) {
      const ms = await time(async () => {
        const src = await readTiff(bytes, { name: tiffPath });
        ({ frames, width, height } = src);
        for (let i = 0; i < src.frames; i++) await src.frame(i);
      });
      allMs = Math.min(allMs, ms);
    }
    const pixelBytes = width * height * 2 * frames;
    rows.push([
      `TIFF uint16 ${width}×${height}×${frames}`,
      (size / MB).toFixed(1),
      fmtMs(readMs),
      `${fmtMs(firstFrame[0])} / ${fmtMs(median(firstFrame.slice(1)))}`,
      fmtMs(allMs),
      (pixelBytes / MB / (allMs / 1000)).toFixed(0),
    ]);
  }

  // ---- FITS image
  {
    const size = statSync(fitsPath).size;
    const { bytes, ms: readMs } = readBytes(fitsPath);
    const runs = [];
    let width = 0;
    let height = 0;
    for (let k = 0; k < 4; k++) {
      runs.push(
        await time(async () => {
          const src = readFits(bytes, { name: fitsPath });
          ({ width, height } = src);
          for (let i = 0; i < src.frames; i++) await src.frame(i);
        }),
      );
    }
    const warm = median(runs.slice(1));
    const pixelBytes = width * height * 4;
    rows.push([
      `FITS float32 ${width}×${height}`,
      (size / MB).toFixed(1),
      fmtMs(readMs),
      `${fmtMs(runs[0])} / ${fmtMs(warm)}`,
      fmtMs(warm),
      (pixelBytes / MB / (warm / 1000)).toFixed(0),
    ]);
  }

  printTable(
    'Readers on uncompressed files (targets: ≥ 300 MB/s decoding; stack open + first frame < 100 ms)',
    ['file', 'MB', 'readFileSync ms', 'open + frame 0 ms (cold / warm)', 'open + all frames ms', 'MB/s'],
    rows,
  );
  console.log(`
MB = 10^6 bytes. "readFileSync ms": reading the file into memory, not included in the other columns.
"open + frame 0": readTiff/readFits on the bytes already in memory (TIFF: the structure scan of every
page's IFD and the parse of page 0's tags; FITS: header parsing) plus decoding frame 0 to a
Float64Array; cold = first call in this process, warm = median of the next 3.
"open + all frames": opening again and decoding every frame in turn (TIFF: best of 2 runs; FITS, one
frame: the warm figure). MB/s = stored pixel bytes / that time (output: one new Float64Array per frame).`);

  // ---- 2 GB files, read by range
  const lazyRows = [];
  {
    // The 1000-frame stack above, from the file this time (after collecting the copies in memory).
    globalThis.gc?.();
    const times = [];
    for (let k = 0; k < 3; k++) {
      times.push(
        await time(async () => {
          const src = await openImage(tiffPath);
          await src.frame(0);
          await src.close?.();
        }),
      );
    }
    lazyRows.push([`TIFF uint16 512×512×1000`, (statSync(tiffPath).size / MB).toFixed(0), '', fmtMs(times[0]), fmtMs(median(times.slice(1))), '']);
  }
  {
    const distinct = Array.from({ length: 16 }, (_, i) => pattern(512, 512, i));
    const big = [
      { path: join(dir, 'stack-512x512x4000-u16.tif'), n: 4000, write: (frames) => writeTiff(frames, 512, 512, { type: 'uint16' }), open: (s, name) => readTiff(s, { name }) },
      { path: join(dir, 'cube-512x512x2000-f32.fits'), n: 2000, write: (frames) => writeFitsImage(frames, 512, 512, { bitpix: -32 }), open: (s, name) => openFits(s, { name }) },
    ];
    for (const b of big) {
      t = performance.now();
      writeFileSync(b.path, b.write(Array.from({ length: b.n }, (_, i) => distinct[i % distinct.length])));
      const writeS = (performance.now() - t) / 1000;
      const size = statSync(b.path).size;
      // The 2 GB written from this process are garbage now: collect them before timing (npm run
      // bench:readers passes --expose-gc), or the first open pays for that collection.
      globalThis.gc?.();
      // Through the command line's opener (files this large are read by range).
      const viaCli = await time(async () => {
        const src = await openImage(b.path);
        await src.frame(0);
        await src.close?.();
      });
      // The same, counting the bytes read.
      const inner = await openFileSource(b.path);
      let bytesRead = 0;
      const counted = { size: inner.size, read: async (o, n) => { const r = await inner.read(o, n); bytesRead += r.length; return r; } };
      let frames = 0;
      const ms = await time(async () => {
        const src = await b.open(counted, b.path);
        frames = src.frames;
        await src.frame(0);
      });
      await inner.close();
      lazyRows.push([`${b.path.endsWith('.tif') ? 'TIFF uint16' : 'FITS float32'} 512×512×${frames}`, (size / MB).toFixed(0), writeS.toFixed(1), fmtMs(viaCli), fmtMs(ms), (bytesRead / MB).toFixed(2)]);
      rmSync(b.path);
    }
  }

  printTable(
    'Large files opened from disk, read by range (target: first frame of a 2 GB stack without reading the rest)',
    ['file', 'MB', 'write s', 'openImage + frame 0 ms', 'again ms', 'MB read'],
    lazyRows,
  );
  console.log(`
The files were just written, so they sit in the page cache: these are times without disk latency.
"MB read": bytes read from the file for opening it and decoding frame 0 (TIFF: every page's IFD,
about 1 KiB each, plus the frame; FITS: the header and the frame).`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
