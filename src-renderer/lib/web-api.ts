/**
 * `window.cpgd` for the browser mode (`npm run web`, src-main/web/server.ts): the same CpgdApi the
 * Electron preload gives, over HTTP to the server that serves this page. Generic over the IPC map:
 * every channel of RENDERER_CHANNELS is a POST of its arguments as a wire frame
 * (src-main/shared/wire.ts: JSON with typed arrays as raw bytes), answered by its IpcResult.
 * Only what needs the browser itself is special:
 * - the channels whose handlers ask the host for a file (FILE_DIALOG_CHANNELS of ipc.ts: `file:open`,
 *   `psf:openFile`) show the browser's file picker and upload the chosen file with
 *   their arguments; the server runs the channel with the upload as the dialog's answer (null
 *   when the user cancels, as with a native dialog);
 * - `openDropped` uploads the dropped File as the answer of `file:open`;
 * - files a channel offers to save (Host.saveFile on the server) come back with its answer and
 *   are saved through a download link with the suggested name.
 * Events arrive on one streaming response (length-prefixed wire frames), reconnected if it drops.
 */
import {
  EVENT_CHANNELS,
  FILE_DIALOG_CHANNELS,
  RENDERER_CHANNELS,
  type CpgdApi,
  type DroppedFile,
  type EventChannel,
  type EventMap,
  type ImageInfo,
  type InvokeArgs,
  type InvokeResult,
  type IpcError,
  type IpcResult,
  type RendererChannel,
} from '../../src-main/shared/ipc.js';
import { decodeFrame, encodeFrame, type Utf8 } from '../../src-main/shared/wire.js';

const utf8: Utf8 = { encode: (s) => new TextEncoder().encode(s), decode: (b) => new TextDecoder().decode(b) };

/** The browser mode's settings in the page (meta tags the server adds to index.html), or null. */
export function webConfig(doc: Document = document): { token: string; maxUploadBytes: number } | null {
  const token = doc.querySelector('meta[name="cpgd-web-token"]')?.getAttribute('content');
  if (!token) return null;
  const max = Number(doc.querySelector('meta[name="cpgd-web-max-upload"]')?.getAttribute('content'));
  return { token, maxUploadBytes: Number.isFinite(max) && max > 0 ? max : Infinity };
}

interface OfferedDownload {
  id: string;
  name: string;
  type: string;
}

const IMAGE_TYPES = '.fits,.fit,.fts,.gz,.tif,.tiff';

/** Channels answered by a file the user picks (FILE_DIALOG_CHANNELS of ipc.ts): all take FITS or TIFF. */
const FILE_CHANNELS = new Set<string>(FILE_DIALOG_CHANNELS);

function failure<T>(code: IpcError['code'], message: string): IpcResult<T> {
  return { ok: false, error: { code, message } };
}

function megabytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** Ask the user for a file with the browser's picker; null when they cancel. */
function pickFile(accept: string): Promise<File | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = accept;
    input.hidden = true;
    const done = (file: File | null) => {
      input.remove();
      resolve(file);
    };
    input.addEventListener('change', () => done(input.files?.[0] ?? null), { once: true });
    input.addEventListener('cancel', () => done(null), { once: true });
    document.body.append(input);
    input.click();
  });
}

