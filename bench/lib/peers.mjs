/**
 * Pure helpers of `npm run bench:peers` (bench/peers.mjs): reading the peers' outputs into one
 * catalogue convention, the PSF kernel and aperture correction given to the peers, the choice of
 * each peer's best threshold, and the table writers. No I/O here, so test/bench can test it all
 * without the peers installed.
 *
 * Catalogue convention (cpgd's): 0-based pixel coordinates with the centre of the first pixel at
 * (0, 0), x along columns; `frame` 0-based; `flux` the total flux of the source.
 */

/** @typedef {{ frame: number, x: number, y: number, flux: number }} Point */
/** @typedef {{ threshold: number, seconds: number, sources: Point[] }} PeerRun */

/**
 * Parse a Source Extractor ASCII_HEAD catalogue: header lines `#   N NAME  comment [unit]`
 * giving each parameter's 1-based column, then whitespace-separated numbers. A vector parameter
 * (e.g. FLUX_APER with several apertures) spans the columns up to the next header entry; its
 * elements are named NAME, NAME(2), NAME(3)...
 * @param {string} text
 * @param {string} [name] file name for errors
 * @returns {{ columns: string[], rows: number[][] }}
 */
export function parseSextractorCatalog(text, name = 'catalogue') {
  const lines = text.split(/\r?\n/);
  /** @type {{ index: number, name: string }[]} */
  const heads = [];
  /** @type {number[][]} */
  const rows = [];
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t === '') return;
    if (t.startsWith('#')) {
      const m = /^#\s+(\d+)\s+(\S+)/.exec(t);
      if (!m) throw new Error(`${name}: line ${i + 1}: not a Source Extractor header line: ${t}`);
      heads.push({ index: Number(m[1]), name: m[2] });
      return;
    }
    const fields = t.split(/\s+/).map(Number);
    if (fields.some((v) => Number.isNaN(v))) throw new Error(`${name}: line ${i + 1}: non-numeric field`);
    rows.push(fields);
  });
  if (heads.length === 0) throw new Error(`${name}: no header (expected CATALOG_TYPE ASCII_HEAD)`);
  const width = rows.length > 0 ? rows[0].length : heads[heads.length - 1].index;
  /** @type {string[]} */
  const columns = new Array(width);
  heads.forEach((h, k) => {
    if (k > 0 && h.index <= heads[k - 1].index) throw new Error(`${name}: header column ${h.index} (${h.name}) out of order`);
    const end = k + 1 < heads.length ? heads[k + 1].index : width + 1;
    for (let c = h.index; c < end; c++) columns[c - 1] = c === h.index ? h.name : `${h.name}(${c - h.index + 1})`;
  });
  rows.forEach((r, i) => {
    if (r.length !== width) throw new Error(`${name}: data row ${i + 1} has ${r.length} fields, expected ${width}`);
  });
  return { columns, rows };
}

/**
 * Source Extractor's rows as sources in cpgd's convention: positions from the windowed centroids
 * (XWIN_IMAGE/YWIN_IMAGE, or X_IMAGE/Y_IMAGE when absent), which are 1-based (the centre of the
 * first pixel is 1.0), hence − 1; flux = FLUX_APER / ee / gain (aperture-corrected, in photons).
 * @param {{ columns: string[], rows: number[][] }} cat
 * @param {{ frame: number, ee: number, gain: number }} o
 * @returns {Point[]}
 */
export function sextractorSources(cat, o) {
  const col = (...names) => {
    for (const n of names) {
      const i = cat.columns.indexOf(n);
      if (i >= 0) return i;
    }
    throw new Error(`Source Extractor catalogue has none of the columns ${names.join(', ')}`);
  };
  const ix = col('XWIN_IMAGE', 'X_IMAGE');
  const iy = col('YWIN_IMAGE', 'Y_IMAGE');
  const iF = col('FLUX_APER', 'FLUX_AUTO');
  return cat.rows.map((r) => ({ frame: o.frame, x: r[ix] - 1, y: r[iy] - 1, flux: r[iF] / o.ee / o.gain }));
}

/**
 * Parse and check the JSON a peer script (bench/peers/*.py) prints: positions already 0-based,
 * fluxes in image units (ADU), divided here by the gain.
 * @param {string} text
 * @param {string} name
 * @param {number} [gain]
 * @returns {{ tool: string, version: string, runs: PeerRun[], notes: string[] }}
 */
