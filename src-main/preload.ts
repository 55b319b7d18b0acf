/**
 * The preload script (sandboxed, CommonJS: out/preload/preload.cjs). It gives the renderer exactly
 * the channels of src-main/shared/ipc.ts as `window.cpgd`, and nothing of ipcRenderer itself:
 * channel names are checked against the lists, listeners receive only the payload (never the
 * IPC event), and a dropped file reaches main as the path Electron knows for a real File object.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import {
  EVENT_CHANNELS,
  RENDERER_CHANNELS,
  type CpgdApi,
  type EventChannel,
  type EventMap,
  type ImageInfo,
  type IpcResult,
  type RendererChannel,
} from './shared/ipc.js';

const invokable = new Set<string>(RENDERER_CHANNELS);
const events = new Set<string>(EVENT_CHANNELS);

function refused<T>(message: string): Promise<IpcResult<T>> {
  return Promise.resolve({ ok: false, error: { code: 'invalid-argument', message } });
}

const api: CpgdApi = {
  invoke(channel: RendererChannel, ...args: unknown[]) {
    if (typeof channel !== 'string' || !invokable.has(channel)) return refused(`unknown channel ${String(channel)}`);
    return ipcRenderer.invoke(channel, ...args);
  },
  openDropped(file): Promise<IpcResult<ImageInfo>> {
    let path = '';
    try {
      // Throws unless `file` is a real File; files made in JavaScript have no path.
      path = webUtils.getPathForFile(file as Parameters<typeof webUtils.getPathForFile>[0]);
    } catch {
      path = '';
    }
    if (!path) return refused('only files dropped from the file manager can be opened');
    return ipcRenderer.invoke('file:drop', path);
  },
  on<E extends EventChannel>(channel: E, listener: (payload: EventMap[E]) => void) {
    if (!events.has(channel) || typeof listener !== 'function') return () => undefined;
    const wrapped = (_event: unknown, payload: EventMap[E]) => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('cpgd', api);
