/**
 * Progress on stderr: one line rewritten in place on a terminal (at most 10 times a second), plain
 * lines at most every few seconds otherwise, nothing when quiet.
 */

export interface ErrorStream {
  write(text: string): unknown;
  isTTY?: boolean;
  /** Terminal width, when a terminal. */
  columns?: number;
}

export class Reporter {
  private lastDraw = -Infinity;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly out: ErrorStream,
    private readonly quiet: boolean,
    /** Least ms between two plain lines when not on a terminal. */
    private readonly plainIntervalMs = 5000,
  ) {
    this.tty = out.isTTY === true;
  }

  /** Show the current state (throttled); `force` draws now. */
  status(text: string, force = false): void {
    if (this.quiet) return;
    const now = performance.now();
    const interval = this.tty ? 100 : this.plainIntervalMs;
    if (!force && now - this.lastDraw < interval) return;
    this.lastDraw = now;
    if (this.tty) {
      // Longer than the terminal, the line would wrap and \r could not rewrite it.
      const width = this.out.columns ?? 0;
      const fit = width > 1 && text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text;
      this.out.write(`\r\x1b[K${fit}`);
      this.drawn = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  /** A line that stays (the summary): clears the progress line first. */
  line(text: string): void {
    if (this.quiet) return;
    this.clear();
    this.out.write(`${text}\n`);
  }

  clear(): void {
    if (this.tty && this.drawn) {
      this.out.write('\r\x1b[K');
      this.drawn = false;
    }
  }
}

/** 3 significant digits, exponent form for tiny and huge values. */
export function short(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e6 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : ms < 600_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}