/** Save bytes as a file the way browsers do: a download link with the suggested name. */
function saveDownload(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function createWebApi(token: string, maxUploadBytes = Infinity): CpgdApi {
  const invokable = new Set<string>(RENDERER_CHANNELS);
  const eventNames = new Set<string>(EVENT_CHANNELS);
  const listeners = new Map<EventChannel, Set<(payload: never) => void>>();
  let streaming = false;

  const headers = (extra: Record<string, string> = {}) => ({ 'X-CPGD-Token': token, ...extra });

  /** A request to our server; network failures and refusals become IpcResult errors. */
  async function request(path: string, init: RequestInit): Promise<{ ok: true; value: unknown } | { ok: false; error: IpcError }> {
    let res: Response;
    try {
      res = await fetch(path, { ...init, credentials: 'same-origin', cache: 'no-store' });
    } catch {
      return failure('io-error', 'the CPGD server does not answer (was `npm run web` stopped?)');
    }
    if (res.headers.get('content-type') === 'application/x-cpgd-frame') {
      try {
        return { ok: true, value: decodeFrame(new Uint8Array(await res.arrayBuffer()), utf8) };
      } catch (e) {
        return failure('internal', `unreadable answer from the server: ${(e as Error).message}`);
      }
    }
    const text = (await res.text().catch(() => '')).trim();
    return failure(res.status === 403 ? 'invalid-argument' : 'internal', `the server answered ${res.status}${text ? `: ${text}` : ''}`);
  }

  async function fetchDownloads(offers: OfferedDownload[] | undefined): Promise<void> {
    for (const d of offers ?? []) {
      const res = await fetch(`/api/download/${encodeURIComponent(d.id)}`, { headers: headers(), credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) throw new Error(`the download of ${d.name} failed (${res.status})`);
      saveDownload(new Blob([await res.arrayBuffer()], { type: d.type }), d.name);
    }
  }

  async function call<C extends RendererChannel>(channel: C, args: unknown[]): Promise<IpcResult<InvokeResult<C>>> {
    const r = await request(`/api/invoke/${encodeURIComponent(channel)}`, {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/x-cpgd-frame' }),
      body: encodeFrame({ args }, utf8) as Uint8Array<ArrayBuffer>,
    });
    if (!r.ok) return r;
    const { result, downloads } = r.value as { result: IpcResult<InvokeResult<C>>; downloads?: OfferedDownload[] };
    try {
      await fetchDownloads(downloads);
    } catch (e) {
      return failure('io-error', (e as Error).message);
    }
    return result;
  }

  /** Run `channel` on the server with `file` as the answer of the file dialog its handler opens. */
  async function upload<T>(channel: RendererChannel, args: unknown[], file: Blob & { name: string }): Promise<IpcResult<T>> {
    if (file.size > maxUploadBytes)
      return failure('invalid-argument', `${file.name} (${megabytes(file.size)}) is too large to upload: the limit is ${megabytes(maxUploadBytes)} (start the server with --max-upload-mb to change it)`);
    const r = await request(`/api/upload/${encodeURIComponent(channel)}`, {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/octet-stream', 'X-File-Name': encodeURIComponent(file.name), 'X-CPGD-Args': encodeURIComponent(JSON.stringify(args)) }),
      body: file,
    });
    return r.ok ? (r.value as { result: IpcResult<T> }).result : r;
  }

  function deliver(message: unknown): void {
    const m = message as { channel?: EventChannel; payload?: unknown; download?: OfferedDownload };
    if (m.download) {
      void fetchDownloads([m.download]).catch(() => undefined);
      return;
    }
    if (!m.channel) return;
    for (const l of listeners.get(m.channel) ?? []) (l as (p: unknown) => void)(m.payload);
  }

  /** Read the event stream: frames are a u32 little-endian length and a wire frame. */
  async function stream(): Promise<void> {
    for (;;) {
      try {
        const res = await fetch('/api/events', { headers: headers(), credentials: 'same-origin', cache: 'no-store' });
        if (!res.ok || !res.body) throw new Error(String(res.status));
        const reader = res.body.getReader();
        let buf = new Uint8Array(0);
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const joined = new Uint8Array(buf.length + value.length);
          joined.set(buf);
          joined.set(value, buf.length);
          buf = joined;
          while (buf.length >= 4) {
            const n = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0, true);
            if (buf.length < 4 + n) break;
            deliver(decodeFrame(buf.slice(4, 4 + n), utf8));
            buf = buf.slice(4 + n);
          }
        }
      } catch {
        // Reconnect below: the server restarted or the connection dropped.
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  return {
    invoke<C extends RendererChannel>(channel: C, ...args: InvokeArgs<C>): Promise<IpcResult<InvokeResult<C>>> {
      if (typeof channel !== 'string' || !invokable.has(channel)) return Promise.resolve(failure('invalid-argument', `unknown channel ${String(channel)}`));
      if (FILE_CHANNELS.has(channel)) {
        return pickFile(IMAGE_TYPES).then((file) => (file ? upload<InvokeResult<C>>(channel, args, file) : { ok: true as const, value: null as InvokeResult<C> }));
      }
      return call(channel, args);
    },
    openDropped(file: DroppedFile): Promise<IpcResult<ImageInfo>> {
      if (!(file instanceof Blob)) return Promise.resolve(failure('invalid-argument', 'only files dropped from the file manager can be opened'));
      return upload<ImageInfo>('file:open', [], file as Blob & DroppedFile);
    },
    on<E extends EventChannel>(channel: E, listener: (payload: EventMap[E]) => void) {
      if (!eventNames.has(channel) || typeof listener !== 'function') return () => undefined;
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      set.add(listener as (payload: never) => void);
      if (!streaming) {
        streaming = true;
        void stream();
      }
      return () => {
        set.delete(listener as (payload: never) => void);
      };
    },
  };
}
