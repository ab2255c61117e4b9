import type { StoreDatabase } from './open-store.js';

/**
 * Two threads write the store file (`lane.thread: worker`): the telemetry lane, back to back when it is behind
 * (a reconnect storm), and the broker side (alarm book, audit, webhook outbox, accounts) now and then. SQLite's
 * write lock is not fair: a busy lane takes it again between the broker side's retries until the broker side's busy
 * timeout runs out, and its commit fails with SQLITE_BUSY — the gateway stops. The gate lets the broker side go
 * first: its writes are counted in memory both threads share while they wait and run, and the lane waits for the
 * count to fall to zero before each of its commits.
 */
export type WriterGate = Int32Array;

export const createWriterGate = (): WriterGate => new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

/** Runs a write of the side that goes first, counted on the gate while it waits for the lock and runs. */
export function writingFirst<T>(gate: WriterGate, work: () => T): T {
  Atomics.add(gate, 0, 1);
  try {
    return work();
  } finally {
    if (Atomics.sub(gate, 0, 1) === 1) Atomics.notify(gate, 0);
  }
}

/**
 * Blocks this thread while the other side has writes counted on the gate, at most `maxWaitMs` in all (a side that
 * goes first and never finishes must not stop the lane for good: past that, SQLite's own busy wait takes over).
 */
export function waitForFirstWriters(gate: WriterGate, maxWaitMs = 5_000): void {
  const until = Date.now() + maxWaitMs;
  for (let count = Atomics.load(gate, 0); count > 0; count = Atomics.load(gate, 0)) {
    const left = until - Date.now();
    if (left <= 0) return;
    Atomics.wait(gate, 0, count, left);
  }
}

/**
 * The broker side's connection with every write counted on the gate: transactions, and statements that write
 * outside one. Call it before any statement is prepared on `db`.
 */
export function writeFirst(db: StoreDatabase, gate: WriterGate): StoreDatabase {
  const transaction = db.transaction.bind(db);
  const prepare = db.prepare.bind(db);
  const gated = db as StoreDatabase & { transaction: typeof db.transaction; prepare: typeof db.prepare };
  gated.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const run = transaction(fn);
    const first = (...args: unknown[]) => (db.inTransaction ? run(...args) : writingFirst(gate, () => run(...args)));
    return Object.assign(first, { default: first, deferred: run.deferred, immediate: run.immediate, exclusive: run.exclusive });
  }) as typeof db.transaction;
  gated.prepare = ((source: string) => {
    const statement = prepare(source);
    if (statement.reader) return statement;
    const run = statement.run.bind(statement);
    Object.defineProperty(statement, 'run', {
      value: (...args: unknown[]) => (db.inTransaction ? run(...args) : writingFirst(gate, () => run(...args))),
    });
    return statement;
  }) as typeof db.prepare;
  return gated;
}
