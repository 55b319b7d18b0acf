/**
 * The browser mode: the built renderer and the main-process services of the desktop app over
 * HTTP on 127.0.0.1, for machines where Electron cannot run, remote use through an SSH tunnel,
 * and the end-to-end tests. The services are the Electron app's own: the handler table of
 * handlers.ts (every invoke channel of ipc.ts, validated there), Session and SettingsStore, with
 * a Host whose dialogs are the browser's (uploads in, downloads out).
 *
 * Routes (all behind guard.ts: loopback Host, our Origin only, the token):
 *   GET  /?token=T            sets the token cookie and redirects to / (the token leaves the URL)
 *   GET  /, /assets/…         the renderer (cookie), index.html with the http CSP and the token
 *   POST /api/invoke/CHANNEL  wire frame {args} → wire frame {result: IpcResult, downloads}
 *   POST /api/upload/CHANNEL  raw file bytes, X-File-Name, X-CPGD-Args: a channel that asks the host
 *                             for a file (file:open, psf:openFile), run with the upload as the
 *                             dialog's answer → wire frame {result: IpcResult}
 *   GET  /api/events          a stream of length-prefixed wire frames {channel, payload}
 *   GET  /api/download/ID     bytes a Host.saveFile offered, once
 * API routes need the X-CPGD-Token header as well as passing the origin checks.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { extname, join, relative, resolve, isAbsolute } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHandlers, invokeHandler, AppActions, type Host, type HandlerDeps } from '../app/handlers.js';
import { Session } from '../app/session.js';
import { SettingsStore } from '../app/settings.js';
import { toIpcError } from '../app/validate.js';
import { DetectPool } from '../jobs/pool.js';
import { FILE_DIALOG_CHANNELS, RENDERER_CHANNELS, type EventChannel, type EventMap, type ImageInfo, type InvokeChannel, type IpcResult } from '../shared/ipc.js';
import { decodeFrame, encodeFrame, WireError, type Utf8 } from '../shared/wire.js';
import { cookieName, originProblem, readCookie, TOKEN_HEADER, tokenMatches } from './guard.js';
import { MIME, resolveStatic, WEB_CONTENT_SECURITY_POLICY, webIndexHtml } from './static.js';

export const DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024 ** 3;
/** Invoke arguments are small (parameters, ids); this bounds what a request body may hold. */
export const MAX_INVOKE_BYTES = 16 * 1024 ** 2;
/** How long an offered download waits to be fetched, ms. */
const DOWNLOAD_TTL_MS = 5 * 60_000;

export const FRAME_TYPE = 'application/x-cpgd-frame';
export const UPLOAD_NAME_HEADER = 'x-file-name';

const utf8: Utf8 = { encode: (s) => new TextEncoder().encode(s), decode: (b) => new TextDecoder('utf-8', { fatal: true }).decode(b) };

export interface WebServerOptions {
  /** The built renderer (out/renderer). */
  rendererDir: string;
  /** Where settings.json is kept. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The access token; default 32 random bytes, base64url. */
  token?: string;
  /** Largest upload accepted, bytes (default 2 GiB). */
  maxUploadBytes?: number;
  /** Detection worker threads (default: cores − 1, at least 1). */
  threads?: number;
  /** The compiled detection worker (default: out/node/jobs/detect.worker.js next to this module). */
  workerUrl?: string | URL;
  /** Least time between two progress events, ms (default 100). */
  progressIntervalMs?: number;
  /** The sample images (resources/samples); without it `file:openSample` answers 'not-available'. */
  samplesDir?: string;
  /** Where unexpected errors are reported (default console.error). */
  logError?: (message: string, error: unknown) => void;
}

export interface WebServer {
  /** The URL to open: origin, path and token. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  /** The private directory of the uploads (mode 0700), removed at close. */
  readonly uploadsDir: string;
  /** Stop listening, end the event streams, stop the workers, delete the uploads. */
  close(): Promise<void>;
}

/**
 * The channels whose handlers ask the host for a file (FILE_DIALOG_CHANNELS of ipc.ts): in the
 * browser the page picks the file and uploads it, and the host's "dialog" answers with the
 * uploaded copy. Images stay until another image replaces them (large ones are read by range
 * while open); other uploads are read at once and deleted.
 */
