/** Number formatting for the readouts. Pure. */

/** About `digits` significant digits, without exponent for ordinary magnitudes. */
export function formatValue(v: number, digits = 5): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'blank';
  if (!Number.isFinite(v)) return v > 0 ? '+∞' : '−∞';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
