// `npm run web`'s entry point (out/node/web/main.js) as a user starts it: bad options exit 2 with
// one line, and a good start prints the URL with its token and stops cleanly on SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../paths.js';

const MAIN = resolve(ROOT, 'out/node/web/main.js');
const dir = mkdtempSync(join(tmpdir(), 'cpgd-web-main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, lines: r.stderr.split('\n').filter((l) => l.trim() !== '') };
}

describe('npm run web (out/node/web/main.js)', () => {
  it('refuses bad options with exit status 2 and one line naming the option', () => {
    for (const [args, message] of [
      [['--port', 'eighty'], /--port must be a whole number from 0 to 65535 \(got "eighty"\)/],
      [['--port', '70000'], /--port must be a whole number/],
      [['--max-upload-mb', '0'], /--max-upload-mb must be a whole number from 1/],
      [['--threads'], /--threads needs a value/],
      [['--open'], /unknown option --open/],
    ] as const) {
      const r = run([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.lines).toHaveLength(1);
      expect(r.lines[0]).toMatch(/^cpgd web: /);
      expect(r.lines[0]).toMatch(message);
    }
  });

  it('prints the URL with its token, serves on that port, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, '--data-dir', join(dir, 'data'), '--threads', '1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const url = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no URL printed: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /open (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]{40,}))\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      });
    });
    expect(out).toContain(join(dir, 'data'));
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect((await fetch(url.replace(/\?token=.*/, ''))).status).toBe(403);
    const code = await new Promise<number | null>((ok) => {
      child.on('exit', (c) => ok(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });
});
