/**
 * A small dependency-free SVG line plot writer for the benchmark figures (bench/convergence.mjs):
 * linear or logarithmic axes with ticks, grid, axis labels, a title, a legend, and series drawn
 * as polylines (a `null` point breaks the line). Pure: returns the SVG text.
 */

/**
 * @typedef {{
 *   label?: string,
 *   points: ([number, number] | null)[],
 *   color?: string,
 *   width?: number,
 *   opacity?: number,
 *   dash?: string,
 *   legend?: boolean,
 * }} Series
 * @typedef {{
 *   title: string,
 *   xLabel: string,
 *   yLabel: string,
 *   series: Series[],
 *   xLog?: boolean,
 *   yLog?: boolean,
 *   width?: number,
 *   height?: number,
 *   xDomain?: [number, number],
 *   yDomain?: [number, number],
 *   legendPosition?: 'top-right' | 'bottom-left' | 'top-left' | 'bottom-right' | 'below',
 *   markers?: { x: number, color: string, label?: string }[],
 * }} PlotOptions
 */

/** Escape text for SVG/XML content and attributes. */
export function escapeXml(s) {
  return String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
}

/** Linear ticks: about `n` round values (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function linearTicks(lo, hi, n = 6) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

/**
 * Log ticks: the decades 10^k in [lo, hi] (lo > 0); when fewer than 2 decades fit, the
 * 1, 2, 5 multiples too; when too many, every m-th decade.
 */
export function logTicks(lo, hi, max = 10) {
  const dec = (k) => Number(`1e${k}`); // exact decimal powers (10 ** -5 is 0.000009999…)
  const k0 = Math.ceil(Math.log10(lo) - 1e-9);
  const k1 = Math.floor(Math.log10(hi) + 1e-9);
  if (k1 - k0 < 1) {
    const out = [];
    for (let k = k0 - 1; k <= k1; k++) for (const m of [1, 2, 5]) if (m * dec(k) >= lo * (1 - 1e-9) && m * dec(k) <= hi * (1 + 1e-9)) out.push(Number(`${m}e${k}`));
    return out;
  }
  const every = Math.max(1, Math.ceil((k1 - k0 + 1) / max));
  const out = [];
  for (let k = k0; k <= k1; k++) if ((k - k0) % every === 0) out.push(dec(k));
  return out;
}

/** A tick label: plain for linear axes; 10^k (with a superscript) on log axes at decades. */
function tickLabel(v, log) {
  if (log) {
    const k = Math.log10(v);
    if (Math.abs(k - Math.round(k)) < 1e-9) {
      const e = Math.round(k);
      if (e >= 0 && e <= 3) return escapeXml(String(10 ** e));
      return `10<tspan dy="-0.5em" font-size="0.75em">${e < 0 ? '−' : ''}${Math.abs(e)}</tspan>`;
    }
    return escapeXml(String(Number(v.toPrecision(3))));
  }
  const s = Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(6)));
  return escapeXml(s.replace('-', '−'));
}

/**
 * The SVG text of a line plot.
 * @param {PlotOptions} o
 * @returns {string}
 */
