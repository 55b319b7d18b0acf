/**
 * Serving the built renderer (out/renderer) in the browser mode: which file a URL path names,
 * never anything outside the directory, and the page's Content-Security-Policy for http.
 */
import { realpathSync, statSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../app/security.js';

/**
 * The policy of the Electron window (security.ts) with one change: the page talks to its own
 * server (fetch to 'self'), where Electron's page has no network at all.
 */
export const WEB_CONTENT_SECURITY_POLICY = webPolicy(CONTENT_SECURITY_POLICY);

export function webPolicy(electronPolicy: string): string {
  const p = electronPolicy.replace("connect-src 'none'", "connect-src 'self'");
  if (p === electronPolicy) throw new Error("the app's CSP has no \"connect-src 'none'\" to adapt for http");
  return p;
}

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The file under `root` that URL path `pathname` (still percent-encoded, without the query) names,
 * or null: when it does not decode, contains NUL, backslashes or `..` segments, names a hidden
 * file, is not a regular file with a known type, or resolves (through symbolic links too) outside
 * `root`. `/` is index.html.
 */
export function resolveStatic(root: string, pathname: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (!path.startsWith('/') || path.includes('\0') || path.includes('\\')) return null;
  if (path === '/') path = '/index.html';
  const segments = path.split('/').slice(1);
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) return null;
  if (!(extname(path).toLowerCase() in MIME)) return null;
  const base = resolve(root);
  const file = resolve(base, ...segments);
  if (!inside(base, file)) return null;
  try {
    const real = realpathSync(file);
    if (!inside(realpathSync(base), real) || !statSync(real).isFile()) return null;
    return real;
  } catch {
    return null;
  }
}

function inside(dir: string, file: string): boolean {
  const r = relative(dir, file);
  return r !== '' && !r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r);
}

/**
 * index.html as served over http: its CSP meta tag gets the http policy (a page obeys both the
 * header and the meta, so the meta's connect-src 'none' would block the API), and two meta tags
 * tell the renderer that it runs in the browser mode, with the API token and the upload limit.
 */
export function webIndexHtml(html: string, token: string, maxUploadBytes: number): string {
  const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"\s*\/?>/;
  const m = meta.exec(html);
  if (!m) throw new Error('index.html has no Content-Security-Policy meta tag');
  const csp = `<meta http-equiv="Content-Security-Policy" content="${webPolicy(m[1]!)}" />`;
  const ours = `<meta name="cpgd-web-token" content="${token}" />\n    <meta name="cpgd-web-max-upload" content="${maxUploadBytes}" />`;
  return html.replace(meta, `${csp}\n    ${ours}`);
}
