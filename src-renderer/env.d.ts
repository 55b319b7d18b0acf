import type { CpgdApi } from '../src-main/shared/ipc.js';

declare global {
  interface Window {
    /** The preload's API (src-main/preload.ts); absent when the page runs outside Electron. */
    readonly cpgd?: CpgdApi;
  }
}
