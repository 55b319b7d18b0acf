/**
 * `npm run web` (node out/node/web/main.js): start the browser mode and print the URL to open.
 *
 *   --port N           port on 127.0.0.1 (default: a free one)
 *   --data-dir DIR     where settings.json is kept (default: the per-user config directory)
 *   --max-upload-mb N  largest image that may be uploaded, MiB (default 2048)
 *   --threads N        detection worker threads (default: cores − 1)
 *
 * Bad options exit 2 with one line, like the `cpgd` command line.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_MAX_UPLOAD_BYTES, startWebServer } from './server.js';

const here = import.meta.dirname;

function usageError(message: string): never {
  process.stderr.write(`cpgd web: ${message}\n`);
  process.exit(2);
}

/** The per-user directory of the browser mode's settings (apart from the desktop app's). */
export function defaultDataDir(): string {
  if (process.platform === 'win32' && process.env.APPDATA) return join(process.env.APPDATA, 'CPGD Sources', 'browser');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'CPGD Sources', 'browser');
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'CPGD Sources', 'browser');
}

function parse(argv: string[]) {
  const out = { port: 0, dataDir: defaultDataDir(), maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES, threads: undefined as number | undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usageError(`${a} needs a value`);
      return v;
    };
    const integer = (min: number, max: number) => {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < min || n > max) usageError(`${a} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return n;
    };
    if (a === '--port') out.port = integer(0, 65535);
    else if (a === '--data-dir') out.dataDir = resolve(value());
    else if (a === '--max-upload-mb') out.maxUploadBytes = integer(1, 1024 * 1024) * 1024 * 1024;
    else if (a === '--threads') out.threads = integer(1, 1024);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('npm run web [-- --port N] [--data-dir DIR] [--max-upload-mb N] [--threads N]\n');
      process.exit(0);
    } else usageError(`unknown option ${a}`);
  }
  return out;
}

const o = parse(process.argv.slice(2));
try {
  const server = await startWebServer({
    rendererDir: resolve(here, '../../renderer'),
    samplesDir: resolve(here, '../../../resources/samples'),
    dataDir: o.dataDir,
    port: o.port,
    maxUploadBytes: o.maxUploadBytes,
    ...(o.threads ? { threads: o.threads } : {}),
  });
  process.stdout.write(`CPGD Sources (browser mode): open ${server.url}\n(the token in the URL is required; settings in ${o.dataDir}; Ctrl+C stops the server)\n`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (stopping) return process.exit(1);
      stopping = true;
      void server.close().then(() => process.exit(0));
    });
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE') usageError(`port ${o.port} is in use`);
  process.stderr.write(`cpgd web: ${err.message}\n`);
  process.exit(1);
}