export const UPLOAD_CHANNELS: readonly InvokeChannel[] = FILE_DIALOG_CHANNELS;
export const ARGS_HEADER = 'x-cpgd-args';

/** What one HTTP call lends the host: the uploaded file its dialogs answer with, the downloads it offers. */
interface CallContext {
  downloads: OfferedDownload[];
  upload?: string;
}

/** A download offered during one invoke call, handed back with its result. */
interface OfferedDownload {
  id: string;
  name: string;
  type: string;
}

/** Settings of the browser mode: uploads are deleted once read, so they never become recent files. */
class WebSettingsStore extends SettingsStore {
  constructor(
    dir: string,
    private readonly uploadsDir: string,
  ) {
    super(dir);
  }
  override addRecent(path: string): string[] {
    const r = relative(this.uploadsDir, path);
    if (r && !r.startsWith('..') && !isAbsolute(r)) return this.recent;
    return super.addRecent(path);
  }
}

/** A file name from the browser reduced to a plain base name (no directories, no control characters). */
export function safeUploadName(raw: string | undefined): string {
  let name = '';
  try {
    name = decodeURIComponent(raw ?? '');
  } catch {
    name = '';
  }
  name = name.split(/[\\/]/).pop() ?? '';
  name = name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return name === '' || name === '.' || name === '..' ? 'upload' : name;
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(n % 1024 ** 3 === 0 ? 0 : 1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(n % 1024 ** 2 === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} bytes`;
}

export function uploadLimitMessage(name: string, size: number | null, limit: number): string {
  return `${name}${size === null ? '' : ` (${formatBytes(size)})`} is too large to upload: the limit is ${formatBytes(limit)} (start the server with --max-upload-mb to change it)`;
}

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const maxUpload = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const logError = options.logError ?? ((m, e) => console.error(m, e));
  const rendererDir = resolve(options.rendererDir);
  const indexPath = resolveStatic(rendererDir, '/');
  if (!indexPath) throw new Error(`the renderer is not built: ${join(rendererDir, 'index.html')} is missing (run \`npm run build\`)`);
  // Checked now, so a renderer whose page cannot be adapted fails at start, not on first load.
  webIndexHtml(readFileSync(indexPath, 'utf8'), token, maxUpload);

  const privateDir = mkdtempSync(join(tmpdir(), 'cpgd-web-'));
  const uploadsDir = join(privateDir, 'uploads');
  mkdirSync(uploadsDir, { mode: 0o700 });
  mkdirSync(options.dataDir, { recursive: true });

  const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
  const pool = new DetectPool({ threads, ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}) });
  const session = new Session({ pool, progressIntervalMs: options.progressIntervalMs ?? 100 });
  const settings = new WebSettingsStore(options.dataDir, uploadsDir);

  const streams = new Set<ServerResponse>();
  const downloads = new Map<string, { bytes: Uint8Array; name: string; type: string; timer: NodeJS.Timeout }>();
  const callContext = new AsyncLocalStorage<CallContext>();
  /** The upload the open image was read from (kept while it is open), or null. */
  let openUpload: { dir: string; file: string } | null = null;
  const removeDir = (d: string) => {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // Still open elsewhere (Windows): removed with the private directory at close.
    }
  };

  function broadcast(message: unknown): void {
    const frame = encodeFrame(message, utf8);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(frame.length, 0);
    for (const s of streams) {
      s.write(head);
      s.write(frame);
    }
  }

  const host: Host = {
    runtime: () => ({ name: 'CPGD Sources (browser mode)', electron: '', chrome: '' }),
    // The page picks files itself (an <input type=file>) and uploads them (route /api/upload):
    // the dialog's answer is the uploaded copy; a plain invoke has nothing to choose.
    chooseImage: async () => callContext.getStore()?.upload ?? null,
    choosePsfFile: async () => callContext.getStore()?.upload ?? null,
    imageOpened(info) {
      // Another image replaced the uploaded one: its copy is no longer needed.
      if (openUpload && info.path !== openUpload.file) {
        removeDir(openUpload.dir);
        openUpload = null;
      }
    },
    async saveFile(suggestedName, _filters, data) {
      const id = randomBytes(16).toString('base64url');
      const bytes = typeof data === 'string' ? utf8.encode(data) : data;
      const type = typeof data === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
      const timer = setTimeout(() => downloads.delete(id), DOWNLOAD_TTL_MS);
      timer.unref();
      downloads.set(id, { bytes, name: suggestedName, type, timer });
      const offer: OfferedDownload = { id, name: suggestedName, type };
      const call = callContext.getStore();
      if (call) call.downloads.push(offer);
      else broadcast({ download: offer });
      return `${suggestedName} (browser download)`;
    },
    send<E extends EventChannel>(channel: E, payload: EventMap[E]) {
      broadcast({ channel, payload });
    },
  };
  const deps: HandlerDeps = { session, settings, host, threads: pool.size, ...(options.samplesDir ? { samplesDir: options.samplesDir } : {}) };
  const actions = new AppActions(deps);
  const table = createHandlers(deps, actions);
  const invokable = new Set<string>(RENDERER_CHANNELS);

  let port = 0;

  function baseHeaders(res: ServerResponse): void {
    res.setHeader('Content-Security-Policy', WEB_CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
  }

  function refuse(res: ServerResponse, status: number, text: string): void {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(text + '\n');
  }

  function sendFrame(res: ServerResponse, value: unknown, status = 200): void {
    const frame = encodeFrame(value, utf8);
    res.writeHead(status, { 'Content-Type': FRAME_TYPE, 'Content-Length': frame.length });
    res.end(frame);
  }

  async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) throw new HttpRefusal(413, `request body too large (limit ${formatBytes(limit)})`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw new HttpRefusal(413, `request body too large (limit ${formatBytes(limit)})`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  async function invoke(req: IncomingMessage, res: ServerResponse, channel: string): Promise<void> {
    let result: IpcResult<unknown>;
    const call: CallContext = { downloads: [] };
    try {
      if (!invokable.has(channel)) throw new HttpRefusal(404, `unknown channel ${channel}`);
      let args: unknown;
      try {
        const body = await readBody(req, MAX_INVOKE_BYTES);
        const message = decodeFrame(body, utf8) as { args?: unknown } | null;
        args = message && typeof message === 'object' ? message.args : undefined;
      } catch (e) {
        if (e instanceof WireError) throw new HttpRefusal(400, `malformed request: ${e.message}`);
        throw e;
      }
      if (!Array.isArray(args)) throw new HttpRefusal(400, 'malformed request: no argument list');
      const value = await callContext.run(call, () => invokeHandler(table, channel as InvokeChannel, args as unknown[]));
      result = { ok: true, value };
    } catch (e) {
      if (e instanceof HttpRefusal) throw e;
      const error = toIpcError(e);
      if (error.code === 'internal') logError(`[${channel}]`, e);
      result = { ok: false, error };
    }
    sendFrame(res, { result, downloads: call.downloads });
  }

  async function upload(req: IncomingMessage, res: ServerResponse, channel: string): Promise<void> {
    if (!(UPLOAD_CHANNELS as readonly string[]).includes(channel)) throw new HttpRefusal(404, `${channel} takes no file`);
    let args: unknown;
    try {
      args = JSON.parse(decodeURIComponent((req.headers[ARGS_HEADER] as string | undefined) ?? '[]'));
    } catch {
      throw new HttpRefusal(400, 'malformed X-CPGD-Args header');
    }
    if (!Array.isArray(args)) throw new HttpRefusal(400, 'malformed X-CPGD-Args header: not a list');
    const name = safeUploadName(req.headers[UPLOAD_NAME_HEADER] as string | undefined);
    const declared = Number(req.headers['content-length']);
    const tooLarge = (size: number | null): IpcResult<unknown> => ({ ok: false, error: { code: 'invalid-argument', message: uploadLimitMessage(name, size, maxUpload) } });
    if (Number.isFinite(declared) && declared > maxUpload) {
      // Answer before the body arrives; the connection is closed so the rest is not read.
      res.setHeader('Connection', 'close');
      sendFrame(res, { result: tooLarge(declared) }, 413);
      req.destroy();
      return;
    }
    const dir = mkdtempSync(join(uploadsDir, 'u-'));
    const file = join(dir, name);
    let keep = false;
    try {
      let size = 0;
      let over = false;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxUpload) {
            over = true;
            return done(new Error('upload over the limit'));
          }
          done(null, chunk);
        },
      });
      try {
        await pipeline(req, counter, createWriteStream(file, { mode: 0o600 }));
      } catch (e) {
        if (over) {
          res.setHeader('Connection', 'close');
          sendFrame(res, { result: tooLarge(null) }, 413);
          return;
        }
        throw new HttpRefusal(400, `upload interrupted: ${(e as Error).message}`);
      }
      let result: IpcResult<unknown>;
      try {
        // The channel's own handler, its host dialog answered by the upload.
        const value = await callContext.run({ downloads: [], upload: file }, () => invokeHandler(table, channel as InvokeChannel, args as unknown[]));
        if (channel === 'file:open' && value) {
          const info = value as ImageInfo;
          keep = true;
          openUpload = { dir, file };
          result = { ok: true, value: { ...info, path: info.name } };
        } else result = { ok: true, value };
      } catch (e) {
        const error = toIpcError(e);
        if (error.code === 'internal') logError(`[upload ${channel}]`, e);
        // Messages name the file by its private path: say the name the user knows.
        result = { ok: false, error: { ...error, message: error.message.split(file).join(name) } };
      }
      sendFrame(res, { result });
    } finally {
      if (!keep) removeDir(dir);
    }
  }

  function events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'application/x-cpgd-stream', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    streams.add(res);
    const end = () => streams.delete(res);
    req.on('close', end);
    res.on('close', end);
  }

  function download(res: ServerResponse, id: string): void {
    const d = downloads.get(id);
    if (!d) return refuse(res, 404, 'no such download (each is fetched once, within 5 minutes)');
    downloads.delete(id);
    clearTimeout(d.timer);
    res.writeHead(200, {
      'Content-Type': d.type,
      'Content-Length': d.bytes.length,
      'Content-Disposition': `attachment; filename="${d.name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(d.name)}`,
    });
    res.end(d.bytes);
  }

  function page(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const cookie = readCookie(req.headers.cookie, cookieName(port));
    const query = url.searchParams.get('token');
    if (query !== null) {
      if (!tokenMatches(query, token)) return refuse(res, 403, 'refused: wrong token');
      res.writeHead(303, {
        'Set-Cookie': `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`,
        Location: url.pathname,
      });
      return void res.end();
    }
    if (!tokenMatches(cookie, token)) return refuse(res, 403, 'refused: open the URL printed by `npm run web` (it carries the access token)');
    // Browsers ask for it unbidden; the app has none (a 404 would be logged as a page error).
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    const file = resolveStatic(rendererDir, url.pathname);
    if (!file) return refuse(res, 404, 'not found');
    const isIndex = file === indexPath;
    const body = isIndex ? Buffer.from(webIndexHtml(readFileSync(file, 'utf8'), token, maxUpload)) : readFileSync(file);
    res.writeHead(200, { 'Content-Type': MIME[extname(file).toLowerCase()]!, 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    baseHeaders(res);
    const problem = originProblem(req.headers, port);
    if (problem) return refuse(res, 403, problem);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    } catch {
      return refuse(res, 400, 'bad URL');
    }
    const method = req.method ?? 'GET';
    if (!url.pathname.startsWith('/api/')) {
      if (method !== 'GET' && method !== 'HEAD') return refuse(res, 405, 'method not allowed');
      return page(req, res, url);
    }
    if (!tokenMatches(req.headers[TOKEN_HEADER] as string | undefined, token)) return refuse(res, 403, 'refused: the X-CPGD-Token header is missing or wrong');
    const [, , route, ...rest] = url.pathname.split('/');
    const arg = rest.join('/');
    if (route === 'invoke' && method === 'POST') return invoke(req, res, decodeURIComponent(arg));
    if (route === 'upload' && method === 'POST') return upload(req, res, decodeURIComponent(arg));
    if (route === 'events' && method === 'GET' && arg === '') return events(req, res);
    if (route === 'download' && method === 'GET') return download(res, arg);
    return refuse(res, 404, 'not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpRefusal) return refuse(res, e.status, e.message);
      logError('[web]', e);
      refuse(res, 500, 'internal error');
    });
  });
  // detect:start answers when the run ends, which may take minutes.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  let closed: Promise<void> | null = null;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    uploadsDir,
    close() {
      closed ??= (async () => {
        session.cancel();
        for (const s of streams) s.end();
        streams.clear();
        for (const d of downloads.values()) clearTimeout(d.timer);
        downloads.clear();
        await new Promise<void>((ok) => {
          server.close(() => ok());
          server.closeAllConnections();
        });
        await pool.close();
        rmSync(privateDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
