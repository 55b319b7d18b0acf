/**
 * Settings persisted between runs in a JSON file (Electron's userData/settings.json): detection
 * parameters, window size and the recent files. Reading is forgiving (a missing, corrupt or
 * outdated file, or any bad field, falls back to the defaults field by field); writing is atomic
 * (a temporary file renamed over the old one), so a crash never leaves half a file.
 * No Electron here: the store takes its directory, and tests run it under plain Node.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeAtomic } from '../cli/io.js';
import type { Settings, SettingsPatch, WindowSetting } from '../shared/ipc.js';
import { checkBackground, checkCamera, checkLambda, checkPsf } from './validate.js';

export const SETTINGS_FILE = 'settings.json';
export const SETTINGS_VERSION = 1;
export const MAX_RECENT = 10;

export const WINDOW_LIMITS = { minWidth: 640, minHeight: 480, maxWidth: 16384, maxHeight: 16384 } as const;

export function defaultSettings(): Settings {
  return {
    psf: { kind: 'gaussian', sigma: 1.5 },
    lambda: { mode: 'auto', factor: 1 },
    background: 'auto',
    camera: { gain: null, offset: 0, readNoise: null },
    window: { width: 1280, height: 860, maximized: false },
  };
}

function attempt<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

export function normalizeWindow(v: unknown, fallback: WindowSetting = defaultSettings().window): WindowSetting {
  if (typeof v !== 'object' || v === null) return { ...fallback };
  const o = v as Record<string, unknown>;
  const size = (x: unknown, min: number, max: number, d: number) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(Math.min(max, Math.max(min, x))) : d);
  return {
    width: size(o.width, WINDOW_LIMITS.minWidth, WINDOW_LIMITS.maxWidth, fallback.width),
    height: size(o.height, WINDOW_LIMITS.minHeight, WINDOW_LIMITS.maxHeight, fallback.height),
    maximized: typeof o.maximized === 'boolean' ? o.maximized : fallback.maximized,
  };
}

/** Settings from parsed JSON of any shape: each valid field is kept, each invalid one defaulted. */
export function normalizeSettings(raw: unknown): Settings {
  const d = defaultSettings();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return d;
  const o = raw as Record<string, unknown>;
  return {
    psf: attempt(() => checkPsf(o.psf), d.psf),
    lambda: attempt(() => checkLambda(o.lambda), d.lambda),
    background: attempt(() => checkBackground(o.background), d.background),
    camera: attempt(() => checkCamera(o.camera), d.camera),
    window: normalizeWindow(o.window, d.window),
  };
}

/** Recent files from parsed JSON: strings only, no duplicates, at most MAX_RECENT. */
export function normalizeRecent(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  const out: string[] = [];
  for (const p of raw) {
    if (typeof p === 'string' && p.length > 0 && p.length <= 4096 && !p.includes('\0') && !out.includes(p)) out.push(p);
    if (out.length >= MAX_RECENT) break;
  }
  return out;
}

/** `path` moved (or added) to the front of the list, trimmed to MAX_RECENT. */
export function pushRecent(list: readonly string[], path: string): string[] {
  return [path, ...list.filter((p) => p !== path)].slice(0, MAX_RECENT);
}

interface StoredFile {
  version: number;
  settings: Settings;
  recent: string[];
}

export class SettingsStore {
  readonly file: string;
  private settings: Settings;
  private recentList: string[];

  /** Reads `dir/settings.json` now; a missing or unreadable file gives the defaults. */
  constructor(dir: string) {
    this.file = join(resolve(dir), SETTINGS_FILE);
    let raw: unknown = null;
    try {
      raw = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      raw = null;
    }
    const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    this.settings = normalizeSettings(o.settings);
    this.recentList = normalizeRecent(o.recent);
  }

  get(): Settings {
    return structuredClone(this.settings);
  }

  get recent(): string[] {
    return [...this.recentList];
  }

  /** Apply a validated patch (see validate.ts checkSettingsPatch) and save. */
  update(patch: SettingsPatch): Settings {
    this.settings = { ...this.settings, ...structuredClone(patch) };
    this.save();
    return this.get();
  }

  setWindow(w: WindowSetting): void {
    this.settings = { ...this.settings, window: normalizeWindow(w, this.settings.window) };
    this.save();
  }

  addRecent(path: string): string[] {
    this.recentList = pushRecent(this.recentList, path);
    this.save();
    return this.recent;
  }

  removeRecent(path: string): string[] {
    this.recentList = this.recentList.filter((p) => p !== path);
    this.save();
    return this.recent;
  }

  hasRecent(path: string): boolean {
    return this.recentList.includes(path);
  }

  /** Write the file atomically (throws OutputError from cli/io.ts when it cannot). */
  save(): void {
    const data: StoredFile = { version: SETTINGS_VERSION, settings: this.settings, recent: this.recentList };
    mkdirSync(resolve(this.file, '..'), { recursive: true });
    writeAtomic(this.file, JSON.stringify(data, null, 2) + '\n');
  }
}
