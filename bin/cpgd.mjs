#!/usr/bin/env node
// The `cpgd` command: runs the compiled CLI in out/node (built by `npm install` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../out/node/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(`cpgd: the compiled program is missing (${fileURLToPath(entry)}); run \`npm install\` in ${fileURLToPath(new URL('..', import.meta.url))} to build it\n`);
  process.exit(1);
}
const { run } = await import(entry.href);
process.exitCode = await run(process.argv.slice(2));
