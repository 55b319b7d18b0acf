/**
 * electron-vite build of the desktop app. Every input is given explicitly (this project does not
 * use the src/main, src/preload, src/renderer layout electron-vite would look for):
 *   main      src-main/app/main.ts   → out/main/index.js (ESM; package.json is "type": "module")
 *   preload   src-main/preload.ts    → out/preload/preload.cjs (CommonJS: sandboxed preloads cannot be ESM)
 *   renderer  src-renderer/index.html → out/renderer/
 * The detection worker is bundled by the main build through `?modulePath` (see src-main/app/main.ts).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const at = (p: string) => resolve(root, p);

/**
 * The dev server injects inline styles and talks over a websocket: relax the page's CSP meta for
 * `electron-vite dev` only. Built pages keep the strict policy of src-renderer/index.html.
 */
function devCsp(): Plugin {
  return {
    name: 'cpgd:dev-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      return html.replace(/style-src 'self'/, "style-src 'self' 'unsafe-inline'").replace(/connect-src 'none'/, "connect-src 'self' ws: http://localhost:*");
    },
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: at('out/main'),
      sourcemap: true,
      rolldownOptions: {
        input: { index: at('src-main/app/main.ts') },
      },
    },
  },
  preload: {
    build: {
      outDir: at('out/preload'),
      sourcemap: true,
      // Sandboxed preloads may only require('electron'): bundle everything else in.
      externalizeDeps: false,
      rolldownOptions: {
        input: { preload: at('src-main/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: at('src-renderer'),
    plugins: [svelte({ configFile: at('svelte.config.js') }), devCsp()],
    build: {
      outDir: at('out/renderer'),
      sourcemap: true,
      rolldownOptions: {
        input: { index: at('src-renderer/index.html') },
      },
    },
  },
});
