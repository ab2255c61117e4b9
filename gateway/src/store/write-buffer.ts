import type { BatchedInsert } from './batched-insert.js';

/**
 * The telemetry lane's writes to the store, collected while it judges a batch and run together in its commit:
 * SQLite's write lock (one for the whole file) is then held for the inserts alone, not for the parsing, rules
 * and line protocol around them, so the broker side's writes (the alarm book) wait for milliseconds, not for a
 * whole batch judged (writer-gate.ts).
 */
export interface WriteBuffer {
  /** Runs `write` now when nothing is being collected; else keeps it for `apply`, in order. */
  add(write: () => void): void;
  /**
   * As `add` for one row of `insert` (its values in column order): the rows collected for one insert are written
   * by as few statements as it takes, where the first of them was added.
   */
  addRow(insert: BatchedInsert, values: readonly unknown[]): void;
  /** As `add`, but `apply` runs it after every write added (a clean-up that must see them all). */
  addLast(write: () => void): void;
  /** Collects the writes made while `judge` runs. */
  collecting<T>(judge: () => T): T;
  /**
   * Keeps collecting until `apply` or `clear` (a commit left waiting for the next): a write made meanwhile must not run
   * before those collected.
   */
  keep(): void;
  /** Runs the writes collected (inside the caller's transaction), in order. */
  apply(): void;
  /** Forgets what was collected (the commit failed, or judging threw). */
  clear(): void;
}

/** A buffer that is never collecting runs each write at once: the default of the store's ports outside a lane. */
export function createWriteBuffer(): WriteBuffer {
  let writes: Array<() => void> = [];
  let last: Array<() => void> = [];
  /** The rows collected per insert (each also has its place in `writes`). */
  let rows = new Map<BatchedInsert, unknown[]>();
  let judging = false;
  let kept = false;
  const collecting = (): boolean => judging || kept;
  return {
    add(write) {
      if (collecting()) writes.push(write);
      else write();
    },
    addRow(insert, values) {
      if (!collecting()) return insert.write(values);
      let collected = rows.get(insert);
      if (collected === undefined) {
        const taken: unknown[] = [];
        collected = taken;
        rows.set(insert, taken);
        writes.push(() => insert.write(taken));
      }
      for (const value of values) collected.push(value);
    },
    addLast(write) {
      if (collecting()) last.push(write);
      else write();
    },
    collecting(judge) {
      judging = true;
      try {
        return judge();
      } finally {
        judging = false;
      }
    },
    keep() {
      kept = true;
    },
    apply() {
      const taken = [...writes, ...last];
      writes = [];
      last = [];
      rows = new Map();
      kept = false;
      for (const write of taken) write();
    },
    clear() {
      writes = [];
      last = [];
      rows = new Map();
      kept = false;
    },
  };
}
