// `npm start` (scripts/start.mjs) where Electron cannot run: one line, exit status 1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../paths.js';

const SCRIPT = resolve(ROOT, 'scripts/start.mjs');
const ELECTRON_INSTALLED = existsSync(join(ROOT, 'node_modules/electron/path.txt'));

function start(env: Record<string, string | undefined>) {
  const clean = { ...process.env };
  delete clean.ELECTRON_EXEC_PATH;
  delete clean.ELECTRON_OVERRIDE_DIST_PATH;
  const r = spawnSync(process.execPath, [SCRIPT], { cwd: ROOT, encoding: 'utf8', env: { ...clean, ...env }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, lines: r.stderr.split('\n').filter((l) => l.trim() !== '') };
}

function expectOneLine(r: ReturnType<typeof start>) {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.lines).toHaveLength(1);
  expect(r.lines[0]).toMatch(/Electron binary is not installed on this machine/);
  expect(r.lines[0]).toMatch(/`cpgd` command line works/);
  expect(r.lines[0]).toMatch(/`npm run web` serves the same app to your browser/);
}

describe('scripts/start.mjs', () => {
  it('prints one line and exits 1 when the Electron binary it is pointed at does not exist', () => {
    expectOneLine(start({ ELECTRON_EXEC_PATH: join(ROOT, 'no-such-dir/electron') }));
  });

  it.skipIf(ELECTRON_INSTALLED)('prints the same line on this machine, where Electron is not installed', () => {
    expectOneLine(start({}));
  });
});
