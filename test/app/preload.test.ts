// The bundled preload (out/preload/preload.cjs, built by `electron-vite build`, which `npm test`
// runs first) evaluated as CommonJS with a stand-in `electron`: what it exposes and what it refuses.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CpgdApi } from '../../src-main/shared/ipc.js';
import { ROOT } from '../paths.js';

const PRELOAD = resolve(ROOT, 'out/preload/preload.cjs');

interface Fake {
  exposed: Record<string, unknown>;
  invoked: unknown[][];
  listeners: Map<string, ((...a: unknown[]) => void)[]>;
  required: string[];
}

function load(): { api: CpgdApi; fake: Fake } {
  const fake: Fake = { exposed: {}, invoked: [], listeners: new Map(), required: [] };
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (fake.exposed[key] = value) },
    ipcRenderer: {
      invoke: (...args: unknown[]) => {
        fake.invoked.push(args);
        return Promise.resolve({ ok: true, value: 'from main' });
      },
      on: (ch: string, fn: (...a: unknown[]) => void) => fake.listeners.set(ch, [...(fake.listeners.get(ch) ?? []), fn]),
      removeListener: (ch: string, fn: (...a: unknown[]) => void) => fake.listeners.set(ch, (fake.listeners.get(ch) ?? []).filter((f) => f !== fn)),
    },
    webUtils: {
      getPathForFile: (f: { realPath?: string }) => {
        if (!f || typeof f !== 'object') throw new TypeError('not a File');
        return f.realPath ?? '';
      },
    },
  };
  const fakeRequire = (id: string) => {
    fake.required.push(id);
    if (id !== 'electron') throw new Error(`a sandboxed preload cannot require ${id}`);
    return electron;
  };
  const module = { exports: {} };
  new Function('require', 'module', 'exports', readFileSync(PRELOAD, 'utf8'))(fakeRequire, module, module.exports);
  return { api: fake.exposed.cpgd as CpgdApi, fake };
}

beforeAll(() => {
  if (!existsSync(PRELOAD)) throw new Error(`${PRELOAD} is missing: run \`npx electron-vite build\` (npm test does)`);
});

describe('preload', () => {
  it('is CommonJS that requires only electron, and exposes window.cpgd alone', () => {
    const { api, fake } = load();
    expect(fake.required).toEqual(['electron']);
    expect(Object.keys(fake.exposed)).toEqual(['cpgd']);
    expect(Object.keys(api).sort()).toEqual(['invoke', 'on', 'openDropped']);
  });

  it('forwards the renderer channels and refuses any other, including file:drop', async () => {
    const { api, fake } = load();
    await expect(api.invoke('image:frame', 1, 0)).resolves.toEqual({ ok: true, value: 'from main' });
    expect(fake.invoked).toEqual([['image:frame', 1, 0]]);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const raw = api.invoke as (...a: any[]) => Promise<any>;
    for (const ch of ['file:drop', 'fs:read', '', 42]) {
      const r = await raw(ch, '/etc/passwd');
      expect(r.ok).toBe(false);
      expect(r.error.code).toBe('invalid-argument');
    }
    expect(fake.invoked.length).toBe(1);
  });

  it('opens dropped files only from real File objects', async () => {
    const { api, fake } = load();
    expect((await api.openDropped({ name: 'x.fits', size: 1 })).ok).toBe(false);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect((await api.openDropped(null as any)).ok).toBe(false);
    await api.openDropped({ name: 'x.fits', size: 1, realPath: '/data/x.fits' } as never);
    expect(fake.invoked).toEqual([['file:drop', '/data/x.fits']]);
  });

  it('passes event payloads without the IPC event, and unsubscribes', () => {
    const { api, fake } = load();
    const got: unknown[] = [];
    const off = api.on('app:message', (m) => got.push(m));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect((api.on as any)('ipc:secret', () => undefined)()).toBeUndefined();
    expect([...fake.listeners.keys()]).toEqual(['app:message']);
    fake.listeners.get('app:message')![0]!({ sender: 'the IPC event' }, { level: 'info', text: 'hi' });
    expect(got).toEqual([{ level: 'info', text: 'hi' }]);
    off();
    expect(fake.listeners.get('app:message')).toEqual([]);
  });
});
