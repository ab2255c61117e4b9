import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { moduleBeside, spawnModuleWorker } from '../lane/spawn-worker.js';
import type { GatewayMetrics } from '../observability/metrics.js';

/**
 * How often the checkpointer copies the write-ahead log into the store's file. At a paced 5k msg/s the two writers
 * append about 1,100 pages a second, so the log stays at a few hundred frames.
 */
export const CHECKPOINT_INTERVAL_MS = 250;

export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
}
export type ToCheckpointer = { type: 'stop' };
export type CheckpointReport =
  | { type: 'started' }
  /** A checkpoint that found new frames: the log's length and how long it took. */
  | { type: 'checkpointed'; frames: number; ms: number }
  | { type: 'failed'; message: string };

export interface WalCheckpointerDeps {
  /** The store's file (`db.name` of a connection that opened it: it exists, in WAL mode). */
  file: string;
  intervalMs?: number;
  metrics: Pick<GatewayMetrics, 'storeCheckpoint' | 'storeLogFrames'>;
  log: Logger;
}

export interface WalCheckpointer {
  /** Resolves once the thread has its connection, or has failed to get one (said in the log). */
  readonly ready: Promise<void>;
  /** Ends the thread once its checkpoint in progress is done, its connection closed. */
  stop(): Promise<void>;
}

const THREAD = moduleBeside(import.meta.url, 'checkpoint-thread');
/** A thread that does not end when asked (a checkpoint stuck on the disk) is ended after this. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * The store's checkpoints, on a thread of their own: the write-ahead log copied into the file while the lane and the
 * broker side go on committing (a passive checkpoint waits for no one, and no one waits for it). By itself SQLite copies
 * the log every 1,000 pages inside whichever commit crosses the mark — of a reading, or of an alarm on its way to the
 * webhooks — which then waits for the copy and two fsyncs (~6 ms here). That automatic checkpoint stays, as the
 * fallback: with the log already copied it has little left to do, and a checkpointer that fails or is gone leaves it
 * to bound the log. The log starts over at a writer's commit once every frame is in the file.
 */
export function startWalCheckpointer(deps: WalCheckpointerDeps): WalCheckpointer {
  const data: CheckpointThreadData = { file: deps.file, intervalMs: deps.intervalMs ?? CHECKPOINT_INTERVAL_MS };
  const worker: Worker = spawnModuleWorker(THREAD, data, {});
  worker.unref();
  let failures = 0;
  let settle: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    settle = resolve;
  });
  worker.on('message', (report: CheckpointReport) => {
    settle();
    if (report.type === 'checkpointed') {
      deps.metrics.storeCheckpoint.observe(report.ms / 1_000);
      deps.metrics.storeLogFrames.set(report.frames);
    } else if (report.type === 'failed') {
      failures += 1;
      if (failures === 1 || failures % 100 === 0) deps.log.warn({ reason: report.message, failures }, 'store checkpoint failed');
    }
  });
  worker.on('error', (error) => deps.log.error({ err: error }, 'store checkpointer stopped'));
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      settle();
      resolve();
    }),
  );
  return {
    ready,
    async stop() {
      worker.postMessage({ type: 'stop' } satisfies ToCheckpointer);
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
