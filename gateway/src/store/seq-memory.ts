import type { SeqMemory } from '../ingest/seq-window.js';
import { createBatchedInsert } from './batched-insert.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

/**
 * The de-duplication window's memory in the local store (the SeqMemory adapter): the window's `seq` per device with
 * the order they were accepted in (`n`). `later`: the lane's write buffer (its writes run in the lane's commit, the
 * accepted rows 32 to a statement); default: at once.
 */
export function createSqliteSeqMemory(db: StoreDatabase, later: WriteBuffer = createWriteBuffer()): SeqMemory {
  // in the table's own order (no sort of the whole table at start): each device's rows are put in order of n here
  const all = db.prepare('SELECT device, seq, ts, n FROM seq_seen ORDER BY device, seq').raw(true);
  const put = createBatchedInsert(db, 'INSERT OR REPLACE INTO seq_seen (device, seq, n, ts)', 4);
  // Only a row accepted before the window let it go: one accepted again later in the same commit (a newer n) stays,
  // whatever order the commit's batched rows and deletes run in.
  const drop = db.prepare('DELETE FROM seq_seen WHERE device = ? AND seq = ? AND n < ?');
  /** Per device, how many it has accepted: the next one's n. */
  const counts = new Map<string, number>();
  /** While loading (the read is open, nothing can be written): what the window let go of meanwhile. */
  let forgottenAtLoad: Array<[string, number]> | null = null;
  return {
    *load() {
      type Row = [device: string, seq: number, ts: number | null, n: number];
      let rows: Row[] = [];
      const inOrder = function* (): Generator<[string, number, number | null]> {
        rows.sort((a, b) => a[3] - b[3]);
        for (const [device, seq, ts] of rows) yield [device, seq, ts];
        const newest = rows.at(-1);
        if (newest) counts.set(newest[0], newest[3] + 1);
        rows = [];
      };
      forgottenAtLoad = [];
      for (const row of all.iterate() as Iterable<Row>) {
        if (rows.length > 0 && (rows[0] as Row)[0] !== row[0]) yield* inOrder();
        rows.push(row);
      }
      yield* inOrder();
      // rows past the window's bound (a store of an older gateway may hold some): gone now
      for (const [device, seq] of forgottenAtLoad) drop.run(device, seq, Number.MAX_SAFE_INTEGER);
      forgottenAtLoad = null;
    },
    remember: (device, seq, ts) => {
      const n = counts.get(device) ?? 0;
      counts.set(device, n + 1);
      later.addRow(put, [device, seq, n, ts]);
    },
    forget: (device, seq) => {
      if (forgottenAtLoad) return void forgottenAtLoad.push([device, seq]);
      const before = counts.get(device) ?? 0;
      later.add(() => drop.run(device, seq, before));
    },
  };
}
