// The browser mode's server (src-main/web) under plain Node, over real sockets: who may talk to it
// (token, Host, Origin), what it serves (never a file outside the renderer), and that the
// handler table behaves over HTTP as over Electron IPC (argument errors as IpcResult errors,
// uploads opened and deleted, frames as binary, progress events, exports as one-time downloads).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFits, writeFitsImage } from '../../src-main/core/formats/fits.js';
import type { DetectProgress, FrameData, ImageInfo, IpcResult, Settings } from '../../src-main/shared/ipc.js';
import { decodeFrame, encodeFrame, type Utf8 } from '../../src-main/shared/wire.js';
import { cookieName, originProblem, readCookie } from '../../src-main/web/guard.js';
import { startWebServer, type WebServer } from '../../src-main/web/server.js';
import { resolveStatic, webIndexHtml, webPolicy } from '../../src-main/web/static.js';
import { ROOT } from '../paths.js';

const utf8: Utf8 = { encode: (s) => new TextEncoder().encode(s), decode: (b) => new TextDecoder().decode(b) };
const SAMPLE = resolve(ROOT, 'resources/samples/star-field.fits');
const WORKER = resolve(ROOT, 'out/node/jobs/detect.worker.js');
const INDEX = `<!doctype html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'; connect-src 'none'" />
<script type="module" src="./assets/app.js"></script></head><body></body></html>`;

