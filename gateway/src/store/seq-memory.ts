import type { SeqMemory } from '../ingest/seq-window.js';
import { type BatchedInsert, createBatchedInsert } from './batched-insert.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

export interface SeqFolding {
  /** How long a device's accepted `seq` may stay in the log alone before they are folded into its rows. */
  maxLagMs: number;
  /** A device with this many accepted `seq` in the log alone is folded in the same commit. */
  maxPending: number;
  /** Devices whose lag ran out folded at most per commit (a large fleet's folds are spread, not one long commit). */
  maxPerCommit: number;
}

export const SEQ_FOLDING: SeqFolding = { maxLagMs: 60_000, maxPending: 1_024, maxPerCommit: 64 };

/** Log rows every device has folded are deleted at most this often: the delete touches the log's first pages. */
const TRUNCATE_EVERY_MS = 1_000;

/** Rows a device's first buffer of unfolded rows holds (it doubles as needed). */
const FIRST_ROWS = 16;

/** In the lane's collected writes, marks a `seq` the window let go of. */
const LET_GO = Symbol('let go');

/** A device's accepted `seq` that are in the log and not yet in its rows. */
interface Unfolded {
  /** When the first of them was logged (ms). */
  since: number;
  /** The log row of the first of them. */
  from: number;
  /**
   * Its rows for seq_seen, in the order accepted: seq, ts (NaN: none), n for each (`count` of them). Numbers in a
   * buffer of their own, not an array of values: they wait up to `maxLagMs` and outlive V8's young generation, and as
   * array slots (with a heap number for each device time) they were the lane's largest share of what got promoted.
   */
  rows: Float64Array;
  count: number;
  /** The `seq` let go of meanwhile, and the device's count when they were (`seq`, `before`). */
  forgotten: number[];
}

function addRow(entry: Unfolded, seq: number, ts: number | null, n: number): void {
  if (3 * entry.count === entry.rows.length) {
    const larger = new Float64Array(2 * entry.rows.length);
    larger.set(entry.rows);
    entry.rows = larger;
  }
  const at = 3 * entry.count;
  entry.rows[at] = seq;
  entry.rows[at + 1] = ts ?? Number.NaN;
  entry.rows[at + 2] = n;
  entry.count += 1;
}

/**
 * The de-duplication window's memory in the local store (the SeqMemory adapter). `seq_seen` holds each device's
 * window (its `seq` with the order they were accepted in, `n`), clustered by device: written there in every commit,
 * a plant's trickle costs a page of SQLite's log per device per commit. So a commit appends what it accepted, for
 * every device at once, as one row of `seq_log` (its last pages only), and a device's accepted `seq` are folded into
 * its rows later — after `maxLagMs`, or once it has `maxPending` in the log alone — with what the window let go of
 * meanwhile. At start the rows are read, then the log's entries each device has not folded (those with an `n` past its
 * rows'), in order. `later`: the lane's write buffer (its writes run in the lane's commit); default: at once.
 */
