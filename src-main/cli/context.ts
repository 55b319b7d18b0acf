/** What a command needs from the process: its streams and the cancel signal (Ctrl-C). */

import type { ErrorStream } from './report.js';

export interface OutputStream {
  write(data: string | Uint8Array): unknown;
  isTTY?: boolean;
}

export interface CliContext {
  stdout: OutputStream;
  stderr: ErrorStream;
  /** Aborted on SIGINT/SIGTERM: the solver stops within one iteration and the command exits 1. */
  signal: AbortSignal;
}

/** Exit codes of every command. */
export const EXIT_OK = 0;
/** The solver was cancelled or failed at run time (a worker crashed, the output could not be written). */
export const EXIT_RUNTIME = 1;
/** Bad input: options, files. */
export const EXIT_USAGE = 2;
