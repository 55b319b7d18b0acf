#!/usr/bin/env node
// `npm start`: build the app and run it in Electron (`electron-vite preview`), or with `--dev` run
// the dev server with hot reload (`electron-vite dev`). Where the Electron binary is not installed
// it says so in one line, pointing to the browser mode (`npm run web`), and exits 1. The binary
// is looked for the way electron-vite does (ELECTRON_EXEC_PATH, else node_modules/electron/path.txt
// → dist/); require('electron') is not used because it starts a download when the binary is missing.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));

/** The Electron executable, or null when it is not installed. */
function electronBinary() {
  const isFile = (p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  const given = process.env.ELECTRON_EXEC_PATH;
  if (given) return isFile(given) ? given : null;
  let dir;
  try {
    dir = dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const rel = readFileSync(pathFile, 'utf8').trim();
  if (!rel) return null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const bin = override ? join(override, rel) : join(dir, 'dist', rel);
  return isFile(bin) ? bin : null;
}

const binary = electronBinary();
if (!binary) {
  process.stderr.write('cpgd: the Electron binary is not installed on this machine, so the desktop app cannot start; `npm run web` serves the same app to your browser, and the `cpgd` command line works (npx cpgd --help).\n');
  process.exit(1);
}

const dev = process.argv.slice(2).includes('--dev');
const cli = join(root, 'node_modules/electron-vite/bin/electron-vite.js');
const child = spawn(process.execPath, [cli, dev ? 'dev' : 'preview'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ELECTRON_EXEC_PATH: binary },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
child.on('error', (e) => {
  process.stderr.write(`cpgd: cannot run electron-vite: ${e.message}\n`);
  process.exitCode = 1;
});
