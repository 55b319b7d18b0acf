// Helpers of the end-to-end tests: the browser mode's server as a child process (the real
// `node out/node/web/main.js`, as `npm run web` starts it) and Debian's Chromium under playwright-core.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../paths.js';

/** Debian's Chromium (apt-get install chromium; .ci/run installs it). CPGD_CHROMIUM overrides. */
export const CHROMIUM = process.env.CPGD_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = resolve(ROOT, 'test-results/e2e');

export interface RunningServer {
  url: string;
  origin: string;
  port: number;
  token: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Start `node out/node/web/main.js` with `args`; resolves with the URL it prints. */
export async function startServer(args: string[]): Promise<RunningServer> {
  const main = resolve(ROOT, 'out/node/web/main.js');
  for (const built of [main, resolve(ROOT, 'out/renderer/index.html')])
    if (!existsSync(built)) throw new Error(`${built} is missing: build first (npm test and npm run web do: npm run build)`);
  const child: ChildProcess = spawn(process.execPath, [main, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the web server printed no URL within 20 s:\n${out}`)), 20_000);
    const look = () => {
      const m = /open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    };
    child.stdout!.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the web server exited (${code}):\n${out}`));
    });
  });
  const u = new URL(url);
  return {
    url,
    origin: u.origin,
    port: Number(u.port),
    token: u.searchParams.get('token')!,
    output: () => out,
    stop: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium headless with a fresh profile. Fails (never skips) when Chromium is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: the end-to-end tests need it (apt-get install -y chromium; .ci/run installs it)`);
  const profile = mkdtempSync(join(tmpdir(), 'cpgd-e2e-profile-'));
  mkdirSync(SHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 960 },
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A browser-mode server in a fresh data directory and a Chromium page on it, collecting page errors. */
export interface E2eSession {
  dir: string;
  server: RunningServer;
  browser: Browser;
  page: Page;
  /** Script errors, and console errors (failed loads, Content-Security-Policy violations). */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Start the server with `args(dir)` (dir: a new temporary directory) and a page that records its errors. */
export async function startSession(prefix: string, args: (dir: string) => string[]): Promise<E2eSession> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const server = await startServer(args(dir));
  const browser = await launchChromium();
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
  });
  return {
    dir,
    server,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