let dir: string;
let renderer: string;
let server: WebServer;
let small: WebServer;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A raw HTTP request (node:http, so Host and Origin can be anything). */
function send(s: WebServer, path: string, options: { method?: string; headers?: Record<string, string | number>; body?: Uint8Array | string } = {}): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port: s.port, path, method: options.method ?? 'GET', headers: { host: `127.0.0.1:${s.port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(options.body);
  });
}

const api = (s: WebServer, extra: Record<string, string> = {}) => ({ 'x-cpgd-token': s.token, origin: s.origin, 'sec-fetch-site': 'same-origin', ...extra });

async function invoke<T>(s: WebServer, channel: string, ...args: unknown[]): Promise<{ result: IpcResult<T>; downloads: { id: string; name: string }[] }> {
  const r = await send(s, `/api/invoke/${channel}`, { method: 'POST', headers: api(s), body: encodeFrame({ args }, utf8) });
  expect(r.status).toBe(200);
  return decodeFrame(r.body, utf8) as { result: IpcResult<T>; downloads: { id: string; name: string }[] };
}

async function upload<T = ImageInfo>(s: WebServer, name: string, bytes: Uint8Array, channel = 'file:open', args: unknown[] = []): Promise<Reply & { result: IpcResult<T> }> {
  const r = await send(s, `/api/upload/${channel}`, {
    method: 'POST',
    headers: api(s, { 'x-file-name': encodeURIComponent(name), 'x-cpgd-args': encodeURIComponent(JSON.stringify(args)), 'content-type': 'application/octet-stream' }),
    body: bytes,
  });
  return { ...r, result: r.status === 404 ? (null as never) : (decodeFrame(r.body, utf8) as { result: IpcResult<T> }).result };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpgd-web-test-'));
  renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), INDEX);
  writeFileSync(join(renderer, 'assets/app.js'), 'export {};\n');
  writeFileSync(join(dir, 'secret.txt'), 'TOP SECRET\n');
  writeFileSync(join(renderer, '.hidden.js'), 'hidden\n');
  symlinkSync(join(dir, 'secret.txt'), join(renderer, 'assets/link.txt'));
  server = await startWebServer({ rendererDir: renderer, dataDir: join(dir, 'data'), samplesDir: resolve(ROOT, 'resources/samples'), threads: 1, workerUrl: WORKER, progressIntervalMs: 0, logError: () => undefined });
  small = await startWebServer({ rendererDir: renderer, dataDir: join(dir, 'data2'), threads: 1, workerUrl: WORKER, maxUploadBytes: 1000, logError: () => undefined });
});
afterAll(async () => {
  await server?.close();
  await small?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('guard (pure)', () => {
  it('accepts our loopback Host and Origin only', () => {
    expect(originProblem({ host: '127.0.0.1:8000' }, 8000)).toBeNull();
    expect(originProblem({ host: 'localhost:8000', origin: 'http://localhost:8000', 'sec-fetch-site': 'same-origin' }, 8000)).toBeNull();
    expect(originProblem({ host: 'evil.example:8000' }, 8000)).toMatch(/Host/);
    expect(originProblem({ host: '127.0.0.1:8001' }, 8000)).toMatch(/Host/);
    expect(originProblem({}, 8000)).toMatch(/Host/);
    expect(originProblem({ host: '127.0.0.1:8000', origin: 'http://127.0.0.1:9999' }, 8000)).toMatch(/origin/);
    expect(originProblem({ host: '127.0.0.1:8000', origin: 'null' }, 8000)).toMatch(/origin/);
    expect(originProblem({ host: '127.0.0.1:8000', 'sec-fetch-site': 'same-site' }, 8000)).toMatch(/cross-site/);
  });

  it('reads the cookie of this port only', () => {
    expect(readCookie('a=1; cpgd-token-8000=xyz; cpgd-token-8001=other', cookieName(8000))).toBe('xyz');
    expect(readCookie('cpgd-token-80000=xyz', cookieName(8000))).toBeUndefined();
  });

  it("adapts the app's CSP for http (connect to self only) and puts the token in the page", () => {
    expect(webPolicy("default-src 'none'; connect-src 'none'")).toBe("default-src 'none'; connect-src 'self'");
    expect(() => webPolicy("default-src 'none'")).toThrow();
    const html = webIndexHtml(INDEX, 'TOK', 123);
    expect(html).toContain("connect-src 'self'");
    expect(html).not.toContain("connect-src 'none'");
    expect(html).toContain('<meta name="cpgd-web-token" content="TOK" />');
    expect(html).toContain('<meta name="cpgd-web-max-upload" content="123" />');
  });

  it('serves no path outside the renderer directory', () => {
    expect(resolveStatic(renderer, '/')).toBe(join(renderer, 'index.html'));
    expect(resolveStatic(renderer, '/assets/app.js')).toBe(join(renderer, 'assets/app.js'));
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e%5c..%5csecret.txt', '/assets/link.txt', '/.hidden.js', '/assets/', '/assets', '/%00.js', '/%E0%A4%A.js', `/${dir}/secret.txt`, '//etc/passwd'])
      expect(resolveStatic(renderer, p), p).toBeNull();
  });
});

describe('web server: access', () => {
  it('refuses the page without the token, sets an HttpOnly cookie for the right one and drops it from the URL', async () => {
    expect((await send(server, '/')).status).toBe(403);
    expect((await send(server, '/?token=wrong')).status).toBe(403);
    const r = await send(server, `/?token=${server.token}`, { headers: { 'sec-fetch-site': 'none' } });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toContain(`${cookieName(server.port)}=${server.token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);

    const page = await send(server, '/', { headers: { cookie: `${cookieName(server.port)}=${server.token}` } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
    expect(page.body.toString()).toContain(`content="${server.token}"`);
    const asset = await send(server, '/assets/app.js', { headers: { cookie: `${cookieName(server.port)}=${server.token}` } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect((await send(server, '/assets/app.js')).status).toBe(403);
  });

  it('refuses API calls without the token header, even with the cookie', async () => {
    const body = encodeFrame({ args: [] }, utf8);
    const noToken = await send(server, '/api/invoke/settings:get', { method: 'POST', headers: { cookie: `${cookieName(server.port)}=${server.token}`, origin: server.origin }, body });
    expect(noToken.status).toBe(403);
    expect(noToken.body.toString()).toMatch(/X-CPGD-Token/);
    expect((await send(server, '/api/invoke/settings:get', { method: 'POST', headers: api(server, { 'x-cpgd-token': 'x'.repeat(43) }), body })).status).toBe(403);
    expect((await send(server, '/api/events', { headers: { origin: server.origin } })).status).toBe(403);
  });

  it('refuses other origins, foreign Host names and cross-site requests even with the token', async () => {
    const body = encodeFrame({ args: [] }, utf8);
    for (const headers of [api(server, { origin: 'http://evil.example' }), api(server, { origin: 'http://127.0.0.1:1' }), api(server, { host: 'rebound.example:' + server.port }), api(server, { 'sec-fetch-site': 'cross-site' })]) {
      const r = await send(server, '/api/invoke/settings:get', { method: 'POST', headers, body });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
    const page = await send(server, `/?token=${server.token}`, { headers: { origin: 'http://evil.example' } });
    expect(page.status).toBe(403);
  });

  it('answers path traversal with 404 and never the file', async () => {
    const cookie = `${cookieName(server.port)}=${server.token}`;
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/link.txt', '/.hidden.js']) {
      const r = await send(server, p, { headers: { cookie } });
      expect(r.status, p).toBe(404);
      expect(r.body.toString()).not.toContain('SECRET');
    }
  });
});

describe('web server: the handler table over HTTP', () => {
  it('turns bad arguments into IpcResult errors and refuses unknown or internal channels', async () => {
    const bad = await invoke<Settings>(server, 'settings:set', { psf: { kind: 'gaussian', sigma: -1 } });
    expect(bad.result.ok).toBe(false);
    if (!bad.result.ok) {
      expect(bad.result.error.code).toBe('invalid-argument');
      expect(bad.result.error.message).toMatch(/patch\.psf\.sigma/);
    }
    const arity = await invoke(server, 'settings:get', 'extra');
    expect(arity.result.ok).toBe(false);
    if (!arity.result.ok) expect(arity.result.error.message).toMatch(/takes 0 arguments/);
    const recent = await invoke(server, 'file:openRecent', '/etc/passwd');
    expect(recent.result.ok).toBe(false);
    if (!recent.result.ok) expect(recent.result.error.message).toMatch(/not in the recent-files list/);
    // file:drop names a path: only the upload route may use it.
    const drop = await send(server, '/api/invoke/file:drop', { method: 'POST', headers: api(server), body: encodeFrame({ args: [SAMPLE] }, utf8) });
    expect(drop.status).toBe(404);
    expect((await send(server, '/api/invoke/no:such', { method: 'POST', headers: api(server), body: encodeFrame({ args: [] }, utf8) })).status).toBe(404);
    expect((await send(server, '/api/invoke/settings:get', { method: 'POST', headers: api(server), body: 'not a frame' })).status).toBe(400);
    const ok = await invoke<Settings>(server, 'settings:set', { psf: { kind: 'moffat', fwhm: 3, beta: 2.5 } });
    expect(ok.result).toMatchObject({ ok: true, value: { psf: { kind: 'moffat', fwhm: 3, beta: 2.5 } } });
  });

  it('opens an upload, sends its frame as Float32 bytes, deletes the upload and keeps it out of the recent files', async () => {
    const bytes = readFileSync(SAMPLE);
    const r = await upload(server, 'star-field.fits', bytes);
    expect(r.status).toBe(200);
    expect(r.result).toMatchObject({ ok: true, value: { name: 'star-field.fits', path: 'star-field.fits', width: 256, height: 256, frames: 1, format: 'fits' } });
    const info = (r.result as { value: ImageInfo }).value;
    const raw = await send(server, '/api/invoke/image:frame', { method: 'POST', headers: api(server), body: encodeFrame({ args: [info.imageId, 0] }, utf8) });
    expect(raw.body.length).toBeLessThan(256 * 256 * 4 + 2000);
    const frame = (decodeFrame(raw.body, utf8) as { result: { ok: true; value: FrameData } }).result.value;
    expect(frame.pixels).toBeInstanceOf(Float32Array);
    const expected = (await readFits(bytes).frame(0)).data;
    expect(frame.pixels.length).toBe(65536);
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(frame.pixels[i]! - Math.fround(expected[i]!)));
    expect(maxDiff).toBe(0);
    expect((await invoke<string[]>(server, 'file:recent')).result).toEqual({ ok: true, value: [] });
  });

  it('keeps the upload of the open image only until another image replaces it (large images are read by range)', async () => {
    const bytes = readFileSync(SAMPLE);
    expect((await upload(server, 'a.fits', bytes)).result.ok).toBe(true);
    const first = readdirSync(server.uploadsDir);
    expect(first).toHaveLength(1);
    expect(readdirSync(join(server.uploadsDir, first[0]!))).toEqual(['a.fits']);
    // A file that cannot be opened is deleted at once; the open image keeps its copy.
    expect((await upload(server, 'bad.fits', Buffer.from('not an image at all'))).result.ok).toBe(false);
    expect(readdirSync(server.uploadsDir)).toEqual(first);
    expect((await upload(server, 'b.fits', bytes)).result.ok).toBe(true);
    const second = readdirSync(server.uploadsDir);
    expect(second).toHaveLength(1);
    expect(second).not.toEqual(first);
    expect((await invoke(server, 'file:openSample', 'star-field')).result.ok).toBe(true);
    expect(readdirSync(server.uploadsDir)).toEqual([]);
    // Uploads answer file dialogs only: a plain invoke of a dialog channel has nothing to choose
    // (null, as a cancelled dialog), never 'not-available': the web host has every dialog.
    expect((await invoke(server, 'file:open')).result).toEqual({ ok: true, value: null });
    expect((await invoke(server, 'psf:openFile', 1)).result).toEqual({ ok: true, value: null });
    expect((await send(server, '/api/upload/settings:set', { method: 'POST', headers: api(server), body: bytes })).status).toBe(404);
  });

  it('answers the PSF file dialog with an uploaded stamp, read at once and deleted', async () => {
    const stamp = writeFitsImage([Float32Array.from({ length: 15 * 15 }, (_, i) => Math.exp(-(((i % 15) - 7) ** 2 + (Math.floor(i / 15) - 7) ** 2) / (2 * 1.6 ** 2)))], 15, 15);
    const r = await upload<{ name: string; width: number; sigma: number; oversample: number }>(server, 'psf.fits', stamp, 'psf:openFile', [1]);
    expect(r.result).toMatchObject({ ok: true, value: { name: 'psf.fits', width: 15, oversample: 1 } });
    if (r.result.ok) expect(r.result.value.sigma).toBeCloseTo(1.6, 1);
    const bad = await upload(server, 'psf.fits', stamp, 'psf:openFile', [0]);
    expect(bad.result).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
    expect(readdirSync(server.uploadsDir).every((d) => !readdirSync(join(server.uploadsDir, d)).includes('psf.fits'))).toBe(true);
  });

  it('opens the samples that ship with the app by id, and answers not-available without them', async () => {
    const r = await invoke<ImageInfo>(server, 'file:openSample', 'star-field');
    expect(r.result).toMatchObject({ ok: true, value: { name: 'star-field.fits', width: 256, sample: 'star-field' } });
    const none = await invoke<ImageInfo>(small, 'file:openSample', 'star-field');
    expect(none.result).toMatchObject({ ok: false, error: { code: 'not-available' } });
  });

  it('names a corrupt upload by its own name in the error, and keeps the open image', async () => {
    const before = await upload(server, 'star-field.fits', readFileSync(SAMPLE));
    const id = (before.result as { value: ImageInfo }).value.imageId;
    const r = await upload(server, 'broken.fits', Buffer.from('SIMPLE  = this is not a FITS header at all'.padEnd(400, ' ')));
    expect(r.result.ok).toBe(false);
    if (!r.result.ok) {
      expect(r.result.error.code).toBe('bad-format');
      expect(r.result.error.message).toContain('broken.fits');
      expect(r.result.error.message).not.toMatch(/cpgd-web-/);
    }
    const frame = await invoke<FrameData>(server, 'image:frame', id, 0);
    expect(frame.result.ok).toBe(true);
  });

  it('refuses uploads over the limit with a message naming the file and the limit', async () => {
    const r = await upload(small, 'big.fits', new Uint8Array(5000));
    expect(r.status).toBe(413);
    expect(r.result.ok).toBe(false);
    if (!r.result.ok) expect(r.result.error.message).toMatch(/big\.fits .* too large to upload: the limit is 1000 bytes/);
    // Streamed without a declared length: stopped when the count passes the limit.
    const chunked = await new Promise<Reply>((ok, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port: small.port, path: '/api/upload/file:open', method: 'POST', headers: { ...api(small, { 'x-file-name': 'streamed.fits' }), 'transfer-encoding': 'chunked' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', fail);
      req.write(new Uint8Array(800));
      req.end(new Uint8Array(800));
    });
    expect(chunked.status).toBe(413);
    expect(JSON.stringify(decodeFrame(chunked.body, utf8))).toMatch(/streamed\.fits is too large/);
  });

  it('streams progress events during a detection and offers the export as a one-time download', async () => {
    const opened = await upload(server, 'star-field.fits', readFileSync(SAMPLE));
    const info = (opened.result as { value: ImageInfo }).value;
    const progress: DetectProgress[] = [];
    const streamReq = httpRequest({ host: '127.0.0.1', port: server.port, path: '/api/events', headers: { host: `127.0.0.1:${server.port}`, ...api(server) } });
    await new Promise<void>((ok) => {
      streamReq.on('response', (res) => {
        let buf = Buffer.alloc(0);
        res.on('data', (c: Buffer) => {
          buf = Buffer.concat([buf, c]);
          while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
            const n = buf.readUInt32LE(0);
            const m = decodeFrame(buf.subarray(4, 4 + n), utf8) as { channel: string; payload: DetectProgress };
            if (m.channel === 'detect:progress') progress.push(m.payload);
            buf = buf.subarray(4 + n);
          }
        });
        ok();
      });
      streamReq.end();
    });
    const request = { imageId: info.imageId, frame: 0, psf: { kind: 'gaussian', sigma: 1.5 }, lambda: { mode: 'auto', factor: 1 }, background: 'auto', camera: { gain: null, offset: 0, readNoise: null } };
    const run = await invoke<{ sources: unknown[]; status: string }>(server, 'detect:start', request);
    streamReq.destroy();
    expect(run.result.ok).toBe(true);
    if (!run.result.ok) return;
    expect(run.result.value.status).toBe('converged');
    expect(run.result.value.sources.length).toBeGreaterThan(100);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.iteration).toBeGreaterThan(progress[0]!.iteration);

    const exported = await invoke<string>(server, 'catalogue:export', 'csv');
    expect(exported.result).toEqual({ ok: true, value: 'star-field.csv (browser download)' });
    expect(exported.downloads).toHaveLength(1);
    expect(exported.downloads[0]!.name).toBe('star-field.csv');
    const d = await send(server, `/api/download/${exported.downloads[0]!.id}`, { headers: api(server) });
    expect(d.status).toBe(200);
    expect(d.headers['content-disposition']).toMatch(/attachment; filename="star-field.csv"/);
    const lines = d.body.toString().trim().split('\n');
    expect(lines[0]).toBe('id,frame,x,y,flux,x_err,y_err,flux_err,snr');
    expect(lines.length).toBe(run.result.value.sources.length + 1);
    expect((await send(server, `/api/download/${exported.downloads[0]!.id}`, { headers: api(server) })).status).toBe(404);
    expect((await send(server, `/api/download/${exported.downloads[0]!.id}`)).status).toBe(403);
  });
});
