import { SEQ_WINDOW, type SeqMemory } from '../ingest/seq-window.js';
import { createBatchedInsert } from './batched-insert.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

/**
 * The de-duplication window's memory in the local store (the SeqMemory adapter): a ring per device, the n-th `seq`
 * it accepted in slot n % SEQ_WINDOW (one row written per reading, over the oldest). `later`: the lane's write
 * buffer (its writes run in the lane's commit, many rows to a statement); default: at once.
 */
export function createSqliteSeqMemory(db: StoreDatabase, later: WriteBuffer = createWriteBuffer()): SeqMemory {
  // in the table's own order (no sort of the whole table at start): each device's rows are put in order of n here
  const all = db.prepare('SELECT device, seq, ts, n FROM seq_ring ORDER BY device, slot').raw(true);
  const put = createBatchedInsert(db, 'INSERT OR REPLACE INTO seq_ring (device, slot, n, seq, ts)', 5);
  /** Per device, how many it has accepted: the next one's n. */
  const counts = new Map<string, number>();
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
      for (const row of all.iterate() as Iterable<Row>) {
        if (rows.length > 0 && (rows[0] as Row)[0] !== row[0]) yield* inOrder();
        rows.push(row);
      }
      yield* inOrder();
    },
    remember: (device, seq, ts) => {
      const n = counts.get(device) ?? 0;
      counts.set(device, n + 1);
      later.addRow(put, [device, n % SEQ_WINDOW, n, seq, ts]);
    },
  };
}