export function svgPlot(o) {
  const W = o.width ?? 720;
  // 'below': the legend gets its own rows under the axis label, in two columns.
  const below = o.legendPosition === 'below';
  const nLegend = o.series.filter((s) => s.label && s.legend !== false).length + new Set((o.markers ?? []).filter((mk) => mk.label).map((mk) => mk.label)).size;
  const extra = below ? Math.ceil(nLegend / 2) * 20 + 10 : 0;
  const H = (o.height ?? 460) + extra;
  const m = { left: 78, right: 20, top: 44, bottom: 58 + extra };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const ok = (v, log) => Number.isFinite(v) && (!log || v > 0);
  const pts = o.series.flatMap((s) => s.points.filter((p) => p !== null && ok(p[0], o.xLog) && ok(p[1], o.yLog)));
  if (pts.length === 0 && (!o.xDomain || !o.yDomain)) throw new Error(`plot "${o.title}": no finite points to draw`);
  const ext = (i, log) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of pts) {
      lo = Math.min(lo, p[i]);
      hi = Math.max(hi, p[i]);
    }
    if (lo === hi) {
      lo = log ? lo / 2 : lo - 1;
      hi = log ? hi * 2 : hi + 1;
    }
    return [lo, hi];
  };
  const [x0, x1] = o.xDomain ?? ext(0, o.xLog);
  const [y0, y1] = o.yDomain ?? ext(1, o.yLog);
  const fx = o.xLog ? (v) => (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (v) => (v - x0) / (x1 - x0);
  const fy = o.yLog ? (v) => (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v) => (v - y0) / (y1 - y0);
  const X = (v) => m.left + pw * fx(v);
  const Y = (v) => m.top + ph * (1 - fy(v));
  const r2 = (v) => Math.round(v * 100) / 100;

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);
  out.push(`<defs><clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath></defs>`);

  // Grid and ticks.
  const xt = (o.xLog ? logTicks(x0, x1) : linearTicks(x0, x1)).filter((v) => v >= x0 - 1e-12 * Math.abs(x1 - x0) && v <= x1 + 1e-12 * Math.abs(x1 - x0));
  const yt = (o.yLog ? logTicks(y0, y1) : linearTicks(y0, y1)).filter((v) => v >= y0 - 1e-12 * Math.abs(y1 - y0) && v <= y1 + 1e-12 * Math.abs(y1 - y0));
  out.push('<g class="grid" stroke="#e3e3e3" stroke-width="1">');
  for (const v of xt) out.push(`<line x1="${r2(X(v))}" y1="${m.top}" x2="${r2(X(v))}" y2="${m.top + ph}"/>`);
  for (const v of yt) out.push(`<line x1="${m.left}" y1="${r2(Y(v))}" x2="${m.left + pw}" y2="${r2(Y(v))}"/>`);
  out.push('</g>');
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333" stroke-width="1"/>`);
  out.push('<g class="x-ticks" text-anchor="middle">');
  for (const v of xt) {
    out.push(`<line x1="${r2(X(v))}" y1="${m.top + ph}" x2="${r2(X(v))}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${r2(X(v))}" y="${m.top + ph + 20}">${tickLabel(v, o.xLog)}</text>`);
  }
  out.push('</g><g class="y-ticks" text-anchor="end">');
  for (const v of yt) {
    out.push(`<line x1="${m.left - 5}" y1="${r2(Y(v))}" x2="${m.left}" y2="${r2(Y(v))}" stroke="#333"/>`);
    out.push(`<text x="${m.left - 8}" y="${r2(Y(v) + 4)}">${tickLabel(v, o.yLog)}</text>`);
  }
  out.push('</g>');
  out.push(`<text class="x-label" x="${m.left + pw / 2}" y="${m.top + ph + 44}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  out.push(`<text class="y-label" transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);

  // Markers (vertical lines, e.g. true positions) and series.
  out.push('<g clip-path="url(#plot)">');
  for (const mk of o.markers ?? []) {
    out.push(`<line x1="${r2(X(mk.x))}" y1="${m.top}" x2="${r2(X(mk.x))}" y2="${m.top + ph}" stroke="${mk.color}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  }
  for (const s of o.series) {
    const runs = [];
    let cur = [];
    for (const p of s.points) {
      if (p === null || !ok(p[0], o.xLog) || !ok(p[1], o.yLog)) {
        if (cur.length) runs.push(cur);
        cur = [];
      } else cur.push(`${r2(X(p[0]))},${r2(Y(p[1]))}`);
    }
    if (cur.length) runs.push(cur);
    const attrs = `fill="none" stroke="${s.color ?? '#1f77b4'}" stroke-width="${s.width ?? 2}"${s.opacity !== undefined ? ` stroke-opacity="${r2(s.opacity)}"` : ''}${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} stroke-linejoin="round"`;
    for (const r of runs) out.push(r.length === 1 ? `<circle cx="${r[0].split(',')[0]}" cy="${r[0].split(',')[1]}" r="1.5" fill="${s.color ?? '#1f77b4'}"/>` : `<polyline ${attrs} points="${r.join(' ')}"/>`);
  }
  out.push('</g>');

  // Legend.
  const items = o.series.filter((s) => s.label && s.legend !== false);
  const labelled = [...items.map((s) => ({ label: s.label, color: s.color ?? '#1f77b4', dash: s.dash, width: s.width ?? 2 })), ...(o.markers ?? []).filter((mk) => mk.label).map((mk) => ({ label: mk.label, color: mk.color, dash: '6 4', width: 1.5 }))];
  const seen = new Set();
  const legend = labelled.filter((it) => (seen.has(it.label) ? false : (seen.add(it.label), true)));
  if (legend.length && below) {
    const colW = pw / 2;
    out.push('<g class="legend">');
    legend.forEach((it, i) => {
      const lx = m.left + (i % 2) * colW;
      const yy = m.top + ph + 72 + Math.floor(i / 2) * 20;
      out.push(`<line x1="${r2(lx + 8)}" y1="${yy - 4}" x2="${r2(lx + 36)}" y2="${yy - 4}" stroke="${it.color}" stroke-width="${it.width}"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/>`);
      out.push(`<text x="${r2(lx + 42)}" y="${yy}">${escapeXml(it.label)}</text>`);
    });
    out.push('</g>');
  } else if (legend.length) {
    const lw = Math.max(...legend.map((it) => it.label.length)) * 7.2 + 50;
    const lh = legend.length * 20 + 10;
    const pos = o.legendPosition ?? 'top-right';
    const lx = pos.endsWith('right') ? m.left + pw - lw - 8 : m.left + 8;
    const ly = pos.startsWith('top') ? m.top + 8 : m.top + ph - lh - 8;
    out.push(`<g class="legend"><rect x="${r2(lx)}" y="${ly}" width="${r2(lw)}" height="${lh}" fill="white" fill-opacity="0.9" stroke="#999"/>`);
    legend.forEach((it, i) => {
      const yy = ly + 18 + i * 20;
      out.push(`<line x1="${r2(lx + 8)}" y1="${yy - 4}" x2="${r2(lx + 36)}" y2="${yy - 4}" stroke="${it.color}" stroke-width="${it.width}"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/>`);
      out.push(`<text x="${r2(lx + 42)}" y="${yy}">${escapeXml(it.label)}</text>`);
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
