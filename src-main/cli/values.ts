/** Parsing of option values shared by the commands; every error names its option. */

import { InvalidOptionError } from '../core/errors.js';
import type { Image } from '../core/image.js';
import { buildPsf, parsePsfSpec, type PsfSpec } from '../core/psf/spec.js';
import type { Psf } from '../core/psf/types.js';
import { openImage } from './io.js';

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface NumberRule {
  integer?: boolean;
  /** Smallest allowed value (inclusive unless `above`). */
  min?: number;
  /** Values must be strictly greater than this. */
  above?: number;
  /** The unit, for messages (`pixels`, `ADU`...). */
  unit?: string;
}

/** A finite decimal number obeying `rule`; InvalidOptionError(option) otherwise. */
export function parseNumber(option: string, text: string, rule: NumberRule = {}): number {
  const t = text.trim();
  const unit = rule.unit ? ` ${rule.unit}` : '';
  const what = rule.integer ? 'a whole number' : 'a number';
  const bound =
    rule.above !== undefined ? ` > ${rule.above}${unit}` : rule.min !== undefined ? ` ≥ ${rule.min}${unit}` : unit ? ` of${unit}` : '';
  const fail = (): never => {
    throw new InvalidOptionError(option, text, `must be ${what}${bound}`);
  };
  if (!NUMBER.test(t)) fail();
  const v = Number(t);
  if (!Number.isFinite(v)) fail();
  if (rule.integer && !Number.isSafeInteger(v)) fail();
  if (rule.above !== undefined && !(v > rule.above)) fail();
  if (rule.min !== undefined && !(v >= rule.min)) fail();
  return v;
}

/** `auto`, `auto:FACTOR` or a value ≥ 0. */
export function parseLambda(text: string): number | 'auto' | { auto: number } {
  const t = text.trim().toLowerCase();
  if (t === 'auto') return 'auto';
  if (t.startsWith('auto:')) {
    const f = t.slice(5).trim();
    if (!NUMBER.test(f) || !(Number(f) > 0) || !Number.isFinite(Number(f))) {
      throw new InvalidOptionError('--lambda', text, 'the auto factor must be a number > 0 (auto:FACTOR)');
    }
    return { auto: Number(f) };
  }
  if (!NUMBER.test(t)) throw new InvalidOptionError('--lambda', text, 'must be auto, auto:FACTOR or a number ≥ 0');
  const v = Number(t);
  if (!Number.isFinite(v) || v < 0) throw new InvalidOptionError('--lambda', text, 'must be auto, auto:FACTOR or a number ≥ 0');
  return v;
}

/** A frame selection before the frame count is known. */
export type FrameSelection = { kind: 'all' } | { kind: 'range'; first: number; last: number } | { kind: 'from'; first: number };

/** `all`, `N`, `A-B` or `A:B` (0-based, inclusive), `A-` or `A:` (to the last frame). */
export function parseFrames(text: string): FrameSelection {
  const t = text.trim().toLowerCase();
  if (t === 'all') return { kind: 'all' };
  const single = /^\d+$/.exec(t);
  if (single) {
    const n = Number(t);
    if (!Number.isSafeInteger(n)) throw new InvalidOptionError('--frames', text, 'frame index too large');
    return { kind: 'range', first: n, last: n };
  }
  const from = /^(\d+)\s*[-:]$/.exec(t);
  if (from) {
    const a = Number(from[1]);
    if (!Number.isSafeInteger(a)) throw new InvalidOptionError('--frames', text, 'frame index too large');
    return { kind: 'from', first: a };
  }
  const range = /^(\d+)\s*[-:]\s*(\d+)$/.exec(t);
  if (!range) throw new InvalidOptionError('--frames', text, 'must be all, a 0-based frame index N, a range A-B or A:B (inclusive), or A- (to the end)');
  const a = Number(range[1]);
  const b = Number(range[2]);
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) throw new InvalidOptionError('--frames', text, 'frame index too large');
  if (a > b) throw new InvalidOptionError('--frames', text, `the range starts after it ends (${a} > ${b})`);
  return { kind: 'range', first: a, last: b };
}

/** The 0-based frame indices a selection picks in a file of `frames` frames. */
export function resolveFrames(sel: FrameSelection, frames: number, file: string, text: string): number[] {
  if (sel.kind === 'all') return Array.from({ length: frames }, (_, i) => i);
  if (sel.kind === 'from') {
    if (sel.first >= frames) {
      throw new InvalidOptionError('--frames', text, `${file} has ${frames} frame${frames === 1 ? '' : 's'} (0 to ${frames - 1}), frame ${sel.first} does not exist`);
    }
    return Array.from({ length: frames - sel.first }, (_, i) => sel.first + i);
  }
  if (sel.last >= frames) {
    const e = new InvalidOptionError(
      '--frames',
      text,
      `${file} has ${frames} frame${frames === 1 ? '' : 's'} (0 to ${frames - 1}), frame ${sel.last} does not exist`,
    );
    throw e;
  }
  return Array.from({ length: sel.last - sel.first + 1 }, (_, i) => sel.first + i);
}

export interface LoadedPsf {
  spec: PsfSpec;
  /** The stamp of a `file` PSF (first frame of the file). */
  image?: Image;
  /** Built once to check it (the workers build their own). */
  psf: Psf;
}

/**
 * Parse `--psf` and, for `file:`, read the stamp (FITS or TIFF, first frame) and build the PSF so
 * that a bad one (zero or negative sum, too small...) fails before any work.
 */
export async function loadPsf(text: string, width: number, height: number): Promise<LoadedPsf> {
  const spec = parsePsfSpec(text);
  if (spec.kind !== 'file') return { spec, psf: buildPsf(spec, { width, height }) };
  const src = await openImage(spec.path);
  let image;
  try {
    image = await src.frame(0);
  } finally {
    await src.close?.();
  }
  return { spec, image, psf: buildPsf(spec, { fileImage: image, width, height }) };
}
