/**
 * Progress of a stack run as the user reads it: frames done, localisations, rate (frames per
 * second since the start) and the time left at that rate; the frame range typed in the panel.
 * The same figures as `cpgd detect`'s progress line. Pure.
 */
import type { DetectProgress, FrameRange } from '../../src-main/shared/ipc.js';

/** Frames per second since the start, or null before the first frame is done. */
export function frameRate(done: number, elapsedMs: number): number | null {
  return done > 0 && elapsedMs > 0 ? (1000 * done) / elapsedMs : null;
}

/** Time left at the rate so far, ms; null before the first frame is done. */
export function timeLeftMs(done: number, total: number, elapsedMs: number): number | null {
  const rate = frameRate(done, elapsedMs);
  return rate === null ? null : (Math.max(0, total - done) / rate) * 1000;
}

/** m:ss, or h:mm:ss from an hour. */
export function clock(ms: number): string {
  const t = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** "12 of 40 frames · 245 localisations · 3.4 frames/s · 0:08 left" (rate and time once known). */
export function stackProgressText(s: NonNullable<DetectProgress['stack']>): string {
  const head = `${s.done} of ${s.frames} frames · ${s.localisations} localisation${s.localisations === 1 ? '' : 's'}`;
  const rate = frameRate(s.done, s.elapsedMs);
  if (rate === null) return `${head} · starting`;
  return `${head} · ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} frames/s · ${clock(timeLeftMs(s.done, s.frames, s.elapsedMs)!)} left`;
}

/**
 * The frame range typed as first and last (0-based, inclusive; empty: the first or the last
 * frame of the stack), or the reason it is not one.
 */
export function parseFrameRange(first: string, last: string, frames: number): { ok: true; range: FrameRange } | { ok: false; error: string } {
  const read = (t: string, empty: number): number | null => {
    const s = t.trim();
    if (s === '') return empty;
    return /^\d+$/.test(s) ? Number(s) : null;
  };
  const a = read(first, 0);
  const b = read(last, frames - 1);
  if (a === null || b === null) return { ok: false, error: 'frames are whole numbers ≥ 0' };
  if (b > frames - 1) return { ok: false, error: `the last frame is ${frames - 1}` };
  if (a > b) return { ok: false, error: 'the first frame is after the last' };
  return { ok: true, range: { first: a, last: b } };
}
