/**
 * Typed errors of the core. Every error has a stable `code` that callers (CLI, app, workers) switch
 * on, and the data needed to explain it. Messages are one line and name the file where there is one.
 */

export type ErrorCode =
  | 'invalid-option'
  | 'invalid-image'
  | 'invalid-psf'
  | 'bad-format'
  | 'unsupported-format'
  | 'io-error'
  /** A detection worker threw, crashed, exited or ran out of memory (see jobs/). */
  | 'worker-failed';

export class CpgdError extends Error {
  readonly code: ErrorCode;
  /** The file the problem is in, when known. */
  file: string | undefined;
  constructor(code: ErrorCode, message: string, file?: string) {
    super(message);
    this.name = 'CpgdError';
    this.code = code;
    this.file = file;
  }
  /** One line for people: `FILE: message` when the file is known. */
  describe(): string {
    return this.file ? `${this.file}: ${this.message}` : this.message;
  }
}

/** An option is missing, out of range, of the wrong type, or contradicts another. */
export class InvalidOptionError extends CpgdError {
  readonly option: string;
  readonly value: unknown;
  constructor(option: string, value: unknown, reason: string) {
    super('invalid-option', `${option}: ${reason} (got ${formatValue(value)})`);
    this.name = 'InvalidOptionError';
    this.option = option;
    this.value = value;
  }
}

/** The image handed to the solver cannot be solved (empty, wrong size, no finite pixel...). */
export class InvalidImageError extends CpgdError {
  constructor(reason: string, file?: string) {
    super('invalid-image', reason, file);
    this.name = 'InvalidImageError';
  }
}

/** A PSF cannot be built: non-positive sum, bad size, bad parameters. */
export class InvalidPsfError extends CpgdError {
  constructor(reason: string, file?: string) {
    super('invalid-psf', reason, file);
    this.name = 'InvalidPsfError';
  }
}

/**
 * Bytes that do not form a valid file of the format they claim (truncated, inconsistent header,
 * broken offsets). `offset` is the byte position of the problem where known.
 */
export class FormatError extends CpgdError {
  readonly format: string;
  readonly offset: number | undefined;
  constructor(format: string, reason: string, file?: string, offset?: number) {
    super('bad-format', `not a valid ${format} file: ${reason}`, file);
    this.name = 'FormatError';
    this.format = format;
    this.offset = offset;
  }
}

/** A valid file using a feature this project does not read (a compression, a data type). */
export class UnsupportedFormatError extends CpgdError {
  readonly format: string;
  constructor(format: string, reason: string, file?: string) {
    super('unsupported-format', `unsupported ${format} file: ${reason}`, file);
    this.name = 'UnsupportedFormatError';
    this.format = format;
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * A worker thread of the detection pool failed while running a job: it threw an error that is not
 * one of ours (`reason` 'error'), died of an uncaught exception ('crashed'), exited ('exit', with
 * `exitCode`) or ran out of memory ('out-of-memory'). The job is lost; the pool replaces the worker.
 */
export class WorkerFailedError extends CpgdError {
  readonly reason: 'error' | 'crashed' | 'exit' | 'out-of-memory';
  readonly exitCode: number | undefined;
  constructor(reason: WorkerFailedError['reason'], detail: string, exitCode?: number) {
    super('worker-failed', `detection worker ${WORKER_FAILURE[reason]}: ${detail}`);
    this.name = 'WorkerFailedError';
    this.reason = reason;
    this.exitCode = exitCode;
  }
}

const WORKER_FAILURE: Record<WorkerFailedError['reason'], string> = {
  error: 'failed',
  crashed: 'crashed',
  exit: 'exited',
  'out-of-memory': 'ran out of memory',
};
