/**
 * The security policy of the app's pages, as plain data (tested without Electron): the
 * Content-Security-Policy and the check that an IPC call or a navigation comes from our page.
 */

/**
 * Only our own bundled scripts and styles; images from blob:/data: (canvas exports); no network,
 * no plugins, no framing, no <base> or form targets elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Whether `url` is a page of this app: the built renderer's index.html (file URL) or, in
 * development, a page of the dev server. Anything else (other files, remote sites) is not.
 */
export function isAppUrl(url: string, rendererFileUrl: string, devServerUrl?: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (devServerUrl) {
    try {
      const d = new URL(devServerUrl);
      if (u.origin === d.origin) return true;
    } catch {
      // An invalid dev URL allows nothing.
    }
  }
  const f = new URL(rendererFileUrl);
  return u.protocol === 'file:' && f.protocol === 'file:' && decodeURIComponent(u.pathname) === decodeURIComponent(f.pathname);
}
