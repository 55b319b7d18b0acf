/**
 * A pool of detection workers (worker_threads). Jobs are tiles or whole frames of one tile (see
 * protocol.ts), queued first in first out and run one per worker. A worker that throws, crashes, exits or runs out of memory
 * rejects its job with a typed error (WorkerFailedError, or the core's own typed error when the
 * worker threw one) and is replaced; the other jobs go on.
 */

import { availableParallelism } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { CpgdError, InvalidOptionError, WorkerFailedError } from '../core/errors.js';
import type { DetectResult } from '../core/detect.js';
import { reviveError, type FrameJob, type FromWorker, type TileJob, type TileOutcome, type TileProgress, type ToWorker, type WarmJob } from './protocol.js';

export interface PoolOptions {
  /** Number of worker threads (integer ≥ 1). Default: os.availableParallelism(). */
  threads?: number;
  /**
   * The worker script. Default: detect.worker.js next to this module (out/node/jobs/ when
   * compiled). Electron passes the URL of its own bundle.
   */
  workerUrl?: URL | string;
  /** V8 heap limits of each worker (see worker_threads ResourceLimits). */
  resourceLimits?: ResourceLimits;
  /** Least time between two progress messages of a job, ms (default 50: at most 20 per second). */
  progressIntervalMs?: number;
  /**
   * How long a running job may go on after its cancel flag is set, ms (default 150). The solver
   * checks the flag every iteration, but some phases (the start on a large tile, a certificate
   * pass, a slow PSF) run longer than that: past this grace the worker is terminated, the job
   * resolves as skipped (null), and a fresh worker takes the next job. So a cancel takes effect
   * within about grace + 20 ms whatever the solver is doing.
   */
  cancelGraceMs?: number;
}

interface Task {
  id: number;
  /** A tile job, a whole-frame job or a warm-up (see protocol.ts). */
  kind: 'tile' | 'frame' | 'warm';
  job: TileJob | FrameJob | WarmJob;
  /** The job's cancel flag. */
  flag: Int32Array;
  /** When the watchdog first saw the flag set (performance.now()). */
  cancelSeenAt?: number;
  onProgress: ((p: TileProgress) => void) | undefined;
  resolve: (r: TileOutcome | DetectResult | null) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
  /** false once the worker failed or was terminated: its late events are ignored. */
  alive: boolean;
  /** The worker was given a warm-up (see DetectPool.warm). */
  warmed: boolean;
}

export function defaultWorkerUrl(): URL {
  return new URL('./detect.worker.js', import.meta.url);
}

export class DetectPool {
  /** Largest number of workers running at once. */
  readonly size: number;
  private readonly workerUrl: URL | string;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly progressIntervalMs: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly cancelGraceMs: number;
  private nextId = 1;
  private closed = false;
  private replacedCount = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;