export function createSqliteSeqMemory(
  db: StoreDatabase,
  later: WriteBuffer = createWriteBuffer(),
  folding: SeqFolding = SEQ_FOLDING,
  /** The clock of the lag: monotonic (a wall clock set back would hold every fold by lag for as long). */
  now: () => number = () => performance.now(),
): SeqMemory {
  // in the table's own order (no sort of the whole table at start): each device's rows are put in order of n here
  const all = db.prepare('SELECT device, seq, ts, n FROM seq_seen ORDER BY device, seq').raw(true);
  const put = createBatchedInsert(db, 'INSERT OR REPLACE INTO seq_seen (device, seq, ts, n)', 4);
  // Only a row accepted before the window let it go: one accepted again later (a newer n) stays.
  const drop = db.prepare('DELETE FROM seq_seen WHERE device = ? AND seq = ? AND n < ?');
  const logged = db.prepare('SELECT id, entries FROM seq_log ORDER BY id').raw(true);
  const append = db.prepare('INSERT INTO seq_log (id, entries) VALUES (?, ?)');
  const truncate = db.prepare('DELETE FROM seq_log WHERE id < ?');
  /** Per device, how many it has accepted: the next one's n. */
  const counts = new Map<string, number>();
  /** In the order first left unfolded: the first has the smallest `from`. */
  const unfolded = new Map<string, Unfolded>();
  /** Devices with `maxPending` unfolded: folded in this commit. */
  const atMaxPending = new Set<string>();
  let lastLogId = (db.prepare('SELECT max(id) FROM seq_log').pluck().get() as number | null) ?? 0;
  let truncatedAt = Number.NEGATIVE_INFINITY;
  /** While loading (the read is open, nothing can be written): what the window let go of meanwhile. */
  let forgottenAtLoad: Array<[device: string, seq: number, before: number]> | null = null;

  const unfoldedOf = (device: string, logId: number, at: number): Unfolded => {
    let entry = unfolded.get(device);
    if (entry === undefined) {
      entry = { since: at, from: logId, rows: new Float64Array(3 * FIRST_ROWS), count: 0, forgotten: [] };
      unfolded.set(device, entry);
    }
    return entry;
  };

  const fold = (device: string): void => {
    const entry = unfolded.get(device);
    if (entry === undefined) return;
    unfolded.delete(device);
    atMaxPending.delete(device);
    if (entry.count > 0) {
      const values: unknown[] = new Array(4 * entry.count);
      for (let i = 0; i < entry.count; i += 1) {
        const ts = entry.rows[3 * i + 1] as number;
        values[4 * i] = device;
        values[4 * i + 1] = entry.rows[3 * i];
        values[4 * i + 2] = Number.isNaN(ts) ? null : ts;
        values[4 * i + 3] = entry.rows[3 * i + 2];
      }
      put.write(values);
    }
    for (let i = 0; i < entry.forgotten.length; i += 2) drop.run(device, entry.forgotten[i], entry.forgotten[i + 1]);
  };

  /** Folds the devices that are full or whose lag ran out, then deletes the log rows every device has folded. */
  const foldDue = (at: number): void => {
    for (const device of [...atMaxPending]) fold(device);
    const due: string[] = [];
    for (const [device, entry] of unfolded) {
      if (due.length >= folding.maxPerCommit || entry.since > at - folding.maxLagMs) break;
      due.push(device);
    }
    for (const device of due) fold(device);
    if (at - truncatedAt < TRUNCATE_EVERY_MS && at >= truncatedAt) return;
    truncatedAt = at;
    const first = unfolded.values().next().value as Unfolded | undefined;
    truncate.run(first ? first.from : lastLogId + 1);
  };

  /**
   * What a commit accepted and let go of, in order (device, seq, ts, n for each accepted; device, seq, LET_GO, before
   * for each let go of): what it accepted as one log row, then the folds that are due. The memory of what is folded
   * changes inside the commit and is not put back if it fails: a failed commit ends the lane (the gateway restarts on
   * the store, which is whole).
   */
  const commitAccepted: BatchedInsert = {
    write(values) {
      const at = now();
      lastLogId += 1;
      const accepted: unknown[] = [];
      for (let i = 0; i < values.length; i += 4) {
        const device = values[i] as string;
        const entry = unfoldedOf(device, lastLogId, at);
        if (values[i + 2] === LET_GO) {
          entry.forgotten.push(values[i + 1] as number, values[i + 3] as number);
          continue;
        }
        accepted.push(device, values[i + 1], values[i + 2], values[i + 3]);
        addRow(entry, values[i + 1] as number, values[i + 2] as number | null, values[i + 3] as number);
        if (entry.count >= folding.maxPending) atMaxPending.add(device);
      }
      if (accepted.length > 0) append.run(lastLogId, JSON.stringify(accepted));
      foldDue(at);
    },
  };

  return {
    *load() {
      type Row = [device: string, seq: number, ts: number | null, n: number];
      let rows: Row[] = [];
      const inOrder = function* (): Generator<[string, number, number | null]> {
        rows.sort((a, b) => a[3] - b[3]);
        for (const [device, seq, ts, n] of rows) {
          counts.set(device, n + 1);
          yield [device, seq, ts];
        }
        rows = [];
      };
      forgottenAtLoad = [];
      for (const row of all.iterate() as Iterable<Row>) {
        if (rows.length > 0 && (rows[0] as Row)[0] !== row[0]) yield* inOrder();
        rows.push(row);
      }
      yield* inOrder();
      // then what each device accepted after its rows, in order (an entry with an n below its count is in its rows);
      // such a device is folded in the first commits (at most maxPerCommit each), not a lag after this start: a
      // gateway restarting more often than the lag would otherwise never fold, and its log would keep every row
      for (const [id, text] of logged.iterate() as Iterable<[number, string]>) {
        const values = JSON.parse(text) as unknown[];
        for (let i = 0; i < values.length; i += 4) {
          const [device, seq, ts, n] = [
            values[i] as string,
            values[i + 1] as number,
            values[i + 2] as number | null,
            values[i + 3] as number,
          ];
          if (n < (counts.get(device) ?? 0)) continue;
          counts.set(device, n + 1);
          addRow(unfoldedOf(device, id, Number.NEGATIVE_INFINITY), seq, ts, n);
          yield [device, seq, ts];
        }
      }
      // what the window let go of while loading: deleted with the device's next fold, or now, in one commit, for a
      // device with nothing in the log (a store of an older gateway may hold more rows than the window)
      const dropNow: Array<[string, number, number]> = [];
      for (const [device, seq, before] of forgottenAtLoad) {
        const entry = unfolded.get(device);
        if (entry) entry.forgotten.push(seq, before);
        else dropNow.push([device, seq, before]);
      }
      forgottenAtLoad = null;
      if (dropNow.length > 0)
        db.transaction(() => {
          for (const [device, seq, before] of dropNow) drop.run(device, seq, before);
        })();
    },
    remember: (device, seq, ts) => {
      const n = counts.get(device) ?? 0;
      counts.set(device, n + 1);
      later.addRow(commitAccepted, [device, seq, ts, n]);
    },
    forget: (device, seq) => {
      const before = counts.get(device) ?? 0;
      if (forgottenAtLoad) return void forgottenAtLoad.push([device, seq, before]);
      later.addRow(commitAccepted, [device, seq, LET_GO, before]);
    },
  };
}
