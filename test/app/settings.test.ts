import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSettings, MAX_RECENT, normalizeRecent, normalizeSettings, pushRecent, SETTINGS_FILE, SettingsStore } from '../../src-main/app/settings.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-settings-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('normalizeSettings', () => {
  it('gives the defaults for anything that is not an object', () => {
    for (const raw of [null, 42, 'x', [], undefined]) expect(normalizeSettings(raw)).toEqual(defaultSettings());
  });

  it('keeps valid fields and defaults invalid ones, field by field', () => {
    const s = normalizeSettings({ psf: { kind: 'moffat', fwhm: 3, beta: 2 }, lambda: { mode: 'value', value: -5 }, background: 'plane', camera: 'x', window: { width: 10, height: 99999, maximized: 'yes' } });
    expect(s.psf).toEqual({ kind: 'moffat', fwhm: 3, beta: 2 });
    expect(s.lambda).toEqual(defaultSettings().lambda);
    expect(s.background).toBe('plane');
    expect(s.camera).toEqual(defaultSettings().camera);
    expect(s.window).toEqual({ width: 640, height: 16384, maximized: false });
  });
});

describe('recent files', () => {
  it('moves a file to the front without duplicates and keeps at most MAX_RECENT', () => {
    let list: string[] = [];
    for (let i = 0; i < MAX_RECENT + 3; i++) list = pushRecent(list, `/f${i}.fits`);
    expect(list.length).toBe(MAX_RECENT);
    expect(list[0]).toBe(`/f${MAX_RECENT + 2}.fits`);
    list = pushRecent(list, '/f5.fits');
    expect(list[0]).toBe('/f5.fits');
    expect(list.filter((p) => p === '/f5.fits').length).toBe(1);
  });

  it('drops non-strings, duplicates and NUL paths when reading', () => {
    expect(normalizeRecent(['/a', 3, '/a', '', 'b\0c', '/b'])).toEqual(['/a', '/b']);
    expect(normalizeRecent('nope')).toEqual([]);
  });
});

describe('SettingsStore', () => {
  it('starts from the defaults without a file and does not create one until something changes', () => {
    const store = new SettingsStore(dir);
    expect(store.get()).toEqual(defaultSettings());
    expect(store.recent).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('persists updates, window size and recent files across instances', () => {
    const a = new SettingsStore(dir);
    a.update({ psf: { kind: 'gaussian', sigma: 2.25 }, camera: { gain: 1.5, offset: 100, readNoise: 2 } });
    a.setWindow({ width: 1000, height: 700, maximized: true });
    a.addRecent('/data/one.fits');
    a.addRecent('/data/two.tif');
    const b = new SettingsStore(dir);
    expect(b.get().psf).toEqual({ kind: 'gaussian', sigma: 2.25 });
    expect(b.get().camera).toEqual({ gain: 1.5, offset: 100, readNoise: 2 });
    expect(b.get().window).toEqual({ width: 1000, height: 700, maximized: true });
    expect(b.recent).toEqual(['/data/two.tif', '/data/one.fits']);
    expect(b.hasRecent('/data/one.fits')).toBe(true);
    b.removeRecent('/data/one.fits');
    expect(new SettingsStore(dir).recent).toEqual(['/data/two.tif']);
  });

  it('writes atomically: only the settings file is left, complete JSON', () => {
    const s = new SettingsStore(dir);
    for (let i = 0; i < 20; i++) s.update({ lambda: { mode: 'auto', factor: 1 + i / 10 } });
    expect(readdirSync(dir)).toEqual([SETTINGS_FILE]);
    const parsed = JSON.parse(readFileSync(join(dir, SETTINGS_FILE), 'utf8'));
    expect(parsed.version).toBe(1);
    expect(parsed.settings.lambda).toEqual({ mode: 'auto', factor: 2.9 });
  });

  it('falls back to the defaults on a corrupt file', () => {
    writeFileSync(join(dir, SETTINGS_FILE), '{"settings": {"psf": ');
    expect(new SettingsStore(dir).get()).toEqual(defaultSettings());
  });

  it('hands out copies: changing a returned object changes nothing stored', () => {
    const s = new SettingsStore(dir);
    const got = s.get();
    (got.psf as { sigma: number }).sigma = 99;
    expect(s.get().psf).toEqual(defaultSettings().psf);
  });
});