  constructor(options: PoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!(Number.isInteger(threads) && threads >= 1)) throw new InvalidOptionError('--threads', threads, 'must be a whole number ≥ 1');
    const interval = options.progressIntervalMs ?? 50;
    if (!(interval >= 0)) throw new InvalidOptionError('progressIntervalMs', interval, 'must be ≥ 0 ms');
    this.size = threads;
    this.workerUrl = options.workerUrl ?? defaultWorkerUrl();
    this.resourceLimits = options.resourceLimits;
    this.progressIntervalMs = interval;
    const grace = options.cancelGraceMs ?? 150;
    if (!(grace >= 0)) throw new InvalidOptionError('cancelGraceMs', grace, 'must be ≥ 0 ms');
    this.cancelGraceMs = grace;
  }

  /** Workers that failed and were replaced (or will be, when work arrives) since the pool started. */
  get replaced(): number {
    return this.replacedCount;
  }

  /** Workers currently alive. */
  get workers(): number {
    return this.slots.length;
  }

  /** Workers currently alive that were given a warm-up (see warm). */
  get warmed(): number {
    return this.slots.filter((s) => s.warmed).length;
  }

  /**
   * Run one tile. Resolves with the tile's sources and statistics, or null when the job's cancel
   * flag was already set when its turn came (the tile was skipped). Rejects with a CpgdError.
   */
  runTile(job: TileJob, onProgress?: (p: TileProgress) => void): Promise<TileOutcome | null> {
    return this.submit('tile', job, onProgress) as Promise<TileOutcome | null>;
  }

  /**
   * Detect the sources of a whole frame (of one tile) in a worker: the result of core detect() on
   * the same pixels and options, or null when the job's cancel flag was set before its turn (or it
   * overran the cancel grace). Rejects with a CpgdError, the core's typed errors included.
   */
  runFrame(job: FrameJob, onProgress?: (p: TileProgress) => void): Promise<DetectResult | null> {
    return this.submit('frame', job, onProgress) as Promise<DetectResult | null>;
  }

  /**
   * Warm up the JIT of each worker not warmed yet, starting the missing ones: it solves a few tiny
   * synthetic frames with the job's PSF and options (see WarmJob) before it takes queued jobs.
   * Worth it before a stack of small frames, whose first frames on a fresh worker cost several
   * times the warmed figure. Nothing to await: a warm-up that fails leaves its worker cold (or
   * replaced, if it died), and the job's cancel flag stops it like a job.
   */
  warm(job: WarmJob): void {
    if (this.closed) return;
    while (this.slots.length < this.size) this.spawn();
    for (const slot of this.slots) {
      if (slot.warmed || slot.task) continue;
      slot.warmed = true;
      const ignore = () => undefined;
      this.start(slot, { id: this.nextId++, kind: 'warm', job, flag: new Int32Array(job.cancel), onProgress: undefined, resolve: ignore, reject: ignore });
    }
  }

  private submit(kind: Task['kind'], job: TileJob | FrameJob, onProgress: ((p: TileProgress) => void) | undefined): Promise<TileOutcome | DetectResult | null> {
    if (this.closed) return Promise.reject(new WorkerFailedError('error', 'the pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, kind, job, flag: new Int32Array(job.cancel), onProgress, resolve, reject });
      this.pump();
    });
  }

  /** Stop every worker; queued and running jobs reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatchdog();
    const err = new WorkerFailedError('error', 'the pool was closed before the job ran');
    for (const t of this.queue.splice(0)) t.reject(err);
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map((s) => {
        s.alive = false;
        s.task?.reject(err);
        s.task = null;
        return s.worker.terminate();
      }),
    );
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let slot = this.slots.find((s) => s.task === null);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const task = this.queue.shift()!;
      if (Atomics.load(task.flag, 0) !== 0) {
        task.resolve(null);
        continue;
      }
      this.start(slot, task);
    }
  }

  private start(slot: Slot, task: Task): void {
    slot.task = task;
    slot.worker.ref();
    const progress = task.onProgress !== undefined;
    const interval = this.progressIntervalMs;
    const msg: ToWorker =
      task.kind === 'warm'
        ? { type: 'warm', id: task.id, job: task.job as WarmJob }
        : task.kind === 'frame'
          ? { type: 'frame', id: task.id, job: task.job as FrameJob, progressIntervalMs: interval, progress }
          : { type: 'tile', id: task.id, job: task.job as TileJob, progressIntervalMs: interval, progress };
    slot.worker.postMessage(msg);
    this.startWatchdog();
  }

  /** While jobs run, look at their cancel flags every 20 ms. */
  private startWatchdog(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => this.checkCancels(), 20);
    // The watchdog alone must not keep the process alive.
    this.watchdog.unref?.();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private checkCancels(): void {
    const now = performance.now();
    let running = false;
    for (const slot of [...this.slots]) {
      const task = slot.task;
      if (!task) continue;
      running = true;
      if (Atomics.load(task.flag, 0) === 0) continue;
      task.cancelSeenAt ??= now;
      if (now - task.cancelSeenAt >= this.cancelGraceMs) this.abandon(slot);
    }
    if (!running) this.stopWatchdog();
  }

  /** A cancelled job overran its grace: end its worker, resolve the job as skipped. */
  private abandon(slot: Slot): void {
    const task = slot.task!;
    slot.alive = false;
    slot.task = null;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate().catch(() => undefined);
    task.resolve(null);
    this.pump();
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl, this.resourceLimits ? { resourceLimits: this.resourceLimits } : {});
    const slot: Slot = { worker, task: null, alive: true, warmed: false };
    worker.unref();
    worker.on('message', (msg: FromWorker) => {
      const task = slot.task;
      if (!slot.alive || !task || msg.id !== task.id) return;
      if (msg.type === 'progress') {
        try {
          task.onProgress?.(msg.progress);
        } catch {
          // A failing progress callback must not lose the job.
        }
        return;
      }
      slot.task = null;
      worker.unref();
      if (msg.type === 'result') task.resolve(msg.outcome);
      else if (msg.type === 'frame-result') task.resolve(msg.result);
      else if (msg.type === 'warmed') task.resolve(null);
      else task.reject(reviveError(msg.error));
      this.pump();
    });
    worker.on('error', (e: Error & { code?: string }) => {
      const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.fail(slot, new WorkerFailedError(oom ? 'out-of-memory' : 'crashed', e.message || String(e)));
    });
    worker.on('exit', (code) => {
      this.fail(slot, new WorkerFailedError('exit', `exit code ${code}`, code));
    });
    this.slots.push(slot);
    return slot;
  }

  /** A worker died: reject its job, drop it, and let the next job start a replacement. */
  private fail(slot: Slot, error: CpgdError): void {
    if (!slot.alive) return;
    slot.alive = false;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    const task = slot.task;
    slot.task = null;
    if (!this.closed) this.replacedCount++;
    void slot.worker.terminate().catch(() => undefined);
    task?.reject(error);
    this.pump();
  }
}
