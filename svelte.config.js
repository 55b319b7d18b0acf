// Svelte options shared by the renderer build (electron.vite.config.ts) and svelte-check.
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  preprocess: vitePreprocess({ script: false }),
  compilerOptions: {
    runes: true,
  },
};
