/**
 * The API to main: the preload's `window.cpgd` in Electron; in the browser mode (the page served
 * by `npm run web`, which marks it with a token meta tag) the same API over HTTP (web-api.ts);
 * null when the page is opened any other way.
 */
import type { CpgdApi } from '../../src-main/shared/ipc.js';
import { createWebApi, webConfig } from './web-api.js';

let web: CpgdApi | null = null;

export function getApi(): CpgdApi | null {
  if (typeof window === 'undefined') return null;
  if (window.cpgd) return window.cpgd;
  if (web) return web;
  const config = webConfig();
  if (config) web = createWebApi(config.token, config.maxUploadBytes);
  return web;
}
