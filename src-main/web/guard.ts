/**
 * Who may talk to the browser-mode server, as pure functions of the request headers (tested
 * without a socket). The server listens on 127.0.0.1 only, but any local process and any web page
 * the user visits can reach 127.0.0.1, so every request must prove it comes from our own page:
 *
 * - Host must name the loopback address and our port (a DNS-rebinding page sends its own name).
 * - Origin, when the browser sends one, must be our origin; Sec-Fetch-Site, when sent, must say
 *   `same-origin` (or `none`: the user opened the printed URL). No CORS headers are ever sent,
 *   so other origins cannot read anything either.
 * - The token: the page is loaded once with `?token=…`, which sets an HttpOnly, SameSite=Strict
 *   cookie (then every page asset carries it); API calls must also carry it in the X-CPGD-Token
 *   header, which a cross-origin page cannot add without a CORS preflight that we refuse.
 */
import { timingSafeEqual } from 'node:crypto';

export const TOKEN_HEADER = 'x-cpgd-token';

/** The name of the token cookie: cookies ignore ports, so two servers must not share one. */
export function cookieName(port: number): string {
  return `cpgd-token-${port}`;
}

/** Constant-time comparison of a presented token with ours. */
export function tokenMatches(presented: string | undefined | null, token: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The origins our pages have (the server answers on both loopback names). */
export function allowedOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

type Headers = Record<string, string | string[] | undefined>;

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * Why a request does not come from our page, or null when it may proceed to the token check.
 * `headers` are Node's (lower-case names).
 */
export function originProblem(headers: Headers, port: number): string | null {
  const host = one(headers.host);
  if (!host || !allowedOrigins(port).some((o) => o === `http://${host.toLowerCase()}`)) return `refused: Host ${JSON.stringify(host ?? '')} is not this server`;
  const origin = one(headers.origin);
  if (origin !== undefined && !allowedOrigins(port).includes(origin)) return `refused: requests from origin ${JSON.stringify(origin)} are not allowed`;
  const site = one(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `refused: cross-site request (${site})`;
  return null;
}
