/** Detection on a pool of worker threads (see pool.ts, parallel.ts and detect.worker.ts). */
export { DetectPool, defaultWorkerUrl } from './pool.js';
export type { PoolOptions } from './pool.js';
export { detectFrameParallel, detectFramesParallel } from './parallel.js';
export type { FrameSummary, ParallelDetectOptions, ParallelHooks, ParallelProgress, StackHooks, StackResult } from './parallel.js';
export type { PlainDetectOptions, SerialPsf, SharedFrame, TileJob, TileOutcome, TileProgress, WorkerFault } from './protocol.js';
