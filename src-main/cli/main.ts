/**
 * The `cpgd` command line: `detect`, `simulate`, `info`, `render`. `main` returns the exit status: 0 success,
 * 1 cancelled or failed at run time, 2 bad input. Every error is one line on stderr, without a
 * stack trace (set CPGD_DEBUG=1 to get one for unexpected errors).
 */

import { CpgdError, WorkerFailedError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, type CliContext } from './context.js';
import { DETECT, runDetect } from './detect.js';
import { INFO, runInfo } from './info.js';
import { OutputError } from './io.js';
import { RENDER, runRender } from './render.js';
import { runSimulate, SIMULATE } from './simulate.js';

const COMMANDS = {
  detect: { spec: DETECT, run: runDetect },
  simulate: { spec: SIMULATE, run: runSimulate },
  info: { spec: INFO, run: runInfo },
  render: { spec: RENDER, run: runRender },
} as const;

type CommandName = keyof typeof COMMANDS;

const WHAT: Record<CommandName, string> = {
  detect: 'Find the sources of an image or stack and write a catalogue (CSV, DS9 regions or FITS table).',
  simulate: 'Write a synthetic star field or SMLM movie and its truth catalogue.',
  info: 'Describe an image file: size, frames, pixel statistics, header.',
  render: 'Render a localisation table (SMLM) as a super-resolution image (32-bit float TIFF).',
};

export function mainHelp(): string {
  const rows = (Object.keys(COMMANDS) as CommandName[]).flatMap((k) => [`  ${COMMANDS[k].spec.usage}`, `      ${WHAT[k]}`]);
  return [
    `cpgd ${VERSION}: point-source detection (stars, single fluorophores) by sparse deconvolution over measures (conic particle gradient descent).`,
    '',
    'Usage: cpgd COMMAND [options]',
    '',
    'Commands:',
    ...rows,
    '',
    'Options:',
    '  -h, --help',
    '      Print this help. cpgd COMMAND --help lists the options of a command with their units and defaults.',
    '  -V, --version',
    '      Print the version.',
    '',
    'Exit status: 0 success, 1 cancelled or failed at run time, 2 bad input.',
    '',
  ].join('\n');
}

/** The exit status of an error, and its one line. */
export function describeError(e: unknown, command: string): { code: number; line: string } {
  const prefix = command ? `cpgd ${command}: ` : 'cpgd: ';
  const oneLine = (s: string) => prefix + s.replace(/\s*\n\s*/g, ' ').trim();
  if (e instanceof WorkerFailedError || e instanceof OutputError) return { code: EXIT_RUNTIME, line: oneLine(e.describe()) };
  if (e instanceof CpgdError) return { code: EXIT_USAGE, line: oneLine(e.describe()) };
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { code: EXIT_RUNTIME, line: oneLine(`internal error: ${message}`) };
}

/** Run `cpgd` with `argv` (the words after `cpgd`). */
export async function main(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    ctx.stderr.write(`cpgd: missing COMMAND (detect, simulate, info or render); see cpgd --help\n`);
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && topic in COMMANDS) return main([topic, '--help'], ctx);
    ctx.stdout.write(mainHelp());
    return EXIT_OK;
  }
  if (first === '--version' || first === '-V') {
    ctx.stdout.write(`cpgd ${VERSION}\n`);
    return EXIT_OK;
  }
  if (!(first in COMMANDS)) {
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}`;
    ctx.stderr.write(`cpgd: ${what}; the commands are detect, simulate, info and render (see cpgd --help)\n`);
    return EXIT_USAGE;
  }
  const command = first as CommandName;
  try {
    return await COMMANDS[command].run(rest, ctx);
  } catch (e) {
    const { code, line } = describeError(e, command);
    ctx.stderr.write(line + '\n');
    if (code === EXIT_RUNTIME && !(e instanceof CpgdError) && process.env.CPGD_DEBUG === '1' && e instanceof Error) ctx.stderr.write(`${e.stack}\n`);
    return code;
  }
}

/** Entry point of bin/cpgd.mjs: real streams, Ctrl-C cancels (a second Ctrl-C exits at once). */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\ncpgd: ${signal}, stopping (again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await main(argv, { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

