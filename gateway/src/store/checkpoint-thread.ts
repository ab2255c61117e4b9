/**
 * The store's checkpointer thread (wal-checkpointer.ts): its own connection to the store's file, copying what the
 * write-ahead log holds into the file every `intervalMs` (a passive checkpoint: it waits for no reader or writer).
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointReport, CheckpointThreadData, ToCheckpointer } from './wal-checkpointer.js';

if (!parentPort) throw new Error('checkpoint-thread.ts runs as a worker thread');
const port = parentPort;
const send = (message: CheckpointReport): void => port.postMessage(message);
const { file, intervalMs } = workerData as CheckpointThreadData;

interface WalCheckpointRow {
  busy: number;
  /** Frames in the log. */
  log: number;
  /** Of them, copied into the file (this checkpoint and the ones before since the log last started over). */
  checkpointed: number;
}

let db: Database.Database | null = null;
let timer: NodeJS.Timeout | null = null;
let last = { log: 0, checkpointed: 0 };

const stop = (): void => {
  if (timer) clearInterval(timer);
  timer = null;
  db?.close();
  db = null;
  port.close();
};

const checkpoint = (): void => {
  if (!db) return;
  const started = performance.now();
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as WalCheckpointRow[];
    // busy (a writer's own checkpoint holds the lock): -1 and -1, nothing done; unchanged: nothing new to copy
    if (!row || row.busy !== 0 || row.log < 0 || (row.log === last.log && row.checkpointed === last.checkpointed)) return;
    last = { log: row.log, checkpointed: row.checkpointed };
    send({ type: 'checkpointed', frames: row.log, ms: performance.now() - started });
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message });
  }
};

try {
  db = new Database(file, { fileMustExist: true });
  timer = setInterval(checkpoint, intervalMs);
  send({ type: 'started' });
} catch (error) {
  send({ type: 'failed', message: (error as Error).message });
  stop();
}
port.on('message', (message: ToCheckpointer) => {
  if (message.type === 'stop') stop();
});
