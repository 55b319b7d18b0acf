// The `cpgd` command as the command-line tests run it: the built bin/cpgd.mjs in a child process.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ROOT } from '../paths.js';

export const BIN = resolve(ROOT, 'bin/cpgd.mjs');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Non-empty stderr lines. */
  lines: string[];
}

/** Run `cpgd ARGS` in `cwd` and wait for it. */
export function runCpgd(cwd: string, args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.split('\n').filter((l) => l.trim() !== '') };
}
