/** The preload's `window.cpgd`, or null when the page is opened outside Electron. */
import type { CpgdApi } from '../../src-main/shared/ipc.js';

export function getApi(): CpgdApi | null {
  return typeof window !== 'undefined' && window.cpgd ? window.cpgd : null;
}
