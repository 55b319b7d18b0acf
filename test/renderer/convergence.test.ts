import { describe, expect, it } from 'vitest';
import { liveSeries, pushSample, traceSeries, type LiveSample } from '../../src-renderer/lib/convergence.js';

const sample = (iteration: number, tileObjectives: (number | null)[], relativeGap: number | null, particles: number): LiveSample => ({ iteration, tileObjectives, relativeGap, particles });

describe('convergence chart data', () => {
  it('F − F_best sums the tiles against each tile\'s lowest F; zeros (the best point) are left off the log axis', () => {
    const s = liveSeries([sample(1, [10, null], null, 90), sample(5, [6, 20], 0.5, 40), sample(9, [5, 12], 0.01, 12)]);
    // Bests: tile 0 → 5, tile 1 → 12. Event 1: 5; event 2: 1 + 8; event 3: 0 (dropped).
    expect(s.fMinusBest).toEqual([
      { x: 1, y: 5 },
      { x: 5, y: 9 },
    ]);
    expect(s.gap).toEqual([
      { x: 5, y: 0.5 },
      { x: 9, y: 0.01 },
    ]);
    expect(s.particles.map((p) => p.y)).toEqual([90, 40, 12]);
  });

  it('a tile starting late does not make the sum jump below its own best', () => {
    const s = liveSeries([sample(1, [10, null], null, 1), sample(2, [8, null], null, 1), sample(3, [7, 100], null, 1), sample(4, [7, 90], null, 1)]);
    expect(s.fMinusBest.map((p) => p.y)).toEqual([3, 1, 10]);
  });

  it('the trace at the end of a run maps to the same series', () => {
    const s = traceSeries({ iteration: [0, 1, 2], fMinusBest: [4, 1, 0], particles: [50, 10, 9], gapIteration: [0, 2], relativeGap: [0.4, 0] });
    expect(s.fMinusBest).toEqual([
      { x: 0, y: 4 },
      { x: 1, y: 1 },
    ]);
    expect(s.gap).toEqual([{ x: 0, y: 0.4 }]);
    expect(s.particles).toEqual([
      { x: 0, y: 50 },
      { x: 1, y: 10 },
      { x: 2, y: 9 },
    ]);
  });

  it('keeps at most the cap of live samples, thinning the old ones and keeping the newest', () => {
    let list: LiveSample[] = [];
    for (let i = 0; i < 1000; i++) list = pushSample(list, sample(i, [1], null, 1), 100);
    expect(list.length).toBeLessThanOrEqual(100);
    expect(list.at(-1)!.iteration).toBe(999);
    expect(list[0]!.iteration).toBe(0);
    const its = list.map((s) => s.iteration);
    expect([...its].sort((a, b) => a - b)).toEqual(its);
  });
});
