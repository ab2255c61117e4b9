import type { StoreDatabase } from './open-store.js';

/**
 * Two threads write the store file (`lane.thread: worker`): the telemetry lane, back to back when it is behind
 * (a reconnect storm), and the broker side (alarm book, audit, webhook outbox, accounts) now and then. SQLite's
 * write lock is not fair: a busy lane takes it again between the broker side's retries until the broker side's busy
 * timeout runs out, and its commit fails with SQLITE_BUSY — the gateway stops. The gate lets the broker side go
 * first: its writes are counted in memory both threads share; the lane starts no commit while one waits or runs, and
 * one waits (without SQLite's sleeps) only for the lane's commit in progress.
 */
export type WriterGate = Int32Array;

/** Slots of the gate: the broker side's writes waiting or running; 1 while the lane is inside a commit. */
const WANTED = 0;
const LANE_WRITING = 1;

export const createWriterGate = (): WriterGate => new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));

/** Waits while `slot` is not 0, at most until `until` (a thread that never lets go must not stop the other for good). */
function waitForZero(gate: WriterGate, slot: number, until: number): void {
  for (let value = Atomics.load(gate, slot); value !== 0; value = Atomics.load(gate, slot)) {
    const left = until - Date.now();
    if (left <= 0) return;
    Atomics.wait(gate, slot, value, left);
  }
}

/**
 * Runs a write of the broker side: counted on the gate, it waits (blocking) for the lane's commit in progress to end
 * — the lane starts no other meanwhile — and so takes SQLite's lock without its busy wait's sleeps.
 */
export function writingFirst<T>(gate: WriterGate, work: () => T, maxWaitMs = 5_000): T {
  Atomics.add(gate, WANTED, 1);
  try {
    waitForZero(gate, LANE_WRITING, Date.now() + maxWaitMs);
    return work();
  } finally {
    if (Atomics.sub(gate, WANTED, 1) === 1) Atomics.notify(gate, WANTED);
  }
}

/**
 * Runs one commit of the lane once no write of the broker side waits or runs (at most `maxWaitMs`: past that,
 * SQLite's own busy wait takes over). The lane says it is writing before it looks, so that the two never both go.
 */
export function laneCommit<T>(gate: WriterGate, work: () => T, maxWaitMs = 5_000): T {
  const until = Date.now() + maxWaitMs;
  for (;;) {
    Atomics.store(gate, LANE_WRITING, 1);
    if (Atomics.load(gate, WANTED) === 0 || Date.now() >= until) break;
    Atomics.store(gate, LANE_WRITING, 0);
    Atomics.notify(gate, LANE_WRITING);
    waitForZero(gate, WANTED, until);
  }
  try {
    return work();
  } finally {
    Atomics.store(gate, LANE_WRITING, 0);
    Atomics.notify(gate, LANE_WRITING);
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
  /** `run` counted on the gate unless it is part of a transaction (which is counted as a whole). */
  const first =
    <A extends unknown[], R>(run: (...args: A) => R) =>
    (...args: A): R =>
      db.inTransaction ? run(...args) : writingFirst(gate, () => run(...args));
  gated.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const run = transaction(fn);
    const firstRun = first(run);
    return Object.assign(firstRun, {
      default: firstRun,
      deferred: first(run.deferred),
      immediate: first(run.immediate),
      exclusive: first(run.exclusive),
    });
  }) as typeof db.transaction;
  gated.prepare = ((source: string) => {
    const statement = prepare(source);
    // `readonly`, not `reader`: an INSERT … RETURNING returns rows (a reader) and writes
    if (statement.readonly) return statement;
    for (const method of ['run', 'get', 'all'] as const) {
      const original = (statement[method] as (...args: unknown[]) => unknown).bind(statement);
      Object.defineProperty(statement, method, { value: first(original) });
    }
    return statement;
  }) as typeof db.prepare;
  return gated;
}

/**
 * The lane's thread is gone (its worker died, perhaps inside a commit): nothing of it writes any more, so the broker
 * side must not wait for it.
 */
export function laneGone(gate: WriterGate): void {
  Atomics.store(gate, LANE_WRITING, 0);
  Atomics.notify(gate, LANE_WRITING);
}