export function parsePeerJson(text, name, gain = 1) {
  let d;
  try {
    d = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: output is not JSON (${e instanceof Error ? e.message : e})`);
  }
  if (!d || typeof d.tool !== 'string' || !Array.isArray(d.runs)) throw new Error(`${name}: expected {"tool", "runs": [...]}`);
  const runs = d.runs.map((r, i) => {
    if (typeof r.threshold !== 'number' || typeof r.seconds !== 'number' || !Array.isArray(r.sources)) {
      throw new Error(`${name}: run ${i + 1} needs numeric threshold, seconds and a sources list`);
    }
    const sources = r.sources.map((s, k) => {
      if (!Array.isArray(s) || s.length !== 4 || s.some((v) => typeof v !== 'number' && v !== null)) {
        throw new Error(`${name}: run ${i + 1}, source ${k + 1}: expected [frame, x, y, flux]`);
      }
      // JSON has no NaN: Python's json writes NaN as a bare token that JSON.parse refuses, so the
      // scripts never emit it; null (a failed fit) becomes NaN and is never matched.
      const num = (v) => (v === null ? Number.NaN : v);
      return { frame: s[0], x: num(s[1]), y: num(s[2]), flux: num(s[3]) / gain };
    });
    return { threshold: r.threshold, seconds: r.seconds, sources };
  });
  return { tool: d.tool, version: String(d.version ?? ''), runs, notes: Array.isArray(d.notes) ? d.notes.map(String) : [] };
}

/**
 * The run with the best F1 in a threshold sweep; ties go to the higher threshold (fewer spurious
 * detections for the same score). `atEdge` says the best is the first or last threshold tried,
 * i.e. the sweep may not bracket the optimum.
 * @template {{ threshold: number, f1: number }} T
 * @param {T[]} scored
 * @returns {{ best: T, atEdge: boolean }}
 */
export function pickBestThreshold(scored) {
  if (scored.length === 0) throw new Error('threshold sweep: no runs');
  const byT = [...scored].sort((a, b) => a.threshold - b.threshold);
  let best = byT[0];
  for (const s of byT) if (s.f1 > best.f1 || (s.f1 === best.f1 && s.threshold > best.threshold)) best = s;
  const i = byT.indexOf(best);
  return { best, atEdge: byT.length > 1 && (i === 0 || i === byT.length - 1) };
}

/**
 * A square kernel of side 2·half + 1 from a PSF stamp (stamp.x0, y0 relative to the source at
 * (0, 0)), normalised to unit sum: the filter and PSF model handed to the peers.
 * @param {{ x0: number, y0: number, nx: number, ny: number, v: ArrayLike<number> }} stamp
 * @param {number} half
 * @returns {Float64Array}
 */
export function kernelFromStamp(stamp, half) {
  const n = 2 * half + 1;
  const k = new Float64Array(n * n);
  for (let j = 0; j < stamp.ny; j++) {
    for (let i = 0; i < stamp.nx; i++) {
      const X = stamp.x0 + i + half;
      const Y = stamp.y0 + j + half;
      if (X >= 0 && X < n && Y >= 0 && Y < n) k[Y * n + X] = stamp.v[j * stamp.nx + i];
    }
  }
  let s = 0;
  for (const v of k) s += v;
  if (!(s > 0)) throw new Error('PSF kernel: the stamp has no positive sum inside the kernel');
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/**
 * A Source Extractor filter file (.conv) from an n×n kernel: `CONV NORM`, a comment, n rows.
 * @param {ArrayLike<number>} kernel
 * @param {number} n
 * @param {string} comment
 */
export function convFile(kernel, n, comment) {
  const lines = ['CONV NORM', `# ${comment.replace(/\n/g, ' ')}`];
  for (let j = 0; j < n; j++) {
    const row = [];
    for (let i = 0; i < n; i++) row.push(Number(kernel[j * n + i]).toPrecision(6));
    lines.push(row.join(' '));
  }
  return lines.join('\n') + '\n';
}

/**
 * Encircled energy: the fraction of a PSF stamp's flux inside a circle of radius `r` pixels
 * about the source at (0, 0), each pixel weighted by the fraction of its area inside the circle
 * (sub × sub sub-pixels) — the geometry of an aperture sum, so aperture sum / ee is the total
 * flux of an isolated star.
 * @param {{ x0: number, y0: number, nx: number, ny: number, v: ArrayLike<number> }} stamp
 * @param {number} r
 * @param {number} [sub]
 */
export function encircledEnergy(stamp, r, sub = 16) {
  let total = 0;
  let inside = 0;
  for (let j = 0; j < stamp.ny; j++) {
    for (let i = 0; i < stamp.nx; i++) {
      const v = stamp.v[j * stamp.nx + i];
      total += v;
      const px = stamp.x0 + i;
      const py = stamp.y0 + j;
      let c = 0;
      for (let b = 0; b < sub; b++) {
        const y = py - 0.5 + (b + 0.5) / sub;
        for (let a = 0; a < sub; a++) {
          const x = px - 0.5 + (a + 0.5) / sub;
          if (x * x + y * y <= r * r) c++;
        }
      }
      inside += (v * c) / (sub * sub);
    }
  }
  return inside / total;
}

/** Format a number for the table, or '' for undefined/NaN. */
export const fmt = (v, digits = 3) => (v === undefined || v === null || Number.isNaN(v) ? '' : typeof v === 'number' ? v.toFixed(digits) : String(v));

/**
 * A Markdown table, cells left-aligned and padded to their column's width.
 * @param {string[]} header
 * @param {(string|number)[][]} rows
 */
export function markdownTable(header, rows) {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const w = header.map((h, i) => Math.max(h.length, 3, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r) => '| ' + r.map((c, i) => (c ?? '').padEnd(w[i])).join(' | ') + ' |';
  return [line(header), '|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|', ...cells.map(line)].join('\n') + '\n';
}

/**
 * RFC 4180 CSV: fields with a comma, quote or newline are quoted, quotes doubled.
 * @param {string[]} header
 * @param {(string|number)[][]} rows
 */
export function csvTable(header, rows) {
  const q = (c) => {
    const s = String(c ?? '');
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(q).join(',')).join('\n') + '\n';
}
