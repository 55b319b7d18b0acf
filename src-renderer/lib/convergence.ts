/**
 * Data of the convergence chart, from the live progress events of a run and from the trace that
 * ends it. Tiles are solved side by side as independent problems, so the frame's objective is
 * the sum over tiles: live, F − F_best at an event is Σ_t (F_t − min F_t) over the tiles that
 * have reported, with each tile's best the lowest F seen so far (the trace at the end uses the
 * final values); the certificate is the worst relative gap over the tiles; the particles are
 * summed. Log axes cannot show 0: such points are left out. Pure.
 */
import type { ConvergenceTrace, DetectProgress } from '../../src-main/shared/ipc.js';

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  fMinusBest: ChartPoint[];
  gap: ChartPoint[];
  particles: ChartPoint[];
}

/** What a progress event contributes to the chart. */
export interface LiveSample {
  iteration: number;
  tileObjectives: (number | null)[];
  relativeGap: number | null;
  particles: number;
}

/** Live samples kept at most; older ones are thinned (every other dropped) beyond this. */
export const MAX_LIVE_SAMPLES = 1500;

export function sampleOf(p: DetectProgress): LiveSample {
  return { iteration: p.iteration, tileObjectives: p.tileObjectives, relativeGap: p.relativeGap, particles: p.particles };
}

/** Append a sample, halving the older half when the list is full (the newest points stay dense). */
export function pushSample(samples: LiveSample[], s: LiveSample, max = MAX_LIVE_SAMPLES): LiveSample[] {
  const out = samples.length < max ? [...samples, s] : [...samples.filter((_, i) => i >= max / 2 || i % 2 === 0), s];
  return out;
}

const positive = (y: number) => Number.isFinite(y) && y > 0;

export function liveSeries(samples: readonly LiveSample[]): ChartSeries {
  const tiles = Math.max(0, ...samples.map((s) => s.tileObjectives.length));
  const best = new Array<number>(tiles).fill(Infinity);
  for (const s of samples) s.tileObjectives.forEach((f, t) => f !== null && f < best[t]! && (best[t] = f));
  const out: ChartSeries = { fMinusBest: [], gap: [], particles: [] };
  for (const s of samples) {
    let f = 0;
    s.tileObjectives.forEach((v, t) => {
      if (v !== null) f += v - best[t]!;
    });
    if (positive(f)) out.fMinusBest.push({ x: s.iteration, y: f });
    if (s.relativeGap !== null && positive(s.relativeGap)) out.gap.push({ x: s.iteration, y: s.relativeGap });
    out.particles.push({ x: s.iteration, y: s.particles });
  }
  return out;
}

export function traceSeries(t: ConvergenceTrace): ChartSeries {
  const out: ChartSeries = { fMinusBest: [], gap: [], particles: [] };
  t.iteration.forEach((x, i) => {
    const f = t.fMinusBest[i]!;
    if (positive(f)) out.fMinusBest.push({ x, y: f });
    out.particles.push({ x, y: t.particles[i]! });
  });
  t.gapIteration.forEach((x, i) => {
    const g = t.relativeGap[i]!;
    if (positive(g)) out.gap.push({ x, y: g });
  });
  return out;
}

export function emptySeries(): ChartSeries {
  return { fMinusBest: [], gap: [], particles: [] };
}
